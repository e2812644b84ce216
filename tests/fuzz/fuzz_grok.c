/* fuzz_grok.c - the grok/regex compiler on user patterns, as -e compiles
 * them (shipper/pipeline.c): the placeholder check, macro expansion with
 * the built-in macros, compilation with field names, and a match.
 *
 * Input: PATTERN [\0 SUBJECT [\0 DEFS]], where DEFS holds "NAME=REGEX"
 * lines defined in a fresh macro set that the pattern is expanded with too
 * (so user macros, redefinitions and recursion are reached).
 *
 * Asserts: the placeholder has the pattern's length; a failed expansion
 * sets an error code and message; a compiled pattern's groups have field
 * names and types, and after a match their spans lie inside the subject. */
#include "fuzz_util.h"

#include "../../parsers/grok.h"
#include "../../parsers/matcher.h"
#include "../../shipper/catalog.h"

static struct ls_catalog *cat;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ls_error err = { 0, "" };

	(void)argc;
	(void)argv;
	fuzz_isolate_env();
	if (ls_catalog_load(&cat, NULL, NULL, NULL, &err) < 0) {
		fprintf(stderr, "fuzz_grok: catalog: %s\n", err.msg);
		abort();
	}
	return 0;
}

/* Expands pattern with g, compiles it and runs it on subject. */
static void compile_and_match(const struct ls_grok *g, const char *pattern,
			      const char *subject, size_t slen)
{
	struct ls_grok_fields fields = { 0, NULL };
	struct ls_error err = { 0, "" };
	struct ls_matcher *m = NULL;
	char *re = ls_grok_expand(g, pattern, &fields, &err);
	int rc;

	if (!re) {
		FUZZ_CHECK(err.code < 0 && err.msg[0], "expansion failed without an error");
		return;
	}
	FUZZ_CHECK(fields.n >= 0 && (fields.n == 0 || fields.fields), "fields %d", fields.n);
	for (int i = 0; i < fields.n; i++)
		FUZZ_CHECK(fields.fields[i] != NULL, "field %d is NULL", i);
	rc = ls_matcher_compile_fields(&m, re, 0, fields.fields, fields.n, NULL, &err);
	if (rc < 0) {
		FUZZ_CHECK(!m && err.msg[0], "failed compile left a matcher or no message");
		goto out;
	}
	rc = ls_matcher_exec(m, subject, slen);
	FUZZ_CHECK(rc == 0 || rc == 1 || rc == LS_EINVAL, "exec returned %d", rc);
	for (int i = 0; i < ls_matcher_ngroups(m); i++) {
		int type = -1;
		const char *name = ls_matcher_group_field(m, i, &type);
		FUZZ_CHECK(name != NULL, "group %d has no field name", i);
		FUZZ_CHECK(type >= LS_F_STR && type <= LS_F_LIST, "group %d type %d", i, type);
		if (rc == 1) {
			const char *s;
			size_t n;
			if (ls_matcher_group(m, i, &s, &n) == 0)
				FUZZ_CHECK(s >= subject && n <= slen && (size_t)(s - subject) <= slen - n,
					   "group %d outside the subject", i);
		}
	}
	if (rc == 1) {
		size_t start, end;
		ls_matcher_span(m, &start, &end);
		FUZZ_CHECK(start <= end && end <= slen, "span %zu..%zu of %zu", start, end, slen);
	}
out:
	ls_matcher_free(m);
	free(re);
	ls_grok_fields_release(&fields);
}

/* Defines each "NAME=REGEX" line of defs (NUL-terminated) in g. */
static void define_macros(struct ls_grok *g, char *defs)
{
	for (char *line = defs; line && *line;) {
		char *nl = strchr(line, '\n'), *eq;
		if (nl)
			*nl = '\0';
		eq = strchr(line, '=');
		if (eq) {
			*eq = '\0';
			if (ls_grok_define(g, line, eq + 1) == 0)
				FUZZ_CHECK(ls_grok_has(g, line), "defined %s is missing", line);
		}
		line = nl ? nl + 1 : NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 2), *pattern, *subject, *defs = NULL, *stub;
	struct ls_matcher *m = NULL;
	struct ls_error err = { 0, "" };
	size_t slen = 0, plen;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = copy[size + 1] = '\0';
	pattern = copy;
	plen = strlen(pattern);
	subject = pattern + plen + 1;
	if (plen < size) {
		/* the subject may hold NUL bytes up to the second separator, if any */
		const char *sep = memchr(subject, '\0', size - plen - 1);
		slen = sep ? (size_t)(sep - subject) : size - plen - 1;
		if (sep)
			defs = subject + slen + 1;
	}

	/* the -e check: macros stubbed out, the user's text compiled alone */
	stub = ls_grok_placeholder(pattern);
	FUZZ_CHECK(stub != NULL, "placeholder: out of memory");
	FUZZ_CHECK(strlen(stub) == plen, "placeholder of %zu bytes for %zu", strlen(stub), plen);
	if (ls_matcher_compile(&m, stub, 0, NULL, &err) < 0)
		FUZZ_CHECK(err.code == LS_EREGEX && strstr(err.msg, "offset"), "error: %s", err.msg);
	ls_matcher_free(m);
	free(stub);

	compile_and_match(cat->grok, pattern, subject, slen);
	if (defs) {
		struct ls_grok *g = NULL;
		FUZZ_CHECK(ls_grok_new(&g) == 0, "ls_grok_new");
		define_macros(g, defs);
		compile_and_match(g, pattern, subject, slen);
		ls_grok_free(g);
	}
	free(copy);
	return 0;
}
