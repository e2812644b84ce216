/* test_rules.c - parsers/rules.c: routing by program and dataset, literal
 * prefilters (plain and caseless; by key bytes and by automaton, both
 * checked against plain searching), literals derived from regexes and the
 * match: lines each one gates, first hit wins, fields from groups,
 * percent-decoded url subjects, what a hit sets, rejected entries, the
 * technique allow-list, thresholds (counting, distinct values, windows,
 * reset after an alert, determinism, the ordering test checked without the
 * where-expression) and the fixed memory of their tables. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../parsers/grok.h"
#include "../parsers/matcher.h"
#include "../parsers/patfile.h"
#include "../parsers/rules.h"
#include "../shipper/catalog.h"
#include "unit.h"

#define MAX_FILES 1024
#define ARENA (64 * 1024)

/* ---- fixture ------------------------------------------------------------ */

struct fix {
	struct ls_grok *grok;
	struct ls_rules *rules;
	struct ls_patfile *files[MAX_FILES];
	int nfiles;
	struct ls_event ev, alert;
	struct ls_error err;
	char ipbuf[64];
};

/* A repository file (name relative to the source tree), read whole. */
static char *slurp(const char *name, size_t *len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", ls_test_srcdir(), name);
	return ls_test_read_file(path, len);
}

static void load_grok(struct fix *f)
{
	size_t len;
	char *text = slurp("patterns/00-grok.pattern", &len);
	struct ls_patfile *pf = NULL;

	CU_ASSERT_FATAL(ls_patfile_parse(text, len, "00-grok.pattern", &pf, &f->err) == 0);
	for (int i = 0; i < pf->nentries; i++)
		if (strcmp(pf->entries[i].kind, "grok") == 0)
			CU_ASSERT_FATAL(ls_grok_define(f->grok, pf->entries[i].name,
						       ls_pentry_get(&pf->entries[i], "match")) == 0);
	ls_patfile_free(pf);
	free(text);
}

static void fix_begin(struct fix *f, int with_techniques)
{
	memset(f, 0, sizeof(*f));
	CU_ASSERT_FATAL(ls_grok_new(&f->grok) == 0);
	load_grok(f);
	CU_ASSERT_FATAL(ls_rules_new(&f->rules, f->grok) == 0);
	if (with_techniques) {
		size_t len;
		char *text = slurp("patterns/attack-techniques.txt", &len);
		CU_ASSERT_FATAL(ls_rules_set_techniques(f->rules, text, len) == 0);
		free(text);
	}
	CU_ASSERT_FATAL(ls_event_init(&f->ev, ARENA) == 0);
	CU_ASSERT_FATAL(ls_event_init(&f->alert, ARENA) == 0);
}

static void fix_end(struct fix *f)
{
	ls_rules_free(f->rules);
	ls_grok_free(f->grok);
	for (int i = 0; i < f->nfiles; i++)
		ls_patfile_free(f->files[i]);
	ls_event_release(&f->ev);
	ls_event_release(&f->alert);
}

/* Adds every entry of text (origin "t.pattern"); returns the first failing
 * code (message in f->err) or 0. The patfile lives as long as the fixture. */
static int fix_load(struct fix *f, const char *text)
{
	struct ls_patfile *pf = NULL;
	int rc = 0;

	CU_ASSERT_FATAL(f->nfiles < MAX_FILES);
	CU_ASSERT_FATAL(ls_patfile_parse(text, strlen(text), "t.pattern", &pf, &f->err) == 0);
	f->files[f->nfiles++] = pf;
	memset(&f->err, 0, sizeof(f->err));
	for (int i = 0; i < pf->nentries && rc == 0; i++)
		rc = ls_rules_add(f->rules, &pf->entries[i], &f->err);
	return rc;
}

/* Resets the event to a line with optional program, dataset and url. */
static void fix_event(struct fix *f, const char *program, const char *dataset,
		      const char *message, const char *url)
{
	ls_event_reset(&f->ev);
	ls_event_reset(&f->alert);
	f->ev.line = message ? message : "";
	f->ev.line_len = strlen(f->ev.line);
	if (message)
		ls_event_set_str(&f->ev, "message", message);
	if (program)
		ls_event_set_str(&f->ev, "process.name", program);
	if (dataset)
		ls_event_set_str(&f->ev, "event.dataset", dataset);
	if (url)
		ls_event_set_str(&f->ev, "url.original", url);
}

static int apply(struct fix *f, int *alerted)
{
	int dummy;

	return ls_rules_apply(f->rules, &f->ev, &f->alert, alerted ? alerted : &dummy);
}

/* 1 when field name of ev equals want (NULL: the field is absent). */
static int field_is(const struct ls_event *ev, const char *name, const char *want)
{
	const struct ls_field *fl = ls_event_get(ev, name);

	if (!want)
		return fl == NULL;
	return fl && fl->len == strlen(want) && memcmp(fl->val, want, fl->len) == 0;
}

static const char *rule_id(const struct ls_event *ev)
{
	static char buf[128];
	const struct ls_field *fl = ls_event_get(ev, "rule.id");

	if (!fl)
		return NULL;
	snprintf(buf, sizeof(buf), "%.*s", (int)fl->len, fl->val);
	return buf;
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* ---- routing ------------------------------------------------------------ */

static const char routing_rules[] =
	"rule ssh.fail\n"
	"  program: sshd sshd-session\n"
	"  match: Failed password for (?<user__name>\\S+) from %{IP:source.ip}\n"
	"  level: low\n"
	"  tags: auth_failure\n"
	"rule web.scan\n"
	"  dataset: nginx.access apache.access\n"
	"  field: url.original\n"
	"  match: ^/wp-login\\.php\n"
	"  level: low\n"
	"rule su.global\n"
	"  literal: FAILED SU\n"
	"  match: FAILED SU \\(to (?<user__target__name>\\S+)\\)\n"
	"  level: medium\n"
	"rule both\n"
	"  program: app\n"
	"  dataset: app.audit\n"
	"  match: ^hello\n"
	"  level: informational\n";

static void test_routing(void)
{
	static const struct {
		const char *program, *dataset, *message, *url, *want;
	} cases[] = {
		{"sshd", NULL, "Failed password for root from 10.0.0.1 port 22 ssh2", NULL, "ssh.fail"},
		{"sshd-session", NULL, "Failed password for bob from 10.0.0.2 port 22", NULL, "ssh.fail"},
		{"cron", NULL, "Failed password for root from 10.0.0.1 port 22", NULL, NULL},
		{NULL, NULL, "Failed password for root from 10.0.0.1 port 22", NULL, NULL},
		{"sshd2", NULL, "Failed password for root from 10.0.0.1 port 22", NULL, NULL},
		{NULL, "nginx.access", "GET /wp-login.php", "/wp-login.php", "web.scan"},
		{NULL, "apache.access", "GET /wp-login.php", "/wp-login.php", "web.scan"},
		{NULL, "haproxy", "GET /wp-login.php", "/wp-login.php", NULL},
		{NULL, "nginx.access", "GET /wp-login.php", NULL, NULL},
		{"su", NULL, "FAILED SU (to root) alice on pts/0", NULL, "su.global"},
		{NULL, "nginx.access", "FAILED SU (to root) x", "/index.html", "su.global"},
		{NULL, NULL, "FAILED SU (to root) alice on pts/0", NULL, "su.global"},
		{"app", "app.audit", "hello world", NULL, "both"},
		{"app", "app.other", "hello world", NULL, NULL},
		{"app", NULL, "hello world", NULL, NULL},
		{NULL, "app.audit", "hello world", NULL, NULL},
	};
	struct fix f;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f, routing_rules) == 0);
	CU_ASSERT(ls_rules_count(f.rules) == 4);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int hit;
		fix_event(&f, cases[i].program, cases[i].dataset, cases[i].message,
			  cases[i].url);
		hit = apply(&f, NULL);
		CU_ASSERT(hit == (cases[i].want ? 1 : 0));
		if (!same(rule_id(&f.ev), cases[i].want))
			fprintf(stderr, "\nrouting case %zu: got %s\n", i, rule_id(&f.ev));
		CU_ASSERT(same(rule_id(&f.ev), cases[i].want));
	}
	fix_event(&f, "sshd", NULL, "Failed password for root from 10.0.0.1 port 22", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	CU_ASSERT(field_is(&f.ev, "user.name", "root"));
	CU_ASSERT(field_is(&f.ev, "source.ip", "10.0.0.1"));
	fix_end(&f);
}

/* ---- literal prefilters ------------------------------------------------- */

struct hit_case {
	const char *dataset;
	const char *message;
	const char *want;
};

static void run_hit_cases(struct fix *f, const struct hit_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fix_event(f, NULL, c[i].dataset, c[i].message, NULL);
		CU_ASSERT(apply(f, NULL) == (c[i].want ? 1 : 0));
		if (!same(rule_id(&f->ev), c[i].want))
			fprintf(stderr, "\ncase %zu '%s': got %s\n", i, c[i].message,
				rule_id(&f->ev));
		CU_ASSERT(same(rule_id(&f->ev), c[i].want));
	}
}

/* The regexes match anything: only the literals decide. */
static void test_literal_prefilter(void)
{
	static const struct hit_case cases[] = {
		{"d", "nothing to see", NULL},
		{"d", "has alpha inside", "lit"},
		{"d", "beta", "lit"},
		{"d", "ALPHA BETA", NULL},
		{"d", "alph a", NULL},
		{"d", "", NULL},
		{"g", "xxalphaxx", "glob"},
		{"g", "xx", NULL},
	};
	struct fix f;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f,
		"rule lit\n  dataset: d\n  literal: alpha\n  literal: beta\n"
		"  match: .*\n  level: low\n"
		"rule glob\n  literal: alpha\n  match: ^\n  level: low\n") == 0);
	run_hit_cases(&f, cases, sizeof(cases) / sizeof(cases[0]));
	fix_end(&f);
}

