/* test_timestamp.c - parsers/timestamp.c: every layout ls_ts_parse knows
 * (input -> expected RFC 3339 through ls_ts_format), zone names and offsets,
 * year inference on both sides of New Year, --tz Europe/Paris (summer,
 * winter, the spring gap and autumn overlap) and America/New_York, invalid
 * input, ls_ts_format of negative and far instants (checked day by day
 * against a naive calendar walk), ls_ts_parse_arg and ls_ts_init's zone
 * check. Cases that change the process TZ save and restore it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../parsers/error.h"
#include "../parsers/timestamp.h"
#include "unit.h"

#define NOW_MS 1700006400000LL /* 2023-11-15T00:00:00Z */
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct parse_case {
	const char *in;
	const char *want; /* RFC 3339 from ls_ts_format */
};

/* ---- helpers ------------------------------------------------------------ */

static char saved_tz[256];
static int had_tz;

static void tz_save(void)
{
	const char *tz = getenv("TZ");

	had_tz = tz != NULL;
	if (tz)
		snprintf(saved_tz, sizeof(saved_tz), "%s", tz);
}

static void tz_restore(void)
{
	if (had_tz)
		setenv("TZ", saved_tz, 1);
	else
		unsetenv("TZ");
	tzset();
}

/* A context in zone tz (the process TZ is set; call tz_restore after). */
static void ctx_in(struct ls_tsctx *ctx, int64_t now_ms, const char *tz)
{
	tz_save();
	CU_ASSERT_FATAL(ls_ts_init(ctx, now_ms, tz) == 0);
}

static void check_parse(struct ls_tsctx *ctx, const char *in, const char *want)
{
	char got[32] = "(no time)";
	char msg[256];
	int64_t ms = 0;
	int rc = ls_ts_parse(ctx, in, strlen(in), &ms);

	if (rc == 0)
		ls_ts_format(ms, got);
	snprintf(msg, sizeof(msg), "ls_ts_parse(\"%s\") gave %s, want %s", in,
		 got, want);
	CU_assertImplementation(rc == 0 && strcmp(got, want) == 0, __LINE__,
				msg, __FILE__, "", CU_FALSE);
}

static void check_table(struct ls_tsctx *ctx, const struct parse_case *t,
			size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_parse(ctx, t[i].in, t[i].want);
}

static void check_rejected(struct ls_tsctx *ctx, const char *in)
{
	char msg[256];
	int64_t ms = 12345;
	int rc = ls_ts_parse(ctx, in, strlen(in), &ms);

	snprintf(msg, sizeof(msg), "ls_ts_parse(\"%s\") accepted (%lld)", in,
		 (long long)ms);
	CU_assertImplementation(rc == -1, __LINE__, msg, __FILE__, "",
				CU_FALSE);
}

static int64_t parse_or_die(struct ls_tsctx *ctx, const char *s)
{
	int64_t ms = 0;

	CU_ASSERT_FATAL(ls_ts_parse(ctx, s, strlen(s), &ms) == 0);
	return ms;
}

static void run_utc_table(const struct parse_case *t, size_t n)
{
	struct ls_tsctx ctx;

	ctx_in(&ctx, NOW_MS, "UTC");
	check_table(&ctx, t, n);
	tz_restore();
}

/* ---- layouts (TZ=UTC, now 2023-11-15T00:00:00Z) ------------------------- */

