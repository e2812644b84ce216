/* decode.h - structured line decoders: JSON objects and logfmt key=value
 * pairs flattened into event fields. */
#ifndef LS_DECODE_H
#define LS_DECODE_H

#include <stddef.h>

#include "event.h"

/* Key renames applied while decoding: when a decoded (dotted) key equals
 * from, the field is stored as to instead. */
struct ls_keymap {
	const char *from;
	const char *to;
};

/* Decodes one JSON object line into ev: nested objects become dotted names,
 * strings are unescaped into the arena (LS_F_STR), numbers/true/false/null
 * are kept as LS_F_RAW text, arrays as LS_F_RAW text. map (nmap entries) renames keys.
 * Returns 1 when the line is a JSON object and was decoded, 0 when it is
 * not (ev's fields are then left as they were), LS_ENOMEM when the arena is
 * full. No allocation beyond the event's arena. */
int ls_decode_json(struct ls_event *ev, const char *line, size_t len,
		   const struct ls_keymap *map, int nmap);

/* Decodes logfmt (key=value key="quoted value" key) into ev with the same
 * renames. Returns 1 when the line has at least two key=value pairs, else 0. */
int ls_decode_logfmt(struct ls_event *ev, const char *line, size_t len,
		     const struct ls_keymap *map, int nmap);

#endif