static void test_caseless_literal(void)
{
	static const struct hit_case cases[] = {
		{"d", "UNION SELECT", "ci"},
		{"d", "id=1 uNiOn SeLeCt pw", "ci"},
		{"d", "uunion select", "ci"},
		{"d", "UuNION SELECTx", "ci"},
		{"d", "unionunion select", "ci"},
		{"d", "xxxxxxxxxxxxxxxxxxxxunion select", "ci"},
		{"d", "union selec", NULL},
		{"d", "union  select", NULL},
		{"d", "SELECT UNION", NULL},
		{"d", "", NULL},
		{"d", "u", NULL},
		{"p", "GET /../ETC/passwd", "ci.path"},
		{"p", "GET /../etc/passwd", "ci.path"},
		{"p", "GET /..%2fetc/passwd", NULL},
		{"s", "Union Select", "cs"},
		{"s", "UNION SELECT", NULL},
	};
	struct fix f;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f,
		"rule ci\n  dataset: d\n  literal: Union Select\n"
		"  match: (?i).\n  level: low\n"
		"rule ci.path\n  dataset: p\n  literal: ../Etc/\n"
		"  match: (?i).\n  level: low\n"
		"rule cs\n  dataset: s\n  literal: Union Select\n"
		"  match: .\n  level: low\n") == 0);
	run_hit_cases(&f, cases, sizeof(cases) / sizeof(cases[0]));
	fix_end(&f);
}

/* ---- order -------------------------------------------------------------- */

static void test_first_hit_wins(void)
{
	static const struct {
		const char *program, *message, *want, *tag, *not_tag;
	} cases[] = {
		{"app", "boom", "g.first", "first", "second"},
		{"app", "boom bang", "g.first", "first", "fourth"},
		{"app", "bang", "g.fourth", "fourth", "second"},
		{"app2", "boom", "p.zero", "zero", "first"},
		{"app", "two", "p.second", "second", NULL},
		{"other", "two", NULL, NULL, "second"},
	};
	struct fix f;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f,
		"rule p.zero\n  program: app2\n  match: boom\n  level: low\n  tags: zero\n"
		"rule g.first\n  literal: boom\n  match: boom\n  level: low\n  tags: first\n"
		"rule p.second\n  program: app\n  match: nomatch\n  match: boom|two\n"
		"  level: high\n  tags: second\n"
		"rule g.fourth\n  literal: bang\n  match: bang\n  level: low\n  tags: fourth\n") == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fix_event(&f, cases[i].program, NULL, cases[i].message, NULL);
		CU_ASSERT(apply(&f, NULL) == (cases[i].want ? 1 : 0));
		CU_ASSERT(same(rule_id(&f.ev), cases[i].want));
		if (cases[i].tag)
			CU_ASSERT(ls_event_has_tag(&f.ev, cases[i].tag));
		if (cases[i].not_tag)
			CU_ASSERT(!ls_event_has_tag(&f.ev, cases[i].not_tag));
	}
	fix_end(&f);
}

/* ---- fields ------------------------------------------------------------- */

static void test_group_fields(void)
{
	static const struct {
		const char *message;
		const char *user, *ip, *port;
	} cases[] = {
		{"Failed password for root from 10.0.0.1 port 22 ssh2", "root", "10.0.0.1", "22"},
		{"Failed password for invalid user admin from 2001:db8::7 port 60122 ssh2",
		 "admin", "2001:db8::7", "60122"},
		{"Failed password for bob from 192.0.2.44 port 1 ssh2", "bob", "192.0.2.44", "1"},
	};
	struct fix f;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f,
		"rule ssh.fail\n  program: sshd\n"
		"  match: Failed password for (?:invalid user )?(?<user__name>\\S+) "
		"from %{IP:source.ip} port %{POSINT:source.port}\n"
		"  level: low\n") == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ls_field *port;
		fix_event(&f, "sshd", NULL, cases[i].message, NULL);
		ls_event_set_str(&f.ev, "user.name", "overwritten");
		CU_ASSERT(apply(&f, NULL) == 1);
		CU_ASSERT(field_is(&f.ev, "user.name", cases[i].user));
		CU_ASSERT(field_is(&f.ev, "source.ip", cases[i].ip));
		CU_ASSERT(field_is(&f.ev, "source.port", cases[i].port));
		port = ls_event_get(&f.ev, "source.port");
		CU_ASSERT(port && port->type == LS_F_INT);
	}
	fix_end(&f);
}

static int in_arena(const struct ls_event *ev, const char *p)
{
	return p >= ev->arena && p < ev->arena + ev->arena_cap;
}

static void test_url_decoding(void)
{
	static const struct {
		const char *url;
		const char *sqli; /* NULL: no hit */
		int decoded;      /* the subject had to be copied */
	} cases[] = {
		{"/item?id=1%27%20OR%201=1", "' OR 1=1", 1},
		{"/item?id=1'+OR+1=1", "' OR 1=1", 1},
		{"/item?id=1%2527%2520OR%25201=1", "' OR 1=1", 1},
		{"/a%zz%27+or+2=2", "' or 2=2", 1},
		{"/item?id=1' OR 1=1", "' OR 1=1", 0},
		{"/item?id=1%27OR1=1", NULL, 1},
		{"/item?q=hello", NULL, 0},
		{"/item?q=%", NULL, 1},
		{"/item?q=%2", NULL, 1},
		{"/x?id=9%2527+or+3=3", "' or 3=3", 1},
	};
	struct fix f;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f,
		"rule web.sqli\n  dataset: nginx.access\n  field: url.original\n"
		"  literal: ' OR\n  match: (?i)(?<sqli>'\\s+OR\\s+\\d+=\\d+)\n"
		"  level: high\n  technique: T1190\n"
		"rule msg.plus\n  dataset: nginx.access\n  literal: a b\n"
		"  match: a b\n  level: low\n") == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ls_field *s;
		size_t used;
		fix_event(&f, NULL, "nginx.access", "GET a+b HTTP/1.1", cases[i].url);
		used = f.ev.arena_len;
		CU_ASSERT(apply(&f, NULL) == (cases[i].sqli ? 1 : 0));
		if (!same(rule_id(&f.ev), cases[i].sqli ? "web.sqli" : NULL))
			fprintf(stderr, "\nurl case %zu: got %s\n", i, rule_id(&f.ev));
		CU_ASSERT(field_is(&f.ev, "url.original", cases[i].url));
		if (!cases[i].sqli) {
			CU_ASSERT(rule_id(&f.ev) == NULL);
			CU_ASSERT((f.ev.arena_len > used) == cases[i].decoded);
			continue;
		}
		CU_ASSERT(field_is(&f.ev, "sqli", cases[i].sqli));
		s = ls_event_get(&f.ev, "sqli");
		CU_ASSERT(s && in_arena(&f.ev, s->val) == cases[i].decoded);
	}
	fix_end(&f);
}

/* The decoded text itself, captured whole by a rule. */
static void test_url_decoding_table(void)
{
	static const struct {
		const char *url, *decoded;
	} cases[] = {
		{"/plain", "/plain"},
		{"/a+b", "/a b"},
		{"/a%20b%2Fc", "/a b/c"},
		{"/%41%42%43", "/ABC"},
		{"/x%2541", "/xA"},
		{"/x%25%27", "/x%'"},
		{"/x%252", "/x%2"},
		{"/x%25", "/x%"},
		{"/x%2", "/x%2"},
		{"/x%", "/x%"},
		{"/x%g1%1g", "/x%g1%1g"},
		{"/x%2B", "/x+"},
		{"/x%252B", "/x+"},
		{"%00z", "\0z"},
	};
	struct fix f;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f,
		"rule url.capture\n  dataset: dec\n  field: url.original\n"
		"  match: (?s)^(?<decoded>.*)$\n  level: informational\n") == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ls_field *d;
		size_t want_len = strlen(cases[i].decoded) + (cases[i].decoded[0] ? 0 : 2);
		fix_event(&f, NULL, "dec", "line", cases[i].url);
		CU_ASSERT(apply(&f, NULL) == 1);
		d = ls_event_get(&f.ev, "decoded");
		CU_ASSERT_FATAL(d != NULL);
		if (d->len != want_len || memcmp(d->val, cases[i].decoded, want_len) != 0)
			fprintf(stderr, "\ndecode case %zu: got '%.*s'\n", i, (int)d->len, d->val);
		CU_ASSERT(d->len == want_len && memcmp(d->val, cases[i].decoded, want_len) == 0);
	}
	fix_end(&f);
}

/* ---- derived literals ---------------------------------------------------- */

/* The literals of rule name joined as "[a][b]", "(i)" appended when caseless. */
static const char *literals_of(struct fix *f, const char *name)
{
	static char buf[1024];
	const char *l;
	int ci = 0;
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; (l = ls_rules_literal(f->rules, name, i, &ci)) != NULL; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "[%s]", l);
	if (ci && o)
		snprintf(buf + o, sizeof(buf) - o, "(i)");
	return buf;
}

/* What a rule without literal: lines gets from its regex: strings every
 * match must contain ("" when the regex cannot be read that way). */
