/* redact.h - replacing secrets in the message and fields with
 * "[REDACTED:<kind>]": password/token/secret/api_key query and key=value
 * parameters (a bare "key: value" only for unambiguous keys and values
 * that look like credentials), Authorization values, passwords in URL user
 * info, AWS access key ids, JWTs, private-key blocks and Luhn-valid card
 * numbers. */
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

/* Redacts the message and every string field of ev in place (the fields
 * that change then point into the arena; those marked own, logship's own
 * text such as a rule's name, are left alone) and adds the tag "redacted" when
 * anything changed. The raw line (or a message that is not part of it) is
 * scanned once; a field inside it gets every secret it overlaps replaced,
 * clipped to the field, so a field holding only a password's value is
 * redacted too. Without a "message" field, a line with secrets gets one:
 * the redacted line. ev->line itself is left as read. Returns the number
 * of secrets replaced, or LS_ENOMEM when the arena is full (a field that
 * could not be redacted is then "[REDACTED:unredactable]"). */
int ls_redact_event(struct ls_event *ev);

#endif
