/* redact.h - replacing secrets in the message and fields with
 * "[REDACTED:<kind>]": password/token/secret/api_key query and key=value
 * parameters, Authorization values, AWS access key ids, JWTs, private-key
 * blocks and Luhn-valid card numbers. */
#ifndef LS_REDACT_H
#define LS_REDACT_H

#include <stddef.h>

#include "event.h"

/* Scans s for secrets. When none: returns 0 and leaves *out untouched.
 * When some: writes the redacted copy into the event arena, sets *out and *outlen
 * and returns the number of secrets replaced (or LS_ENOMEM when the arena is
 * full). A fast single pass; no allocation outside the arena. */
int ls_redact(struct ls_event *ev, const char *s, size_t len,
	      const char **out, size_t *outlen);

/* Redacts the message and every string field of ev in place (the fields then
 * point into the arena) and adds the tag "redacted" when anything changed.
 * Returns the number of secrets replaced or LS_ENOMEM. */
int ls_redact_event(struct ls_event *ev);

#endif
