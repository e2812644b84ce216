/* fuzz_where.c - the --where expression parser and matcher
 * (parsers/where.c).
 *
 * Input: lines. Up to the first empty line, each is one expression; after
 * it, lines describe the event matched against: "#NAME" adds a tag, "@N"
 * sets the time (ms), "DNAME=VALUE" sets field NAME to VALUE with type
 * D (a digit 0-4: str, int, float, raw, list; list items split by '|'),
 * and "NAME=VALUE" sets a string field.
 *
 * Asserts: a rejected expression gives LS_EINVAL or LS_EREGEX with a
 * message; an empty filter matches; matching is 0 or 1 and the same when
 * repeated; the filter of all accepted expressions matches exactly when
 * each one alone does (they are ANDed). */
#include "fuzz_util.h"

#include "../../parsers/event.h"
#include "../../parsers/where.h"

#define MAX_EXPRS 16

static struct ls_event ev;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(ls_event_init(&ev, 64 << 10) == 0, "ls_event_init");
	return 0;
}

/* Fills ev from the event lines (NUL-terminated, '\n'-separated). */
static void build_event(char *lines)
{
	ls_event_reset(&ev);
	ev.ts_ms = 1700000000123LL;
	ev.severity = 3;
	ev.line = "a line";
	ev.line_len = 6;
	ls_event_set_str(&ev, "message", "Failed password for root from 203.0.113.9 port 22");
	ls_event_set(&ev, "http.response.status_code", "404", 3, LS_F_INT);
	ls_event_add_tag(&ev, "ssh");
	for (char *line = lines; line && *line;) {
		char *nl = strchr(line, '\n'), *eq;
		if (nl)
			*nl = '\0';
		if (line[0] == '#') {
			ls_event_add_tag(&ev, line + 1);
		} else if (line[0] == '@') {
			ev.ts_ms = strtoll(line + 1, NULL, 10);
		} else if ((eq = strchr(line, '=')) != NULL) {
			int type = LS_F_STR;
			*eq = '\0';
			if (line[0] >= '0' && line[0] <= '4')
				type = *line++ - '0';
			if (type == LS_F_LIST)
				for (char *p = eq + 1; *p; p++)
					if (*p == '|')
						*p = LS_LIST_SEP;
			ls_event_set(&ev, line, eq + 1, strlen(eq + 1), type);
		}
		line = nl ? nl + 1 : NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *line, *event_lines = NULL;
	struct ls_where *all = NULL, *one[MAX_EXPRS];
	int none = 0, each = 1, r;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	FUZZ_CHECK(ls_where_new(&all) == 0, "ls_where_new");
	line = copy;
	while (line && none < MAX_EXPRS) {
		char *nl = strchr(line, '\n');
		struct ls_error err = { 0, "" };
		int rc;
		if (nl)
			*nl = '\0';
		if (!*line) {
			event_lines = nl ? nl + 1 : NULL;
			break;
		}
		rc = ls_where_add(all, line, &err);
		if (rc < 0) {
			FUZZ_CHECK((rc == LS_EINVAL || rc == LS_EREGEX) && err.code == rc && err.msg[0],
				   "rc %d, message '%s'", rc, err.msg);
		} else {
			FUZZ_CHECK(ls_where_new(&one[none]) == 0, "ls_where_new");
			FUZZ_CHECK(ls_where_add(one[none], line, &err) == 0,
				   "'%s' accepted once, then: %s", line, err.msg);
			none++;
		}
		line = nl ? nl + 1 : NULL;
	}
	build_event(event_lines);

	r = ls_where_match(all, &ev);
	FUZZ_CHECK(r == 0 || r == 1, "ls_where_match %d", r);
	FUZZ_CHECK(ls_where_match(all, &ev) == r, "a second match differs");
	for (int i = 0; i < none; i++) {
		int ri = ls_where_match(one[i], &ev);
		FUZZ_CHECK(ri == 0 || ri == 1, "ls_where_match %d", ri);
		each &= ri;
		ls_where_free(one[i]);
	}
	FUZZ_CHECK(r == each, "all together %d, each alone %d", r, each);
	ls_where_free(all);
	free(copy);
	return 0;
}
