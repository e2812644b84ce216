#!/usr/bin/env bash
# t010-regex: -e with PCRE2 named groups ("__" for "."), grok macros with
# :int, lines that do not match, and regex errors with their offset.
. "$SRC/tests/cli/lib.sh"

cat >web.log <<'LOG'
203.0.113.9 GET /index.html 200 512 [14/Nov/2023:22:13:20 +0000]
198.51.100.7 POST /login 401 17 [14/Nov/2023:23:13:20 +0100]
this line does not match
LOG

# named groups; __ stands for .
expect_exit "named groups: exit 0" 0 "$LOGSHIP" parse -e '^(?<source__ip>\S+) (?<http__request__method>[A-Z]+) (?<url__original>\S+) (?<status>\d+)' web.log
expect_json_valid "named groups: valid JSON" out
l1=$(nth 1 out)
expect_json_field "named groups: source__ip gives source.ip" "$l1" source.ip '"203.0.113.9"'
expect_json_field "named groups: a three-level name" "$l1" http.request.method '"GET"'
expect_json_field "named groups: url.original" "$l1" url.original '"/index.html"'
expect_json_field "named groups: a plain name" "$l1" status '"200"'
expect_contains "named groups: nested objects" "$l1" '"source":{"ip":"203.0.113.9"}'
expect_not_contains "named groups: no __ left in keys" "$OUT" '__'
expect_json_field "named groups: the message is the whole line" "$l1" message '"203.0.113.9 GET /index.html 200 512 [14/Nov/2023:22:13:20 +0000]"'
expect_json_field "a line that does not match: unparsed" "$(nth 3 out)" tags '["unparsed"]'
expect_json_field "a line that does not match: message kept" "$(nth 3 out)" message '"this line does not match"'
expect_eq "a line that does not match: no fields of the regex" "" "$(json_get "$(nth 3 out)" source.ip)"
expect_eq "every line is an event" 3 "$(wc -l <out)"
expect_exit "--regex long form: exit 0" 0 "$LOGSHIP" parse --regex '^(?<source__ip>\S+) ' -c web.log
expect_eq "--regex long form: every line counted" 3 "$OUT"
expect_exit "-e: -v prints the line that did not match" 0 "$LOGSHIP" parse -e '^(?<source__ip>\d+\.\d+\.\d+\.\d+) ' -v web.log
expect_json_field "-e -v: the unparsed line" "$OUT" message '"this line does not match"'

# grok macros
G='^%{IP:source.ip} %{WORD:http.request.method} %{NOTSPACE:url.original} %{NUMBER:http.response.status_code:int} %{NUMBER:http.response.body.bytes:int} \[%{HTTPDATE:@timestamp}\]$'
expect_exit "grok: exit 0" 0 "$LOGSHIP" parse -e "$G" web.log
expect_json_valid "grok: valid JSON" out
l1=$(nth 1 out)
l2=$(nth 2 out)
expect_json_field "grok: %{IP:source.ip}" "$l1" source.ip '"203.0.113.9"'
expect_json_field "grok: %{NUMBER:...:int} is a JSON number" "$l1" http.response.status_code 200
expect_json_field "grok: a second :int field" "$l2" http.response.body.bytes 17
expect_json_field "grok: %{HTTPDATE:@timestamp} sets the time" "$l1" @timestamp '"2023-11-14T22:13:20.000Z"'
expect_json_field "grok: HTTPDATE with an offset, in UTC" "$l2" @timestamp '"2023-11-14T22:13:20.000Z"'
expect_json_field "grok: %{WORD:...}" "$l2" http.request.method '"POST"'
expect_json_field "grok: the line not matching is unparsed" "$(nth 3 out)" tags '["unparsed"]'
expect_json_field "grok: a status code is a number even without :int" \
	"$("$LOGSHIP" parse -e '^%{IP:source.ip} %{WORD} %{NOTSPACE} %{NUMBER:http.response.status_code}' web.log | head -1)" \
	http.response.status_code 200
expect_exit "grok and named groups together: exit 0" 0 "$LOGSHIP" parse -e '^%{IP:source.ip} (?<http__request__method>\w+) ' web.log
expect_json_field "grok and named groups together" "$(nth 2 out)" http.request.method '"POST"'
expect_json_field "grok and named groups together (grok's field)" "$(nth 2 out)" source.ip '"198.51.100.7"'
expect_exit "-w on a grok :int field: exit 0" 0 "$LOGSHIP" parse -e "$G" -w 'http.response.status_code>=400' -c web.log
expect_eq "-w on a grok :int field" 1 "$OUT"

# regex errors: the PCRE2 message and the offset, exit 2, nothing on stdout
expect_exit "bad regex: exit 2" 2 "$LOGSHIP" parse -e '(?<a>x' web.log
expect_eq "bad regex: the message and the offset" "logship: regex error at offset 6: missing closing parenthesis" "$ERR"
expect_eq "bad regex: nothing on stdout" "" "$OUT"
expect_exit "bad regex a(b: exit 2" 2 "$LOGSHIP" parse -e 'a(b' web.log
expect_eq "bad regex a(b: offset 3" "logship: regex error at offset 3: missing closing parenthesis" "$ERR"
expect_exit "bad regex x[: exit 2" 2 "$LOGSHIP" parse -e 'x[' web.log
expect_eq "bad regex x[: offset 2" "logship: regex error at offset 2: missing terminating ] for character class" "$ERR"
expect_exit "a dot in a group name: exit 2" 2 "$LOGSHIP" parse -e '(?<source.ip>\S+)' web.log
expect_match "a dot in a group name: a regex error with an offset" "$ERR" '^logship: regex error at offset [0-9]+: '
# with grok macros the offset still points into the pattern as typed
expect_exit "bad regex after a grok macro: exit 2" 2 "$LOGSHIP" parse -e '%{IP:source.ip} (x' web.log
expect_eq "bad regex after a grok macro: offset in the pattern typed" "logship: regex error at offset 18: missing closing parenthesis" "$ERR"
expect_exit "bad class after a grok macro: exit 2" 2 "$LOGSHIP" parse -e '%{WORD:a} x[' web.log
expect_eq "bad class after a grok macro: offset in the pattern typed" "logship: regex error at offset 12: missing terminating ] for character class" "$ERR"
expect_exit "unknown grok macro: exit 2" 2 "$LOGSHIP" parse -e '%{NOSUCHMACRO:x} y' web.log
expect_contains "unknown grok macro: named" "$ERR" "NOSUCHMACRO"
expect_eq "unknown grok macro: nothing on stdout" "" "$OUT"
expect_exit "unterminated %{: exit 2" 2 "$LOGSHIP" parse -e 'a %{IP:source.ip' web.log
expect_exit "bad regex with -c: exit 2 before reading" 2 "$LOGSHIP" parse -c -e '(' web.log
expect_eq "bad regex with -c: no count printed" "" "$OUT"

finish