static const struct parse_case layout_cases[] = {
	/* RFC 3339 / ISO 8601 and relatives */
	{ "2023-11-14T22:13:20Z", "2023-11-14T22:13:20.000Z" },
	{ "2023-11-14T22:13:20.123456+01:00", "2023-11-14T21:13:20.123Z" },
	{ "2023-11-14 22:13:20,123", "2023-11-14T22:13:20.123Z" },
	{ "2023-11-14 22:13:20.123 UTC", "2023-11-14T22:13:20.123Z" },
	{ "2023-11-14T22:13:20.123456Z", "2023-11-14T22:13:20.123Z" },
	{ "2023-11-14T22:13:20+0100", "2023-11-14T21:13:20.000Z" },
	{ "2023-11-14T22:13:20+01", "2023-11-14T21:13:20.000Z" },
	{ "2023-11-14T22:13:20+0000", "2023-11-14T22:13:20.000Z" },
	{ "2023-11-14T22:13:20-05:30", "2023-11-15T03:43:20.000Z" },
	{ "2023-11-14 22:13:20 +0100", "2023-11-14T21:13:20.000Z" },
	{ "2023-11-14t22:13:20.5z", "2023-11-14T22:13:20.500Z" },
	{ "2023-11-14T22:13:20.123456789Z", "2023-11-14T22:13:20.123Z" },
	{ "2023-11-14T22:13:20.9999999999999Z", "2023-11-14T22:13:20.999Z" },
	{ "2023-11-14T22:13:20", "2023-11-14T22:13:20.000Z" },
	/* HTTP common log, HAProxy */
	{ "10/Oct/2000:13:55:36 -0700", "2000-10-10T20:55:36.000Z" },
	{ "14/Nov/2023:22:13:20.123", "2023-11-14T22:13:20.123Z" },
	{ "14/Nov/2023:22:13:20 +0000", "2023-11-14T22:13:20.000Z" },
	/* syslog RFC 3164 (year-less and with a year) */
	{ "Nov 14 22:13:20", "2023-11-14T22:13:20.000Z" },
	{ "Nov  4 02:03:04", "2023-11-04T02:03:04.000Z" },
	{ "Nov 14 2023 22:13:20", "2023-11-14T22:13:20.000Z" },
	{ "Nov 14 22:13:20 2023", "2023-11-14T22:13:20.000Z" },
	{ "Nov 14 22:13:20.250", "2023-11-14T22:13:20.250Z" },
	{ "nov 14 22:13:20", "2023-11-14T22:13:20.000Z" },
	/* nginx error log, Go log */
	{ "2023/11/14 22:13:20", "2023-11-14T22:13:20.000Z" },
	{ "2023/11/14 22:13:20.123456", "2023-11-14T22:13:20.123Z" },
	/* apache error log, ctime, date(1) */
	{ "Tue Nov 14 22:13:20.123456 2023", "2023-11-14T22:13:20.123Z" },
	{ "Tue Nov 14 22:13:20 2023", "2023-11-14T22:13:20.000Z" },
	{ "Tue Nov 14 22:13:20 UTC 2023", "2023-11-14T22:13:20.000Z" },
	/* klog (level letter stripped) */
	{ "1114 22:13:20.123456", "2023-11-14T22:13:20.123Z" },
	/* Redis, dd-Mon-YYYY */
	{ "14 Nov 2023 22:13:20.123", "2023-11-14T22:13:20.123Z" },
	{ "14-Nov-2023 22:13:20.123", "2023-11-14T22:13:20.123Z" },
	/* MySQL 5.x YYMMDD */
	{ "231114 22:13:20", "2023-11-14T22:13:20.000Z" },
	{ "231114  2:13:20", "2023-11-14T02:13:20.000Z" },
	{ "991231 23:59:59", "1999-12-31T23:59:59.000Z" },
	/* blanks around */
	{ "2023-11-14T22:13:20Z   ", "2023-11-14T22:13:20.000Z" },
	{ "Nov 14 22:13:20 \r\n", "2023-11-14T22:13:20.000Z" },
};

static void test_layouts(void)
{
	run_utc_table(layout_cases, ARRAY_LEN(layout_cases));
}

/* ---- zone names and offsets --------------------------------------------- */

static const struct parse_case zone_cases[] = {
	{ "2023-11-14 22:13:20 GMT", "2023-11-14T22:13:20.000Z" },
	{ "2023-11-14 22:13:20.123 Z", "2023-11-14T22:13:20.123Z" },
	{ "2023-11-14 22:13:20 UTC+01:00", "2023-11-14T21:13:20.000Z" },
	{ "2023-11-14 22:13:20 CET", "2023-11-14T21:13:20.000Z" },
	{ "2023-11-14 22:13:20 CEST", "2023-11-14T20:13:20.000Z" },
	{ "2023-11-14 22:13:20 EST", "2023-11-15T03:13:20.000Z" },
	{ "2023-11-14 22:13:20 EDT", "2023-11-15T02:13:20.000Z" },
	{ "2023-11-14 22:13:20 CST", "2023-11-15T04:13:20.000Z" },
	{ "2023-11-14 22:13:20 CDT", "2023-11-15T03:13:20.000Z" },
	{ "2023-11-14 22:13:20 MST", "2023-11-15T05:13:20.000Z" },
	{ "2023-11-14 22:13:20 MDT", "2023-11-15T04:13:20.000Z" },
	{ "2023-11-14 22:13:20 PST", "2023-11-15T06:13:20.000Z" },
	{ "2023-11-14 22:13:20 PDT", "2023-11-15T05:13:20.000Z" },
	/* unknown abbreviation: zone-less, so in TZ (UTC here) */
	{ "2023-11-14 22:13:20 XYZT", "2023-11-14T22:13:20.000Z" },
	{ "10/Oct/2000:13:55:36 +0530", "2000-10-10T08:25:36.000Z" },
	{ "2000-03-01T00:00:00+14:00", "2000-02-29T10:00:00.000Z" },
};

