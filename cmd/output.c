/* output.c - the event printers: json, logfmt, tsv and pretty. */
#include "output.h"
#include "opts.h"

#include "../parsers/error.h"
#include "../parsers/json_out.h"
#include "../parsers/timestamp.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define OUT_CHUNK (256 << 10)

static const char *const default_tsv[] = {
	"@timestamp", "event.dataset", "log.level", "source.ip", "message", NULL
};

int ls_output_parse_format(const char *name)
{
	static const char *const names[] = {"json", "logfmt", "tsv", "pretty"};

	for (int i = 0; i < 4; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

void ls_output_init(struct ls_output *out, int fd, enum ls_outfmt fmt,
		    int color, char *fields)
{
	memset(out, 0, sizeof(*out));
	out->fd = fd;
	out->fmt = fmt;
	out->color = color;
	ls_buf_init(&out->buf, 0);
	for (char *f = fields ? strtok(fields, ",") : NULL; f && out->nfields < LS_OUT_MAX_FIELDS;
	     f = strtok(NULL, ","))
		out->fields[out->nfields++] = f;
}

void ls_output_release(struct ls_output *out)
{
	ls_buf_release(&out->buf);
}

int ls_output_flush(struct ls_output *out)
{
	size_t done = 0;

	while (done < out->buf.len && !out->closed) {
		ssize_t n = write(out->fd, out->buf.data + done, out->buf.len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* a reader that went away wants no more, as with
			 * grep | head; anything else lost output */
			if (n < 0 && errno != EPIPE)
				out->write_errno = errno;
			else if (n == 0)
				out->write_errno = EIO;
			out->closed = 1;
			break;
		}
		done += (size_t)n;
	}
	out->buf.len = 0;
	return out->closed ? LS_EIO : 0;
}

int ls_output_finish(struct ls_output *out)
{
	ls_output_flush(out);
	if (!out->write_errno)
		return 0;
	if (!out->reported)
		ls_die_msg(NULL, "write error: %s", strerror(out->write_errno));
	out->reported = 1;
	return -1;
}

static int maybe_flush(struct ls_output *out)
{
	if (out->buf.len >= OUT_CHUNK)
		return ls_output_flush(out);
	return out->closed ? LS_EIO : 0;
}

int ls_output_text(struct ls_output *out, const char *s, size_t len)
{
	if (ls_buf_append(&out->buf, s, len) < 0)
		return LS_ENOMEM;
	return maybe_flush(out);
}

int ls_output_field(const struct ls_event *ev, const char *name, char tmp[64],
		    const char **s, size_t *len)
{
	const struct ls_field *f;

	if (strcmp(name, "@timestamp") == 0) {
		*len = (size_t)ls_ts_format(ev->ts_ms, tmp);
		*s = tmp;
		return 1;
	}
	if (strcmp(name, "tags") == 0) {
		size_t n = 0;
		for (int i = 0; i < ev->ntags; i++) {
			size_t l = strlen(ev->tags[i]);
			if (n + l + 2 > 64)
				break;
			if (n)
				tmp[n++] = ',';
			memcpy(tmp + n, ev->tags[i], l);
			n += l;
		}
		*s = tmp;
		*len = n;
		return ev->ntags > 0;
	}
	f = ls_event_get(ev, name);
	if (f) {
		*s = f->val;
		*len = f->len;
		return 1;
	}
	if (strcmp(name, "message") == 0) {
		*s = ev->line;
		*len = ev->line_len;
		return 1;
	}
	return 0;
}

/* Appends s with the escapes a one-line text format needs: tab, newline,
 * CR, backslash, control bytes as \xHH, the C1 controls U+0080..U+009F as
 * \u00XX; list separators become commas. No byte that a terminal takes as
 * a control (ESC, BEL, CSI ...) is copied. */
static void put_escaped(struct ls_buf *b, const char *s, size_t len, int quote)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		const char *xd = hex;
		char xb[6];
		if (c >= 0x80) {
			/* valid UTF-8 is copied; each invalid byte becomes \xHH,
			 * as in the JSON output */
			size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
			if (n && i + n <= len && ls_utf8_valid(s + i, n)) {
				unsigned char c1 = (unsigned char)s[i + 1];
				/* some terminals act on UTF-8 C1 controls (U+009B is CSI) */
				if (c == 0xc2 && c1 < 0xa0) {
					ls_buf_append(b, s + run, i - run);
					run = i + 2;
					memcpy(xb, "\\u00", 4);
					xb[4] = hex[c1 >> 4];
					xb[5] = hex[c1 & 15];
					ls_buf_append(b, xb, 6);
				}
				i += n - 1;
				continue;
			}
			xd = "0123456789ABCDEF";
		} else if (c >= 0x20 && c != '\\' && c != 0x7f && !(quote && c == '"')) {
			continue;
		}
		ls_buf_append(b, s + run, i - run);
		run = i + 1;
		if (c == LS_LIST_SEP)
			esc = ",";
		else if (c == '\t')
			esc = "\\t";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\r')
			esc = "\\r";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '"')
			esc = "\\\"";
		if (esc) {
			ls_buf_puts(b, esc);
			continue;
		}
		xb[0] = '\\';
		xb[1] = 'x';
		xb[2] = xd[c >> 4];
		xb[3] = xd[c & 15];
		ls_buf_append(b, xb, 4);
	}
	ls_buf_append(b, s + run, len - run);
}

