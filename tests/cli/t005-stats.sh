#!/usr/bin/env bash
# t005-stats: --stats writes lines, bytes, events, unparsed, per format and per
# tag counts on stderr, with exact numbers for known files.
. "$SRC/tests/cli/lib.sh"

# Two formats and a rule of our own, so the numbers do not depend on the
# built-in catalog.
mkdir pat
cat >pat/test.pattern <<'PAT'
format testweb
  dataset: test.web
  match: ^WEB\|%{IP:source.ip}\|%{WORD:http.request.method}\|%{INT:http.response.status_code:int}$
format testjob
  dataset: test.job
  match: ^JOB\|(?<process__name>\w+)\|%{INT:process.pid:int}$
rule test.post
  name: A POST request
  dataset: test.web
  match: \|POST\|
  level: medium
  tags: security test_post
PAT
printf 'WEB|10.0.0.1|GET|200\nWEB|10.0.0.2|POST|500\nJOB|cron|12\nWEB|10.0.0.3|GET|404\nsomething else\n' >s.log
P="--patterns pat"

# has_line NAME TEXT LINE: TEXT has exactly LINE as one of its lines
has_line() {
	if printf '%s\n' "$2" | grep -qxF -- "$3"; then pass; else fail "$1" "a line '$3'" "$2"; fi
}
no_line_like() {
	if printf '%s\n' "$2" | grep -qE -- "$3"; then fail "$1" "no line like /$3/" "$2"; else pass; fi
}

run "$LOGSHIP" parse $P s.log
plain_out=$OUT
expect_exit "--stats: exit 0" 0 "$LOGSHIP" parse $P --stats s.log
expect_eq "--stats: stdout holds the same events as without it" "$plain_out" "$OUT"
expect_json_valid "--stats: stdout is only JSON" out
has_line "--stats: lines" "$ERR" "lines: 5"
has_line "--stats: bytes" "$ERR" "bytes: $(wc -c <s.log)"
has_line "--stats: events" "$ERR" "events: 5"
has_line "--stats: unparsed" "$ERR" "unparsed: 1"
has_line "--stats: per format (testweb)" "$ERR" "format testweb: 3"
has_line "--stats: per format (testjob)" "$ERR" "format testjob: 1"
has_line "--stats: per tag (unparsed)" "$ERR" "tag unparsed: 1"
has_line "--stats: per tag (security)" "$ERR" "tag security: 1"
has_line "--stats: per tag (test_post)" "$ERR" "tag test_post: 1"
expect_eq "--stats: two format lines" 2 "$(printf '%s\n' "$ERR" | grep -c '^format ')"

expect_exit "--stats -f testweb: exit 0" 0 "$LOGSHIP" parse $P -f testweb --stats s.log
has_line "--stats -f testweb: unparsed 2" "$ERR" "unparsed: 2"
has_line "--stats -f testweb: testweb 3" "$ERR" "format testweb: 3"
no_line_like "--stats -f testweb: no testjob" "$ERR" '^format testjob'
has_line "--stats -f testweb: tag unparsed 2" "$ERR" "tag unparsed: 2"

cp s.log s2.log
expect_exit "--stats over two files: exit 0" 0 "$LOGSHIP" parse $P --stats s.log s2.log
has_line "--stats over two files: lines summed" "$ERR" "lines: 10"
has_line "--stats over two files: bytes summed" "$ERR" "bytes: $(($(wc -c <s.log) * 2))"
has_line "--stats over two files: events summed" "$ERR" "events: 10"
has_line "--stats over two files: testweb summed" "$ERR" "format testweb: 6"
has_line "--stats over two files: tag summed" "$ERR" "tag test_post: 2"

expect_exit "--stats -c: exit 0" 0 "$LOGSHIP" parse $P --stats -c s.log
expect_eq "--stats -c: stdout is the count only" 5 "$OUT"
has_line "--stats -c: stats on stderr" "$ERR" "events: 5"

# bytes are the input's bytes, whatever the line endings
printf 'WEB|10.0.0.1|GET|200\r\nJOB|cron|12\r\nWEB|10.0.0.3|GET|404' >crlf.log
expect_exit "--stats CRLF, no final newline: exit 0" 0 "$LOGSHIP" parse $P --stats crlf.log
has_line "--stats CRLF, no final newline: lines" "$ERR" "lines: 3"
has_line "--stats CRLF, no final newline: bytes = file size" "$ERR" "bytes: $(wc -c <crlf.log)"

{ printf '%0100d\n' 0; printf 'short\n'; } >long.log
expect_exit "--stats with a truncated line: exit 0" 0 "$LOGSHIP" parse --max-line 10 --stats long.log
has_line "--stats with a truncated line: lines" "$ERR" "lines: 2"
has_line "--stats with a truncated line: bytes = file size" "$ERR" "bytes: $(wc -c <long.log)"
gzip -c s.log >s.log.gz
expect_exit "--stats on a .gz: exit 0" 0 "$LOGSHIP" parse $P --stats s.log.gz
has_line "--stats on a .gz: lines" "$ERR" "lines: 5"
has_line "--stats on a .gz: events" "$ERR" "events: 5"
has_line "--stats on a .gz: format testweb" "$ERR" "format testweb: 3"

# --summary md: a Markdown summary on stdout instead of the events
expect_exit "--summary md: exit 0" 0 "$LOGSHIP" parse $P --summary md s.log
expect_match "--summary md: a Markdown heading" "$OUT" '^# '
expect_match "--summary md: a Markdown table" "$OUT" '^\|.*\|$'
expect_not_contains "--summary md: no events" "$OUT" '{"@timestamp"'
expect_contains "--summary md: names the formats" "$OUT" "testweb"
expect_contains "--summary md: names the rule hit" "$OUT" "test.post"
expect_exit "--summary html: exit 2" 2 "$LOGSHIP" parse $P --summary html s.log

: >empty.log
expect_exit "--stats on an empty file: exit 1" 1 "$LOGSHIP" parse $P --stats empty.log
has_line "--stats on an empty file: lines 0" "$ERR" "lines: 0"
has_line "--stats on an empty file: bytes 0" "$ERR" "bytes: 0"
has_line "--stats on an empty file: events 0" "$ERR" "events: 0"

# the built-in nginx format
cat >access.log <<'LOG'
203.0.113.9 - - [14/Nov/2023:22:13:20 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "Mozilla/5.0"
203.0.113.10 - - [14/Nov/2023:22:13:21 +0000] "GET /about.html HTTP/1.1" 200 1024 "-" "Mozilla/5.0"
not an access log line
LOG
expect_exit "--stats on nginx lines: exit 0" 0 "$LOGSHIP" parse --stats access.log
has_line "--stats on nginx lines: format nginx 2" "$ERR" "format nginx: 2"
has_line "--stats on nginx lines: unparsed 1" "$ERR" "unparsed: 1"

finish