static void test_zones(void)
{
	run_utc_table(zone_cases, ARRAY_LEN(zone_cases));
}

/* ---- epoch numbers ------------------------------------------------------ */

static const struct parse_case epoch_cases[] = {
	{ "1700000000", "2023-11-14T22:13:20.000Z" },
	{ "1700000000.5", "2023-11-14T22:13:20.500Z" },
	{ "1700000000.123456", "2023-11-14T22:13:20.123Z" },
	{ "1700000000123", "2023-11-14T22:13:20.123Z" },
	{ "1700000000123456", "2023-11-14T22:13:20.123Z" },
	{ "1700000000123456789", "2023-11-14T22:13:20.123Z" },
	{ "0000000000", "1970-01-01T00:00:00.000Z" },
	{ "9999999999", "2286-11-20T17:46:39.000Z" },
};

static void test_epochs(void)
{
	run_utc_table(epoch_cases, ARRAY_LEN(epoch_cases));
}

/* ---- calendar edges ----------------------------------------------------- */

static const struct parse_case calendar_cases[] = {
	{ "2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000Z" },
	{ "2000-02-29T00:00:00Z", "2000-02-29T00:00:00.000Z" },
	{ "1969-07-20T20:17:40Z", "1969-07-20T20:17:40.000Z" },
	{ "1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z" },
	{ "0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000Z" },
	{ "0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z" },
	{ "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z" },
	{ "2016-12-31T23:59:60Z", "2017-01-01T00:00:00.000Z" },
	{ "1900-03-01T00:00:00Z", "1900-03-01T00:00:00.000Z" },
};

static void test_calendar_edges(void)
{
	run_utc_table(calendar_cases, ARRAY_LEN(calendar_cases));
}

/* ---- invalid input ------------------------------------------------------ */

static const char *const invalid_cases[] = {
	"", "   ", "hello", "12", "22:13", "2023-11-14",
	"2023-13-14T22:13:20Z",      /* month */
	"2023-00-14T22:13:20Z",
	"2023-11-31T22:13:20Z",      /* day */
	"2023-02-29T00:00:00Z",      /* not a leap year */
	"1900-02-29T00:00:00Z",
	"2023-11-14T24:00:00Z",      /* hour */
	"2023-11-14T22:60:00Z",      /* minute */
	"2023-11-14T22:13:61Z",      /* second */
	"2023-11-14T22:13:20Zjunk",  /* trailing garbage */
	"2023-11-14T22:13:20 garbage",
	"2023-11-14T22:13:20 2023",
	"2023-11-14T22:13:20.",      /* fraction without digits */
	"2023-11-14T22:13:20+2500",  /* offset hour */
	"2023-11-14T22:13:20+01:",
	"2023-11-14T22:13:20+1",
	"2023-11-14T22:13:20ZZ",
	"2023-11-14T22:13:20XYZT",   /* unknown zone needs a blank */
	"2023-11-14T22:13",
	"2023-11/14 22:13:20",
	"2023-11-14X22:13:20",
	"Foo 14 22:13:20",
	"November 14 22:13:20",
	"Nov 32 22:13:20",
	"Nov 00 22:13:20",
	"Nov 14 22:13",
	"Nov 14 22:13:20 host",
	"Nov 14 22:13:20 20231",
	"Tue Nov 14 22:13:20 20231",
	"Tue  14 22:13:20 2023",
	"1314 22:13:20.123456",      /* klog month */
	"1100 22:13:20.123456",      /* klog day */
	"231314 22:13:20",
	"00/Nov/2023:22:13:20",
	"14/Nov/2023 22:13:20",
	"14/Foo/2023:22:13:20",
	"14 Nov 2023",
	"170000000",                 /* 9 digits */
	"17000000001",               /* 11 digits */
	"17000000001234567890",      /* 20 digits */
	"1700000000.5x",
	"1700000000.",
	"-1700000000",
};