static void test_derived_literals(void)
{
	static const struct {
		const char *match, *want;
	} cases[] = {
		{"Failed password for (?<user__name>\\S+)", "[Failed password for ]"},
		{"(?i)(?:sqlmap|nikto|\\bnmap\\b)", "[sqlmap][nikto][nmap](i)"},
		{"^4\\d\\d$", "[4]"},
		{"abc?d", "[ab]"},
		{"a(?:bc|de)+f", "[abc][ade]"},
		{"x(?=foo)y", "[xy]"},
		{"ab\\bcd", "[abcd]"},
		{"(?:foo|\\d+)bar", "[bar]"},
		{"a{0,3}bcd", "[bcd]"},
		{"[abc]+xyz", "[xyz]"},
		{"[]x]yz", "[yz]"},
		{"(?i:Admin) panel", "[admin panel](i)"},
		{"foo|bar\\d|baz", "[foo][bar][baz]"},
		{"ab\\.c\\/d", "[ab.c/d]"},
		{"GET (?<url__original>/\\S*) HTTP/%{NUMBER}", "[ HTTP/]"},
		{"(?#comment)keyword", "[keyword]"},
		{"foo|\\d+", ""},
		{"(?x) foo bar", ""},
		{"\\Qabc\\E", ""},
		{"(x)?(?(1)a|b)", ""},
		{"(foo)?\\w+", ""},
		{"(?:foo|bar)?baz\\d", "[baz]"},
		{"(?'n'abc)de", "[abcde]"},
		{"(?P<n>abc)de", "[abcde]"},
		{"(?<n>abc)de", "[abcde]"},
		/* runs joined with the alternatives, classes and \s between */
		{"(?:GET|POST) /x", "[GET /x][POST /x]"},
		{"x[ab]y\\d", "[xay][xby]"},
		{"[-a]x", "[x]"},
		{"[a-c]xy", "[xy]"},
		{"on(?:error|load\\w*)=", "[onerror][onload]"},
		{"a\\s+b", "[a ][a\t][a\n][a\v][a\f][a\r]"},
		{"ab[\\s.]cd", "[ab cd][ab\tcd][ab\ncd][ab\vcd][ab\fcd][ab\rcd][ab.cd]"},
		/* too many joined: the text right before the alternatives goes on */
		{"[abcdefghijklmnop]xy(?:1|2|3|4|5)z", "[xy1z][xy2z][xy3z][xy4z][xy5z]"},
		{"x[abcdefghijklmnop](?:1|2|3|4|5)z", "[1z][2z][3z][4z][5z]"},
		{"(?<=ab)cd(?!ef)", "[cd]"},
		{"(?>xyz)+w", "[xyz]"},
	};
	struct fix f;
	char text[512];

	fix_begin(&f, 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "rule d%zu\n  dataset: d\n  match: %s\n"
			 "  level: low\n", i, cases[i].match);
		if (fix_load(&f, text) != 0)
			fprintf(stderr, "\nderived %zu: %s\n", i, f.err.msg);
		CU_ASSERT_FATAL(f.err.code == 0);
		snprintf(text, sizeof(text), "d%zu", i);
		if (strcmp(literals_of(&f, text), cases[i].want) != 0)
			fprintf(stderr, "\nderived %zu '%s': got '%s'\n", i, cases[i].match,
				literals_of(&f, text));
		CU_ASSERT(strcmp(literals_of(&f, text), cases[i].want) == 0);
		CU_ASSERT(!ls_rules_widened(f.rules, text));
	}
	/* derived literals make a global rule acceptable, and still hit */
	CU_ASSERT_FATAL(fix_load(&f, "rule g\n  match: (?i)segfault at (?<x>\\w+)\n"
				 "  level: low\n") == 0);
	CU_ASSERT(strcmp(literals_of(&f, "g"), "[segfault at ](i)") == 0);
	fix_event(&f, NULL, NULL, "app[1]: SEGFAULT AT 0x0", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	CU_ASSERT(field_is(&f.ev, "x", "0x0"));
	fix_end(&f);
}

