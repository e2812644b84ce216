#!/usr/bin/env bash
# t002-exit-codes: parse exits 0 when it printed events, 1 when none, 2 on
# errors; --fail-on LEVEL exits 1 when an event reached LEVEL.
. "$SRC/tests/cli/lib.sh"

RE='^%{IP:source.ip} %{WORD:http.request.method} %{INT:http.response.status_code:int}$'
printf '10.0.0.1 GET 200\n10.0.0.2 POST 404\n' >web.log
: >empty.log

expect_exit "events printed: exit 0" 0 "$LOGSHIP" parse -e "$RE" web.log
expect_eq "events printed: two lines" 2 "$(wc -l <out)"
expect_exit "-w matching nothing: exit 1" 1 "$LOGSHIP" parse -e "$RE" -w http.request.method=PUT web.log
expect_eq "-w matching nothing: no output" "" "$OUT"
expect_exit "-w matching one: exit 0" 0 "$LOGSHIP" parse -e "$RE" -w http.request.method=POST web.log
expect_exit "-c with no match: exit 1" 1 "$LOGSHIP" parse -e "$RE" -c -w http.request.method=PUT web.log
expect_eq "-c with no match prints 0" 0 "$OUT"
expect_exit "-c with matches: exit 0" 0 "$LOGSHIP" parse -e "$RE" -c web.log
expect_exit "-m 1: exit 0" 0 "$LOGSHIP" parse -e "$RE" -m 1 web.log
expect_eq "-m 1: one event" 1 "$(wc -l <out)"
expect_exit "-m 0: exit 1, as grep -m 0" 1 "$LOGSHIP" parse -e "$RE" -m 0 web.log
expect_eq "-m 0: nothing printed" "" "$OUT"
expect_exit "-c -m 0: exit 1" 1 "$LOGSHIP" parse -e "$RE" -c -m 0 web.log
expect_eq "-c -m 0 prints 0" 0 "$OUT"
expect_exit "-m 0 --fail-on low: exit 0, nothing reached the level" 0 "$LOGSHIP" parse -m 0 --fail-on low web.log
expect_eq "-m 0 --fail-on low: nothing printed" "" "$OUT"
expect_exit "empty file: exit 1" 1 "$LOGSHIP" parse empty.log
expect_exit "empty stdin: exit 1" 1 "$LOGSHIP" parse </dev/null
expect_exit "-v with every line parsed: exit 1" 1 "$LOGSHIP" parse -e "$RE" -v web.log
expect_exit "bad option: exit 2" 2 "$LOGSHIP" parse --no-such-option web.log
expect_exit "bad regex: exit 2" 2 "$LOGSHIP" parse -e '(' web.log
expect_exit "bad --where: exit 2" 2 "$LOGSHIP" parse -w 'no operator here' web.log
expect_exit "missing file: exit 2" 2 "$LOGSHIP" parse missing.log
expect_contains "missing file is named" "$ERR" "missing.log"
expect_exit "missing file after a good one: still exit 2" 2 "$LOGSHIP" parse -e "$RE" web.log missing.log
expect_eq "missing file after a good one: the good one's events" 2 "$(wc -l <out)"
expect_exit "missing file and a filter matching nothing: exit 2" 2 "$LOGSHIP" parse -e "$RE" -w x=y web.log missing.log

# --fail-on, with a rule of our own: BADTHING lines are level medium (3).
mkdir rules
cat >rules/test.pattern <<'PAT'
rule test.badthing
  name: A bad thing happened
  literal: BADTHING
  match: BADTHING from %{IP:source.ip}
  level: medium
  tags: security test_badthing
PAT
printf 'all fine\nBADTHING from 192.0.2.7\nstill fine\n' >mixed.log
printf 'all fine\nstill fine\n' >fine.log
P="--patterns rules"
expect_exit "the test rule tags the bad line" 0 "$LOGSHIP" parse $P -w tag:test_badthing mixed.log
expect_json_field "the test rule sets event.severity 3" "$OUT" event.severity 3
expect_exit "--fail-on low with a medium event: exit 1" 1 "$LOGSHIP" parse $P --fail-on low mixed.log
expect_eq "--fail-on still prints the events" 3 "$(wc -l <out)"
expect_exit "--fail-on medium with a medium event: exit 1" 1 "$LOGSHIP" parse $P --fail-on medium mixed.log
expect_exit "--fail-on high with a medium event: exit 0" 0 "$LOGSHIP" parse $P --fail-on high mixed.log
expect_exit "--fail-on critical with a medium event: exit 0" 0 "$LOGSHIP" parse $P --fail-on critical mixed.log
expect_exit "--fail-on informational with a medium event: exit 1" 1 "$LOGSHIP" parse $P --fail-on informational mixed.log
expect_exit "--fail-on low without a rule hit: exit 0" 0 "$LOGSHIP" parse $P --fail-on low fine.log
expect_exit "--fail-on low on an empty file: exit 0" 0 "$LOGSHIP" parse $P --fail-on low empty.log
expect_exit "--fail-on low, hit filtered out by -w: exit 0" 0 "$LOGSHIP" parse $P --fail-on low -w message='all fine' mixed.log
expect_exit "--fail-on with -c: exit 1" 1 "$LOGSHIP" parse $P --fail-on medium -c mixed.log
expect_eq "--fail-on with -c prints the count" 3 "$OUT"
expect_exit "--fail-on bogus: exit 2" 2 "$LOGSHIP" parse $P --fail-on bogus mixed.log
expect_exit "--fail-on with a missing file: exit 2" 2 "$LOGSHIP" parse $P --fail-on low mixed.log missing.log
expect_exit "--no-tag: the rule does not fire, exit 0" 0 "$LOGSHIP" parse $P --no-tag --fail-on low mixed.log

finish
