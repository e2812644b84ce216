/* timestamp.c - the time layouts of logs into UTC epoch milliseconds, and
 * milliseconds back into RFC 3339.
 *
 * ls_ts_parse runs once per log line, so it allocates nothing and uses no
 * sscanf/strptime: a layout is chosen from the first characters, read with
 * small digit readers into struct ts_fields, then turned into an instant with
 * calendar arithmetic (days_from_civil) and, for zone-less times, an offset
 * from localtime_r cached per local hour in the context. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "timestamp.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SEC_PER_DAY 86400
#define MS_PER_DAY 86400000LL
#define YEAR_IN_FUTURE_MS MS_PER_DAY /* year-less: at most this after now */
#define DAY_IN_FUTURE_MS 3600000LL   /* date-less: at most this after now */
#define LEAPS_BEFORE_1970 477        /* 1969/4 - 1969/100 + 1969/400 */
#define DAYS_PER_400Y 146097
#define ZONEINFO_DIR "/usr/share/zoneinfo/"

/* What a layout reader found; fields_to_ms() turns it into an instant. */
struct ts_fields {
	int year, mon, day, hour, min, sec;
	int32_t nsec;
	int32_t off;   /* seconds east of UTC, valid when have_off */
	int have_off;  /* an offset or a known zone name was given */
	int have_zone; /* a zone was read (an unknown name leaves have_off 0) */
	int have_year;
	int time_only; /* a time of day alone: the day comes from now */
};

/* A read position in the (not necessarily NUL-terminated) input. */
struct cur {
	const char *p;
	const char *end;
};

/* ---- calendar ---------------------------------------------------------- */

static const int16_t days_before_month[13] = {
	0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365
};

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int mon)
{
	int n = days_before_month[mon] - days_before_month[mon - 1];

	return n + (mon == 2 && is_leap(y));
}

/* Days from 1970-01-01 to January 1st of year y (proleptic Gregorian). */
static int64_t days_before_year(int64_t y)
{
	int64_t prev = y - 1;
	int64_t leaps = floor_div(prev, 4) - floor_div(prev, 100) +
			floor_div(prev, 400);

	return 365 * (y - 1970) + leaps - LEAPS_BEFORE_1970;
}

/* Days from 1970-01-01 to y-mon-day; mon 1..12, day 1..31. */
static int64_t days_from_civil(int64_t y, int mon, int day)
{
	return days_before_year(y) + days_before_month[mon - 1] +
	       (mon > 2 && is_leap(y)) + day - 1;
}

static int64_t civil_seconds(int64_t y, int mon, int day, int hour, int min,
			     int sec)
{
	return days_from_civil(y, mon, day) * SEC_PER_DAY + hour * 3600 +
	       min * 60 + sec;
}

/* The year holding day number days (0 = 1970-01-01): an estimate from the
 * mean year length, then corrected by at most a step or two. */
static int64_t year_of_day(int64_t days)
{
	int64_t y = 1970 + floor_div(days * 400, DAYS_PER_400Y);

	while (days_before_year(y) > days)
		y--;
	while (days_before_year(y + 1) <= days)
		y++;
	return y;
}

/* The month (1..12) holding day doy (0-based) of a year. */
static int month_of_day_in_year(int64_t doy, int leap)
{
	int mon = 1;

	while (mon < 12 &&
	       doy >= days_before_month[mon] + (mon >= 2 ? leap : 0))
		mon++;
	return mon;
}

/* ---- zone offsets ------------------------------------------------------ */

/* Seconds east of UTC of the process's zone (TZ) at instant t. */
static int32_t zone_offset_at(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm))
		return 0;
	return (int32_t)(civil_seconds(tm.tm_year + 1900LL, tm.tm_mon + 1,
				       tm.tm_mday, tm.tm_hour, tm.tm_min,
				       tm.tm_sec) - t);
}