/* A pseudo-random regex over a small alphabet (deterministic LCG). */
static uint32_t lcg(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

static void random_regex(uint32_t *seed, char *out, size_t cap, int depth)
{
	static const char *const atoms[] = {
		"a", "b", "f", "o", "x", "ab", "fo", "oo", "xa", "\\.", "[ab]", ".", "\\d",
		"\\w", "A", "B", "\\s", "[\\so]", "[^a]", "[a-f]", "x\\s+b"
	};
	static const char *const quants[] = { "", "", "", "?", "*", "+", "{0,2}", "{1,2}", "{2}" };
	int n = 1 + (int)(lcg(seed) % 4);
	size_t o = strlen(out);

	for (int i = 0; i < n && o + 40 < cap; i++) {
		uint32_t k = lcg(seed) % 10;
		if (k < 3 && depth < 3) {
			o += (size_t)snprintf(out + o, cap - o, "%s",
					      k == 0 ? "(?=" : k == 1 ? "(?:" : "(?!");
			random_regex(seed, out, cap, depth + 1);
			o = strlen(out);
			if (lcg(seed) % 2) {
				o += (size_t)snprintf(out + o, cap - o, "|");
				random_regex(seed, out, cap, depth + 1);
				o = strlen(out);
			}
			o += (size_t)snprintf(out + o, cap - o, ")");
		} else {
			o += (size_t)snprintf(out + o, cap - o, "%s",
					      atoms[lcg(seed) % (sizeof(atoms) / sizeof(atoms[0]))]);
		}
		o += (size_t)snprintf(out + o, cap - o, "%s",
				      quants[lcg(seed) % (sizeof(quants) / sizeof(quants[0]))]);
	}
}

/* Whether s (len bytes) holds one of rule name's literals. */
static int holds_literal(struct fix *f, const char *name, const char *s, size_t len)
{
	const char *l;
	int ci = 0;

	for (int i = 0; (l = ls_rules_literal(f->rules, name, i, &ci)) != NULL; i++) {
		size_t n = strlen(l);
		for (size_t at = 0; n <= len && at + n <= len; at++)
			if (ci ? strncasecmp(s + at, l, n) == 0 : memcmp(s + at, l, n) == 0)
				return 1;
	}
	return 0;
}

/* Whatever literals are derived, every subject a regex matches holds one:
 * random regexes, random subjects, and the rule's own hits must agree with
 * the regex alone. */
static void test_derived_literals_sound(void)
{
	static const char alphabet[] = "abfoxAB.0 \t";
	uint32_t seed = 7;
	int derived = 0, matched = 0;
	struct fix f;

	fix_begin(&f, 1);
	for (int r = 0; r < 600; r++) {
		char regex[512] = "", text[700], name[16], subject[24];
		struct ls_matcher *m;
		if (lcg(&seed) % 4 == 0)
			strcpy(regex, "(?i)");
		random_regex(&seed, regex, sizeof(regex), 0);
		if (ls_matcher_compile(&m, regex, 0, NULL, &f.err) < 0)
			continue;
		snprintf(name, sizeof(name), "p%d", r);
		snprintf(text, sizeof(text), "rule %s\n  dataset: d\n  match: %s\n  level: low\n",
			 name, regex);
		CU_ASSERT_FATAL(fix_load(&f, text) == 0);
		derived += ls_rules_literal(f.rules, name, 0, NULL) != NULL;
		for (int t = 0; t < 200; t++) {
			size_t len = lcg(&seed) % (sizeof(subject) - 1);
			int hit;
			for (size_t i = 0; i < len; i++)
				subject[i] = alphabet[lcg(&seed) % (sizeof(alphabet) - 1)];
			subject[len] = '\0';
			if (ls_matcher_exec(m, subject, len) <= 0)
				continue;
			matched++;
			if (ls_rules_literal(f.rules, name, 0, NULL) &&
			    !holds_literal(&f, name, subject, len))
				fprintf(stderr, "\nunsound: /%s/ matches '%s'\n", regex, subject);
			CU_ASSERT(!ls_rules_literal(f.rules, name, 0, NULL) ||
				  holds_literal(&f, name, subject, len));
			fix_event(&f, NULL, "d", subject, NULL);
			hit = apply(&f, NULL);
			CU_ASSERT(hit == 1);
		}
		ls_matcher_free(m);
	}
	CU_ASSERT(derived > 50);
	CU_ASSERT(matched > 1000);
	fix_end(&f);
}

/* literal: lines that a match: line does not need get that line's derived
 * literals added, so no match is hidden; lines they cover change nothing. */
static void test_literal_widening(void)
{
	struct fix f;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f,
		"rule breakin\n  program: sshd\n  literal: POSSIBLE BREAK-IN ATTEMPT\n"
		"  match: Address %{IP:source.ip} maps to \\S+, but this does not map back\n"
		"  level: medium\n"
		"rule covered\n  program: sshd\n  literal: Failed password\n"
		"  match: Failed password for (?:invalid user )?(?<user__name>\\S+)\n"
		"  match: (?:Failed password|Failed passwords) from\n"
		"  level: low\n"
		"rule partly\n  program: sshd\n  literal: Failed password\n"
		"  match: Failed password for (?<user__name>\\S+)\n"
		"  match: (?:Failed password|FAILED PASSWORD) x\n"
		"  level: low\n"
		"rule cased\n  program: web\n  literal: certificate\n"
		"  match: AH02039: Certificate Verification: Error\n  level: low\n"
		"rule joined\n  program: sshd\n  literal: Failed publickey for\n"
		"  literal: Failed hostbased for\n"
		"  match: Failed (?:publickey|hostbased) for (?<user__name>\\S+)\n  level: low\n"
		"rule class\n  program: web\n  literal: ;\n  literal: |\n"
		"  match: [;|]\\s*(?:id|whoami)\\b\n  level: low\n"
		"rule branch\n  program: web\n  literal: ;\n  literal: |\n"
		"  match: (?i)(?:[;|]\\s*id|call_user_func)\n  level: low\n") == 0);
	CU_ASSERT(ls_rules_widened(f.rules, "breakin"));
	CU_ASSERT(strcmp(literals_of(&f, "breakin"), "[POSSIBLE BREAK-IN ATTEMPT]"
			 "[, but this does not map back]") == 0);
	CU_ASSERT(!ls_rules_widened(f.rules, "covered"));
	CU_ASSERT(strcmp(literals_of(&f, "covered"), "[Failed password]") == 0);
	CU_ASSERT(ls_rules_widened(f.rules, "partly"));
	CU_ASSERT(strcmp(literals_of(&f, "partly"), "[Failed password][FAILED PASSWORD x]") == 0);
	/* a literal spanning a run and alternatives covers the join; a class
	 * of bytes is covered byte by byte; only what is missing is added */
	CU_ASSERT(!ls_rules_widened(f.rules, "joined"));
	CU_ASSERT(strcmp(literals_of(&f, "joined"), "[Failed publickey for][Failed hostbased for]") == 0);
	CU_ASSERT(!ls_rules_widened(f.rules, "class"));
	CU_ASSERT(ls_rules_widened(f.rules, "branch"));
	CU_ASSERT(strcmp(literals_of(&f, "branch"), "[;][|][call_user_func](i)") == 0);
	CU_ASSERT(ls_rules_widened(f.rules, "cased"));
	CU_ASSERT(!ls_rules_widened(f.rules, "nosuchrule"));

	fix_event(&f, "sshd", NULL, "Address 192.0.2.9 maps to x.example, but this "
		  "does not map back to the address", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	CU_ASSERT(field_is(&f.ev, "rule.id", "breakin"));
	CU_ASSERT(field_is(&f.ev, "source.ip", "192.0.2.9"));
	fix_event(&f, "web", NULL, "AH02039: Certificate Verification: Error (20)", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	fix_event(&f, "sshd", NULL, "Failed password for root from 192.0.2.1", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	CU_ASSERT(field_is(&f.ev, "rule.id", "covered"));
	fix_event(&f, "sshd", NULL, "FAILED PASSWORD x", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	CU_ASSERT(field_is(&f.ev, "rule.id", "partly"));
	fix_end(&f);
}

/* Each literal lets run the match: lines it is needed for; a line whose
 * regex implies no literal runs whenever any literal of the rule occurs,
 * as the author's literal: lines vouch for it. */
static void test_lines_gated(void)
{
	struct fix f;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f,
		"rule two\n  dataset: d\n"
		"  match: alpha(?<a>.)\n  match: beta(?<b>.)\n  level: low\n"
		"rule vouched\n  dataset: v\n  literal: beta\n"
		"  match: ^(?<first>\\w)\n  match: zeta(?<second>.)\n  level: low\n") == 0);
	fix_event(&f, NULL, "d", "beta! alpha?", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	CU_ASSERT(field_is(&f.ev, "a", "?"));
	fix_event(&f, NULL, "d", "beta!", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	CU_ASSERT(field_is(&f.ev, "b", "!"));
	CU_ASSERT(field_is(&f.ev, "a", NULL));
	/* "zeta" gates the second line, and the first (vouched for) too */
	fix_event(&f, NULL, "v", "zeta!", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	CU_ASSERT(field_is(&f.ev, "first", "z"));
	CU_ASSERT(field_is(&f.ev, "second", NULL));
	fix_event(&f, NULL, "v", "gamma", NULL);
	CU_ASSERT(apply(&f, NULL) == 0);
	fix_end(&f);
}

/* 1 when lit occurs in s (ASCII case ignored when caseless). */
static int occurs(const char *s, const char *lit, int caseless)
{
	size_t n = strlen(lit), len = strlen(s);

	for (size_t at = 0; n <= len && at + n <= len; at++)
		if (caseless ? strncasecmp(s + at, lit, n) == 0 : memcmp(s + at, lit, n) == 0)
			return 1;
	return 0;
}

/* Whatever way a group is scanned (by key bytes: a few rare ones; by the
 * automaton: many; before and after the keys are chosen again from the
 * subjects seen; from the memo), a rule hits exactly when one of its
 * literals occurs, in its case unless caseless. */
static void scanners_agree(int plain)
{
	static const char *const keyed[] = { "$x", "%Y", "~!", NULL };
	static const char *const many[] = {
		"Qa", "Wb", "Ec", "Rd", "Te", "Yf", "Ug", "Ih", "Oi", "Pj", "Ak", "Sl",
		"Dm", "Fn", "Go", "Hp", "Jq", "Kr", "Ls", "Zt", NULL
	};
	static const char *const many_ci[] = { "xQz", "vW", "bNm", NULL };
	static const char alphabet[] = "QaWbEcRdTeYfUgIhOiPjAkSlDmFnGoHpJqKrLsZtxzvbnmNMX$%~!y ";
	char text[4096], subject[24];
	uint32_t seed = 11;
	int hits = 0;
	struct fix f;

	fix_begin(&f, 1);
	if (plain)
		ls_rules_scan_without_ssse3(f.rules);
	snprintf(text, sizeof(text), "rule keyed\n  dataset: d\n  match: (?s).\n  level: low\n");
	for (int i = 0; keyed[i]; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "  literal: %s\n", keyed[i]);
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
		 "rule many\n  dataset: d\n  field: user_agent.original\n  match: (?s).\n"
		 "  level: low\n");
	for (int i = 0; many[i]; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "  literal: %s\n", many[i]);
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
		 "rule many.ci\n  dataset: d\n  field: user_agent.original\n  match: (?is).\n"
		 "  level: low\n");
	for (int i = 0; many_ci[i]; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "  literal: %s\n", many_ci[i]);
	CU_ASSERT_FATAL(fix_load(&f, text) == 0);
	for (int round = 0; round < 3000; round++) {
		const char *want = NULL;
		size_t len = lcg(&seed) % (sizeof(subject) - 1);
		/* bytes and pieces of literals, their case sometimes flipped */
		for (size_t i = 0; i < len;) {
			const char *const *set = lcg(&seed) % 2 ? many : lcg(&seed) % 2 ? keyed : many_ci;
			const char *lit = set[lcg(&seed) % 3];
			if (lcg(&seed) % 4)
				subject[i++] = alphabet[lcg(&seed) % (sizeof(alphabet) - 1)];
			for (size_t k = 0; lit[k] && i < len && lcg(&seed) % 8; k++) {
				char c = lit[k];
				subject[i++] = lcg(&seed) % 5 ? c : c ^ 0x20 * ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
			}
		}
		subject[len] = '\0';
		for (int i = 0; keyed[i] && !want; i++)
			want = occurs(subject, keyed[i], 0) ? "keyed" : NULL;
		for (int i = 0; many[i] && !want; i++)
			want = occurs(subject, many[i], 0) ? "many" : NULL;
		for (int i = 0; many_ci[i] && !want; i++)
			want = occurs(subject, many_ci[i], 1) ? "many.ci" : NULL;
		/* the same text as message and user agent; repeats come from the
		 * memo */
		fix_event(&f, NULL, "d", subject, NULL);
		ls_event_set_str(&f.ev, "user_agent.original", subject);
		CU_ASSERT(apply(&f, NULL) == (want ? 1 : 0));
		if (!same(rule_id(&f.ev), want))
			fprintf(stderr, "\nscanners '%s': got %s, want %s\n", subject,
				rule_id(&f.ev), want);
		CU_ASSERT(same(rule_id(&f.ev), want));
		hits += want != NULL;
	}
	CU_ASSERT(hits > 500 && hits < 2900);
	fix_end(&f);
}

static void test_scanners_agree(void)
{
	scanners_agree(0);
}

static void test_scanners_agree_plain(void)
{
	scanners_agree(1);
}

/* A group with more key bytes than the SIMD compare takes (but few enough
 * for key bytes rather than the automaton) on long subjects, some bytes
 * not ASCII: a rule hits exactly when plain searching finds one of its
 * literals, at any position, the first and last bytes included. */
static void many_keys_long_subjects(int plain)
{
	static const char *const lits[] = {
		"Qa", "Wb", "Ec", "Rd", "Te", "Yf", "Ug", "Ih", "Oi", "Pj", "k(", "Sl", NULL
	};
	static const char alphabet[] = "QaWbEcRdTeYfUgIhOiPjk(Sl \xc3\xa9\xff" "0123";
	char text[2048], subject[300];
	uint32_t seed = 7;
	int hits = 0;
	struct fix f;

	fix_begin(&f, 1);
	if (plain)
		ls_rules_scan_without_ssse3(f.rules);
	snprintf(text, sizeof(text), "rule many\n  dataset: d\n  match: (?s).\n  level: low\n");
	for (int i = 0; lits[i]; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "  literal: %s\n", lits[i]);
	CU_ASSERT_FATAL(fix_load(&f, text) == 0);
	for (int round = 0; round < 2000; round++) {
		size_t len = 16 + lcg(&seed) % (sizeof(subject) - 17);
		int want = 0;

		/* mostly bytes that are no key, so a literal is rare */
		for (size_t i = 0; i < len; i++)
			subject[i] = lcg(&seed) % 24 ? " \xc3\xa9\xff" "0123"[lcg(&seed) % 8] :
				     alphabet[lcg(&seed) % (sizeof(alphabet) - 1)];
		if (lcg(&seed) % 3 == 0) {
			const char *lit = lits[lcg(&seed) % 12];
			size_t at = lcg(&seed) % 2 ? 0 : lcg(&seed) % 2 ? len - 2 : lcg(&seed) % (len - 1);
			memcpy(subject + at, lit, 2);
		}
		subject[len] = '\0';
		for (int i = 0; lits[i] && !want; i++)
			want = occurs(subject, lits[i], 0);
		fix_event(&f, NULL, "d", subject, NULL);
		CU_ASSERT(apply(&f, NULL) == want);
		hits += want;
	}
	CU_ASSERT(hits > 300 && hits < 1900);
	fix_end(&f);
}

static void test_many_keys_long_subjects(void)
{
	many_keys_long_subjects(0);
}

static void test_many_keys_long_subjects_plain(void)
{
	many_keys_long_subjects(1);
}

/* Subjects long enough for the sixteen-bytes-at-a-time scan of a group
 * with few key bytes, whose literals share the byte next to their key
 * (or not): the answers are those of plain searching, at every position,
 * the first and last bytes included. */
static void keyed_long_subjects(int plain)
{
	static const char *const cased[] = { "\" 404", "\" 401", "()", "${", "$%7b", NULL };
	static const char *const ci[] = { "%24{", "x(Q", NULL };
	static const char alphabet[] = "\" 40147$%{}()bBxXqQ a";
	char text[2048], subject[200];
	uint32_t seed = 5;
	int hits = 0;
	struct fix f;

	fix_begin(&f, 1);
	if (plain)
		ls_rules_scan_without_ssse3(f.rules);
	snprintf(text, sizeof(text), "rule cased\n  dataset: d\n  match: (?s).\n  level: low\n");
	for (int i = 0; cased[i]; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "  literal: %s\n", cased[i]);
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
		 "rule ci\n  dataset: d\n  match: (?is).\n  level: low\n");
	for (int i = 0; ci[i]; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "  literal: %s\n", ci[i]);
	CU_ASSERT_FATAL(fix_load(&f, text) == 0);
	for (int round = 0; round < 4000; round++) {
		const char *want = NULL;
		size_t len = lcg(&seed) % (sizeof(subject) - 1);
		for (size_t i = 0; i < len;) {
			const char *lit = lcg(&seed) % 2 ? cased[lcg(&seed) % 5] : ci[lcg(&seed) % 2];
			if (lcg(&seed) % 8)
				subject[i++] = alphabet[lcg(&seed) % (sizeof(alphabet) - 1)];
			for (size_t k = 0; lit[k] && i < len && lcg(&seed) % 6; k++) {
				char c = lit[k];
				subject[i++] = lcg(&seed) % 4 ? c : c ^ 0x20 * ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
			}
		}
		subject[len] = '\0';
		for (int i = 0; cased[i] && !want; i++)
			want = occurs(subject, cased[i], 0) ? "cased" : NULL;
		for (int i = 0; ci[i] && !want; i++)
			want = occurs(subject, ci[i], 1) ? "ci" : NULL;
		fix_event(&f, NULL, "d", subject, NULL);
		CU_ASSERT(apply(&f, NULL) == (want ? 1 : 0));
		if (!same(rule_id(&f.ev), want))
			fprintf(stderr, "\nkeyed '%s': got %s, want %s\n", subject,
				rule_id(&f.ev), want);
		CU_ASSERT(same(rule_id(&f.ev), want));
		hits += want != NULL;
	}
	CU_ASSERT(hits > 400 && hits < 3900);
	fix_end(&f);
}

static void test_keyed_long_subjects(void)
{
	keyed_long_subjects(0);
}

static void test_keyed_long_subjects_plain(void)
{
	keyed_long_subjects(1);
}

/* Subjects checked for many literals are scanned once (and short ones
 * remembered); the answers must be those of plain searching, whatever the
 * path, for every literal position, case, length and repetition. */
static void test_scan_and_memo(void)
{
	static const struct {
		const char *url, *want;
	} cases[] = {
		{"/index.html", NULL},
		{"/a?x=UNION SELECT 1", "many"},
		{"/a?x=union select", "many"},
		{"wp-login.php", "many"},
		{"/x/wp-LOGIN.php", "many"},
		{"/x/wp-login.ph", NULL},
		{"/x?q=<", "many"},
		{"/x?q=onerror=1", "many"},
		{"/x?q=OnErRoR=1", "many"},
		{"/x?q=onerro=1", NULL},
		{"/etc/passwd", "cased"},
		{"/ETC/PASSWD", NULL},
		{"/.git/config", "many"},
		{"/.gi/t", NULL},
		{"/x?cmd=id", "many"},
		{"cmd=", "many"},
		{"/x?CMD=id", "many"},
		{"/static/app.js", NULL},
	};
	char long_url[700];
	struct fix f;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f,
		"rule many\n  dataset: nginx.access\n  field: url.original\n"
		"  literal: union select\n  literal: wp-login.php\n  literal: <\n"
		"  literal: onerror=\n  literal: /.git/\n  literal: cmd=\n"
		"  literal: xmlrpc.php\n  literal: javascript:\n"
		"  match: (?i)(?:union select|wp-login\\.php|<|onerror=|/\\.git/|cmd=|"
		"xmlrpc\\.php|javascript:)\n  level: medium\n"
		"rule cased\n  dataset: nginx.access\n  field: url.original\n"
		"  literal: /etc/passwd\n  literal: /etc/shadow\n  literal: boot.ini\n"
		"  literal: win.ini\n  literal: /proc/self/\n  literal: .htpasswd\n"
		"  match: /etc/(?:passwd|shadow)|boot\\.ini|win\\.ini|/proc/self/|\\.htpasswd\n"
		"  level: high\n") == 0);
	/* many distinct subjects: memo slots are reused, never wrongly */
	for (int i = 0; i < 600; i++) {
		char url[64];
		int attack = i % 3 == 0;
		snprintf(url, sizeof(url), "/p%d%s", i % 200, attack ? "?q=<x" : "/ok");
		fix_event(&f, NULL, "nginx.access", "line", url);
		CU_ASSERT(apply(&f, NULL) == attack);
	}
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const char *url = cases[i].url;
			if (round == 2) {
				/* too long to remember, and too long to scan */
				memset(long_url, 'a', 600);
				snprintf(long_url + 600, sizeof(long_url) - 600, "%s", cases[i].url);
				url = long_url;
			}
			fix_event(&f, NULL, "nginx.access", "line", url);
			CU_ASSERT(apply(&f, NULL) == (cases[i].want ? 1 : 0));
			if (!same(rule_id(&f.ev), cases[i].want))
				fprintf(stderr, "\nscan round %d case %zu: got %s\n", round, i,
					rule_id(&f.ev));
			CU_ASSERT(same(rule_id(&f.ev), cases[i].want));
		}
	}
	fix_end(&f);
}

