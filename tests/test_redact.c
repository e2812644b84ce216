/* test_redact.c - secret redaction: a table of lines with their exact
 * redacted text (each kind of secret in URLs, query strings, JSON, headers
 * and key=value logs, and look-alikes that must stay as they are), the
 * untouched fast path, many secrets in one line, a full arena, and
 * ls_redact_event over a whole event. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "../parsers/error.h"
#include "../parsers/event.h"
#include "../parsers/redact.h"
#include "unit.h"

#define JWT "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." \
	    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"

static const struct {
	const char *in;
	const char *want; /* NULL: unchanged */
	int count;
} samples[] = {
	/* key=value secrets in URLs and query strings */
	{ "GET /login?user=bob&password=hunter2&next=/ HTTP/1.1",
	  "GET /login?user=bob&password=[REDACTED:password]&next=/ HTTP/1.1", 1 },
	{ "https://api.example.com/v1/items?api_key=abc123def&format=json",
	  "https://api.example.com/v1/items?api_key=[REDACTED:api_key]&format=json", 1 },
	{ "/oauth/cb?access_token=ya29.a0AfH6SMB&token_type=Bearer&expires_in=3599",
	  "/oauth/cb?access_token=[REDACTED:token]&token_type=Bearer&expires_in=3599", 1 },
	{ "/cb?token=abc&secret=def&pass=ghi",
	  "/cb?token=[REDACTED:token]&secret=[REDACTED:secret]&pass=[REDACTED:password]", 3 },
	{ "POST /api?apikey=K3y;refresh_token=r3fr3sh",
	  "POST /api?apikey=[REDACTED:api_key];refresh_token=[REDACTED:token]", 2 },
	/* JSON */
	{ "{\"user\":\"bob\",\"password\":\"hunter2 with spaces\",\"remember\":true}",
	  "{\"user\":\"bob\",\"password\":\"[REDACTED:password]\",\"remember\":true}", 1 },
	{ "{\"client_secret\": \"s3cr3t\", \"client_id\": \"app\"}",
	  "{\"client_secret\": \"[REDACTED:secret]\", \"client_id\": \"app\"}", 1 },
	{ "{\"Session_Token\":\"a\\\"b\",\"n\":1}",
	  "{\"Session_Token\":\"[REDACTED:token]\",\"n\":1}", 1 },
	{ "msg=\"{\\\"refresh_token\\\":\\\"r1t2\\\"}\"",
	  "msg=\"{\\\"refresh_token\\\":\\\"[REDACTED:token]\\\"}\"", 1 },
	{ "{'password': 'p@ss w0rd', 'user': 'x'}",
	  "{'password': '[REDACTED:password]', 'user': 'x'}", 1 },
	/* key=value and key: value logs */
	{ "level=info msg=login user=alice pwd=Tr0ub4dor3 ip=10.0.0.1",
	  "level=info msg=login user=alice pwd=[REDACTED:password] ip=10.0.0.1", 1 },
	{ "PASSWORD=Secret123 USER=x",
	  "PASSWORD=[REDACTED:password] USER=x", 1 },
	{ "password=\"a b c\" user=bob",
	  "password=\"[REDACTED:password]\" user=bob", 1 },
	{ "secret: hunter2",
	  "secret: [REDACTED:secret]", 1 },
	{ "Api-Key: 0123456789abcdef",
	  "Api-Key: [REDACTED:api_key]", 1 },
	{ "COMMAND=/usr/bin/mysql -u root --password=hunter2 db",
	  "COMMAND=/usr/bin/mysql -u root --password=[REDACTED:password] db", 1 },
	{ "auth_token=t0k,passwd=pw",
	  "auth_token=[REDACTED:token],passwd=[REDACTED:password]", 2 },
	/* Authorization */
	{ "Authorization: Bearer abc.def.ghi",
	  "Authorization: Bearer [REDACTED:authorization]", 1 },
	{ "authorization: Basic dXNlcjpwYXNzd29yZA==",
	  "authorization: Basic [REDACTED:authorization]", 1 },
	{ "{\"headers\":{\"Authorization\":\"Bearer " JWT "\"}}",
	  "{\"headers\":{\"Authorization\":\"Bearer [REDACTED:authorization]\"}}", 1 },
	{ "GET /x?authorization=Bearer%20abc123 HTTP/1.1",
	  "GET /x?authorization=Bearer%20[REDACTED:authorization] HTTP/1.1", 1 },
	{ "AUTHORIZATION: s3cr3tv4lue",
	  "AUTHORIZATION: [REDACTED:authorization]", 1 },
	/* AWS access key ids */
	{ "using key AKIAIOSFODNN7EXAMPLE for upload",
	  "using key [REDACTED:aws_access_key] for upload", 1 },
	{ "aws_access_key_id=ASIAY34FZKBOKMUTVV7A region=us-east-1",
	  "aws_access_key_id=[REDACTED:aws_access_key] region=us-east-1", 1 },
	/* JWTs */
	{ "session " JWT " expired",
	  "session [REDACTED:jwt] expired", 1 },
	{ "Cookie: sid=eyJhbGciOiJIUzI1NiJ9.eyJ1IjoxfQ.sig_abcd; theme=dark",
	  "Cookie: sid=[REDACTED:jwt]; theme=dark", 1 },
	{ "token=" JWT,
	  "token=[REDACTED:token]", 1 },
	/* private keys */
	{ "key=-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1\n"
	  "-----END RSA PRIVATE KEY----- loaded",
	  "key=[REDACTED:private_key] loaded", 1 },
	{ "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA",
	  "[REDACTED:private_key]", 1 },
	{ "secret=-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEE\\n-----END EC PRIVATE KEY----- x",
	  "secret=[REDACTED:private_key] x", 1 },
	/* card numbers */
	{ "charged card 4111111111111111 ok",
	  "charged card [REDACTED:card] ok", 1 },
	{ "cc=5555 5555 5555 4444 exp=12/25",
	  "cc=[REDACTED:card] exp=12/25", 1 },
	{ "card: 4111-1111-1111-1111.",
	  "card: [REDACTED:card].", 1 },
	{ "amex 3782 822463 10005 approved",
	  "amex [REDACTED:card] approved", 1 },
	{ "{\"pan\":\"6011111111111117\"}",
	  "{\"pan\":\"[REDACTED:card]\"}", 1 },
	{ "4111 1111 1111 1111 123",
	  "[REDACTED:card] 123", 1 },
	/* passwords in URL user info; the user name stays */
	{ "fetch https://deploy:hunter2url@git.example.com/repo.git failed",
	  "fetch https://deploy:[REDACTED:password]@git.example.com/repo.git failed", 1 },
	{ "postgres://app:s3cr3t@db:5432/x",
	  "postgres://app:[REDACTED:password]@db:5432/x", 1 },
	{ "ftp://u:p4ss@h/",
	  "ftp://u:[REDACTED:password]@h/", 1 },
	{ "DATABASE_URL=\"mysql://root:pw@127.0.0.1/app\" http://a:b@c",
	  "DATABASE_URL=\"mysql://root:[REDACTED:password]@127.0.0.1/app\" http://a:[REDACTED:password]@c", 2 },
	/* a raw '@' in the password: up to the last '@' before the path */
	{ "redis://:p@ss@cache:6379/0",
	  "redis://:[REDACTED:password]@cache:6379/0", 1 },
	/* the user name is scanned too */
	{ "https://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMIK7MDENG@bucket.s3.amazonaws.com/x",
	  "https://[REDACTED:aws_access_key]:[REDACTED:password]@bucket.s3.amazonaws.com/x", 2 },
	/* secrets glued together: each is found (a key block after a bare
	 * value, a JWT right after a key block's END line) */
	{ "password=abc-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIB",
	  "password=[REDACTED:password][REDACTED:private_key]", 2 },
	{ "-----BEGIN EC PRIVATE KEY-----\\nMHcC\\n-----END EC PRIVATE KEY-----" JWT,
	  "[REDACTED:private_key][REDACTED:jwt]", 2 },
	/* an Authorization header runs to the end of its line: encoded words
	 * after the credential are part of it, other words are not */
	{ "Authorization: Bearer abcdef1234567890tokenvalue dXNlcjpodW50ZXIycGFzcw==",
	  "Authorization: Bearer [REDACTED:authorization]", 1 },
	{ "Authorization: Bearer abcdef1234567890tokenvalue from 10.0.0.1",
	  "Authorization: Bearer [REDACTED:authorization] from 10.0.0.1", 1 },
	/* a bare "key: value" counts for unambiguous keys with a value that
	 * looks like a credential: 6+ bytes with a digit or symbol, or 16+
	 * letters. A "password: ..." line of a config dump is redacted. */
	{ "password: hunter2secret",
	  "password: [REDACTED:password]", 1 },
	{ "  passwd: s3cr3t",
	  "  passwd: [REDACTED:password]", 1 },
	{ "token: ya29.a0AfH6SMBx",
	  "token: [REDACTED:token]", 1 },
	{ "client_secret: abcdefghijklmnopqrst",
	  "client_secret: [REDACTED:secret]", 1 },
	{ "Access denied (using token: abc123def456)",
	  "Access denied (using token: [REDACTED:token])", 1 },
	{ "password: \"hunter2\"",
	  "password: \"[REDACTED:password]\"", 1 },
	{ "password=YES",
	  "password=[REDACTED:password]", 1 },
	/* a quoted key's bare value ends with its object; literals stay */
	{ "{\"password\": 12345678}",
	  "{\"password\": [REDACTED:password]}", 1 },
	{ "{\"password\":null,\"token\":\"abc\"}",
	  "{\"password\":null,\"token\":\"[REDACTED:token]\"}", 1 },
	/* look-alikes that must stay */
	/* "PWD" is the working directory: a path is never a password */
	{ "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash", NULL, 0 },
	{ "bob : TTY=pts/1 ; PWD=~ ; USER=root ; COMMAND=/usr/bin/id", NULL, 0 },
	{ "pwd=\"/var/www\" PWD=~/src", NULL, 0 },
	/* prose after a bare "key:" */
	{ "Access denied for user 'root'@'192.0.2.1' (using password: YES)", NULL, 0 },
	{ "Access denied for user 'app'@'localhost' (using password: NO)", NULL, 0 },
	{ "pass: ok", NULL, 0 },
	{ "pass: hunter2secret, pwd: /home/bob", NULL, 0 },
	{ "the password: incorrect. token: expired", NULL, 0 },
	{ "secret: (none) api_key: <hidden> token: null password: ******** x", NULL, 0 },
	{ "password: yes, token: true, secret: /run/secrets/db", NULL, 0 },
	{ "{\"password\":true,\"token\":false}", NULL, 0 },
	/* URLs without a password */
	{ "https://user@host/path http://host:8080/a@b:c ssh://git@github.com:22/x", NULL, 0 },
	{ "mysql://root:@db/x and https://deploy:[REDACTED:password]@git.example.com", NULL, 0 },
	{ "see http://example.com/~u:x@y/ or mailto:a:b@c", NULL, 0 },
	{ "bypass=1&debug=true", NULL, 0 },
	{ "db_password=x user_token=y", NULL, 0 },
	{ "token_count=5 secrets=3", NULL, 0 },
	{ "order 4111111111111112 shipped", NULL, 0 },
	{ "id 41111111111111111111 done", NULL, 0 },
	{ "password mismatch for user bob", NULL, 0 },
	{ "login failed password= user=bob", NULL, 0 },
	{ "{\"password\":\"\"}", NULL, 0 },
	{ "password=[REDACTED:password]", NULL, 0 },
	{ "Authorization: Bearer", NULL, 0 },
	{ "{\"authorization\":\"Basic \"}", NULL, 0 },
	{ "client 192.168.100.200 connected to 10.0.0.1:8080", NULL, 0 },
	{ "2023-11-14T22:13:20.123Z started at 2023-11-14 22:13:20", NULL, 0 },
	{ "epoch 1700000000000 ms, 1700000000000000 us", NULL, 0 },
	{ "price 0.4111111111111111 units", NULL, 0 },
	{ "ref4111111111111111 and 4111111111111111x", NULL, 0 },
	{ "uuid 550e8400-e29b-41d4-a716-446655440000", NULL, 0 },
	{ "AKIAIOSFODNN7EXAMPLEX xAKIAIOSFODNN7EXAMPLE AKIA123", NULL, 0 },
	{ "eyJhbGciOiJIUzI1NiJ9.eyJ.abc and xeyJhbGci.eyJzdWIi.abcd", NULL, 0 },
	{ "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZI\n-----END PUBLIC KEY-----", NULL, 0 },
	{ "phone +1 555-123-4567, ssn-like 123-45-6789", NULL, 0 },
};

