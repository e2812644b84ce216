/* json_out.h - encoding events as one JSON object per line (nested ECS
 * objects from dotted names) and JSON string escaping. */
#ifndef LS_JSON_OUT_H
#define LS_JSON_OUT_H

#include <stddef.h>

#include "buf.h"
#include "event.h"

/* Appends s as a JSON string (with quotes) to out. Valid UTF-8 is copied as
 * is; each invalid byte becomes the text \xHH with uppercase hex, as nginx
 * writes it (so "\\xFF" in JSON); control characters are escaped (\n \r \t
 * \b \f, else \u00xx), DEL as \u007f. Returns 0, or LS_ENOMEM. Sets *invalid
 * (when not NULL) to 1 if an invalid byte was seen, else leaves it alone. */
int ls_json_string(struct ls_buf *out, const char *s, size_t len, int *invalid);

/* Appends the event as one JSON object and "\n": "@timestamp" first (from
 * ev->ts_ms; a field called "@timestamp" is not written), "message" second
 * (the "message" field, else ev->line), then the other fields sorted by
 * name segment by segment ('.' sorts first, so "a" < "a.b" < "a-b"), dotted
 * names nested ("http.response.status_code" →
 * {"http":{"response":{"status_code":..}}}), ev->tags as a top-level
 * "tags":[..] (omitted when there are none; it wins over a field called
 * "tags"). Values: LS_F_STR escaped; LS_F_INT / LS_F_FLOAT bare when valid
 * JSON numbers, else strings; LS_F_RAW as is; LS_F_LIST an array of strings.
 * A name that is both a leaf and an object prefix ("a" and "a.b") gives the
 * same key twice: "a":"x","a":{"b":..} (most JSON readers keep the last).
 * Invalid UTF-8 is written as \xHH; tagging invalid_utf8 is the caller's
 * job (see ls_utf8_valid). On LS_ENOMEM out is left as it was. No
 * allocation besides out's growth. */
int ls_json_event(struct ls_buf *out, const struct ls_event *ev);

/* 1 when s[0..len) is valid UTF-8 (no overlongs, surrogates, code points
 * above U+10FFFF or truncated sequences), else 0. Control characters are
 * valid UTF-8: they are escaped on output, not counted as invalid here. */
int ls_utf8_valid(const char *s, size_t len);

#endif