/* ---- what a hit sets ---------------------------------------------------- */

static void test_lists_and_severity(void)
{
	struct fix f;
	const struct ls_field *fl;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f,
		"rule ssh.fail\n  name: SSH failed password\n  program: sshd\n"
		"  match: Failed password\n  category: authentication network\n"
		"  type: info denied\n  outcome: failure\n  level: medium\n"
		"  technique: T1110 T1110.001\n  tags: auth_failure ssh\n"
		"rule ssh.ok\n  program: sshd\n  match: Accepted\n"
		"  category: authentication\n  type: start\n  outcome: success\n"
		"  level: informational\n  tags: auth_success\n") == 0);

	fix_event(&f, "sshd", NULL, "Failed password for root", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	CU_ASSERT(field_is(&f.ev, "rule.id", "ssh.fail"));
	CU_ASSERT(field_is(&f.ev, "rule.name", "SSH failed password"));
	CU_ASSERT(field_is(&f.ev, "rule.category", "authentication"));
	CU_ASSERT(field_is(&f.ev, "event.category", "authentication\x1fnetwork"));
	CU_ASSERT(field_is(&f.ev, "event.type", "info\x1f" "denied"));
	CU_ASSERT(field_is(&f.ev, "event.outcome", "failure"));
	CU_ASSERT(field_is(&f.ev, "event.severity", "3"));
	CU_ASSERT(field_is(&f.ev, "threat.technique.id", "T1110\x1fT1110.001"));
	fl = ls_event_get(&f.ev, "event.category");
	CU_ASSERT(fl && fl->type == LS_F_LIST);
	fl = ls_event_get(&f.ev, "event.severity");
	CU_ASSERT(fl && fl->type == LS_F_INT);
	fl = ls_event_get(&f.ev, "threat.technique.id");
	CU_ASSERT(fl && fl->type == LS_F_LIST);
	CU_ASSERT(f.ev.severity == 3);
	CU_ASSERT(ls_event_has_tag(&f.ev, "auth_failure"));
	CU_ASSERT(ls_event_has_tag(&f.ev, "ssh"));
	CU_ASSERT(ls_event_has_tag(&f.ev, "security"));

	/* a list the format already set is merged, not replaced */
	fix_event(&f, "sshd", NULL, "Failed password for root", NULL);
	ls_event_list_add(&f.ev, "event.category", "host");
	CU_ASSERT(apply(&f, NULL) == 1);
	CU_ASSERT(field_is(&f.ev, "event.category", "host\x1f" "authentication\x1fnetwork"));

	/* informational: no "security" tag; rule.name defaults to the id */
	fix_event(&f, "sshd", NULL, "Accepted publickey for alice", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	CU_ASSERT(field_is(&f.ev, "rule.name", "ssh.ok"));
	CU_ASSERT(field_is(&f.ev, "event.severity", "1"));
	CU_ASSERT(f.ev.severity == 1);
	CU_ASSERT(field_is(&f.ev, "event.outcome", "success"));
	CU_ASSERT(field_is(&f.ev, "threat.technique.id", NULL));
	CU_ASSERT(ls_event_has_tag(&f.ev, "auth_success"));
	CU_ASSERT(!ls_event_has_tag(&f.ev, "security"));
	fix_end(&f);
}

/* ---- rejected entries --------------------------------------------------- */

static void test_bad_rules(void)
{
	static const struct {
		const char *text;
		int code;
		const char *msg; /* expected prefix */
		const char *detail;
	} cases[] = {
		{"rule bad\n  literal: x\n  match: x\n  level: severe\n", LS_EINVAL,
		 "t.pattern:4: rule bad: ", "bad level 'severe'"},
		{"rule bad\n  literal: x\n  match: x\n  level: info\n", LS_EINVAL,
		 "t.pattern:4: rule bad: ", "bad level 'info'"},
		{"rule bad\n  literal: x\n  technique: T1110 T9999\n  match: x\n  level: low\n",
		 LS_EINVAL, "t.pattern:3: rule bad: ", "unknown technique 'T9999'"},
		{"rule bad\n  literal: x\n  match: x\n  technique: T11\n  level: low\n",
		 LS_EINVAL, "t.pattern:4: rule bad: ", "bad technique id 'T11'"},
		{"rule bad\n  literal: x\n  match: x\n  technique: T1110.1\n  level: low\n",
		 LS_EINVAL, "t.pattern:4: rule bad: ", "bad technique id"},
		{"rule bad\n  literal: x\n  match: ok\n  match: (unclosed\n  level: low\n",
		 LS_EREGEX, "t.pattern:4: rule bad: ", "regex error at offset"},
		{"rule bad\n  literal: x\n  match: %{NOSUCHMACRO:x}\n  level: low\n",
		 LS_EINVAL, "t.pattern:3: rule bad: ", "NOSUCHMACRO"},
		{"rule bad\n  literal: x\n  level: low\n", LS_EINVAL,
		 "t.pattern:1: rule bad: ", "has no 'match:'"},
		{"rule bad\n  literal: x\n  match: x\n  colour: red\n  level: low\n",
		 LS_EINVAL, "t.pattern:4: rule bad: ", "unknown property 'colour'"},
		{"rule bad\n  literal: x\n  match: x\n", LS_EINVAL,
		 "t.pattern:1: rule bad: ", "missing 'level:'"},
		{"rule bad\n  match: \\d+\\w*\n  level: low\n", LS_EINVAL,
		 "t.pattern:1: rule bad: ", "needs a 'literal:'"},
		{"threshold bad\n  key: source.ip\n  count: 0\n  window: 60\n  level: low\n",
		 LS_EINVAL, "t.pattern:3: threshold bad: ", "bad count '0'"},
		{"threshold bad\n  key: source.ip\n  count: 1001\n  window: 60\n  level: low\n",
		 LS_EINVAL, "t.pattern:3: threshold bad: ", "bad count '1001'"},
		{"threshold bad\n  key: source.ip\n  count: 5\n  window: 6O\n  level: low\n",
		 LS_EINVAL, "t.pattern:4: threshold bad: ", "bad window '6O'"},
		{"threshold bad\n  count: 5\n  window: 60\n  level: low\n", LS_EINVAL,
		 "t.pattern:1: threshold bad: ", "missing 'key:'"},
		{"threshold bad\n  key: source.ip\n  window: 60\n  level: low\n", LS_EINVAL,
		 "t.pattern:1: threshold bad: ", "missing 'count:'"},
		{"threshold bad\n  key: source.ip\n  count: 5\n  window: 60\n  match: x\n"
		 "  level: low\n", LS_EINVAL, "t.pattern:5: threshold bad: ",
		 "unknown property 'match'"},
		{"threshold bad\n  on: nooperator\n  key: source.ip\n  count: 5\n"
		 "  window: 60\n  level: low\n", LS_EINVAL, "t.pattern:2: threshold bad: ", ""},
		{"threshold bad\n  key: source.ip\n  count: 1000\n  window: 60\n"
		 "  capacity: 16000000\n  level: low\n", LS_EINVAL,
		 "t.pattern:1: threshold bad: ", "MiB"},
		{"threshold bad\n  key: source.ip\n  count: 5\n  window: 60\n"
		 "  technique: T9999\n  level: low\n", LS_EINVAL,
		 "t.pattern:5: threshold bad: ", "unknown technique"},
		/* a broken replacement keeps the rule it would replace */
		{"rule good\n  program: sshd\n  match: Failed\n  level: critical\n"
		 "  level: loud\n", LS_EINVAL, "t.pattern:5: rule good: ", "bad level"},
	};
	struct fix f;
	size_t before;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f, "rule good\n  program: sshd\n  match: Failed\n"
				 "  level: low\n  tags: kept\n") == 0);
	fix_event(&f, "sshd", NULL, "Failed password", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	before = ls_rules_memory(f.rules);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = fix_load(&f, cases[i].text);
		if (rc != cases[i].code || strncmp(f.err.msg, cases[i].msg,
						   strlen(cases[i].msg)) != 0 ||
		    !strstr(f.err.msg, cases[i].detail))
			fprintf(stderr, "\nbad rule case %zu: rc %d: %s\n", i, rc, f.err.msg);
		CU_ASSERT(rc == cases[i].code);
		CU_ASSERT(f.err.code == cases[i].code);
		CU_ASSERT(strncmp(f.err.msg, cases[i].msg, strlen(cases[i].msg)) == 0);
		CU_ASSERT(strstr(f.err.msg, cases[i].detail) != NULL);
		CU_ASSERT(ls_rules_count(f.rules) == 1);
		CU_ASSERT(ls_rules_entry(f.rules, "bad") == NULL);
	}
	CU_ASSERT(ls_rules_memory(f.rules) == before);
	fix_event(&f, "sshd", NULL, "Failed password", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	CU_ASSERT(field_is(&f.ev, "event.severity", "2"));
	CU_ASSERT(ls_event_has_tag(&f.ev, "kept"));
	fix_end(&f);
}