static void test_samples(void)
{
	struct ls_event ev;

	CU_ASSERT_FATAL(ls_event_init(&ev, 1 << 16) == 0);
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		const char *sentinel = "untouched", *out = sentinel;
		const char *want = samples[i].want;
		size_t outlen = 12345;
		int n;

		ls_event_reset(&ev);
		n = ls_redact(&ev, samples[i].in, strlen(samples[i].in), &out, &outlen);
		if (n != samples[i].count || (want && n > 0 && strcmp(out, want) != 0))
			fprintf(stderr, "\n  in:   %s\n  got:  %s (%d)\n  want: %s (%d)\n",
				samples[i].in, n > 0 ? out : "(unchanged)", n,
				want ? want : "(unchanged)", samples[i].count);
		CU_ASSERT_EQUAL(n, samples[i].count);
		if (!want) {
			CU_ASSERT_PTR_EQUAL(out, sentinel);
			CU_ASSERT_EQUAL(outlen, 12345);
		} else if (n > 0) {
			CU_ASSERT_STRING_EQUAL(out, want);
			CU_ASSERT_EQUAL(outlen, strlen(want));
		}
	}
	ls_event_release(&ev);
}

/* No trigger byte at all: nothing found, nothing written, arena unused. */
static void test_no_trigger(void)
{
	static const char line[] = "hi bob, how is it going?";
	struct ls_event ev;
	const char *out = line;
	size_t outlen = sizeof(line) - 1;

	CU_ASSERT_FATAL(ls_event_init(&ev, 256) == 0);
	CU_ASSERT_EQUAL(ls_redact(&ev, line, sizeof(line) - 1, &out, &outlen), 0);
	CU_ASSERT_PTR_EQUAL(out, line);
	CU_ASSERT_EQUAL(outlen, sizeof(line) - 1);
	CU_ASSERT_EQUAL(ev.arena_len, 0);
	CU_ASSERT_EQUAL(ls_redact(&ev, "", 0, &out, &outlen), 0);
	CU_ASSERT_PTR_EQUAL(out, line);
	ls_event_release(&ev);
}

