/* common.c - the options parse, tail and ship share. */
#include "common.h"

#include "../parsers/matcher.h"
#include "../shipper/checkpoint.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <string.h>
#include <unistd.h>

int ls_common_init(struct ls_common *c)
{
	memset(c, 0, sizeof(*c));
	c->outfmt = -1;
	return ls_where_new(&c->where);
}

void ls_common_release(struct ls_common *c)
{
	ls_where_free(c->where);
	c->where = NULL;
}

int ls_bad_number(const char *sub, const char *opt, const char *arg)
{
	ls_die_msg(sub, "%s: '%s' is not a valid number", opt, arg);
	return -2;
}

/* A size option of at least 1. */
static int positive_size(const char *sub, const char *opt, const char *arg, long long *v)
{
	*v = ls_opts_size(arg);
	return *v < 1 ? ls_bad_number(sub, opt, arg) : 0;
}

/* Compiles a regex option's value once to report an error under the
 * option's name: the pipeline compiles it again with the same flags, and
 * its message could not say which option it came from. -2 when bad. */
static int check_regex(const char *opt, const char *re)
{
	struct ls_matcher *m = NULL;
	struct ls_error err;
	int rc = ls_matcher_compile(&m, re, 0, NULL, &err);

	ls_matcher_free(m);
	if (rc < 0) {
		ls_die_msg(NULL, "%s: %s", opt, rc == LS_ENOMEM ? "out of memory" : err.msg);
		return -2;
	}
	return 0;
}

int ls_common_opt(struct ls_common *c, const char *sub, int key, const char *arg)
{
	struct ls_error err;
	long long v;

	switch (key) {
	case 'f':
		if (!*arg) {
			ls_die_msg(sub, "--format: no name given (a format, or auto)");
			return -2;
		}
		c->po.format = arg;
		break;
	case 'e': c->po.regex = arg; break;
	case LS_OPT_PATTERNS: c->po.patterns_dir = arg; break;
	case 'o':
		c->outfmt = ls_output_parse_format(arg);
		if (c->outfmt < 0) {
			ls_die_msg(sub, "unknown output '%s' (json, logfmt, tsv, pretty)", arg);
			return -2;
		}
		break;
	case LS_OPT_FIELDS: c->fields = (char *)arg; break;
	case 'w':
		if (ls_where_add(c->where, arg, &err) < 0) {
			ls_die_msg(sub, "%s", err.msg);
			return -2;
		}
		c->nwhere++;
		break;
	case LS_OPT_NO_TAG: c->po.no_tag = 1; break;
	case LS_OPT_NO_REDACT: c->po.no_redact = 1; break;
	case LS_OPT_TZ: c->po.tz = arg; break;
	case LS_OPT_MAX_LINE:
		if (positive_size(sub, "--max-line", arg, &v) < 0)
			return -2;
		c->po.max_line = (size_t)v;
		break;
	case LS_OPT_ML_START:
		if (check_regex("--multiline-start", arg) < 0)
			return -2;
		c->po.multiline_start = arg;
		break;
	case LS_OPT_ML_LINES:
		if (positive_size(sub, "--multiline-max-lines", arg, &v) < 0)
			return -2;
		c->po.multiline_max_lines = (int)(v > 1000000 ? 1000000 : v);
		break;
	case LS_OPT_ML_BYTES:
		if (positive_size(sub, "--multiline-max-bytes", arg, &v) < 0)
			return -2;
		c->po.multiline_max_bytes = (size_t)v;
		break;
	case LS_OPT_COLOR:
		if (strcmp(arg, "auto") && strcmp(arg, "always") && strcmp(arg, "never")) {
			ls_die_msg(sub, "--color: '%s' is not auto, always or never", arg);
			return -2;
		}
		c->color = arg;
		break;
	case 'h': c->help = 1; break;
	default: return 0;
	}
	return 1;
}

int ls_use_color(const char *when)
{
	const char *nc = getenv("NO_COLOR");

	if (when && strcmp(when, "always") == 0)
		return 1;
	if (when && strcmp(when, "never") == 0)
		return 0;
	return isatty(1) && !(nc && *nc);
}

enum ls_outfmt ls_common_outfmt(const struct ls_common *c)
{
	if (c->outfmt >= 0)
		return (enum ls_outfmt)c->outfmt;
	return isatty(1) ? LS_OUT_PRETTY : LS_OUT_JSON;
}

int ls_journal_opt(struct ls_journal_args *ja, const char *sub, int key, const char *arg)
{
	switch (key) {
	case LS_OPT_JOURNAL: break;
	case LS_OPT_JOURNAL_UNIT: ja->jo.unit = arg; break;
	case LS_OPT_JOURNAL_DIR: ja->jo.directory = arg; break;
	case LS_OPT_JOURNAL_MATCH:
		if (ja->jo.nmatches == LS_MAX_JOURNAL_MATCHES) {
			ls_die_msg(sub, "at most %d --journal-match options", LS_MAX_JOURNAL_MATCHES);
			return -2;
		}
		ja->matches[ja->jo.nmatches++] = arg;
		break;
	default:
		return 0;
	}
	ja->enabled = 1;
	ja->jo.matches = ja->matches;
	return 1;
}

int ls_duration_opt(const char *sub, const char *opt, const char *arg, long long unit_ms,
		    int64_t *out)
{
	long long v = ls_opts_duration_ms(arg, unit_ms);

	if (v < 0) {
		ls_die_msg(sub, "%s: '%s' is not a duration (500ms, 5s, 10m, 24h)", opt, arg);
		return -2;
	}
	*out = v;
	return 0;
}

int ls_signal_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int ls_state_name(const char *command, const char *name_opt, int journal,
		  const char *journal_dir, char **paths, int npaths, const char *sink,
		  char *out, size_t size)
{
	char cwd[4096], **abs = NULL, journal_cmd[64];
	const char *input[1] = { journal_dir ? journal_dir : "journal" };
	int rc = -1;

	if (name_opt) {
		snprintf(out, size, "%s", name_opt);
		return 0;
	}
	if (journal || npaths == 0) {
		snprintf(journal_cmd, sizeof(journal_cmd), "%s-journal", command);
		return ls_checkpoint_pipeline_name(journal_cmd, input, 1, sink, out, size) ? 0 : -1;
	}
	if (!getcwd(cwd, sizeof(cwd)) || !(abs = calloc((size_t)npaths, sizeof(*abs))))
		return -1;
	for (int i = 0; i < npaths; i++) {
		size_t len = strlen(cwd) + strlen(paths[i]) + 2;
		if (!(abs[i] = malloc(len)))
			goto out;
		if (paths[i][0] == '/')
			snprintf(abs[i], len, "%s", paths[i]);
		else
			snprintf(abs[i], len, "%s/%s", cwd, paths[i]);
	}
	rc = ls_checkpoint_pipeline_name(command, (const char *const *)abs, npaths, sink, out,
					 size) ? 0 : -1;
out:
	for (int i = 0; i < npaths; i++)
		free(abs[i]);
	free(abs);
	return rc;
}