static void test_techniques(void)
{
	struct fix f;
	const char *text;
	static const char rule_t9999[] =
		"rule odd\n  literal: x\n  match: x\n  technique: T9999.999\n  level: low\n";

	/* without an allow-list any well-formed id is accepted */
	fix_begin(&f, 0);
	CU_ASSERT(fix_load(&f, rule_t9999) == 0);
	CU_ASSERT(ls_rules_technique_name(f.rules, "T1110.001") == NULL);
	text = "T1110 Brute Force\nX12 nope\n";
	CU_ASSERT(ls_rules_set_techniques(f.rules, text, strlen(text)) == LS_EINVAL);
	CU_ASSERT(ls_rules_technique_name(f.rules, "T1110") == NULL);
	fix_end(&f);

	fix_begin(&f, 1);
	CU_ASSERT(fix_load(&f, rule_t9999) == LS_EINVAL);
	CU_ASSERT(strstr(f.err.msg, "t.pattern:4: rule odd: unknown technique") == f.err.msg);
	CU_ASSERT(ls_rules_technique_name(f.rules, "T1110.001") != NULL &&
		  strcmp(ls_rules_technique_name(f.rules, "T1110.001"), "Password Guessing") == 0);
	CU_ASSERT(ls_rules_technique_name(f.rules, "T1548.003") != NULL);
	CU_ASSERT(ls_rules_technique_name(f.rules, "T9999") == NULL);
	CU_ASSERT(fix_load(&f, "rule ok\n  literal: x\n  match: x\n"
			   "  technique: T1110.003 T1190 T1548.003 T1505.003\n  level: low\n") == 0);
	/* a second, smaller list replaces the first */
	text = "# c\n\n  T1110   Brute Force  \n";
	CU_ASSERT(ls_rules_set_techniques(f.rules, text, strlen(text)) == 0);
	CU_ASSERT(ls_rules_technique_name(f.rules, "T1190") == NULL);
	CU_ASSERT(strcmp(ls_rules_technique_name(f.rules, "T1110"), "Brute Force") == 0);
	fix_end(&f);
}

static void test_replace_and_listing(void)
{
	struct fix f;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f,
		"rule a\n  program: p\n  match: x\n  level: low\n"
		"rule b\n  program: p\n  match: x\n  level: medium\n"
		"threshold t\n  key: source.ip\n  count: 3\n  window: 10\n  level: high\n") == 0);
	fix_event(&f, "p", NULL, "x", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	CU_ASSERT(field_is(&f.ev, "rule.id", "a"));
	/* replacing a keeps its place before b, with the new properties */
	CU_ASSERT_FATAL(fix_load(&f, "rule a\n  program: p\n  match: x\n  level: critical\n") == 0);
	CU_ASSERT(ls_rules_count(f.rules) == 3);
	fix_event(&f, "p", NULL, "x", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	CU_ASSERT(field_is(&f.ev, "rule.id", "a"));
	CU_ASSERT(f.ev.severity == 5);
	CU_ASSERT(strcmp(ls_rules_entry_at(f.rules, 0)->name, "a") == 0);
	CU_ASSERT(strcmp(ls_rules_entry_at(f.rules, 1)->name, "b") == 0);
	CU_ASSERT(strcmp(ls_rules_entry_at(f.rules, 2)->name, "t") == 0);
	CU_ASSERT(strcmp(ls_rules_entry_at(f.rules, 2)->kind, "threshold") == 0);
	CU_ASSERT(ls_rules_entry_at(f.rules, 3) == NULL);
	CU_ASSERT(ls_rules_entry_at(f.rules, -1) == NULL);
	CU_ASSERT(ls_rules_entry(f.rules, "t") == ls_rules_entry_at(f.rules, 2));
	CU_ASSERT(ls_rules_entry(f.rules, "a")->line == 1);
	CU_ASSERT(ls_rules_entry(f.rules, "nope") == NULL);
	/* a rule added after an apply is routed too */
	CU_ASSERT_FATAL(fix_load(&f, "rule c\n  program: q\n  match: y\n  level: low\n") == 0);
	fix_event(&f, "q", NULL, "y", NULL);
	CU_ASSERT(apply(&f, NULL) == 1);
	CU_ASSERT(field_is(&f.ev, "rule.id", "c"));
	fix_end(&f);
}

/* ---- thresholds --------------------------------------------------------- */

static const char ssh_rules[] =
	"rule ssh.fail\n"
	"  program: sshd\n"
	"  literal: Failed password\n"
	"  match: Failed password for (?:invalid user )?%{USER:user.name} from %{IP:source.ip}\n"
	"  category: authentication\n"
	"  outcome: failure\n"
	"  level: low\n"
	"  technique: T1110.001\n"
	"  tags: auth_failure\n"
	"rule ssh.ok\n"
	"  program: sshd\n"
	"  match: Accepted password for %{USER:user.name} from %{IP:source.ip}\n"
	"  level: informational\n"
	"threshold ssh.bruteforce\n"
	"  name: SSH brute force\n"
	"  on: tag:auth_failure\n"
	"  key: source.ip\n"
	"  count: 5\n"
	"  window: 60\n"
	"  level: high\n"
	"  technique: T1110.001\n"
	"  category: intrusion_detection\n"
	"  type: indicator\n"
	"  tags: brute_force\n"
	"threshold ssh.spray\n"
	"  name: SSH password spraying\n"
	"  on: tag:auth_failure\n"
	"  on: event.outcome=failure\n"
	"  key: source.ip\n"
	"  distinct: user.name\n"
	"  count: 5\n"
	"  window: 300\n"
	"  level: high\n"
	"  technique: T1110.003\n"
	"  tags: password_spraying\n";

/* Applies one sshd line at time s (seconds); returns whether it alerted. */
static int feed_ssh(struct fix *f, const char *msg, int64_t s)
{
	int alerted = -1;

	fix_event(f, "sshd", "system.auth", msg, NULL);
	f->ev.ts_ms = s * 1000;
	CU_ASSERT(apply(f, &alerted) >= 0);
	CU_ASSERT(alerted == 0 || alerted == 1);
	return alerted;
}

static const char fail_root[] = "Failed password for root from 203.0.113.9 port 22 ssh2";

static void test_bruteforce(void)
{
	struct fix f;
	const struct ls_field *ds;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f, ssh_rules) == 0);
	for (int i = 0; i < 4; i++)
		CU_ASSERT(feed_ssh(&f, fail_root, 1000 + i * 10) == 0);
	/* other sources and successful logins do not count */
	CU_ASSERT(feed_ssh(&f, "Failed password for root from 198.51.100.1 port 22", 1035) == 0);
	CU_ASSERT(feed_ssh(&f, "Accepted password for root from 203.0.113.9 port 22", 1036) == 0);
	CU_ASSERT(feed_ssh(&f, fail_root, 1040) == 1);

	CU_ASSERT(f.alert.ts_ms == 1040 * 1000);
	CU_ASSERT(f.alert.severity == 4);
	CU_ASSERT(f.alert.flags & LS_EV_ALERT);
	CU_ASSERT(field_is(&f.alert, "event.kind", "alert"));
	CU_ASSERT(field_is(&f.alert, "rule.id", "ssh.bruteforce"));
	CU_ASSERT(field_is(&f.alert, "rule.name", "SSH brute force"));
	CU_ASSERT(field_is(&f.alert, "event.severity", "4"));
	CU_ASSERT(field_is(&f.alert, "threat.technique.id", "T1110.001"));
	CU_ASSERT(field_is(&f.alert, "event.category", "intrusion_detection"));
	CU_ASSERT(field_is(&f.alert, "event.type", "indicator"));
	CU_ASSERT(field_is(&f.alert, "source.ip", "203.0.113.9"));
	CU_ASSERT(field_is(&f.alert, "threshold.count", "5"));
	CU_ASSERT(field_is(&f.alert, "threshold.window", "60"));
	CU_ASSERT(field_is(&f.alert, "event.dataset", "system.auth"));
	CU_ASSERT(field_is(&f.alert, "message",
			   "SSH brute force: 5 events from 203.0.113.9 within 60 s"));
	CU_ASSERT(field_is(&f.alert, "user.name", NULL));
	ds = ls_event_get(&f.alert, "event.dataset");
	CU_ASSERT(ds && in_arena(&f.alert, ds->val));
	ds = ls_event_get(&f.alert, "source.ip");
	CU_ASSERT(ds && in_arena(&f.alert, ds->val));
	CU_ASSERT(ls_event_has_tag(&f.alert, "security"));
	CU_ASSERT(ls_event_has_tag(&f.alert, "alert"));
	CU_ASSERT(ls_event_has_tag(&f.alert, "brute_force"));
	/* the triggering event itself was tagged by the rule */
	CU_ASSERT(field_is(&f.ev, "rule.id", "ssh.fail"));

	/* history cleared: the next alert needs five fresh failures */
	for (int i = 1; i <= 4; i++)
		CU_ASSERT(feed_ssh(&f, fail_root, 1040 + i) == 0);
	CU_ASSERT(feed_ssh(&f, fail_root, 1045) == 1);
	fix_end(&f);
}