/* More secrets than one round holds: every one is replaced. */
static void test_many(void)
{
	char in[40 * 8 + 1], want[40 * 26 + 1];
	struct ls_event ev;
	const char *out = NULL;
	size_t outlen = 0;

	in[0] = want[0] = '\0';
	for (int i = 0; i < 40; i++) {
		strcat(in, "pwd=x&");
		strcat(want, "pwd=[REDACTED:password]&");
	}
	CU_ASSERT_FATAL(ls_event_init(&ev, 1 << 16) == 0);
	CU_ASSERT_EQUAL(ls_redact(&ev, in, strlen(in), &out, &outlen), 40);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_STRING_EQUAL(out, want);
	CU_ASSERT_EQUAL(outlen, strlen(want));
	ls_event_release(&ev);
}

static void test_arena_full(void)
{
	static const char line[] = "GET /?password=hunter2 HTTP/1.1";
	struct ls_event ev;
	const char *out = line;
	size_t outlen = 0;

	CU_ASSERT_FATAL(ls_event_init(&ev, 16) == 0);
	CU_ASSERT_EQUAL(ls_redact(&ev, line, sizeof(line) - 1, &out, &outlen),
			LS_ENOMEM);
	CU_ASSERT_PTR_EQUAL(out, line);
	ls_event_release(&ev);
}