/* The instant of local wall-clock time local (seconds, read as if UTC).
 * The offsets a day before and a day after tell whether a transition is
 * near; if none is, the whole local hour shares one offset and is cached.
 * Near a transition, a time that exists once uses its own offset; a time
 * in an overlap (exists twice) or in a gap (never exists) uses the offset
 * in effect before the transition: the first occurrence, or the gap time
 * moved forward by the gap's length. */
static int64_t local_to_utc(struct ls_tsctx *ctx, int64_t local)
{
	int64_t hour = floor_div(local, 3600);
	int32_t before, after;

	if (hour == ctx->cache_hour)
		return local - ctx->cache_off;
	before = zone_offset_at(local - SEC_PER_DAY);
	after = zone_offset_at(local + SEC_PER_DAY);
	if (before == after && zone_offset_at(local - before) == before) {
		ctx->cache_hour = hour;
		ctx->cache_off = before;
		return local - before;
	}
	if (zone_offset_at(local - before) == before ||
	    zone_offset_at(local - after) != after)
		return local - before;
	return local - after;
}

/* ---- readers ----------------------------------------------------------- */

static int is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

static int is_alpha(int ch)
{
	ch = lower(ch);
	return ch >= 'a' && ch <= 'z';
}

static int is_blank(int ch)
{
	return ch == ' ' || ch == '\t';
}

static int peek(const struct cur *c)
{
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

static int at_end(const struct cur *c)
{
	return c->p >= c->end;
}

static int eat(struct cur *c, int ch)
{
	if (peek(c) != ch)
		return 0;
	c->p++;
	return 1;
}

/* Skips blanks; returns how many. */
static int skip_blanks(struct cur *c)
{
	int n = 0;

	while (is_blank(peek(c))) {
		c->p++;
		n++;
	}
	return n;
}

/* Reads exactly n digits into *out; moves only on success. */
static int read_digits(struct cur *c, int n, int *out)
{
	int v = 0;

	if (c->end - c->p < n)
		return 0;
	for (int i = 0; i < n; i++) {
		if (!is_digit((unsigned char)c->p[i]))
			return 0;
		v = v * 10 + (c->p[i] - '0');
	}
	c->p += n;
	*out = v;
	return 1;
}

/* Reads one or two digits (a day or an hour that may be unpadded). */
static int read_1or2(struct cur *c, int *out)
{
	int v;

	if (!is_digit(peek(c)))
		return 0;
	v = *c->p++ - '0';
	if (is_digit(peek(c)))
		v = v * 10 + (*c->p++ - '0');
	*out = v;
	return 1;
}

/* Reads a 3-letter name (any case) from names (lower case) into *idx; the
 * next character must not be a letter. */
static int read_name3(struct cur *c, const char (*names)[4], int count,
		      int *idx)
{
	if (c->end - c->p < 3 || (c->end - c->p > 3 && is_alpha(c->p[3])))
		return 0;
	for (int i = 0; i < count; i++) {
		if (lower(c->p[0]) == names[i][0] &&
		    lower(c->p[1]) == names[i][1] &&
		    lower(c->p[2]) == names[i][2]) {
			c->p += 3;
			*idx = i;
			return 1;
		}
	}
	return 0;
}

static const char month_names[12][4] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec"
};

static const char weekday_names[7][4] = {
	"mon", "tue", "wed", "thu", "fri", "sat", "sun"
};

static int read_month(struct cur *c, int *mon)
{
	int idx;

	if (!read_name3(c, month_names, 12, &idx))
		return 0;
	*mon = idx + 1;
	return 1;
}

/* An optional fraction of a second after '.' or ',' (at least one digit);
 * digits past nanoseconds are read and dropped. */
static int read_fraction(struct cur *c, int32_t *nsec)
{
	int32_t v = 0;
	int kept = 0, seen = 0;

	*nsec = 0;
	if (peek(c) != '.' && peek(c) != ',')
		return 1;
	c->p++;
	for (; is_digit(peek(c)); c->p++, seen++) {
		if (kept < 9) {
			v = v * 10 + (*c->p - '0');
			kept++;
		}
	}
	for (; kept < 9; kept++)
		v *= 10;
	*nsec = v;
	return seen > 0;
}