static void test_bruteforce_window(void)
{
	struct fix f;
	static const int64_t spread[] = { 0, 16, 32, 48, 61 };

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f, ssh_rules) == 0);
	for (size_t i = 0; i < 5; i++)
		CU_ASSERT(feed_ssh(&f, fail_root, 5000 + spread[i]) == 0);
	/* the last five now span 16..62: within 60 s */
	CU_ASSERT(feed_ssh(&f, fail_root, 5062) == 1);
	CU_ASSERT(field_is(&f.alert, "rule.id", "ssh.bruteforce"));
	/* exactly 60 s apart is within the window */
	for (int i = 0; i < 4; i++)
		CU_ASSERT(feed_ssh(&f, fail_root, 6000 + i) == 0);
	CU_ASSERT(feed_ssh(&f, fail_root, 6060) == 1);
	fix_end(&f);
}

static void test_distinct_users(void)
{
	static const char *const users[] = { "root", "admin", "oracle", "test", "ubuntu" };
	char msg[128];
	struct fix f;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f, ssh_rules) == 0);
	/* 70 s apart: never five in 60 s, so only the spraying threshold fires */
	for (int i = 0; i < 5; i++) {
		snprintf(msg, sizeof(msg), "Failed password for invalid user %s from "
			 "198.51.100.7 port 4%d", users[i], i);
		CU_ASSERT(feed_ssh(&f, msg, 100 + i * 70) == (i == 4));
	}
	CU_ASSERT(field_is(&f.alert, "rule.id", "ssh.spray"));
	CU_ASSERT(field_is(&f.alert, "threat.technique.id", "T1110.003"));
	CU_ASSERT(field_is(&f.alert, "source.ip", "198.51.100.7"));
	CU_ASSERT(field_is(&f.alert, "threshold.window", "300"));
	CU_ASSERT(ls_event_has_tag(&f.alert, "password_spraying"));

	/* the same user five times from another source: no spraying alert */
	for (int i = 0; i < 5; i++)
		CU_ASSERT(feed_ssh(&f, "Failed password for root from 198.51.100.8 port 1",
				   2000 + i * 70) == 0);
	/* five users but spread over more than 300 s: none either */
	for (int i = 0; i < 5; i++) {
		snprintf(msg, sizeof(msg), "Failed password for %s from 198.51.100.9 port 1",
			 users[i]);
		CU_ASSERT(feed_ssh(&f, msg, 4000 + i * 80) == 0);
	}
	/* a repeated user does not count twice */
	for (int i = 0; i < 4; i++) {
		snprintf(msg, sizeof(msg), "Failed password for %s from 198.51.100.10 port 1",
			 users[i]);
		CU_ASSERT(feed_ssh(&f, msg, 6000 + i * 70) == 0);
	}
	CU_ASSERT(feed_ssh(&f, "Failed password for root from 198.51.100.10 port 1",
			   6290) == 0);
	CU_ASSERT(feed_ssh(&f, "Failed password for ubuntu from 198.51.100.10 port 1",
			   6295) == 1);
	fix_end(&f);
}

/* Runs a fixed pseudo-random sequence on a fresh set; writes the alerts. */
static int run_sequence(char *out, size_t cap)
{
	static const char *const ips[] = {
		"203.0.113.1", "203.0.113.2", "203.0.113.3", "198.51.100.4", "2001:db8::5"
	};
	static const char *const users[] = { "root", "admin", "pi", "git", "oracle", "x" };
	uint32_t seed = 12345;
	int64_t t = 1700000000;
	size_t o = 0;
	int alerts = 0;
	struct fix f;
	char msg[160];

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f, ssh_rules) == 0);
	out[0] = '\0';
	for (int i = 0; i < 3000; i++) {
		seed = seed * 1103515245u + 12345u;
		t += (seed >> 16) % 20;
		snprintf(msg, sizeof(msg), "%s password for %s from %s port 22",
			 (seed >> 8) % 7 ? "Failed" : "Accepted", users[(seed >> 4) % 6],
			 ips[(seed >> 12) % 5]);
		if (feed_ssh(&f, msg, t)) {
			const struct ls_field *ip = ls_event_get(&f.alert, "source.ip");
			o += (size_t)snprintf(out + o, cap - o, "%lld %s %.*s\n",
					      (long long)f.alert.ts_ms, rule_id(&f.alert),
					      ip ? (int)ip->len : 0, ip ? ip->val : "");
			CU_ASSERT_FATAL(o < cap);
			alerts++;
		}
	}
	fix_end(&f);
	return alerts;
}

static void test_determinism(void)
{
	size_t cap = 1 << 20;
	char *a = malloc(cap), *b = malloc(cap);
	int na, nb;

	CU_ASSERT_FATAL(a && b);
	na = run_sequence(a, cap);
	nb = run_sequence(b, cap);
	CU_ASSERT(na > 10);
	CU_ASSERT(na == nb);
	CU_ASSERT(strcmp(a, b) == 0);
	CU_ASSERT(strstr(a, "ssh.bruteforce") != NULL);
	CU_ASSERT(strstr(a, "ssh.spray") != NULL);
	free(a);
	free(b);
}

/* Sets up an event carrying only fields (no rule needs to hit). */
static int feed_ip(struct fix *f, const char *ip, int64_t ts_ms)
{
	int alerted = -1;

	ls_event_reset(&f->ev);
	ls_event_reset(&f->alert);
	f->ev.ts_ms = ts_ms;
	ls_event_set_str(&f->ev, "event.outcome", "failure");
	ls_event_set_copy(&f->ev, "source.ip", ip, strlen(ip), LS_F_STR);
	CU_ASSERT(ls_rules_apply(f->rules, &f->ev, &f->alert, &alerted) == 0);
	return alerted;
}

static const char *ip_of(struct fix *f, uint32_t n)
{
	snprintf(f->ipbuf, sizeof(f->ipbuf), "10.%u.%u.%u", (n >> 16) & 255,
		 (n >> 8) & 255, n & 255);
	return f->ipbuf;
}

static void test_memory_bound(void)
{
	struct fix f;
	size_t before, after;
	int alerts = 0;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f,
		"threshold flood\n  on: event.outcome=failure\n  key: source.ip\n"
		"  count: 5\n  window: 3600\n  capacity: 4096\n  level: medium\n") == 0);
	CU_ASSERT(feed_ip(&f, "192.0.2.200", 0) == 0);
	before = ls_rules_memory(f.rules);
	CU_ASSERT(before < 1024 * 1024);
	CU_ASSERT(before > 4096 * 5 * sizeof(int64_t));

	/* a key with four hits, then a flood of new keys evicts it */
	for (int i = 0; i < 4; i++)
		CU_ASSERT(feed_ip(&f, "192.0.2.1", 1 + i) == 0);
	for (uint32_t n = 0; n < 1000000; n++) {
		alerts += feed_ip(&f, ip_of(&f, n), 10 + n);
		/* a hot key keeps being touched and survives the flood */
		if (n % 200 == 0 && n < 1000)
			alerts += feed_ip(&f, "192.0.2.2", 10 + n);
	}
	CU_ASSERT(alerts == 1);
	after = ls_rules_memory(f.rules);
	CU_ASSERT(after == before);
	CU_ASSERT(feed_ip(&f, "192.0.2.1", 1000100) == 0);

	/* alerts still fire for a repeated source */
	for (int i = 0; i < 4; i++)
		CU_ASSERT(feed_ip(&f, "192.0.2.3", 1000200 + i) == 0);
	CU_ASSERT(feed_ip(&f, "192.0.2.3", 1000300) == 1);
	CU_ASSERT(field_is(&f.alert, "source.ip", "192.0.2.3"));
	CU_ASSERT(field_is(&f.alert, "rule.id", "flood"));
	CU_ASSERT(ls_rules_memory(f.rules) == before);
	fix_end(&f);
}

/* Counts one event with status (NULL: none) for threshold "errors";
 * hit: an event a rule tags as well. Returns whether it alerted. */
