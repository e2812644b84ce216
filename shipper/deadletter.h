/* deadletter.h - events a sink rejected as bad, kept in
 * STATE/dead-letter/NAME.ndjson (mode 0600) with the status and the reason,
 * up to a byte cap, so they can be looked at and sent again. */
#ifndef LS_DEADLETTER_H
#define LS_DEADLETTER_H

#include <stddef.h>
#include <stdint.h>

#include "../parsers/error.h"

struct ls_deadletter;

/* Opens (creating) dir/NAME.ndjson for appending; dir is created 0700.
 * max_bytes caps the file (0: 1 GiB). Caller frees with ls_deadletter_free(). */
int ls_deadletter_open(struct ls_deadletter **out, const char *dir, const char *name,
		       uint64_t max_bytes, struct ls_error *err);
void ls_deadletter_free(struct ls_deadletter *d);

/* Appends one line {"time":..,"status":N,"reason":"..","item":"<the sink's
 * encoding of the event, byte for byte, its newline included>"}. LS_ENOMEM when the cap is reached (the item is
 * not written: the caller counts it as dropped), LS_EIO on a write error. */
int ls_deadletter_add(struct ls_deadletter *d, long status, const char *reason,
		      const char *item, size_t len, int64_t now_ms, struct ls_error *err);

/* fsync()s the file; 0 or LS_EIO. */
int ls_deadletter_sync(struct ls_deadletter *d, struct ls_error *err);

const char *ls_deadletter_path(const struct ls_deadletter *d);

#endif