static void test_event(void)
{
	struct ls_event ev;
	const struct ls_field *f;
	const char *user = "bob", *list_val = "pwd=x";

	CU_ASSERT_FATAL(ls_event_init(&ev, 4096) == 0);
	ev.line = "raw password=hunter2";
	ev.line_len = strlen(ev.line);
	ls_event_set_str(&ev, "message", "login user=bob password=hunter2 ok");
	ls_event_set_str(&ev, "url.original", "/cb?token=abc123&x=AKIAIOSFODNN7EXAMPLE");
	ls_event_set_str(&ev, "user.name", user);
	ls_event_set(&ev, "labels.order", "4111111111111111", 16, LS_F_INT);
	ls_event_set(&ev, "labels.list", list_val, 5, LS_F_LIST);
	ls_event_add_tag(&ev, "security");

	CU_ASSERT_EQUAL(ls_redact_event(&ev), 3);
	f = ls_event_get(&ev, "message");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(f->len, strlen("login user=bob password=[REDACTED:password] ok"));
	CU_ASSERT_NSTRING_EQUAL(f->val, "login user=bob password=[REDACTED:password] ok", f->len);
	f = ls_event_get(&ev, "url.original");
	CU_ASSERT_NSTRING_EQUAL(f->val, "/cb?token=[REDACTED:token]&x=[REDACTED:aws_access_key]",
				f->len);
	/* untouched: clean strings keep their pointer; non-strings are skipped */
	CU_ASSERT_PTR_EQUAL(ls_event_get(&ev, "user.name")->val, user);
	CU_ASSERT_NSTRING_EQUAL(ls_event_get(&ev, "labels.order")->val, "4111111111111111", 16);
	CU_ASSERT_PTR_EQUAL(ls_event_get(&ev, "labels.list")->val, list_val);
	/* the raw line stays as read */
	CU_ASSERT_STRING_EQUAL(ev.line, "raw password=hunter2");
	CU_ASSERT(ls_event_has_tag(&ev, "redacted"));
	CU_ASSERT(ls_event_has_tag(&ev, "security"));
	CU_ASSERT(ev.flags & LS_EV_REDACTED);
	/* a second pass finds nothing left */
	CU_ASSERT_EQUAL(ls_redact_event(&ev), 0);
	ls_event_release(&ev);
}

/* A field marked own (logship's own text: a rule's name) is left as it
 * is; the same text from the log, and a field replaced by log data after
 * being own, are redacted. */
static void test_own_fields(void)
{
	static const char text[] = "rule about password=hunter2secret";
	struct ls_event ev;

	CU_ASSERT_FATAL(ls_event_init(&ev, 4096) == 0);
	for (int round = 0; round < 2; round++) {
		ls_event_reset(&ev);
		ev.line = "a line";
		ev.line_len = strlen(ev.line);
		ls_event_set_own(&ev, "rule.name", text, strlen(text), LS_F_STR);
		ls_event_set_str(&ev, "labels.from_log", text);
		/* a slot that held an own field, now set from the log */
		if (round == 1)
			ls_event_set_str(&ev, "rule.name", text);
		CU_ASSERT_EQUAL(ls_redact_event(&ev), round == 0 ? 1 : 2);
		CU_ASSERT_NSTRING_EQUAL(ls_event_get(&ev, "labels.from_log")->val,
					"rule about password=[REDACTED:password]",
					ls_event_get(&ev, "labels.from_log")->len);
		CU_ASSERT((ls_event_get(&ev, "rule.name")->val == text) == (round == 0));
	}
	ls_event_release(&ev);
}