/* h[h]:mm:ss[(.|,)fraction] */
static int read_clock(struct cur *c, struct ts_fields *f)
{
	return read_1or2(c, &f->hour) && eat(c, ':') &&
	       read_digits(c, 2, &f->min) && eat(c, ':') &&
	       read_digits(c, 2, &f->sec) && read_fraction(c, &f->nsec);
}

/* A 4-digit year standing alone (followed by a blank or the end). */
static int read_year_word(struct cur *c, struct ts_fields *f)
{
	struct cur save = *c;

	if (!read_digits(c, 4, &f->year) || !(at_end(c) || is_blank(peek(c)))) {
		*c = save;
		return 0;
	}
	f->have_year = 1;
	return 1;
}

/* ±hh, ±hhmm or ±hh:mm */
static int read_offset(struct cur *c, int32_t *off)
{
	int sign = peek(c), hh, mm = 0;

	if (sign != '+' && sign != '-')
		return 0;
	c->p++;
	if (!read_digits(c, 2, &hh))
		return 0;
	if (eat(c, ':')) {
		if (!read_digits(c, 2, &mm))
			return 0;
	} else if (is_digit(peek(c)) && !read_digits(c, 2, &mm)) {
		return 0;
	}
	if (hh > 23 || mm > 59)
		return 0;
	*off = (sign == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
	return 1;
}

/* Zone abbreviations given fixed offsets (minutes east). Others that look
 * like one (2-5 capitals) are read but leave the time zone-less. */
static const struct {
	char name[5];
	int16_t off_min;
} zone_names[] = {
	{ "UTC", 0 },    { "GMT", 0 },    { "UT", 0 },     { "Z", 0 },
	{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
	{ "MST", -420 }, { "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
	{ "CET", 60 },   { "CEST", 120 }, { "EET", 120 },  { "EEST", 180 },
	{ "WET", 0 },    { "WEST", 60 },
};

static int find_zone_name(const char *s, size_t n, int32_t *off)
{
	if (n == 1 && (*s == 'z' || *s == 'Z')) {
		*off = 0;
		return 1;
	}
	for (size_t i = 0; i < sizeof(zone_names) / sizeof(zone_names[0]); i++) {
		if (strlen(zone_names[i].name) == n &&
		    memcmp(zone_names[i].name, s, n) == 0) {
			*off = zone_names[i].off_min * 60;
			return 1;
		}
	}
	return 0;
}

static int all_upper(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return 0;
	return 1;
}

/* Z, UTC/UT/GMT (optionally followed by an offset), a known abbreviation,
 * or, after a blank (spaced), an unknown one of 2-5 capitals (zone-less). */
static int read_zone_name(struct cur *c, struct ts_fields *f, int spaced)
{
	const char *s = c->p;
	size_t n = 0;
	int32_t extra;

	while (s + n < c->end && is_alpha((unsigned char)s[n]))
		n++;
	if (n == 0 || n > 5)
		return 0;
	if (find_zone_name(s, n, &f->off)) {
		f->have_off = 1;
		c->p += n;
		if ((*s == 'U' || *s == 'G') && read_offset(c, &extra))
			f->off = extra;
		return 1;
	}
	if (!spaced || n < 2 || !all_upper(s, n))
		return 0;
	c->p += n;
	return 1;
}

static int read_zone(struct cur *c, struct ts_fields *f, int spaced)
{
	int ok;

	if (peek(c) == '+' || peek(c) == '-') {
		ok = read_offset(c, &f->off);
		f->have_off = ok;
	} else {
		ok = read_zone_name(c, f, spaced);
	}
	f->have_zone = ok;
	return ok;
}

/* After the clock: at most one zone and (when year_ok) one year, in either
 * order, each optionally after blanks; then the input must be used up. */
static int read_tail(struct cur *c, struct ts_fields *f, int year_ok)
{
	for (int i = 0; i < 2; i++) {
		struct cur save = *c, word;
		int spaced = skip_blanks(c) > 0;

		word = *c;
		if (year_ok && !f->have_year && read_year_word(c, f))
			continue;
		*c = word;
		if (!f->have_zone && read_zone(c, f, spaced))
			continue;
		*c = save;
		break;
	}
	return at_end(c);
}

/* ---- layouts ----------------------------------------------------------- */

/* YYYY-MM-DD[Tt ]clock[zone] (ISO 8601 / RFC 3339, SQL, python) and
 * YYYY/MM/DD clock[zone] (nginx, Go): the separator is the 5th char. */
static int parse_ymd(struct cur *c, struct ts_fields *f)
{
	int sep, t;

	f->have_year = 1;
	if (!read_digits(c, 4, &f->year))
		return 0;
	sep = peek(c);
	if (!eat(c, sep) || !read_digits(c, 2, &f->mon) || !eat(c, sep) ||
	    !read_digits(c, 2, &f->day))
		return 0;
	t = peek(c);
	if (t != 'T' && t != 't' && t != ' ')
		return 0;
	c->p++;
	return read_clock(c, f) && read_tail(c, f, 0);
}

/* dd/Mon/YYYY:clock[ zone] (HTTP common log, HAProxy) */
static int parse_http(struct cur *c, struct ts_fields *f)
{
	f->have_year = 1;
	return read_1or2(c, &f->day) && eat(c, '/') && read_month(c, &f->mon) &&
	       eat(c, '/') && read_digits(c, 4, &f->year) && eat(c, ':') &&
	       read_clock(c, f) && read_tail(c, f, 0);
}

/* dd Mon YYYY clock (Redis) and dd-Mon-YYYY clock */
static int parse_dmy(struct cur *c, struct ts_fields *f)
{
	int sep;

	f->have_year = 1;
	if (!read_1or2(c, &f->day))
		return 0;
	sep = peek(c);
	c->p++;
	return read_month(c, &f->mon) && eat(c, sep) &&
	       read_digits(c, 4, &f->year) && skip_blanks(c) &&
	       read_clock(c, f) && read_tail(c, f, 0);
}

/* MMDD clock (klog, year-less) */
static int parse_klog(struct cur *c, struct ts_fields *f)
{
	return read_digits(c, 2, &f->mon) && read_digits(c, 2, &f->day) &&
	       skip_blanks(c) && read_clock(c, f) && read_tail(c, f, 0);
}

/* YYMMDD clock (MySQL 5.x; the hour may be blank-padded). Two-digit years
 * 69-99 are 19xx, 00-68 20xx, as POSIX strptime %y. */
static int parse_yymmdd(struct cur *c, struct ts_fields *f)
{
	int yy;

	f->have_year = 1;
	if (!read_digits(c, 2, &yy) || !read_digits(c, 2, &f->mon) ||
	    !read_digits(c, 2, &f->day) || !skip_blanks(c))
		return 0;
	f->year = yy + (yy >= 69 ? 1900 : 2000);
	return read_clock(c, f) && read_tail(c, f, 0);
}

/* [Www ]Mon d[d] [YYYY ]clock[ zone][ YYYY] (syslog, apache error, ctime) */
static int parse_named(struct cur *c, struct ts_fields *f)
{
	int wday;

	if (read_name3(c, weekday_names, 7, &wday) && !skip_blanks(c))
		return 0;
	if (!read_month(c, &f->mon) || !skip_blanks(c) ||
	    !read_1or2(c, &f->day) || !skip_blanks(c))
		return 0;
	if (read_year_word(c, f) && !skip_blanks(c))
		return 0;
	return read_clock(c, f) && read_tail(c, f, 1);
}

/* A time of day alone, clock[ zone] (logback's default pattern and many
 * an application's): the day is inferred (see infer_day()). */
static int parse_clock_only(struct cur *c, struct ts_fields *f)
{
	f->time_only = 1;
	return read_clock(c, f) && read_tail(c, f, 0);
}

/* Epoch seconds (10 digits), ms (13), µs (16) or ns (19), optionally with a
 * fraction of that unit (kept to the millisecond). */
static int parse_epoch(struct cur *c, int64_t *ms)
{
	uint64_t v = 0;
	int n = 0;
	int32_t nsec;

	for (; is_digit(peek(c)) && n < 20; c->p++, n++)
		v = v * 10 + (uint64_t)(*c->p - '0');
	if (!read_fraction(c, &nsec) || !at_end(c))
		return 0;
	switch (n) {
	case 10:
		*ms = (int64_t)v * 1000 + nsec / 1000000;
		return 1;
	case 13:
		*ms = (int64_t)v;
		return 1;
	case 16:
		*ms = (int64_t)(v / 1000);
		return 1;
	case 19:
		*ms = (int64_t)(v / 1000000);
		return 1;
	default:
		return 0;
	}
}

/* ---- from fields to an instant ---------------------------------------- */

static int fields_valid(const struct ts_fields *f)
{
	/* a year-less Feb 29 is checked again against each candidate year */
	int64_t y = f->have_year ? f->year : 2000;

	return f->mon >= 1 && f->mon <= 12 && f->day >= 1 &&
	       f->day <= days_in_month(y, f->mon) && f->hour <= 23 &&
	       f->min <= 59 && f->sec <= 60;
}

static int64_t fields_to_ms(struct ls_tsctx *ctx, const struct ts_fields *f,
			    int64_t year)
{
	int64_t local = civil_seconds(year, f->mon, f->day, f->hour, f->min,
				      f->sec);
	int64_t utc = f->have_off ? local - f->off : local_to_utc(ctx, local);

	return utc * 1000 + f->nsec / 1000000;
}

/* The latest year that puts the time no later than now + 1 day. The year
 * of now + 1 is the first candidate; a candidate whose wall-clock time is
 * more than 2 days past the limit cannot qualify whatever the zone, so the
 * usual case converts once. */
static int infer_year(struct ls_tsctx *ctx, const struct ts_fields *f,
		      int64_t *ms)
{
	int64_t limit, year;

	/* keeps the arithmetic below far from overflow */
	if (ctx->now_ms < days_before_year(0) * MS_PER_DAY ||
	    ctx->now_ms >= days_before_year(10000) * MS_PER_DAY)
		return -1;
	limit = ctx->now_ms + YEAR_IN_FUTURE_MS;
	year = year_of_day(floor_div(ctx->now_ms, MS_PER_DAY)) + 1;
	for (int tries = 0; tries < 10; tries++, year--) {
		int64_t t;

		if (f->day > days_in_month(year, f->mon))
			continue;
		if (days_from_civil(year, f->mon, f->day) * MS_PER_DAY >
		    limit + 2 * MS_PER_DAY)
			continue;
		t = fields_to_ms(ctx, f, year);
		if (t <= limit) {
			*ms = t;
			return 0;
		}
	}
	return -1;
}

/* The date of day number days (0 = 1970-01-01) into f. */
static void set_date(struct ts_fields *f, int64_t days)
{
	int64_t year = year_of_day(days), doy = days - days_before_year(year);
	int leap = is_leap(year), mon = month_of_day_in_year(doy, leap);

	f->year = (int)year;
	f->mon = mon;
	f->day = (int)(doy - days_before_month[mon - 1] - (mon > 2 ? leap : 0)) + 1;
}

/* A time of day alone is on the day of now (in the time's zone, else
 * ctx's), or the day before when that would put it more than an hour
 * after now: a line stamped 23:59:59 and read just after midnight is from
 * yesterday. */
static int infer_day(struct ls_tsctx *ctx, struct ts_fields *f, int64_t *ms)
{
	int64_t now_s, local, days;

	if (f->hour > 23 || f->min > 59 || f->sec > 60 ||
	    ctx->now_ms < days_before_year(1) * MS_PER_DAY ||
	    ctx->now_ms >= days_before_year(9999) * MS_PER_DAY)
		return -1;
	now_s = floor_div(ctx->now_ms, 1000);
	local = now_s + (f->have_off ? f->off : zone_offset_at(now_s));
	days = floor_div(local, SEC_PER_DAY);
	set_date(f, days);
	*ms = fields_to_ms(ctx, f, f->year);
	if (*ms > ctx->now_ms + DAY_IN_FUTURE_MS) {
		set_date(f, days - 1);
		*ms = fields_to_ms(ctx, f, f->year);
	}
	return 0;
}

static int finish(struct ls_tsctx *ctx, struct ts_fields *f, int64_t *ms)
{
	if (f->time_only)
		return infer_day(ctx, f, ms);
	if (!fields_valid(f))
		return -1;
	if (!f->have_year)
		return infer_year(ctx, f, ms);
	*ms = fields_to_ms(ctx, f, f->year);
	return 0;
}

/* Chooses the layout of input starting with a digit from the length of the
 * first digit run and the character after it. Returns 1 and fills f, or 2
 * with *ms set for an epoch number, or 0. */
static int parse_numeric(struct cur *c, struct ts_fields *f, int64_t *ms)
{
	const char *q = c->p;
	ptrdiff_t n;
	int next, after;

	while (q < c->end && is_digit((unsigned char)*q))
		q++;
	n = q - c->p;
	next = q < c->end ? (unsigned char)*q : -1;
	after = q + 1 < c->end ? (unsigned char)q[1] : -1;
	if (n == 4 && (next == '-' || next == '/'))
		return parse_ymd(c, f);
	if (n <= 2 && next == '/')
		return parse_http(c, f);
	if (n <= 2 && next == ':')
		return parse_clock_only(c, f);
	if (n <= 2 && (next == ' ' || next == '-') && is_alpha(after))
		return parse_dmy(c, f);
	if (n == 4 && next == ' ')
		return parse_klog(c, f);
	if (n == 6 && next == ' ')
		return parse_yymmdd(c, f);
	return parse_epoch(c, ms) ? 2 : 0;
}

/* ---- public ------------------------------------------------------------ */

/* ---- POSIX TZ strings ("UTC+5", "EST5EDT,M3.2.0,M11.1.0") ---- */

/* Reads at most max digits (at least one) into *v. */
static int posix_digits(const char **s, int max, int *v)
{
	int n = 0;

	*v = 0;
	while (n < max && is_digit((unsigned char)**s)) {
		*v = *v * 10 + (**s - '0');
		(*s)++;
		n++;
	}
	return n > 0;
}

/* A zone abbreviation: three or more letters, or <...> of letters, digits,
 * '+' and '-'. */
static int posix_name(const char **s)
{
	const char *p = *s;

	if (*p == '<') {
		for (p++; is_alpha((unsigned char)*p) || is_digit((unsigned char)*p) ||
			  *p == '+' || *p == '-'; p++)
			;
		if (*p != '>' || p - *s < 4)
			return 0;
		*s = p + 1;
		return 1;
	}
	while (is_alpha((unsigned char)*p))
		p++;
	if (p - *s < 3)
		return 0;
	*s = p;
	return 1;
}

/* [+-]h[h][:mm[:ss]], hours up to max_hours. */
static int posix_time(const char **s, int max_hours)
{
	int v;

	if (**s == '+' || **s == '-')
		(*s)++;
	if (!posix_digits(s, 3, &v) || v > max_hours)
		return 0;
	for (int k = 0; k < 2 && **s == ':'; k++) {
		(*s)++;
		if (!posix_digits(s, 2, &v) || v > 59)
			return 0;
	}
	return 1;
}

/* A rule's date, Jn, n or Mm.w.d, and its optional /time. */
static int posix_date(const char **s)
{
	int m, w, d;

	if (**s == 'M') {
		(*s)++;
		if (!posix_digits(s, 2, &m) || m < 1 || m > 12 || *(*s)++ != '.' ||
		    !posix_digits(s, 1, &w) || w < 1 || w > 5 || *(*s)++ != '.' ||
		    !posix_digits(s, 1, &d) || d > 6)
			return 0;
	} else {
		if (**s == 'J')
			(*s)++;
		if (!posix_digits(s, 3, &d) || d > 365)
			return 0;
	}
	if (**s == '/') {
		(*s)++;
		return posix_time(s, 167);
	}
	return 1;
}

/* Whether tz is a POSIX TZ string: std offset [dst [offset] [,date,date]]
 * (what the C library reads when TZ names no file). */
static int posix_tz_valid(const char *tz)
{
	const char *s = tz;

	if (!posix_name(&s) || !posix_time(&s, 24))
		return 0;
	if (*s && (!posix_name(&s) || ((*s == '+' || *s == '-' || is_digit((unsigned char)*s)) &&
					 !posix_time(&s, 24))))
		return 0;
	if (*s == ',') {
		s++;
		if (!posix_date(&s) || *s++ != ',' || !posix_date(&s))
			return 0;
	}
	return *s == '\0';
}

/* A zone name is accepted when it is "UTC", names a file under
 * /usr/share/zoneinfo (a leading ':' as in TZ is allowed; no ".."), or is
 * a POSIX TZ string ("UTC+5", "EST5EDT,M3.2.0,M11.1.0"). */
static int tz_name_valid(const char *tz)
{
	if (*tz != ':' && posix_tz_valid(tz))
		return 1;
	char path[sizeof(ZONEINFO_DIR) + 64];
	struct stat st;
	size_t len;

	if (*tz == ':')
		tz++;
	len = strlen(tz);
	if (len == 0 || len >= 64 || *tz == '/' || strstr(tz, ".."))
		return 0;
	if (strcmp(tz, "UTC") == 0)
		return 1;
	memcpy(path, ZONEINFO_DIR, sizeof(ZONEINFO_DIR) - 1);
	memcpy(path + sizeof(ZONEINFO_DIR) - 1, tz, len + 1);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Sets ctx up (now, no cached offset) and the zone: with tz, TZ=tz is set
 * for the process. Returns 0, or LS_EINVAL when tz is not a known zone (then
 * the process zone is left alone and zone-less times use it). */
int ls_ts_init(struct ls_tsctx *ctx, int64_t now_ms, const char *tz)
{
	int rc = 0;

	memset(ctx, 0, sizeof(*ctx));
	ctx->now_ms = now_ms;
	ctx->cache_hour = INT64_MIN;
	if (tz && *tz) {
		if (strlen(tz) >= sizeof(ctx->tz_name) || !tz_name_valid(tz) ||
		    setenv("TZ", tz, 1) != 0) {
			rc = LS_EINVAL;
			goto out;
		}
		strcpy(ctx->tz_name, tz);
		ctx->have_tz = 1;
	}
out:
	tzset();
	return rc;
}

/* Parses s[0..len) in any known layout (see timestamp.h) into UTC epoch
 * milliseconds. Blanks around are allowed; anything else left over makes it
 * fail. Returns 0 and *ms, or -1. No allocation. */
int ls_ts_parse(struct ls_tsctx *ctx, const char *s, size_t len, int64_t *ms)
{
	struct ts_fields f;
	struct cur c;
	int kind;

	if (!ctx || !s || !ms)
		return -1;
	memset(&f, 0, sizeof(f));
	c.p = s;
	c.end = s + len;
	while (c.end > c.p && (is_blank(c.end[-1]) || c.end[-1] == '\r' ||
			       c.end[-1] == '\n'))
		c.end--;
	skip_blanks(&c);
	if (is_digit(peek(&c)))
		kind = parse_numeric(&c, &f, ms);
	else if (is_alpha(peek(&c)))
		kind = parse_named(&c, &f);
	else
		kind = 0;
	if (kind == 2)
		return 0;
	if (kind == 0)
		return -1;
	return finish(ctx, &f, ms);
}

static char *put_digits(char *p, int64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

/* Writes ms as "YYYY-MM-DDThh:mm:ss.mmmZ" and a NUL into out; returns 24.
 * Instants before year 0 or after 9999 are clamped to those years' ends. */
int ls_ts_format(int64_t ms, char out[32])
{
	int64_t lo = days_before_year(0) * MS_PER_DAY;
	int64_t hi = days_before_year(10000) * MS_PER_DAY - 1;
	int64_t sec, days, sod, year, doy;
	int mon, leap;
	char *p = out;

	ms = ms < lo ? lo : ms > hi ? hi : ms;
	sec = floor_div(ms, 1000);
	days = floor_div(sec, SEC_PER_DAY);
	sod = sec - days * SEC_PER_DAY;
	year = year_of_day(days);
	doy = days - days_before_year(year);
	leap = is_leap(year);
	mon = month_of_day_in_year(doy, leap);
	doy -= days_before_month[mon - 1] + (mon > 2 ? leap : 0);
	p = put_digits(p, year, 4);
	*p++ = '-';
	p = put_digits(p, mon, 2);
	*p++ = '-';
	p = put_digits(p, doy + 1, 2);
	*p++ = 'T';
	p = put_digits(p, sod / 3600, 2);
	*p++ = ':';
	p = put_digits(p, sod / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, sod % 60, 2);
	*p++ = '.';
	p = put_digits(p, ms - sec * 1000, 3);
	*p++ = 'Z';
	*p = '\0';
	return (int)(p - out);
}

/* "30s", "10m", "2h", "3d", "1w": that long before ctx->now_ms; "now". */
static int parse_relative(const struct ls_tsctx *ctx, const char *s,
			  size_t len, int64_t *ms)
{
	int64_t n = 0, unit;
	size_t i;

	if (len == 3 && memcmp(s, "now", 3) == 0) {
		*ms = ctx->now_ms;
		return 1;
	}
	for (i = 0; i < len && i < 10 && is_digit((unsigned char)s[i]); i++)
		n = n * 10 + (s[i] - '0');
	if (i == 0 || i + 1 != len)
		return 0;
	switch (s[i]) {
	case 's': unit = 1000; break;
	case 'm': unit = 60 * 1000; break;
	case 'h': unit = 3600 * 1000; break;
	case 'd': unit = MS_PER_DAY; break;
	case 'w': unit = 7 * MS_PER_DAY; break;
	default: return 0;
	}
	*ms = ctx->now_ms - n * unit;
	return 1;
}

/* "YYYY-MM-DD" alone: midnight of that day. */
static int is_date_only(const char *s, size_t len)
{
	static const char shape[] = "dddd-dd-dd";

	if (len != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (shape[i] == 'd' ? !is_digit((unsigned char)s[i]) : s[i] != '-')
			return 0;
	return 1;
}

/* Parses a --since/--until/LOGSHIP_NOW value: a relative time (see
 * parse_relative), a date alone (midnight, in the zone), or any layout
 * ls_ts_parse knows. Returns 0 and *ms, or -1. */
int ls_ts_parse_arg(struct ls_tsctx *ctx, const char *s, int64_t *ms)
{
	char midnight[20];
	size_t len;

	if (!ctx || !s || !ms)
		return -1;
	len = strlen(s);
	if (parse_relative(ctx, s, len, ms))
		return 0;
	if (is_date_only(s, len)) {
		memcpy(midnight, s, 10);
		memcpy(midnight + 10, "T00:00:00", 9);
		return ls_ts_parse(ctx, midnight, 19, ms);
	}
	return ls_ts_parse(ctx, s, len, ms);
}
