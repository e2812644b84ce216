/* timestamp.h - parsing the many time layouts of logs into UTC milliseconds
 * and writing RFC 3339. */
#ifndef LS_TIMESTAMP_H
#define LS_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>

struct ls_tsctx {
	int64_t now_ms;   /* "now" for year inference (LOGSHIP_NOW or the clock) */
	int have_tz;      /* tz_name set: zone-less times are in that zone */
	char tz_name[64]; /* as for TZ; empty: the process's local zone */
	/* zone offset cache: the local hour (local seconds / 3600) and its
	 * offset in seconds east of UTC; only hours far from a change */
	int64_t cache_hour;
	int32_t cache_off;
};

/* Sets up ctx: now_ms and zone (tz may be NULL or "" for TZ / local time).
 * Calls tzset(); with tz given, sets TZ for the process (so it changes
 * localtime for the whole program). tz must be "UTC" or name a file under
 * /usr/share/zoneinfo (e.g. "Europe/Paris"). Returns 0, or LS_EINVAL for an
 * unknown zone (TZ is then left as it was). Every other ls_ts_* call that
 * takes a ctx needs one set up here. */
int ls_ts_init(struct ls_tsctx *ctx, int64_t now_ms, const char *tz);

/* Parses s[0..len) (need not be NUL-terminated) as a timestamp in any known
 * layout into UTC epoch milliseconds (fractions are truncated to the ms):
 *   RFC 3339 / ISO 8601  2023-11-14T22:13:20.123456+01:00 (T, t or space;
 *                        fraction with . or ,; zone Z, ±hh, ±hhmm, ±hh:mm,
 *                        a name, or none), also YYYY/MM/DD hh:mm:ss[.frac]
 *   HTTP date, HAProxy   10/Oct/2000:13:55:36 -0700, 14/Nov/2023:22:13:20.123
 *   syslog RFC 3164      Nov 14 22:13:20, Nov  4 02:03:04 (year-less),
 *                        Nov 14 2023 22:13:20, Nov 14 22:13:20 2023
 *   apache error, ctime  Tue Nov 14 22:13:20[.123456] [UTC ]2023
 *   klog                 1114 22:13:20.123456 (MMDD, year-less)
 *   Redis and similar    14 Nov 2023 22:13:20.123, 14-Nov-2023 22:13:20.123
 *   MySQL 5.x            231114 22:13:20 (YYMMDD; 69-99 are 19xx)
 *   epoch digits         10 = s, 13 = ms, 16 = µs, 19 = ns; an optional
 *                        fraction of that unit (1700000000.5)
 *   time of day alone    22:13:20.123[ zone] (logback): on the day of now,
 *                        or the day before when it would be more than an
 *                        hour after now
 * Month and weekday names are English, any case. Zone names: Z, UTC, UT,
 * GMT (each optionally followed by ±hh[:mm]) and the fixed offsets EST EDT
 * CST CDT MST MDT PST PDT (US) CET CEST EET EEST WET WEST; any other 2-5
 * capitals after a blank are read but ignored (the time is zone-less).
 * Zone-less times are in ctx's zone (see ls_ts_init). Near a daylight
 * saving change, a time in the overlap (it happens twice) is the first
 * occurrence, and a time in the gap (it never happens) is read with the
 * offset in force before the change (02:30 in a 02:00->03:00 gap is 03:30).
 * Year-less layouts take the latest year Y for which the resulting instant t
 * satisfies t <= ctx->now_ms + 86400000 (at most one day after now): with
 * now 2024-01-02T00:00Z, "Dec 31 23:00:00" is 2023-12-31; with now
 * 2023-12-31T12:00Z, "Jan  1 12:00:00" is 2024-01-01 (exactly a day ahead)
 * but "Jan  1 12:00:01" is 2023-01-01. Feb 29 takes the latest leap year.
 * Blanks (and CR/LF) around s are allowed; anything else left over, a field
 * out of range (month, day for that month, hour > 23, minute > 59,
 * second > 60) or an unknown shape gives -1. Returns 0 and *ms, or -1.
 * No allocation; ctx's offset cache is updated. */
int ls_ts_parse(struct ls_tsctx *ctx, const char *s, size_t len, int64_t *ms);

/* Writes ms as "YYYY-MM-DDThh:mm:ss.mmmZ" (24 chars + NUL) into out;
 * returns 24. Negative ms are before 1970 (-1 is 1969-12-31T23:59:59.999Z);
 * instants before 0000-01-01 or after 9999-12-31T23:59:59.999 are clamped
 * to those bounds. */
int ls_ts_format(int64_t ms, char out[32]);

/* Parses a NUL-terminated time as given to --since/--until/LOGSHIP_NOW:
 * a relative one, N followed by s, m, h, d or w (N seconds, minutes, hours,
 * days or weeks before ctx->now_ms; N up to 10 digits), "now", a date alone
 * "YYYY-MM-DD" (its midnight in ctx's zone), or any ls_ts_parse layout.
 * Returns 0 and *ms, or -1. */
int ls_ts_parse_arg(struct ls_tsctx *ctx, const char *s, int64_t *ms);

#endif
