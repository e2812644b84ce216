/* matcher.c - PCRE2 with JIT, one match data per matcher, named groups
 * decoded into field names. The only file that includes pcre2.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "matcher.h"
#include "event.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

/* Bounds on one match, so a pattern with catastrophic backtracking
 * ("^(a+)+$") costs a bounded time and memory per line instead of hanging:
 * MATCH_LIMIT is PCRE2's usual default, set here so a build with another
 * default does not change it; the JIT, which ignores the depth limit, gets
 * a stack of at most JIT_STACK_MAX; the interpreter (no JIT) at most
 * HEAP_LIMIT_KIB of backtracking frames (PCRE2's default is 20 GB). */
#define MATCH_LIMIT 10000000u
#define HEAP_LIMIT_KIB (64u << 10)
#define JIT_STACK_START (32 << 10)
#define JIT_STACK_MAX (1 << 20)
/* A regex is JIT-compiled at its JIT_AFTER-th match: compiling costs as
 * much as a few hundred interpreted matches, and most regexes of a short
 * run (format detection on a sample, rules meeting one line) match a
 * handful of times, so start-up stays fast and long runs still get JIT. */
#define JIT_AFTER 64
/* ...or at once for a subject this long, where the JIT's speed and its
 * bounded stack matter more than the compile. */
#define JIT_NOW_LEN 4096

/* One match context and JIT stack for every matcher: matching is single
 * threaded, and a stack per matcher would map one region per rule. Made by
 * the first compile, freed with the last matcher. */
static pcre2_match_context *limits_ctx;
static pcre2_jit_stack *jit_stack;
static pcre2_general_context *mem_ctx;  /* PCRE2's allocations: pcre_alloc() */
static pcre2_compile_context *compile_ctx;
static int jit_compiling;               /* inside pcre2_jit_compile() */
static long nmatchers;
static const struct ls_precompiled *pre;  /* ls_matcher_use_precompiled() */
static size_t npre;
static unsigned long ndecoded;
/* ls_matcher_record(): the patterns compiled while on, serialized */
struct record {
	uint64_t key;
	char *pattern;
	uint32_t opts;
	uint8_t *bytes;
	size_t len;
};
static int recording;
static struct record *recs;
static size_t nrecs, cap_recs;
static unsigned long limit_hits;
static unsigned long nomem_hits; /* matches PCRE2 could not run: no memory */

struct ls_group {
	int number;  /* capture group number */
	int type;    /* enum ls_ftype */
	char *field; /* decoded field name */
};

struct ls_matcher {
	pcre2_code *code;
	pcre2_match_data *md;
	PCRE2_SIZE *ovector;
	int jit;     /* 1 JIT-compiled, 0 interpreted for good, < 0 interpreted
		      * until this count of matches reaches 0 */
	int ngroups;
	struct ls_group *groups;
	const char *subject;
	int counted; /* holds a reference on the shared limits */
	/* LS_MATCH_DEFER: what compile() needs, kept until the first exec */
	char *pattern;
	char **fields;
	int nfields;
	uint32_t opts;
};

/* PCRE2 allocates through this. Everywhere but in the JIT compiler a
 * failed allocation comes back as an error that callers handle; the JIT
 * compiler of PCRE2 10.42 does not survive one (it crashes), so there it
 * ends the process with the message every other failure gives instead.
 * Checkpoints are only ever replaced whole, so none is left damaged. */
static void *pcre_alloc(size_t size, void *data)
{
	static const char msg[] = "logship: out of memory (compiling a regular expression)\n";
	void *p = malloc(size);

	(void)data;
	if (!p && jit_compiling) {
		ssize_t w = write(2, msg, sizeof(msg) - 1);
		(void)w;
		_exit(2);
	}
	return p;
}

static void pcre_free(void *p, void *data)
{
	(void)data;
	free(p);
}

static void limits_release(void)
{
	if (--nmatchers > 0)
		return;
	pcre2_match_context_free(limits_ctx);
	pcre2_jit_stack_free(jit_stack);
	pcre2_compile_context_free(compile_ctx);
	pcre2_general_context_free(mem_ctx);
	limits_ctx = NULL;
	jit_stack = NULL;
	compile_ctx = NULL;
	mem_ctx = NULL;
}