static int needs_quotes(const char *s, size_t len)
{
	if (len == 0)
		return 1;
	for (size_t i = 0; i < len; i++)
		if (s[i] == ' ' || s[i] == '"' || s[i] == '=' || (unsigned char)s[i] < 0x20)
			return 1;
	return 0;
}

static void logfmt_pair(struct ls_buf *b, const char *key, const char *s, size_t len,
			int *first)
{
	int q = needs_quotes(s, len);

	if (!*first)
		ls_buf_putc(b, ' ');
	*first = 0;
	/* keys come from the input too (JSON object keys) */
	put_escaped(b, key, strlen(key), 0);
	ls_buf_putc(b, '=');
	if (q)
		ls_buf_putc(b, '"');
	put_escaped(b, s, len, q);
	if (q)
		ls_buf_putc(b, '"');
}

static void write_logfmt(struct ls_output *out, const struct ls_event *ev)
{
	struct ls_buf *b = &out->buf;
	char tmp[64];
	const char *s;
	size_t len;
	int first = 1;

	if (out->nfields) {
		for (int i = 0; i < out->nfields; i++)
			if (ls_output_field(ev, out->fields[i], tmp, &s, &len))
				logfmt_pair(b, out->fields[i], s, len, &first);
	} else {
		ls_output_field(ev, "@timestamp", tmp, &s, &len);
		logfmt_pair(b, "@timestamp", s, len, &first);
		for (int i = 0; i < ev->nfields; i++) {
			const struct ls_field *f = &ev->fields[i];
			if (strcmp(f->name, "message") == 0)
				continue;
			logfmt_pair(b, f->name, f->val, f->len, &first);
		}
		if (ls_output_field(ev, "tags", tmp, &s, &len))
			logfmt_pair(b, "tags", s, len, &first);
		ls_output_field(ev, "message", tmp, &s, &len);
		logfmt_pair(b, "message", s, len, &first);
	}
	ls_buf_putc(b, '\n');
}

static void write_tsv(struct ls_output *out, const struct ls_event *ev)
{
	struct ls_buf *b = &out->buf;
	int n = out->nfields;
	char tmp[64];
	const char *s;
	size_t len;

	if (!out->header_done) {
		for (int i = 0; n ? i < n : default_tsv[i] != NULL; i++) {
			if (i)
				ls_buf_putc(b, '\t');
			ls_buf_puts(b, n ? out->fields[i] : default_tsv[i]);
		}
		ls_buf_putc(b, '\n');
		out->header_done = 1;
	}
	for (int i = 0; n ? i < n : default_tsv[i] != NULL; i++) {
		if (i)
			ls_buf_putc(b, '\t');
		if (ls_output_field(ev, n ? out->fields[i] : default_tsv[i], tmp, &s, &len))
			put_escaped(b, s, len, 0);
	}
	ls_buf_putc(b, '\n');
}