static void test_invalid(void)
{
	struct ls_tsctx ctx;

	ctx_in(&ctx, NOW_MS, "UTC");
	for (size_t i = 0; i < ARRAY_LEN(invalid_cases); i++)
		check_rejected(&ctx, invalid_cases[i]);
	tz_restore();
}

static void test_length_bounded(void)
{
	static const char text[] = "2023-11-14T22:13:20Zxxxxx";
	struct ls_tsctx ctx;
	int64_t ms = 0;

	ctx_in(&ctx, NOW_MS, "UTC");
	CU_ASSERT(ls_ts_parse(&ctx, text, 20, &ms) == 0);
	CU_ASSERT(ms == 1700000000000LL);
	CU_ASSERT(ls_ts_parse(&ctx, text, 21, &ms) == -1);
	CU_ASSERT(ls_ts_parse(&ctx, text, 19, &ms) == 0); /* zone-less */
	CU_ASSERT(ls_ts_parse(&ctx, text, 18, &ms) == -1);
	CU_ASSERT(ls_ts_parse(NULL, text, 20, &ms) == -1);
	CU_ASSERT(ls_ts_parse(&ctx, NULL, 0, &ms) == -1);
	CU_ASSERT(ls_ts_parse(&ctx, text, 20, NULL) == -1);
	tz_restore();
}

/* ---- year inference ----------------------------------------------------- */

struct year_case {
	const char *now;
	const char *in;
	const char *want;
};

/* Rule: the latest year that puts the time at most one day after now. */
static const struct year_case year_cases[] = {
	{ "2024-01-02T00:00:00Z", "Dec 31 23:00:00", "2023-12-31T23:00:00.000Z" },
	{ "2024-01-02T00:00:00Z", "Jan  2 23:59:59", "2024-01-02T23:59:59.000Z" },
	{ "2024-01-02T00:00:00Z", "Jan  3 00:00:00", "2024-01-03T00:00:00.000Z" },
	{ "2024-01-02T00:00:00Z", "Jan  3 00:00:01", "2023-01-03T00:00:01.000Z" },
	{ "2023-12-31T12:00:00Z", "Jan  1 00:00:01", "2024-01-01T00:00:01.000Z" },
	{ "2023-12-31T12:00:00Z", "Jan  1 12:00:00", "2024-01-01T12:00:00.000Z" },
	{ "2023-12-31T12:00:00Z", "Jan  1 12:00:00.001", "2023-01-01T12:00:00.001Z" },
	{ "2023-12-31T12:00:00Z", "Jan  1 12:00:01", "2023-01-01T12:00:01.000Z" },
	{ "2023-12-31T12:00:00Z", "Dec 31 11:59:59", "2023-12-31T11:59:59.000Z" },
	{ "2025-06-01T00:00:00Z", "Feb 29 12:00:00", "2024-02-29T12:00:00.000Z" },
	{ "2024-01-02T00:00:00Z", "1231 23:59:59.500000", "2023-12-31T23:59:59.500Z" },
	{ "2023-12-31T12:00:00Z", "0101 00:00:01.000000", "2024-01-01T00:00:01.000Z" },
	{ "2024-01-02T00:00:00Z", "Sun Dec 31 23:00:00", "2023-12-31T23:00:00.000Z" },
	{ "1970-01-01T00:00:00Z", "Dec 31 23:59:59", "1969-12-31T23:59:59.000Z" },
};

static void test_year_inference(void)
{
	struct ls_tsctx ctx;

	for (size_t i = 0; i < ARRAY_LEN(year_cases); i++) {
		const struct year_case *c = &year_cases[i];
		int64_t now = 0;

		ctx_in(&ctx, 0, "UTC");
		CU_ASSERT_FATAL(ls_ts_parse_arg(&ctx, c->now, &now) == 0);
		ctx.now_ms = now;
		check_parse(&ctx, c->in, c->want);
		tz_restore();
	}
	ctx_in(&ctx, INT64_MAX, "UTC"); /* a nonsense now: no year, no crash */
	check_rejected(&ctx, "Nov 14 22:13:20");
	ctx.now_ms = INT64_MIN;
	check_rejected(&ctx, "1114 22:13:20.123456");
	tz_restore();
}