/* Without a message field the line is redacted into a new "message". */
static void test_event_line(void)
{
	struct ls_event ev;
	const struct ls_field *f;
	static const char want[] = "user=bob Authorization: Basic [REDACTED:authorization]";

	CU_ASSERT_FATAL(ls_event_init(&ev, 4096) == 0);
	ev.line = "user=bob Authorization: Basic dXNlcjpwYXNz";
	ev.line_len = strlen(ev.line);
	CU_ASSERT_EQUAL(ls_redact_event(&ev), 1);
	f = ls_event_get(&ev, "message");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(f->type, LS_F_STR);
	CU_ASSERT_EQUAL(f->len, sizeof(want) - 1);
	CU_ASSERT_NSTRING_EQUAL(f->val, want, f->len);
	CU_ASSERT(ls_event_has_tag(&ev, "redacted"));

	/* nothing secret: no tag, no message field made up */
	ls_event_reset(&ev);
	ev.line = "user=bob logged in";
	ev.line_len = strlen(ev.line);
	CU_ASSERT_EQUAL(ls_redact_event(&ev), 0);
	CU_ASSERT_PTR_NULL(ls_event_get(&ev, "message"));
	CU_ASSERT_EQUAL(ev.ntags, 0);
	CU_ASSERT_EQUAL(ev.flags & LS_EV_REDACTED, 0);
	ls_event_release(&ev);
}

/* A field decoded into the arena (not part of the line) is scanned on its
 * own even when the line is clean. */
static void test_event_arena_field(void)
{
	struct ls_event ev;
	const struct ls_field *f;
	char *val;

	CU_ASSERT_FATAL(ls_event_init(&ev, 4096) == 0);
	ev.line = "{\"msg\":\"login\",\"pw\":\"cGFzc3dvcmQ9aHVudGVyMg\"}";
	ev.line_len = strlen(ev.line);
	val = ls_event_strdup(&ev, "password=hunter2", 16);
	CU_ASSERT_FATAL(val != NULL);
	ls_event_set(&ev, "pw", val, 16, LS_F_STR);
	CU_ASSERT_EQUAL(ls_redact_event(&ev), 1);
	f = ls_event_get(&ev, "pw");
	CU_ASSERT_NSTRING_EQUAL(f->val, "password=[REDACTED:password]", f->len);
	CU_ASSERT_EQUAL(f->len, strlen("password=[REDACTED:password]"));
	CU_ASSERT_PTR_NULL(ls_event_get(&ev, "message"));
	CU_ASSERT(ls_event_has_tag(&ev, "redacted"));
	ls_event_release(&ev);
}

/* Fields cut out of a line the line scan found clean: each gets what
 * scanning it alone gives, also where its ends cut a word or number that
 * hid a secret in the whole line (a card number after a letter, before a
 * letter or a decimal fraction, a key inside a longer word, a value cut
 * short, an AWS key id inside a longer word, a JWT after a letter). */