/* ANSI colour for an event: by severity, else by log level. */
static const char *event_color(const struct ls_event *ev)
{
	const struct ls_field *lv = ls_event_get(ev, "log.level");

	if (ev->severity >= 4)
		return "\033[1;31m";
	if (ev->severity == 3)
		return "\033[31m";
	if (ev->severity == 2)
		return "\033[33m";
	if (ev->flags & LS_EV_UNPARSED)
		return "\033[2m";
	if (lv && lv->len > 0) {
		char c = lv->val[0] | 0x20;
		if (c == 'e' || c == 'f' || c == 'c' || c == 'p')
			return "\033[31m";
		if (c == 'w')
			return "\033[33m";
		if (c == 'd' || c == 't')
			return "\033[2m";
	}
	return NULL;
}

/* The pretty columns' widths: the longest standard level names
 * ("emergency", "critical", "warning") and the built-in datasets fit. */
#define PRETTY_LEVEL_WIDTH 9
#define PRETTY_DATASET_WIDTH 16
#define PRETTY_FILE_WIDTH 16

/* Writes s escaped as a column of width (> 3) terminal columns, so the
 * next column starts at the same place on every line: a longer text is cut
 * and ends with "..." (ASCII: no byte a terminal may take for a control), a
 * shorter one is padded with blanks (when pad_out). A column is a code
 * point of the escaped text, which is valid UTF-8. */
static void put_column(struct ls_buf *b, const char *s, size_t len, size_t width, int pad_out)
{
	size_t start = b->len, cols = 0, cut = 0;

	put_escaped(b, s, len, 0);
	for (size_t i = start; i < b->len; i++) {
		if (((unsigned char)b->data[i] & 0xc0) == 0x80)
			continue;
		if (cols == width - 3)
			cut = i;
		cols++;
	}
	if (cols > width) {
		b->len = cut;
		ls_buf_puts(b, "...");
		cols = width;
	}
	for (; pad_out && cols < width; cols++)
		ls_buf_putc(b, ' ');
}

/* The file's base name, cut or padded to its column, in a colour of its
 * own (the same name always gets the same colour). */
static void put_file_name(struct ls_output *out, const struct ls_event *ev)
{
	static const char *const colors[] = {"\033[36m", "\033[32m", "\033[33m",
					     "\033[34m", "\033[35m", "\033[96m"};
	const struct ls_field *f = ls_event_get(ev, "log.file.path");
	const char *name = f ? f->val : "-";
	size_t len = f ? f->len : 1;
	unsigned h = 0;

	for (size_t i = len; i-- > 0;) {
		if (name[i] == '/') {
			name += i + 1;
			len -= i + 1;
			break;
		}
	}
	for (size_t i = 0; i < len; i++)
		h = h * 31 + (unsigned char)name[i];
	if (out->color)
		ls_buf_puts(&out->buf, colors[h % 6]);
	put_column(&out->buf, name, len, PRETTY_FILE_WIDTH, 1);
	if (out->color)
		ls_buf_puts(&out->buf, "\033[0m");
	ls_buf_putc(&out->buf, ' ');
}

/* The width of a --fields column in pretty: the default layout's for its
 * fields, the time's own length, 16 for any other. */
static size_t pretty_width(const char *name)
{
	if (strcmp(name, "@timestamp") == 0)
		return 24; /* 2023-11-14T22:13:20.000Z */
	if (strcmp(name, "log.level") == 0)
		return PRETTY_LEVEL_WIDTH;
	return PRETTY_DATASET_WIDTH;
}

