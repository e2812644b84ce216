#!/usr/bin/env bash
# t004-where: -w expressions (=, !=, ~, >, >=, <, <=, has:, tag:), repeated
# -w ANDed, bad expressions; --fields; -c; -m N; -v; --since/--until.
. "$SRC/tests/cli/lib.sh"

RE='^%{TIMESTAMP_ISO8601:@timestamp} %{IP:source.ip} %{WORD:http.request.method} %{INT:http.response.status_code:int} %{INT:http.response.body.bytes:int} (?:-|(?<user__name>\w+)) (?<url__original>\S+)$'
cat >w.log <<'LOG'
2023-11-14T10:00:00Z 10.0.0.1 GET 200 512 alice /index.html
2023-11-14T11:00:00Z 10.0.0.2 POST 404 90 bob /wp-login.php
2023-11-14T12:00:00Z 10.0.0.3 GET 500 1024 carol /api/x
2023-11-14T23:30:00Z 10.0.0.1 GET 503 10000 - /api/y
garbage line that matches nothing
LOG

# sel ARGS...: the last word of each selected event's message, space separated
sel() {
	run "$LOGSHIP" parse -e "$RE" -o tsv --fields message "$@" w.log
	SEL=$(sed 1d "$T/out" | awk '{print $NF}' | tr '\n' ' ' | sed 's/ $//')
}
expect_sel() { # name expected args...
	local name=$1 want=$2
	shift 2
	sel "$@"
	expect_eq "$name" "$want" "$SEL"
}

expect_sel "no filter: every line" "/index.html /wp-login.php /api/x /api/y nothing"
expect_sel "-w field=value" "/index.html /api/x /api/y" -w http.request.method=GET
expect_sel "-w field=value on a number" "/wp-login.php" -w http.response.status_code=404
expect_sel "-w field!=value" "/wp-login.php nothing" -w http.request.method!=GET
expect_sel "-w field~regex" "/api/x /api/y" -w 'url.original~^/api/'
expect_sel "-w field~regex (alternation)" "/index.html /wp-login.php" -w 'url.original~(index|login)'
expect_sel "-w field>N" "/api/y" -w 'http.response.status_code>500'
expect_sel "-w field>=N" "/api/x /api/y" -w 'http.response.status_code>=500'
expect_sel "-w field<N" "/index.html" -w 'http.response.status_code<404'
expect_sel "-w field<=N" "/index.html /wp-login.php" -w 'http.response.status_code<=404'
expect_sel "-w field>N compares numbers, not text" "/index.html /api/x /api/y" -w 'http.response.body.bytes>500'
expect_sel "-w field<N compares numbers, not text" "/wp-login.php" -w 'http.response.body.bytes<100'
expect_sel "-w has:field" "/index.html /wp-login.php /api/x" -w has:user.name
expect_sel "-w tag:NAME" "nothing" -w tag:unparsed
expect_sel "-w message=..." "nothing" -w 'message=garbage line that matches nothing'
expect_sel "-w source.ip=" "/index.html /api/y" -w source.ip=10.0.0.1
expect_sel "repeated -w are ANDed" "/api/x /api/y" -w http.request.method=GET -w 'http.response.status_code>=500'
expect_sel "three -w ANDed" "/api/x" -w http.request.method=GET -w 'http.response.status_code>=500' -w has:user.name
expect_sel "--where long form" "/wp-login.php" --where user.name=bob
expect_exit "-w matching nothing: exit 1" 1 "$LOGSHIP" parse -e "$RE" -w user.name=mallory w.log

for bad in 'no operator' '=value' 'url.original~(' 'has:' 'tag:'; do
	expect_exit "bad -w '$bad': exit 2" 2 "$LOGSHIP" parse -e "$RE" -w "$bad" w.log
	expect_eq "bad -w '$bad': nothing on stdout" "" "$OUT"
	expect_contains "bad -w '$bad': stderr names it" "$ERR" "$bad"
done

# --fields
expect_exit "--fields with tsv: exit 0" 0 "$LOGSHIP" parse -e "$RE" -o tsv --fields user.name,http.response.status_code -w has:user.name w.log
expect_eq "--fields with tsv: the columns asked for" "$(printf 'user.name\thttp.response.status_code\nalice\t200\nbob\t404\ncarol\t500')" "$OUT"

# -c, -m
expect_exit "-c: exit 0" 0 "$LOGSHIP" parse -e "$RE" -c w.log
expect_eq "-c counts every event" 5 "$OUT"
run "$LOGSHIP" parse -e "$RE" -c -w http.request.method=GET w.log
expect_eq "-c with -w counts matching events" 3 "$OUT"
run "$LOGSHIP" parse -e "$RE" --count -w http.request.method=GET w.log
expect_eq "--count long form" 3 "$OUT"
expect_exit "-m 2: exit 0" 0 "$LOGSHIP" parse -e "$RE" -m 2 w.log
expect_eq "-m 2: two events" 2 "$(wc -l <out)"
expect_json_field "-m 2: the first two" "$(nth 2 out)" url.original '"/wp-login.php"'
expect_sel "-m 1 with -w: the first match" "/api/x" -m 1 -w 'http.response.status_code>=500'
run "$LOGSHIP" parse -e "$RE" -c -m 2 w.log
expect_eq "-c -m 2 counts 2" 2 "$OUT"
expect_sel "-m larger than the input" "/index.html /wp-login.php /api/x /api/y nothing" -m 100

# -v: only the lines no format parsed
expect_exit "-v: exit 0" 0 "$LOGSHIP" parse -e "$RE" -v w.log
expect_eq "-v: one event" 1 "$(wc -l <out)"
expect_json_field "-v: the unparsed line" "$OUT" message '"garbage line that matches nothing"'
expect_json_field "-v: tagged unparsed" "$OUT" tags '["unparsed"]'
run "$LOGSHIP" parse -e "$RE" --unparsed -c w.log
expect_eq "--unparsed -c" 1 "$OUT"

# --since (inclusive) / --until (exclusive); LOGSHIP_NOW is 2023-11-15T00:00:00Z
# and the unparsed line's time is its reading time, that is LOGSHIP_NOW.
expect_sel "--since RFC 3339" "/wp-login.php /api/x /api/y nothing" --since 2023-11-14T11:00:00Z
expect_sel "--until RFC 3339" "/index.html /wp-login.php" --until 2023-11-14T12:00:00Z
expect_sel "--since and --until" "/wp-login.php" --since 2023-11-14T11:00:00Z --until 2023-11-14T12:00:00Z
expect_sel "--since with an offset" "/api/x /api/y nothing" --since 2023-11-14T13:00:00+01:00
expect_sel "--since 1h (relative to LOGSHIP_NOW)" "/api/y nothing" --since 1h
expect_sel "--since 13h" "/wp-login.php /api/x /api/y nothing" --since 13h
expect_sel "--since and -w" "/api/y" --since 2023-11-14T11:00:00Z -w source.ip=10.0.0.1
expect_exit "--since after everything: exit 1" 1 "$LOGSHIP" parse -e "$RE" --since 2024-01-01T00:00:00Z w.log
expect_exit "--since garbage: exit 2" 2 "$LOGSHIP" parse -e "$RE" --since yesterdayish w.log
expect_contains "--since garbage: named" "$ERR" "yesterdayish"
expect_exit "--until garbage: exit 2" 2 "$LOGSHIP" parse -e "$RE" --until 2023-13-45 w.log

finish