static int feed_status(struct fix *f, const char *status, int hit, int64_t ts_ms)
{
	int alerted = -1;

	fix_event(f, NULL, "web", hit ? "attack" : "fine", NULL);
	f->ev.ts_ms = ts_ms;
	ls_event_set_str(&f->ev, "source.ip", "192.0.2.7");
	if (status)
		ls_event_set_str(&f->ev, "http.response.status_code", status);
	CU_ASSERT(apply(f, &alerted) == hit);
	return alerted;
}

/* An on: ordering test of a plain whole number is checked without the
 * where-expression; anything else still goes to it, with the same
 * answers. */
static void test_threshold_guard(void)
{
	static const struct {
		const char *status;
		int hit, counts;
	} cases[] = {
		{"404", 0, 1}, {"200", 0, 0}, {NULL, 0, 0}, {"399", 0, 0}, {"400", 0, 1},
		{"4e2", 0, 1}, {"3.99e2", 0, 0}, {"+404", 0, 1}, {"x", 0, 0}, {"", 0, 0},
		{"0000000404", 0, 1}, {"9999999999", 0, 1}, {"500", 1, 1}, {"200", 1, 0},
	};
	struct fix f;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f,
		"rule attack\n  dataset: web\n  literal: attack\n  match: attack\n"
		"  level: low\n"
		"threshold errors\n  on: http.response.status_code>=400\n  key: source.ip\n"
		"  count: 2\n  window: 60\n  level: low\n") == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int alerted;
		/* a first counted event, then the case: an alert when it counts */
		CU_ASSERT(feed_status(&f, "404", 0, (int64_t)i * 1000000) == 0);
		alerted = feed_status(&f, cases[i].status, cases[i].hit,
				      (int64_t)i * 1000000 + 1);
		if (alerted != cases[i].counts)
			fprintf(stderr, "\nguard case %zu '%s': alerted %d\n", i,
				cases[i].status ? cases[i].status : "(none)", alerted);
		CU_ASSERT(alerted == cases[i].counts);
	}
	fix_end(&f);
}

/* With no alert event, thresholds are not fed (and nothing breaks). */
static void test_no_alert_event(void)
{
	struct fix f;
	int alerted = 7;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f, ssh_rules) == 0);
	for (int i = 0; i < 10; i++) {
		fix_event(&f, "sshd", NULL, fail_root, NULL);
		f.ev.ts_ms = i;
		CU_ASSERT(ls_rules_apply(f.rules, &f.ev, NULL, NULL) == 1);
	}
	CU_ASSERT(feed_ssh(&f, fail_root, 1) == 0);
	fix_event(&f, "sshd", NULL, "nothing", NULL);
	CU_ASSERT(ls_rules_apply(f.rules, &f.ev, &f.alert, &alerted) == 0);
	CU_ASSERT(alerted == 0);
	fix_end(&f);
}

/* Sets field name (copied into the event's arena, as decoded JSON keys
 * are) to val. */
static void arena_field(struct ls_event *ev, const char *name, const char *val)
{
	char *n = ls_event_strdup(ev, name, strlen(name));

	CU_ASSERT_FATAL(n != NULL);
	CU_ASSERT_FATAL(ls_event_set(ev, n, val, strlen(val), LS_F_STR) == 0);
}

/* Routing looks fields up by name whatever their order, event after event
 * with the same names (where they were last time) or not; names in the
 * event's arena, whose addresses hold other names on the next line, are
 * never taken for the names they held before. */
static void test_wanted_fields_per_event(void)
{
	static const char *const fail = "Failed password for root from 203.0.113.9 port 1 ssh2";
	struct fix f;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f, ssh_rules) == 0);
	for (int i = 0; i < 3; i++) {
		fix_event(&f, "sshd", NULL, fail, NULL);
		CU_ASSERT(apply(&f, NULL) == 1);
		fix_event(&f, "cron", NULL, fail, NULL);
		CU_ASSERT(apply(&f, NULL) == 0);
	}
	/* the same names in another order */
	ls_event_reset(&f.ev);
	f.ev.line = fail;
	f.ev.line_len = strlen(fail);
	ls_event_set_str(&f.ev, "process.name", "sshd");
	ls_event_set_str(&f.ev, "message", fail);
	CU_ASSERT(apply(&f, NULL) == 1);
	/* arena names: the same addresses, another name the second time */
	for (int i = 0; i < 2; i++) {
		ls_event_reset(&f.ev);
		f.ev.line = fail;
		f.ev.line_len = strlen(fail);
		arena_field(&f.ev, "message", fail);
		arena_field(&f.ev, i == 0 ? "process.name" : "process.nome", "sshd");
		CU_ASSERT(apply(&f, NULL) == (i == 0));
	}
	fix_end(&f);
}

/* The prefilters compiled in at build time (tools/litcache.c) are the ones
 * loading derives: the table of a catalog that took them equals, byte for
 * byte, the table of one that derived them (and compiled every built-in
 * regex at load, none broken). A rule whose key no longer matches (its
 * regex changed after the build) derives its own. */
static void test_literal_cache(void)
{
	extern const size_t ls_builtin_nliterals;
	struct ls_catalog *cached = NULL, *derived = NULL;
	struct ls_error err = { 0, "" };
	struct ls_buf a, b;
	static const struct ls_lit_cached wrong_lit[] = { { "zzz", 3, 1 } };
	struct fix f;
	int caseless = -1;

	ls_buf_init(&a, 0);
	ls_buf_init(&b, 0);
	unsigned long decoded = ls_matcher_decoded();

	CU_ASSERT_FATAL(ls_builtin_nliterals > 50);
	/* the formats' regexes come from the build-time table (the rules'
	 * wait for their first use), or are all compiled at load */
	CU_ASSERT_FATAL(ls_catalog_load_builtin(&cached, 0, NULL, NULL, &err) == 0);
	CU_ASSERT(ls_matcher_decoded() > decoded + 20);
	decoded = ls_matcher_decoded();
	CU_ASSERT_FATAL(ls_catalog_load_builtin(&derived, LS_CATALOG_DERIVE, NULL, NULL,
						&err) == 0);
	CU_ASSERT(ls_matcher_decoded() == decoded);
	CU_ASSERT(cached->nwarnings == 0);
	CU_ASSERT(derived->nwarnings == 0);
	CU_ASSERT(ls_rules_count(derived->rules) == ls_rules_count(cached->rules));
	CU_ASSERT_FATAL(ls_rules_literal_table(cached->rules, &a) == 0);
	CU_ASSERT_FATAL(ls_rules_literal_table(derived->rules, &b) == 0);
	CU_ASSERT(a.len > 1000);
	CU_ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	ls_buf_release(&a);
	ls_buf_release(&b);
	ls_catalog_free(cached);
	ls_catalog_free(derived);

	/* an entry with the rule's key is taken as it is; one whose key
	 * differs (the regex changed since the build) is ignored */
	static const char rule[] = "rule stale.rule\n  program: x\n  match: abcdef\n"
				   "  level: low\n";
	unsigned long long key = 0;
	const char *at;

	fix_begin(&f, 1);
	CU_ASSERT_FATAL(fix_load(&f, rule) == 0);
	ls_buf_init(&a, 0);
	CU_ASSERT_FATAL(ls_rules_literal_table(f.rules, &a) == 0);
	CU_ASSERT_FATAL(ls_buf_putc(&a, '\0') == 0);
	at = strstr(a.data, "\"stale.rule\", 0x");
	CU_ASSERT_FATAL(at != NULL);
	CU_ASSERT(sscanf(at + strlen("\"stale.rule\", "), "0x%llx", &key) == 1);
	ls_buf_release(&a);
	fix_end(&f);
	for (int stale = 0; stale < 2; stale++) {
		struct ls_lit_entry e = { "stale.rule", key + (unsigned)stale, 0, 0, 1,
					  wrong_lit };
		fix_begin(&f, 1);
		ls_rules_set_literal_cache(f.rules, &e, 1);
		CU_ASSERT_FATAL(fix_load(&f, rule) == 0);
		CU_ASSERT_STRING_EQUAL(ls_rules_literal(f.rules, "stale.rule", 0, &caseless),
				       stale ? "abcdef" : "zzz");
		CU_ASSERT(ls_rules_literal(f.rules, "stale.rule", 1, NULL) == NULL);
		fix_end(&f);
	}
}

static const struct ls_test_case cases[] = {
	{"routing by program and dataset", test_routing},
	{"literal prefilter", test_literal_prefilter},
	{"caseless literal", test_caseless_literal},
	{"first hit wins", test_first_hit_wins},
	{"fields from named groups", test_group_fields},
	{"url.original percent-decoded", test_url_decoding},
	{"percent-decoding table", test_url_decoding_table},
	{"literals derived from regexes", test_derived_literals},
	{"derived literals are sound", test_derived_literals_sound},
	{"literal: lines widened to cover matches", test_literal_widening},
	{"subject scan and memo", test_scan_and_memo},
	{"match: lines gated by their literals", test_lines_gated},
	{"key-byte and automaton scans agree", test_scanners_agree},
	{"key-byte and automaton scans agree, no SSSE3", test_scanners_agree_plain},
	{"long subjects scanned by key bytes", test_keyed_long_subjects},
	{"long subjects scanned by key bytes, no SSSE3", test_keyed_long_subjects_plain},
	{"many key bytes on long subjects", test_many_keys_long_subjects},
	{"many key bytes on long subjects, no SSSE3", test_many_keys_long_subjects_plain},
	{"lists, severity and tags", test_lists_and_severity},
	{"bad rules rejected, set unchanged", test_bad_rules},
	{"technique allow-list", test_techniques},
	{"replace by name and listing", test_replace_and_listing},
	{"brute force threshold", test_bruteforce},
	{"threshold window", test_bruteforce_window},
	{"distinct users threshold", test_distinct_users},
	{"thresholds are deterministic", test_determinism},
	{"threshold memory is bounded", test_memory_bound},
	{"no alert event", test_no_alert_event},
	{"threshold on: number checked directly", test_threshold_guard},
	{"build-time literal table equals derivation", test_literal_cache},
	{"wanted fields found event after event", test_wanted_fields_per_event},
	{NULL, NULL}
};

LS_TEST_SUITE(rules, cases)