/* Takes a reference on the shared match context, making it first. */
static int limits_acquire(void)
{
	if (nmatchers++ > 0)
		return 0;
	mem_ctx = pcre2_general_context_create(pcre_alloc, pcre_free, NULL);
	compile_ctx = pcre2_compile_context_create(mem_ctx);
	limits_ctx = pcre2_match_context_create(mem_ctx);
	if (!mem_ctx || !compile_ctx || !limits_ctx) {
		limits_release();
		return LS_ENOMEM;
	}
	pcre2_set_match_limit(limits_ctx, MATCH_LIMIT);
	pcre2_set_heap_limit(limits_ctx, HEAP_LIMIT_KIB);
	/* NULL without JIT support (or memory): the JIT then keeps its own
	 * 32 KiB stack, bounded all the same */
	jit_stack = pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX, NULL);
	if (jit_stack)
		pcre2_jit_stack_assign(limits_ctx, NULL, jit_stack);
	return 0;
}

/* Decodes a PCRE2 group name into a field name and type: "_at_" at the
 * start is "@", "__" is ".", a trailing "___int"/"___float" the type. */
static char *decode_group_name(const char *name, int *type)
{
	size_t n = strlen(name), o = 0;
	char *out = malloc(n + 2);
	const char *p = name;

	if (!out)
		return NULL;
	*type = -1;
	if (n > 6 && strcmp(name + n - 6, "___int") == 0) {
		*type = LS_F_INT;
		n -= 6;
	} else if (n > 8 && strcmp(name + n - 8, "___float") == 0) {
		*type = LS_F_FLOAT;
		n -= 8;
	}
	if (n >= 4 && strncmp(p, "_at_", 4) == 0) {
		out[o++] = '@';
		p += 4;
	}
	while (p < name + n) {
		if (p[0] == '_' && p + 1 < name + n && p[1] == '_') {
			out[o++] = '.';
			p += 2;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	if (*type < 0)
		*type = ls_event_default_type(out);
	return out;
}

/* Field name and type for a grok group "_g<k>" from its spec "name[:type]". */
static char *decode_grok_spec(const char *spec, int *type)
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	char *out = malloc(n + 1);

	if (!out)
		return NULL;
	memcpy(out, spec, n);
	out[n] = '\0';
	if (colon && strcmp(colon + 1, "int") == 0)
		*type = LS_F_INT;
	else if (colon && strcmp(colon + 1, "float") == 0)
		*type = LS_F_FLOAT;
	else if (colon && strcmp(colon + 1, "string") == 0)
		*type = LS_F_STR;
	else
		*type = ls_event_default_type(out);
	return out;
}

static char *decode_name(const char *name, char *const *fields, int nfields,
			 int *type)
{
	char *end;
	long k;

	if (name[0] == '_' && name[1] == 'g' && name[2] >= '0' && name[2] <= '9') {
		k = strtol(name + 2, &end, 10);
		if (*end == '\0' && k < nfields)
			return decode_grok_spec(fields[k], type);
	}
	return decode_group_name(name, type);
}

static int load_groups(struct ls_matcher *m, char *const *fields, int nfields)
{
	uint32_t count = 0, entry_size = 0;
	PCRE2_SPTR table;

	pcre2_pattern_info(m->code, PCRE2_INFO_NAMECOUNT, &count);
	if (count == 0)
		return 0;
	pcre2_pattern_info(m->code, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
	pcre2_pattern_info(m->code, PCRE2_INFO_NAMETABLE, &table);
	m->groups = calloc(count, sizeof(*m->groups));
	if (!m->groups)
		return LS_ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		PCRE2_SPTR e = table + i * entry_size;
		struct ls_group *g = &m->groups[m->ngroups];
		g->number = (e[0] << 8) | e[1];
		g->field = decode_name((const char *)e + 2, fields, nfields, &g->type);
		if (!g->field)
			return LS_ENOMEM;
		m->ngroups++;
	}
	/* the name table is sorted by name; fields come out in group order */
	for (int i = 1; i < m->ngroups; i++)
		for (int j = i; j > 0 && m->groups[j].number < m->groups[j - 1].number; j--) {
			struct ls_group t = m->groups[j];
			m->groups[j] = m->groups[j - 1];
			m->groups[j - 1] = t;
		}
	return 0;
}

int ls_matcher_compile(struct ls_matcher **out, const char *pattern,
		       unsigned flags, size_t *erroffset, struct ls_error *err)
{
	return ls_matcher_compile_fields(out, pattern, flags, NULL, 0, erroffset, err);
}

/* Frees what compile() made, leaving m as before it. */
static void uncompile(struct ls_matcher *m)
{
	for (int i = 0; i < m->ngroups; i++)
		free(m->groups[i].field);
	free(m->groups);
	pcre2_match_data_free(m->md);
	pcre2_code_free(m->code);
	m->groups = NULL;
	m->ngroups = 0;
	m->md = NULL;
	m->code = NULL;
}

/* ---- patterns compiled at build time --------------------------------- */

static uint64_t pattern_key(const char *pattern, uint32_t opts)
{
	return XXH64(pattern, strlen(pattern), opts);
}

static int pre_cmp(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key, e = ((const struct ls_precompiled *)elem)->key;

	return k < e ? -1 : k > e;
}

void ls_matcher_use_precompiled(const struct ls_precompiled *table, size_t n)
{
	pre = table;
	npre = table ? n : 0;
}

unsigned long ls_matcher_decoded(void)
{
	return ndecoded;
}

/* The table's compiled form of pattern with opts, or NULL (not there, or
 * made by another PCRE2: decoding checks). */
static pcre2_code *decode(const char *pattern, uint32_t opts)
{
	uint64_t key;
	const struct ls_precompiled *e;
	pcre2_code *code = NULL;

	if (!npre)
		return NULL;
	key = pattern_key(pattern, opts);
	e = bsearch(&key, pre, npre, sizeof(*pre), pre_cmp);
	if (!e || e->opts != opts || strcmp(e->pattern, pattern) != 0)
		return NULL;
	if (pcre2_serialize_decode(&code, 1, e->bytes, mem_ctx) != 1)
		return NULL;
	ndecoded++;
	return code;
}

/* Remembers code, compiled from pattern with opts; 0 or LS_ENOMEM. */
static int remember(const pcre2_code *code, const char *pattern, uint32_t opts)
{
	uint8_t *bytes = NULL;
	PCRE2_SIZE len = 0;
	struct record *r;

	if (nrecs == cap_recs) {
		size_t cap = cap_recs ? cap_recs * 2 : 64;
		if (!(r = realloc(recs, cap * sizeof(*r))))
			return LS_ENOMEM;
		recs = r;
		cap_recs = cap;
	}
	if (pcre2_serialize_encode(&code, 1, &bytes, &len, mem_ctx) != 1)
		return LS_ENOMEM;
	r = &recs[nrecs];
	r->key = pattern_key(pattern, opts);
	r->opts = opts;
	r->len = len;
	r->bytes = malloc(len);
	r->pattern = strdup(pattern);
	if (r->bytes)
		memcpy(r->bytes, bytes, len);
	pcre2_serialize_free(bytes);
	if (!r->bytes || !r->pattern) {
		free(r->bytes);
		free(r->pattern);
		return LS_ENOMEM;
	}
	nrecs++;
	return 0;
}

static int record_cmp(const void *a, const void *b)
{
	const struct record *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

void ls_matcher_record(int on)
{
	recording = on;
}

int ls_matcher_record_table(struct ls_buf *out)
{
	size_t n = 0;
	int rc;

	qsort(recs, nrecs, sizeof(*recs), record_cmp);
	/* one entry per pattern and options: the first of equal keys */
	for (size_t i = 0; i < nrecs; i++)
		if (n == 0 || recs[i].key != recs[n - 1].key)
			recs[n++] = recs[i];
		else {
			free(recs[i].bytes);
			free(recs[i].pattern);
		}
	nrecs = n;
	rc = ls_buf_puts(out, "\n/* The built-in regular expressions, compiled (PCRE2 serialized). */\n");
	for (size_t i = 0; i < nrecs && rc == 0; i++) {
		rc = ls_buf_printf(out, "static const unsigned char re%zu[] = {", i);
		for (size_t k = 0; k < recs[i].len && rc == 0; k++)
			rc = ls_buf_printf(out, "%s%u,", k % 24 ? "" : "\n\t", recs[i].bytes[k]);
		if (rc == 0)
			rc = ls_buf_puts(out, "\n};\n");
	}
	if (rc == 0)
		rc = ls_buf_puts(out, "const struct ls_precompiled ls_builtin_regexes[] = {\n");
	for (size_t i = 0; i < nrecs && rc == 0; i++) {
		rc = ls_buf_printf(out, "\t{ 0x%016llxull, ", (unsigned long long)recs[i].key);
		if (rc == 0)
			rc = ls_buf_c_string(out, recs[i].pattern, strlen(recs[i].pattern));
		if (rc == 0)
			rc = ls_buf_printf(out, ", %uu, re%zu, %zu },\n", (unsigned)recs[i].opts, i,
					   recs[i].len);
	}
	if (rc == 0)
		rc = ls_buf_printf(out, "\t{ 0, 0, 0, 0, 0 }\n};\nconst size_t ls_builtin_nregexes = %zu;\n",
				   nrecs);
	for (size_t i = 0; i < nrecs; i++) {
		free(recs[i].bytes);
		free(recs[i].pattern);
	}
	free(recs);
	recs = NULL;
	nrecs = cap_recs = 0;
	return rc < 0 ? LS_ENOMEM : 0;
}

/* Compiles m->pattern with m->opts and loads its groups; 0, LS_EREGEX or
 * LS_ENOMEM with err set. */
static int compile(struct ls_matcher *m, char *const *fields, int nfields,
		   size_t *erroffset, struct ls_error *err)
{
	int errcode = 0;
	PCRE2_SIZE off = 0;
	PCRE2_UCHAR msg[256];

	m->code = decode(m->pattern, m->opts);
	if (!m->code) {
		m->code = pcre2_compile((PCRE2_SPTR)m->pattern, PCRE2_ZERO_TERMINATED, m->opts,
					&errcode, &off, compile_ctx);
		if (m->code && recording && remember(m->code, m->pattern, m->opts) < 0) {
			pcre2_code_free(m->code);
			m->code = NULL;
			return ls_error_set(err, LS_ENOMEM, "out of memory");
		}
	}
	if (!m->code) {
		/* not the regex's fault: the caller must not take it for one */
		if (errcode == PCRE2_ERROR_HEAP_FAILED)
			return ls_error_set(err, LS_ENOMEM, "out of memory");
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		if (erroffset)
			*erroffset = off;
		return ls_error_set(err, LS_EREGEX, "regex error at offset %zu: %s",
				    (size_t)off, (const char *)msg);
	}
	/* JIT-compiled once used often (see JIT_AFTER): most of the built-in
	 * regexes (formats a run does not meet, rules whose literals never
	 * occur) never run, and compiling them all at start was most of
	 * logship's start-up time */
	m->jit = -JIT_AFTER;
	m->md = pcre2_match_data_create_from_pattern(m->code, NULL);
	if (!m->md || load_groups(m, fields, nfields) < 0)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	m->ovector = pcre2_get_ovector_pointer(m->md);
	return 0;
}

/* Keeps copies of pattern and fields for a deferred compile; 0 or
 * LS_ENOMEM. */
static int keep_source(struct ls_matcher *m, const char *pattern,
		       char *const *fields, int nfields)
{
	if (!(m->pattern = strdup(pattern)))
		return LS_ENOMEM;
	if (nfields == 0)
		return 0;
	if (!(m->fields = calloc((size_t)nfields, sizeof(*m->fields))))
		return LS_ENOMEM;
	m->nfields = nfields;
	for (int i = 0; i < nfields; i++)
		if (!(m->fields[i] = strdup(fields[i])))
			return LS_ENOMEM;
	return 0;
}

static void drop_source(struct ls_matcher *m)
{
	for (int i = 0; i < m->nfields; i++)
		free(m->fields[i]);
	free(m->fields);
	free(m->pattern);
	m->fields = NULL;
	m->nfields = 0;
	m->pattern = NULL;
}

int ls_matcher_compile_fields(struct ls_matcher **out, const char *pattern,
			      unsigned flags, char *const *fields, int nfields,
			      size_t *erroffset, struct ls_error *err)
{
	struct ls_matcher *m = calloc(1, sizeof(*m));
	int rc;

	*out = NULL;
	if (!m)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	if (limits_acquire() < 0) {
		free(m);
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	}
	m->counted = 1;
	m->opts = PCRE2_DUPNAMES;
	if (flags & LS_MATCH_CASELESS)
		m->opts |= PCRE2_CASELESS;
	if (flags & LS_MATCH_ANCHORED)
		m->opts |= PCRE2_ANCHORED;
	if (flags & LS_MATCH_DEFER) {
		rc = keep_source(m, pattern, fields, nfields);
		if (rc < 0) {
			rc = ls_error_set(err, rc, "out of memory");
			goto fail;
		}
		*out = m;
		return 0;
	}
	m->pattern = (char *)pattern; /* borrowed for compile() only */
	rc = compile(m, fields, nfields, erroffset, err);
	m->pattern = NULL;
	if (rc < 0)
		goto fail;
	*out = m;
	return 0;
fail:
	ls_matcher_free(m);
	return rc;
}

void ls_matcher_free(struct ls_matcher *m)
{
	if (!m)
		return;
	uncompile(m);
	drop_source(m);
	if (m->counted)
		limits_release();
	free(m);
}

/* Compiles a deferred matcher at its first exec: 0; LS_ENOMEM (counted in
 * nomem_hits, retried at the next exec); LS_EINVAL for a pattern that does
 * not compile, for good. */
static int deferred_compile(struct ls_matcher *m)
{
	struct ls_error err = { 0, "" };
	int rc;

	if (!m->pattern)
		return LS_EINVAL;
	rc = compile(m, m->fields, m->nfields, NULL, &err);
	if (rc == 0 || rc != LS_ENOMEM)
		drop_source(m);
	if (rc < 0)
		uncompile(m);
	if (rc == LS_ENOMEM) {
		nomem_hits++;
		return rc;
	}
	return rc < 0 ? LS_EINVAL : 0;
}

int ls_matcher_exec(struct ls_matcher *m, const char *subject, size_t len)
{
	int rc;

	m->subject = subject;
	if (!m->code && (rc = deferred_compile(m)) < 0)
		return rc;
	if (m->jit < 0 && (++m->jit == 0 || len >= JIT_NOW_LEN)) {
		jit_compiling = 1;
		m->jit = pcre2_jit_compile(m->code, PCRE2_JIT_COMPLETE) == 0 ? 1 : 0;
		jit_compiling = 0;
	}
	if (m->jit > 0)
		rc = pcre2_jit_match(m->code, (PCRE2_SPTR)subject, len, 0, 0, m->md, limits_ctx);
	else
		rc = pcre2_match(m->code, (PCRE2_SPTR)subject, len, 0, 0, m->md, limits_ctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	/* the interpreter's frames live on the heap: no memory is not "no
	 * match", and must not pass for one unnoticed */
	if (rc == PCRE2_ERROR_NOMEMORY) {
		nomem_hits++;
		return LS_ENOMEM;
	}
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT ||
	    rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT) {
		limit_hits++;
		return LS_ENOMEM;
	}
	if (rc < 0)
		return LS_EINVAL;
	return 1;
}

unsigned long ls_matcher_limit_hits(void)
{
	return limit_hits;
}

unsigned long ls_matcher_nomem_hits(void)
{
	return nomem_hits;
}

int ls_matcher_ngroups(const struct ls_matcher *m)
{
	return m->ngroups;
}

const char *ls_matcher_group_field(const struct ls_matcher *m, int i, int *type)
{
	if (type)
		*type = m->groups[i].type;
	return m->groups[i].field;
}

int ls_matcher_group(const struct ls_matcher *m, int i, const char **s, size_t *len)
{
	int n = m->groups[i].number;
	PCRE2_SIZE a = m->ovector[2 * n], b = m->ovector[2 * n + 1];

	if (a == PCRE2_UNSET)
		return -1;
	*s = m->subject + a;
	*len = b - a;
	return 0;
}

void ls_matcher_span(const struct ls_matcher *m, size_t *start, size_t *end)
{
	*start = m->ovector[0];
	*end = m->ovector[1];
}
