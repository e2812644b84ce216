/* litcache.c - build tool: derives the prefilter of every built-in rule
 * and compiles every built-in regular expression (the slow parts of
 * loading them), and writes both as C source on stdout, to be compiled
 * into logship; see ls_rules_literal_table() and ls_matcher_record().
 * Linked with litcache_none.c, so everything here is derived and compiled. */
#include <stdio.h>

#include "../parsers/buf.h"
#include "../parsers/matcher.h"
#include "../shipper/catalog.h"

static void warn(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "litcache: %s\n", msg);
}

int main(void)
{
	struct ls_catalog *c = NULL;
	struct ls_error err = { 0, "" };
	struct ls_buf out;
	int rc;

	ls_buf_init(&out, (size_t)64 << 20);
	ls_matcher_record(1);
	rc = ls_catalog_load_builtin(&c, LS_CATALOG_DERIVE, warn, NULL, &err);
	ls_matcher_record(0);
	if (rc == 0 && c->nwarnings)
		rc = -1; /* a broken built-in entry: the build must stop */
	if (rc == 0)
		rc = ls_rules_literal_table(c->rules, &out);
	if (rc == 0)
		rc = ls_matcher_record_table(&out);
	if (rc == 0 && fwrite(out.data, 1, out.len, stdout) != out.len)
		rc = -1;
	if (rc == 0 && fflush(stdout) != 0)
		rc = -1;
	if (rc < 0)
		fprintf(stderr, "litcache: %s\n", err.msg[0] ? err.msg : "failed");
	ls_buf_release(&out);
	ls_catalog_free(c);
	return rc < 0 ? 1 : 0;
}