/* ---- --tz --------------------------------------------------------------- */

static const struct parse_case paris_cases[] = {
	{ "2023-07-14 12:00:00", "2023-07-14T10:00:00.000Z" },      /* CEST */
	{ "2023-07-14 12:59:59.999", "2023-07-14T10:59:59.999Z" },  /* cached */
	{ "2023-01-14 12:00:00", "2023-01-14T11:00:00.000Z" },      /* CET */
	{ "Jul 14 12:00:00", "2023-07-14T10:00:00.000Z" },
	{ "Jan 14 12:00:00", "2023-01-14T11:00:00.000Z" },
	{ "14/Jul/2023:12:00:00", "2023-07-14T10:00:00.000Z" },
	{ "14 Jan 2023 12:00:00.250", "2023-01-14T11:00:00.250Z" },
	{ "2023-11-14 22:13:20 XYZT", "2023-11-14T21:13:20.000Z" },
	/* explicit zones and epochs are not affected */
	{ "2023-07-14T12:00:00Z", "2023-07-14T12:00:00.000Z" },
	{ "2023-07-14T12:00:00+02:00", "2023-07-14T10:00:00.000Z" },
	{ "14/Jul/2023:12:00:00 +0000", "2023-07-14T12:00:00.000Z" },
	{ "2023-07-14 12:00:00 UTC", "2023-07-14T12:00:00.000Z" },
	{ "1700000000", "2023-11-14T22:13:20.000Z" },
	/* spring forward 2023-03-26 02:00 CET -> 03:00 CEST */
	{ "2023-03-26 01:59:59", "2023-03-26T00:59:59.000Z" },
	{ "2023-03-26 02:30:00", "2023-03-26T01:30:00.000Z" },      /* gap */
	{ "2023-03-26 03:00:00", "2023-03-26T01:00:00.000Z" },
	/* fall back 2023-10-29 03:00 CEST -> 02:00 CET */
	{ "2023-10-29 01:59:59", "2023-10-28T23:59:59.000Z" },
	{ "2023-10-29 02:30:00", "2023-10-29T00:30:00.000Z" },      /* first */
	{ "2023-10-29 03:00:00", "2023-10-29T02:00:00.000Z" },
};

static void test_tz_paris(void)
{
	struct ls_tsctx ctx;

	ctx_in(&ctx, NOW_MS, "Europe/Paris");
	CU_ASSERT(ctx.have_tz == 1);
	CU_ASSERT_STRING_EQUAL(ctx.tz_name, "Europe/Paris");
	check_table(&ctx, paris_cases, ARRAY_LEN(paris_cases));
	tz_restore();
}

/* Year inference compares instants, so the zone counts: now is 01:30 in
 * Paris on New Year's day. */
static void test_tz_paris_year(void)
{
	struct ls_tsctx ctx;

	ctx_in(&ctx, 1704069000000LL, "Europe/Paris"); /* 2024-01-01T00:30Z */
	check_parse(&ctx, "Jan  1 01:00:00", "2024-01-01T00:00:00.000Z");
	check_parse(&ctx, "Jan  2 01:30:00", "2024-01-02T00:30:00.000Z");
	check_parse(&ctx, "Jan  2 01:30:01", "2023-01-02T00:30:01.000Z");
	check_parse(&ctx, "Dec 31 23:00:00", "2023-12-31T22:00:00.000Z");
	tz_restore();
}

static const struct parse_case new_york_cases[] = {
	{ "2023-07-14 12:00:00", "2023-07-14T16:00:00.000Z" },
	{ "2023-01-14 12:00:00", "2023-01-14T17:00:00.000Z" },
	/* 2023-03-12 02:00 EST -> 03:00 EDT: the gap moves forward */
	{ "2023-03-12 02:30:00", "2023-03-12T07:30:00.000Z" },
	{ "2023-03-12 03:30:00", "2023-03-12T07:30:00.000Z" },
	/* 2023-11-05 02:00 EDT -> 01:00 EST: the first 01:30 */
	{ "2023-11-05 01:30:00", "2023-11-05T05:30:00.000Z" },
	{ "2023-11-05 02:30:00", "2023-11-05T07:30:00.000Z" },
};