static void test_event_substrings(void)
{
	static const struct {
		const char *line;
		size_t at, len;
		int secret; /* found in the field alone */
	} subs[] = {
		{ "ref4111111111111111x", 3, 16, 1 },
		{ "ref4111111111111111x", 3, 17, 0 },
		{ "ref4111111111111111x", 0, 19, 0 },
		{ "id 4111111111111111.5 ok", 3, 17, 1 },
		{ "id 4111111111111111.5 ok", 3, 16, 1 },
		{ "id 4111111111111111.5 ok", 0, 21, 0 },
		{ "n=41111111111111111111", 2, 16, 1 },
		{ "v_4111111111111111 x", 2, 16, 1 },
		{ "5.4111111111111111 x", 1, 17, 1 },
		{ "x=mypassword=hunter2 y", 4, 16, 1 },
		{ "x=mypassword=hunter2 y", 2, 18, 0 },
		{ "x password=[REDACTED:password] y", 1, 17, 1 },
		{ "x password=[REDACTED:password] y", 1, 29, 0 },
		{ "x Authorization: Bearer", 1, 19, 1 },
		{ "user=bob id=7 path=/x?a=b", 9, 16, 0 },
		{ "AKIAIOSFODNN7EXAMPLEX and more", 0, 20, 1 },
		{ "xAKIAIOSFODNN7EXAMPLE and more", 1, 20, 1 },
		{ "xeyJhbGciOiJIUzI1NiJ9.eyJzdWIi.abcd z", 1, 34, 1 },
		{ "1.2.3.4 - - \"GET /a?id=5 HTTP/1.1\" 200 5 \"-\" \"Mozilla/5.0 (X11)\"",
		  46, 17, 0 },
		{ "1.2.3.4 - - \"GET /a?id=5 HTTP/1.1\" 200 5 \"-\" \"Mozilla/5.0 (X11)\"",
		  17, 7, 0 },
		{ "1.2.3.4 - - \"GET /a?id=5 HTTP/1.1\" 200 5 \"-\" \"Mozilla/5.0 (X11)\"",
		  0, 7, 0 },
	};
	struct ls_event ev, alone;

	CU_ASSERT_FATAL(ls_event_init(&ev, 4096) == 0);
	CU_ASSERT_FATAL(ls_event_init(&alone, 4096) == 0);
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		const char *line = subs[i].line, *want = line + subs[i].at;
		size_t want_len = subs[i].len;
		const struct ls_field *f;
		int n;

		CU_ASSERT_FATAL(subs[i].at + subs[i].len <= strlen(line));
		ls_event_reset(&alone);
		n = ls_redact(&alone, line + subs[i].at, subs[i].len, &want, &want_len);
		CU_ASSERT_EQUAL(n > 0, subs[i].secret);
		ls_event_reset(&ev);
		ev.line = line;
		ev.line_len = strlen(line);
		ls_event_set(&ev, "f", line + subs[i].at, subs[i].len, LS_F_STR);
		CU_ASSERT_EQUAL(ls_redact_event(&ev), n);
		f = ls_event_get(&ev, "f");
		CU_ASSERT_FATAL(f != NULL);
		if (f->len != want_len || memcmp(f->val, want, want_len) != 0)
			fprintf(stderr, "\n  %s [%zu,+%zu]: got %.*s want %.*s", line,
				subs[i].at, subs[i].len, (int)f->len, f->val, (int)want_len, want);
		CU_ASSERT_EQUAL(f->len, want_len);
		CU_ASSERT_NSTRING_EQUAL(f->val, want, want_len);
		/* the line was clean, so no message field */
		CU_ASSERT_PTR_NULL(ls_event_get(&ev, "message"));
	}
	ls_event_release(&ev);
	ls_event_release(&alone);
}

/* Fields cut out of a line that holds secrets: each gets the secrets it
 * overlaps replaced by the same "[REDACTED:<kind>]" (clipped to the field),
 * even when the field alone has no key; fields outside every secret keep
 * their pointer. The message (none: the line; or a part of the line)
 * is redacted the same way. */
