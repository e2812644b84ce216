/* fuzz_config.c - the config file parser (cmd/config.c) with a small
 * option table of the shape ship's has: options with an argument, flags,
 * and the keys a config file must refuse (help, config, check).
 *
 * Input: the config file's text (written to a temp file: ls_config_load
 * takes a path).
 *
 * Asserts: the result is 0 or -2; only keys of the table (or auth) reach
 * the handler, never help/config/check; an option with an argument gets a
 * NUL-terminated value without a line end, owned by the config; a flag gets
 * none; paths stay within LS_CONFIG_MAX_PATHS and are set. The messages
 * ls_die_msg() prints are sent to /dev/null. */
#include "fuzz_util.h"

#include "../../cmd/config.h"

enum { OPT_FORMAT = 'f', OPT_WHERE = 'w', OPT_TO = 't', OPT_HELP = 'h',
       OPT_NO_TAG = 256, OPT_BATCH, OPT_FOLLOW, OPT_CONFIG, OPT_CHECK };

static const struct ls_opt table[] = {
	{ "format", OPT_FORMAT, 1, "NAME", "log format" },
	{ "where", OPT_WHERE, 1, "EXPR", "filter" },
	{ "to", OPT_TO, 1, "URL", "sink" },
	{ "batch-size", OPT_BATCH, 1, "N", "events per request" },
	{ "no-tag", OPT_NO_TAG, 0, NULL, "no security tags" },
	{ "follow", OPT_FOLLOW, 0, NULL, "keep reading" },
	{ "config", OPT_CONFIG, 1, "FILE", "config file" },
	{ "check", OPT_CHECK, 0, NULL, "check the config" },
	{ "help", OPT_HELP, 0, NULL, "this help" },
	{ NULL, 0, 0, NULL, NULL }
};

struct seen {
	int calls;
	struct ls_config *cfg;
};

static char path[512];
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/fuzz.conf", fuzz_tmpdir_get());
	devnull = fopen("/dev/null", "w");
	FUZZ_CHECK(devnull != NULL, "/dev/null");
	return 0;
}

/* 1 when arg is one of the config's own copies. */
static int owned(const struct ls_config *cfg, const char *arg)
{
	for (size_t i = 0; i < cfg->nvalues; i++)
		if (cfg->values[i] == arg)
			return 1;
	return 0;
}

static int handle(void *ctx, int key, const char *arg)
{
	struct seen *s = ctx;
	const struct ls_opt *o;

	s->calls++;
	if (key == LS_CONFIG_KEY_AUTH) {
		FUZZ_CHECK(arg != NULL, "auth without a value");
		return strcmp(arg, "refuse") == 0 ? -1 : 0;
	}
	for (o = table; o->name && o->key != key; o++)
		;
	FUZZ_CHECK(o->name != NULL, "unknown key %d", key);
	FUZZ_CHECK(key != OPT_HELP && key != OPT_CONFIG && key != OPT_CHECK,
		   "'%s' reached the handler", o->name);
	if (!o->has_arg) {
		FUZZ_CHECK(arg == NULL, "flag %s got '%s'", o->name, arg);
		return 0;
	}
	FUZZ_CHECK(arg != NULL, "%s without a value", o->name);
	FUZZ_CHECK(strchr(arg, '\n') == NULL, "%s value has a newline", o->name);
	FUZZ_CHECK(owned(s->cfg, arg), "%s value not owned by the config", o->name);
	/* a handler may refuse a value; the loader must then stop with -2 */
	return strcmp(arg, "refuse") == 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ls_config cfg;
	struct seen s = { 0, &cfg };
	FILE *saved = stderr;
	int rc;

	fuzz_write_file(path, data, size);
	memset(&cfg, 0, sizeof(cfg));
	stderr = devnull;
	rc = ls_config_load("ship", path, table, handle, &s, &cfg);
	stderr = saved;
	FUZZ_CHECK(rc == 0 || rc == -2, "ls_config_load returned %d", rc);
	FUZZ_CHECK(cfg.npaths >= 0 && cfg.npaths <= LS_CONFIG_MAX_PATHS, "npaths %d", cfg.npaths);
	for (int i = 0; i < cfg.npaths; i++)
		FUZZ_CHECK(cfg.paths[i] != NULL && strchr(cfg.paths[i], '\n') == NULL,
			   "path %d", i);
	FUZZ_CHECK(cfg.nvalues <= cfg.cap, "nvalues %zu cap %zu", cfg.nvalues, cfg.cap);
	ls_config_release(&cfg);
	return 0;
}