/* pretty with --fields: the chosen fields as columns, "-" for one the
 * event lacks, the message (when chosen) last and whole. The last column
 * gets no padding: no line ends in blanks. */
static void write_pretty_fields(struct ls_output *out, const struct ls_event *ev,
				const char *color)
{
	struct ls_buf *b = &out->buf;
	int message = 0, last = -1, written = 0;
	char tmp[64];
	const char *s;
	size_t len;

	for (int i = 0; i < out->nfields; i++) {
		if (strcmp(out->fields[i], "message") == 0)
			message = 1;
		else
			last = i;
	}
	for (int i = 0; i < out->nfields; i++) {
		const char *name = out->fields[i];
		const char *on = strcmp(name, "@timestamp") == 0 ? "\033[2m" : color;
		if (strcmp(name, "message") == 0)
			continue;
		if (written++)
			ls_buf_putc(b, ' ');
		if (!ls_output_field(ev, name, tmp, &s, &len)) {
			s = "-";
			len = 1;
		}
		if (out->color && on)
			ls_buf_puts(b, on);
		put_column(b, s, len, pretty_width(name), message || i != last);
		if (out->color && on)
			ls_buf_puts(b, "\033[0m");
	}
	if (message) {
		if (written)
			ls_buf_putc(b, ' ');
		if (color)
			ls_buf_puts(b, color);
		ls_output_field(ev, "message", tmp, &s, &len);
		put_escaped(b, s, len, 0);
		if (color)
			ls_buf_puts(b, "\033[0m");
	}
	ls_buf_putc(b, '\n');
}

static void write_pretty(struct ls_output *out, const struct ls_event *ev)
{
	struct ls_buf *b = &out->buf;
	const char *color = out->color ? event_color(ev) : NULL;
	const struct ls_field *f;
	char tmp[64];
	const char *s;
	size_t len;

	if (out->show_file)
		put_file_name(out, ev);
	if (out->nfields) {
		write_pretty_fields(out, ev, color);
		return;
	}
	ls_output_field(ev, "@timestamp", tmp, &s, &len);
	if (out->color)
		ls_buf_puts(b, "\033[2m");
	ls_buf_append(b, s, len);
	if (out->color)
		ls_buf_puts(b, "\033[0m");
	ls_buf_putc(b, ' ');
	if (color)
		ls_buf_puts(b, color);
	f = ls_event_get(ev, "log.level");
	put_column(b, f ? f->val : "-", f ? f->len : 1, PRETTY_LEVEL_WIDTH, 1);
	ls_buf_putc(b, ' ');
	f = ls_event_get(ev, "event.dataset");
	put_column(b, f ? f->val : "-", f ? f->len : 1, PRETTY_DATASET_WIDTH, 1);
	ls_buf_putc(b, ' ');
	ls_output_field(ev, "message", tmp, &s, &len);
	put_escaped(b, s, len, 0);
	if (color)
		ls_buf_puts(b, "\033[0m");
	f = ls_event_get(ev, "rule.id");
	if (f) {
		ls_buf_puts(b, out->color ? "  \033[1;35m[" : "  [");
		put_escaped(b, f->val, f->len, 0);
		ls_buf_puts(b, out->color ? "]\033[0m" : "]");
	}
	f = ls_event_get(ev, "source.ip");
	if (f && ev->severity >= 2) {
		ls_buf_puts(b, " source.ip=");
		put_escaped(b, f->val, f->len, 0); /* captured from the line */
	}
	ls_buf_putc(b, '\n');
}

int ls_output_event(struct ls_output *out, const struct ls_event *ev)
{
	switch (out->fmt) {
	case LS_OUT_JSON:
		if (ls_json_event(&out->buf, ev) < 0)
			return LS_ENOMEM;
		break;
	case LS_OUT_LOGFMT:
		write_logfmt(out, ev);
		break;
	case LS_OUT_TSV:
		write_tsv(out, ev);
		break;
	case LS_OUT_PRETTY:
		write_pretty(out, ev);
		break;
	}
	return maybe_flush(out);
}
