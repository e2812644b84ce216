/* where.h - the --where filter expressions, ANDed:
 * field=value, field!=value, field~regex, field>N, field>=N, field<N,
 * field<=N, has:field, tag:NAME. */
#ifndef LS_WHERE_H
#define LS_WHERE_H

#include "error.h"
#include "event.h"

struct ls_where;

/* An empty filter (matches everything). Caller frees with ls_where_free(). */
int ls_where_new(struct ls_where **out);
void ls_where_free(struct ls_where *w);

/* Adds one expression. LS_EINVAL with a message naming the expression when it
 * cannot be parsed, LS_EREGEX for a bad ~regex. */
int ls_where_add(struct ls_where *w, const char *expr, struct ls_error *err);

/* 1 when the event satisfies every expression, else 0. No allocation.
 * "@timestamp" compares as RFC 3339 text; "message" is the message field;
 * numeric operators compare numbers (a non-number never matches). */
int ls_where_match(struct ls_where *w, const struct ls_event *ev);

#endif