static void test_event_overlap(void)
{
#define PWS "pwd=x&pwd=x&pwd=x&pwd=x&pwd=x&pwd=x&pwd=x&pwd=x&pwd=x&pwd=x&"
#define PWR "pwd=[REDACTED:password]&"
#define PWRS PWR PWR PWR PWR PWR PWR PWR PWR PWR PWR
	static const struct {
		const char *line;
		const char *message; /* part of line; NULL: no message field */
		const char *field;   /* part of line (its first occurrence) */
		const char *want;    /* the field; NULL: unchanged, same pointer */
		const char *want_message; /* NULL: no change */
		int count;
	} cases[] = {
		{ "GET /x?password=hunter2secret", NULL, "hunter2secret",
		  "[REDACTED:password]", "GET /x?password=[REDACTED:password]", 1 },
		{ "Authorization: Bearer abcdef1234567890tokenvalue dXNlcjpodW50ZXIycGFzcw==",
		  NULL, "Bearer abcdef1234567890tokenvalue dXNlcjpodW50ZXIycGFzcw==",
		  "Bearer [REDACTED:authorization]", "Authorization: Bearer [REDACTED:authorization]", 1 },
		/* a field cutting a secret keeps its own part of it redacted */
		{ "user=bob password=hunter2secret next=/", NULL, "password=hunter2",
		  "password=[REDACTED:password]",
		  "user=bob password=[REDACTED:password] next=/", 1 },
		{ "user=bob password=hunter2secret next=/", NULL, "ter2secret next=/",
		  "[REDACTED:password] next=/",
		  "user=bob password=[REDACTED:password] next=/", 1 },
		{ "user=bob password=hunter2secret next=/", NULL, "bob", NULL,
		  "user=bob password=[REDACTED:password] next=/", 1 },
		{ "/cb?token=abc&secret=def&x=1", NULL, "abc&secret=def",
		  "[REDACTED:token]&secret=[REDACTED:secret]",
		  "/cb?token=[REDACTED:token]&secret=[REDACTED:secret]&x=1", 2 },
		{ "charged 4111 1111 1111 1111 ok", NULL, "1111 1111",
		  "[REDACTED:card]", "charged [REDACTED:card] ok", 1 },
		{ "fetch https://deploy:hunter2url@git.example.com/repo.git failed", NULL,
		  "https://deploy:hunter2url@git.example.com/repo.git",
		  "https://deploy:[REDACTED:password]@git.example.com/repo.git",
		  "fetch https://deploy:[REDACTED:password]@git.example.com/repo.git failed", 1 },
		{ "fetch https://deploy:hunter2url@git.example.com/repo.git failed", NULL,
		  "git.example.com", NULL,
		  "fetch https://deploy:[REDACTED:password]@git.example.com/repo.git failed", 1 },
		/* JSON: a field holding a value of the line */
		{ "{\"user\":\"bob\",\"password\":\"hunter2\"}", NULL, "hunter2",
		  "[REDACTED:password]",
		  "{\"user\":\"bob\",\"password\":\"[REDACTED:password]\"}", 1 },
		/* the message a part of the line; a secret outside it changes
		 * only the fields it overlaps */
		{ "Nov 14 web1 app: login password=hunter2secret ok",
		  "login password=hunter2secret ok", "hunter2secret", "[REDACTED:password]",
		  "login password=[REDACTED:password] ok", 1 },
		{ "Nov 14 web1 app: login password=hunter2secret ok",
		  "login password=hunter2secret ok", "web1", NULL,
		  "login password=[REDACTED:password] ok", 1 },
		{ "token=abc123 app: hello", "hello", "abc123", "[REDACTED:token]", NULL, 1 },
		{ "token=abc123 app: hello", "hello", "app", NULL, NULL, 0 },
		/* the message cut where a secret starts: redacted as alone */
		{ "xAKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "x", NULL,
		  "[REDACTED:aws_access_key]", 1 },
		/* more secrets than one round of the scan finds */
		{ PWS PWS PWS PWS "pwd=last", NULL, "last", "[REDACTED:password]",
		  PWRS PWRS PWRS PWRS "pwd=[REDACTED:password]", 41 },
		/* nothing secret: every field and the message stay */
		{ "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash",
		  NULL, "/home/alice", NULL, NULL, 0 },
	};
	struct ls_event ev;

	CU_ASSERT_FATAL(ls_event_init(&ev, 1 << 16) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *line = cases[i].line, *fval = strstr(line, cases[i].field);
		const char *mval = cases[i].message ? strstr(line, cases[i].message) : NULL;
		const char *want = cases[i].want ? cases[i].want : cases[i].field;
		const char *want_message = cases[i].want_message;
		const struct ls_field *f, *m;
		int n;

		CU_ASSERT_FATAL(fval != NULL);
		CU_ASSERT_FATAL(!cases[i].message || mval != NULL);
		ls_event_reset(&ev);
		ev.line = line;
		ev.line_len = strlen(line);
		if (mval)
			ls_event_set(&ev, "message", mval, strlen(cases[i].message), LS_F_STR);
		ls_event_set(&ev, "f", fval, strlen(cases[i].field), LS_F_STR);
		n = ls_redact_event(&ev);
		f = ls_event_get(&ev, "f");
		m = ls_event_get(&ev, "message");
		CU_ASSERT_FATAL(f != NULL);
		if (n != cases[i].count || f->len != strlen(want) || memcmp(f->val, want, f->len) != 0)
			fprintf(stderr, "\n  %s: field %.*s (%d), want %s (%d)", line,
				(int)f->len, f->val, n, want, cases[i].count);
		CU_ASSERT_EQUAL(n, cases[i].count);
		CU_ASSERT_EQUAL(f->len, strlen(want));
		CU_ASSERT_NSTRING_EQUAL(f->val, want, f->len);
		if (!cases[i].want)
			CU_ASSERT_PTR_EQUAL(f->val, fval);
		if (!want_message && !mval) {
			CU_ASSERT_PTR_NULL(m);
		} else {
			if (!want_message)
				want_message = cases[i].message;
			CU_ASSERT_FATAL(m != NULL);
			if (m->len != strlen(want_message) || memcmp(m->val, want_message, m->len) != 0)
				fprintf(stderr, "\n  %s: message %.*s, want %s", line,
					(int)m->len, m->val, want_message);
			CU_ASSERT_EQUAL(m->len, strlen(want_message));
			CU_ASSERT_NSTRING_EQUAL(m->val, want_message, m->len);
			if (!cases[i].want_message)
				CU_ASSERT_PTR_EQUAL(m->val, mval);
		}
		CU_ASSERT_EQUAL(ls_event_has_tag(&ev, "redacted"), cases[i].count > 0);
	}
	ls_event_release(&ev);
#undef PWS
#undef PWR
#undef PWRS
}

/* A message that is not part of the line (a multi-line record joined in
 * the arena) is scanned on its own; fields still pointing into the line
 * get the line's secrets replaced. */