static void test_tz_new_york(void)
{
	struct ls_tsctx ctx;

	ctx_in(&ctx, NOW_MS, "America/New_York");
	check_table(&ctx, new_york_cases, ARRAY_LEN(new_york_cases));
	tz_restore();
}

/* Without a tz argument, zone-less times follow the process TZ. */
static void test_tz_from_env(void)
{
	struct ls_tsctx ctx;

	tz_save();
	setenv("TZ", "Europe/Paris", 1);
	CU_ASSERT_FATAL(ls_ts_init(&ctx, NOW_MS, NULL) == 0);
	CU_ASSERT(ctx.have_tz == 0);
	CU_ASSERT(ctx.tz_name[0] == '\0');
	check_parse(&ctx, "2023-07-14 12:00:00", "2023-07-14T10:00:00.000Z");
	tz_restore();
}

/* A time of day alone takes the day of now, or the day before when it
 * would be more than an hour ahead of now; in its own zone when it has
 * one, else in ctx's. */
static void test_time_only(void)
{
	static const struct {
		const char *now, *tz, *in, *want;
	} cases[] = {
		{"2026-11-26T12:00:00Z", "UTC", "22:13:20.123", "2026-11-25T22:13:20.123Z"},
		{"2026-11-26T12:00:00Z", "UTC", "11:59:00", "2026-11-26T11:59:00.000Z"},
		{"2026-11-26T12:00:00Z", "UTC", "13:00:00", "2026-11-26T13:00:00.000Z"},
		{"2026-11-26T12:00:00Z", "UTC", "13:00:01", "2026-11-25T13:00:01.000Z"},
		{"2026-11-26T00:00:05Z", "UTC", "23:59:59", "2026-11-25T23:59:59.000Z"},
		{"2026-11-26T00:00:05Z", "UTC", "0:00:01,5", "2026-11-26T00:00:01.500Z"},
		{"2026-11-26T23:00:00Z", "UTC", "22:13:20 +0100", "2026-11-26T21:13:20.000Z"},
		{"2026-11-26T12:00:00Z", "Europe/Paris", "22:13:20.123", "2026-11-25T21:13:20.123Z"},
		{"2026-11-26T12:00:00Z", "Europe/Paris", "12:30:00", "2026-11-26T11:30:00.000Z"},
		{"2024-03-01T06:00:00Z", "UTC", "23:00:00", "2024-02-29T23:00:00.000Z"},
	};
	static const char *const bad[] = { "25:00:00", "12:60:00", "12:00", "12:00:00 x" };
	struct ls_tsctx ctx;
	int64_t now = 0;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		ctx_in(&ctx, 0, cases[i].tz);
		CU_ASSERT_FATAL(ls_ts_parse_arg(&ctx, cases[i].now, &now) == 0);
		ctx.now_ms = now;
		check_parse(&ctx, cases[i].in, cases[i].want);
		tz_restore();
	}
	ctx_in(&ctx, NOW_MS, "UTC");
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		check_rejected(&ctx, bad[i]);
	ctx.now_ms = INT64_MAX; /* a nonsense now: no day, no crash */
	check_rejected(&ctx, "12:00:00");
	tz_restore();
}

static void test_init_rejects_unknown_zone(void)
{
	static const char *const bad[] = {
		"Nowhere/Atlantis", "Europe", "../../etc/passwd", "/etc/passwd",
		"Europe/Paris/../Paris",
		"A_zone_name_far_too_long_to_fit_in_the_context_buffer_of_64_bytes",
		"U+5", "UTC+25", "EST5EDT,M13.1.0,M1.1.0", "EST5EDT,M3.2.0", "<+05>", "UTC+5x",
	};
	struct ls_tsctx ctx;
	const char *tz;

	tz_save();
	setenv("TZ", "UTC", 1);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		CU_ASSERT(ls_ts_init(&ctx, NOW_MS, bad[i]) == LS_EINVAL);
		CU_ASSERT(ctx.have_tz == 0);
		tz = getenv("TZ");
		CU_ASSERT(tz != NULL && strcmp(tz, "UTC") == 0);
	}
	CU_ASSERT(ls_ts_init(&ctx, NOW_MS, "UTC") == 0);
	CU_ASSERT(ls_ts_init(&ctx, NOW_MS, "") == 0);
	CU_ASSERT(ctx.have_tz == 0);
	tz_restore();
}

/* POSIX TZ strings are zones as TZ takes them: "UTC+5" is five hours
 * west of UTC. */
static void test_posix_tz(void)
{
	static const struct {
		const char *tz, *want;
	} cases[] = {
		{"UTC+5", "2023-11-14T17:00:00.000Z"},
		{"UTC-05:30", "2023-11-14T06:30:00.000Z"},
		{"<+0530>-5:30", "2023-11-14T06:30:00.000Z"},
		{"EST5EDT,M3.2.0,M11.1.0", "2023-11-14T17:00:00.000Z"},
		{"CET-1CEST,M3.5.0,M10.5.0/3", "2023-11-14T11:00:00.000Z"},
	};
	struct ls_tsctx ctx;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		ctx_in(&ctx, NOW_MS, cases[i].tz);
		CU_ASSERT(ctx.have_tz == 1);
		check_parse(&ctx, "2023-11-14 12:00:00", cases[i].want);
		tz_restore();
	}
	tz_save();
	CU_ASSERT(ls_ts_init(&ctx, NOW_MS, "") == 0);
	CU_ASSERT(ctx.have_tz == 0);
	tz_restore();
}

/* ---- ls_ts_format ------------------------------------------------------- */

struct format_case {
	int64_t ms;
	const char *want;
};

static const struct format_case format_cases[] = {
	{ 0, "1970-01-01T00:00:00.000Z" },
	{ -1, "1969-12-31T23:59:59.999Z" },
	{ -1000, "1969-12-31T23:59:59.000Z" },
	{ -86400001LL, "1969-12-30T23:59:59.999Z" },
	{ -14182940000LL, "1969-07-20T20:17:40.000Z" },
	{ 1700000000123LL, "2023-11-14T22:13:20.123Z" },
	{ 951782400000LL, "2000-02-29T00:00:00.000Z" },
	{ 4107542399999LL, "2100-02-28T23:59:59.999Z" },
	{ 4107542400000LL, "2100-03-01T00:00:00.000Z" },
	{ -62135596800000LL, "0001-01-01T00:00:00.000Z" },
	{ -62167219200000LL, "0000-01-01T00:00:00.000Z" },
	{ 253402300799999LL, "9999-12-31T23:59:59.999Z" },
	{ INT64_MAX, "9999-12-31T23:59:59.999Z" },  /* clamped */
	{ INT64_MIN, "0000-01-01T00:00:00.000Z" },  /* clamped */
};

static void test_format(void)
{
	for (size_t i = 0; i < ARRAY_LEN(format_cases); i++) {
		char out[32];
		int n = ls_ts_format(format_cases[i].ms, out);

		CU_ASSERT(n == 24);
		CU_ASSERT(strlen(out) == 24);
		CU_ASSERT_STRING_EQUAL(out, format_cases[i].want);
	}
}

static int naive_days_in_month(int y, int m)
{
	static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return len[m - 1] + (m == 2 && leap);
}

/* Walks every day from 0000-01-01 to 9999-12-31 with a naive calendar: each
 * day's midnight (plus a varying time of day) must format as that date and
 * parse back to the same instant. */