static void test_event_joined_message(void)
{
	static const char line[] = "login password=hunter2secret\n  at Main.java:1";
	struct ls_event ev;
	const struct ls_field *f;
	char *joined;

	CU_ASSERT_FATAL(ls_event_init(&ev, 4096) == 0);
	ev.line = line;
	ev.line_len = sizeof(line) - 1;
	joined = ls_event_strdup(&ev, "login password=hunter2secret at Main.java:1", 43);
	CU_ASSERT_FATAL(joined != NULL);
	ls_event_set(&ev, "message", joined, 43, LS_F_STR);
	ls_event_set(&ev, "pw", strstr(line, "hunter2"), 13, LS_F_STR);
	ls_event_set(&ev, "cmd", line, 5, LS_F_STR);
	CU_ASSERT_EQUAL(ls_redact_event(&ev), 2);
	f = ls_event_get(&ev, "message");
	CU_ASSERT_EQUAL(f->len, strlen("login password=[REDACTED:password] at Main.java:1"));
	CU_ASSERT_NSTRING_EQUAL(f->val, "login password=[REDACTED:password] at Main.java:1", f->len);
	f = ls_event_get(&ev, "pw");
	CU_ASSERT_EQUAL(f->len, strlen("[REDACTED:password]"));
	CU_ASSERT_NSTRING_EQUAL(f->val, "[REDACTED:password]", f->len);
	CU_ASSERT_PTR_EQUAL(ls_event_get(&ev, "cmd")->val, line);
	ls_event_release(&ev);
}

/* No room to redact a field: it is blanked, never left as it was. */
static void test_event_arena_full(void)
{
	static const char line[] = "GET /?password=hunter2secret HTTP/1.1";
	struct ls_event ev;
	const struct ls_field *f;

	CU_ASSERT_FATAL(ls_event_init(&ev, 16) == 0);
	ev.line = line;
	ev.line_len = sizeof(line) - 1;
	ls_event_set(&ev, "pw", strstr(line, "hunter2"), 13, LS_F_STR);
	CU_ASSERT_EQUAL(ls_redact_event(&ev), LS_ENOMEM);
	f = ls_event_get(&ev, "pw");
	CU_ASSERT_EQUAL(f->len, strlen("[REDACTED:unredactable]"));
	CU_ASSERT_NSTRING_EQUAL(f->val, "[REDACTED:unredactable]", f->len);
	ls_event_release(&ev);
}

/* Secrets at every offset of lines of many lengths: the 16-byte scan, its
 * tail and the short-text path find them all. */
static void test_offsets(void)
{
	static const struct {
		const char *secret, *want;
	} kinds[] = {
		{ "password=hunter2", "password=[REDACTED:password]" },
		{ "4111111111111111", "[REDACTED:card]" },
		{ "AKIAIOSFODNN7EXAMPLE", "[REDACTED:aws_access_key]" },
		{ JWT, "[REDACTED:jwt]" },
		{ "-----BEGIN RSA PRIVATE KEY-----", "[REDACTED:private_key]" },
	};
	char in[200], want[200];
	struct ls_event ev;

	CU_ASSERT_FATAL(ls_event_init(&ev, 1 << 16) == 0);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		for (size_t pre = 0; pre < 40; pre++) {
			for (size_t post = 0; post < 40; post += 3) {
				const char *out = NULL;
				size_t outlen = 0;
				int n;

				memset(in, ' ', pre);
				strcpy(in + pre, kinds[k].secret);
				memset(in + strlen(in), ' ', post);
				in[pre + strlen(kinds[k].secret) + post] = '\0';
				memset(want, ' ', pre);
				strcpy(want + pre, kinds[k].want);
				/* a private key without its END runs to the end */
				if (k != 4) {
					memset(want + strlen(want), ' ', post);
					want[pre + strlen(kinds[k].want) + post] = '\0';
				}
				ls_event_reset(&ev);
				n = ls_redact(&ev, in, strlen(in), &out, &outlen);
				CU_ASSERT_EQUAL(n, 1);
				if (n == 1 && strcmp(out, want) != 0) {
					fprintf(stderr, "\n  [%s] -> [%s]", in, out);
					CU_FAIL("redacted text");
				}
			}
		}
	}
	ls_event_release(&ev);
}

static const struct ls_test_case cases[] = {
	{ "samples", test_samples },
	{ "no_trigger", test_no_trigger },
	{ "many", test_many },
	{ "own fields are not redacted", test_own_fields },
	{ "arena_full", test_arena_full },
	{ "event", test_event },
	{ "event_line", test_event_line },
	{ "event_arena_field", test_event_arena_field },
	{ "event_substrings", test_event_substrings },
	{ "event_overlap", test_event_overlap },
	{ "event_joined_message", test_event_joined_message },
	{ "event_arena_full", test_event_arena_full },
	{ "offsets", test_offsets },
	{ NULL, NULL },
};

LS_TEST_SUITE(redact, cases);