static void test_format_every_day(void)
{
	struct ls_tsctx ctx;
	int64_t day = -719528; /* 0000-01-01 */
	int y = 0, m = 1, d = 1, bad = 0;

	ctx_in(&ctx, NOW_MS, "UTC");
	for (; y <= 9999; day++) {
		/* a time of day that varies from day to day, below 86400000 */
		int64_t ms = day * 86400000LL + (day % 86400 + 86400) % 86400 * 997;
		char want[32], got[32];
		int64_t back = 0;

		snprintf(want, sizeof(want), "%04d-%02d-%02dT", y, m, d);
		ls_ts_format(ms, got);
		if (memcmp(got, want, 11) != 0 ||
		    ls_ts_parse(&ctx, got, 24, &back) != 0 || back != ms) {
			if (bad++ < 5)
				fprintf(stderr, "day %lld: got %s want %s\n",
					(long long)day, got, want);
		}
		if (++d > naive_days_in_month(y, m)) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
	CU_ASSERT(bad == 0);
	CU_ASSERT(day == 2932897); /* 10000-01-01 */
	tz_restore();
}

/* ---- ls_ts_parse_arg ---------------------------------------------------- */

static const struct parse_case arg_cases[] = {
	{ "30s", "2023-11-14T23:59:30.000Z" },
	{ "10m", "2023-11-14T23:50:00.000Z" },
	{ "2h", "2023-11-14T22:00:00.000Z" },
	{ "3d", "2023-11-12T00:00:00.000Z" },
	{ "1w", "2023-11-08T00:00:00.000Z" },
	{ "0s", "2023-11-15T00:00:00.000Z" },
	{ "now", "2023-11-15T00:00:00.000Z" },
	{ "2023-11-14T22:13:20Z", "2023-11-14T22:13:20.000Z" },
	{ "2023-11-14T22:13:20.5+01:00", "2023-11-14T21:13:20.500Z" },
	{ "2023-11-14", "2023-11-14T00:00:00.000Z" },
	{ "1700000000", "2023-11-14T22:13:20.000Z" },
};

static const char *const bad_args[] = {
	"", "10x", "h", "-5m", "10 m", "12345678901m", "yesterday", "2023-11-1",
};

static void test_parse_arg(void)
{
	struct ls_tsctx ctx;
	int64_t ms;

	ctx_in(&ctx, NOW_MS, "UTC");
	for (size_t i = 0; i < ARRAY_LEN(arg_cases); i++) {
		char got[32] = "(no time)";

		ms = 0;
		if (ls_ts_parse_arg(&ctx, arg_cases[i].in, &ms) == 0)
			ls_ts_format(ms, got);
		CU_ASSERT_STRING_EQUAL(got, arg_cases[i].want);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad_args); i++)
		CU_ASSERT(ls_ts_parse_arg(&ctx, bad_args[i], &ms) == -1);
	CU_ASSERT(ls_ts_parse_arg(&ctx, NULL, &ms) == -1);
	tz_restore();
}

/* A date alone is midnight in the chosen zone. */
static void test_parse_arg_zone(void)
{
	struct ls_tsctx ctx;
	int64_t ms = 0;
	char got[32];

	ctx_in(&ctx, NOW_MS, "Europe/Paris");
	CU_ASSERT(ls_ts_parse_arg(&ctx, "2023-07-14", &ms) == 0);
	ls_ts_format(ms, got);
	CU_ASSERT_STRING_EQUAL(got, "2023-07-13T22:00:00.000Z");
	tz_restore();
}

/* The same instant must come out of every layout that can carry it. */
static void test_layouts_agree(void)
{
	static const char *const same[] = {
		"2023-11-14T22:13:20.123Z", "2023-11-14 22:13:20,123",
		"14/Nov/2023:22:13:20.123 +0000", "Nov 14 22:13:20.123",
		"2023/11/14 22:13:20.123", "Tue Nov 14 22:13:20.123 2023",
		"1114 22:13:20.123", "14 Nov 2023 22:13:20.123",
		"231114 22:13:20.123", "1700000000.123", "1700000000123",
	};
	struct ls_tsctx ctx;

	ctx_in(&ctx, NOW_MS, "UTC");
	for (size_t i = 0; i < ARRAY_LEN(same); i++)
		CU_ASSERT(parse_or_die(&ctx, same[i]) == 1700000000123LL);
	tz_restore();
}

static const struct ls_test_case cases[] = {
	{ "layouts", test_layouts },
	{ "zone names and offsets", test_zones },
	{ "epoch numbers", test_epochs },
	{ "calendar edges", test_calendar_edges },
	{ "invalid input", test_invalid },
	{ "a time of day alone", test_time_only },
	{ "POSIX TZ strings as --tz", test_posix_tz },
	{ "length-bounded input and NULLs", test_length_bounded },
	{ "year inference around New Year", test_year_inference },
	{ "--tz Europe/Paris summer, winter, DST", test_tz_paris },
	{ "--tz Europe/Paris year inference", test_tz_paris_year },
	{ "--tz America/New_York DST", test_tz_new_york },
	{ "zone from TZ", test_tz_from_env },
	{ "init rejects unknown zones", test_init_rejects_unknown_zone },
	{ "format", test_format },
	{ "format and parse every day 0000-9999", test_format_every_day },
	{ "parse_arg", test_parse_arg },
	{ "parse_arg date in zone", test_parse_arg_zone },
	{ "layouts agree", test_layouts_agree },
	{ NULL, NULL },
};

LS_TEST_SUITE(timestamp, cases);
