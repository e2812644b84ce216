#!/usr/bin/env bash
# t009-formats-auto: -f auto picks the right format for small files of
# nginx, syslog and JSON lines; retries other formats for the lines of a
# mixed file; unparsed lines are events tagged unparsed, timed LOGSHIP_NOW.
. "$SRC/tests/cli/lib.sh"

cat >access.log <<'LOG'
203.0.113.9 - alice [14/Nov/2023:22:13:20 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64)"
198.51.100.7 - - [14/Nov/2023:22:13:21 +0000] "POST /api/cart HTTP/1.1" 201 37 "https://shop.example.com/" "Mozilla/5.0 (X11; Linux x86_64)"
203.0.113.9 - - [14/Nov/2023:22:13:22 +0000] "GET /static/app.css HTTP/2.0" 304 0 "-" "Mozilla/5.0 (X11; Linux x86_64)"
LOG
cat >syslog.log <<'LOG'
Nov 14 22:13:20 web1 cron[4021]: (root) CMD (run-parts /etc/cron.hourly)
Nov 14 22:13:21 web1 systemd[1]: Started Daily apt download activities.
Nov 14 22:13:22 web1 kernel: [12345.678901] eth0: link up
LOG
cat >app.jsonl <<'LOG'
{"time":"2023-11-14T22:13:20.123Z","level":"error","msg":"db down","service":"api","attempt":3}
{"time":"2023-11-14T22:13:21Z","level":"info","msg":"recovered","service":"api"}
LOG

# datasets FILE: event.dataset of each event, space separated ("-" if none)
datasets() {
	while IFS= read -r l; do
		d=$(json_get "$l" event.dataset)
		printf '%s ' "${d:--}"
	done <"$1" | sed 's/ $//; s/"//g'
}

expect_exit "nginx file: exit 0" 0 "$LOGSHIP" parse access.log
cp out access.out
expect_eq "nginx file: dataset nginx.access" "nginx.access nginx.access nginx.access" "$(datasets access.out)"
l1=$(nth 1 access.out)
expect_json_field "nginx: @timestamp" "$l1" @timestamp '"2023-11-14T22:13:20.000Z"'
expect_json_field "nginx: source.ip" "$l1" source.ip '"203.0.113.9"'
expect_json_field "nginx: user.name" "$l1" user.name '"alice"'
expect_json_field "nginx: http.request.method" "$l1" http.request.method '"GET"'
expect_json_field "nginx: url.original" "$l1" url.original '"/index.html"'
expect_json_field "nginx: status code a number" "$l1" http.response.status_code 200
expect_json_field "nginx: body bytes a number" "$l1" http.response.body.bytes 512
expect_json_field "nginx: http.version" "$l1" http.version '"1.1"'
expect_json_field "nginx: user_agent.original" "$l1" user_agent.original '"Mozilla/5.0 (X11; Linux x86_64)"'
expect_json_field "nginx: message is the original line" "$l1" message "\"$(head -1 access.log | sed 's/"/\\"/g')\""
expect_json_field "nginx: event.category is a list (ECS)" "$l1" event.category '["web"]'
expect_json_field "nginx: event.type is a list (ECS)" "$l1" event.type '["access"]'
expect_json_field "nginx: zero bytes" "$(nth 3 access.out)" http.response.body.bytes 0
expect_not_contains "nginx file: nothing unparsed" "$(cat access.out)" unparsed
run "$LOGSHIP" parse -f nginx access.log
expect_eq "-f nginx gives the same as auto" "$(cat access.out)" "$OUT"

expect_exit "syslog file: exit 0" 0 "$LOGSHIP" parse syslog.log
cp out syslog.out
expect_eq "syslog file: dataset syslog" "syslog syslog syslog" "$(datasets syslog.out)"
l1=$(nth 1 syslog.out)
expect_json_field "syslog: @timestamp (year from LOGSHIP_NOW)" "$l1" @timestamp '"2023-11-14T22:13:20.000Z"'
expect_json_field "syslog: host.hostname" "$l1" host.hostname '"web1"'
expect_json_field "syslog: process.name" "$l1" process.name '"cron"'
expect_json_field "syslog: process.pid a number" "$l1" process.pid 4021
expect_json_field "syslog: a program without pid" "$(nth 3 syslog.out)" process.name '"kernel"'
expect_not_contains "syslog file: nothing unparsed" "$(cat syslog.out)" unparsed

expect_exit "JSON lines file: exit 0" 0 "$LOGSHIP" parse app.jsonl
cp out json.out
expect_eq "JSON lines file: dataset json" "json json" "$(datasets json.out)"
l1=$(nth 1 json.out)
expect_json_field "JSON lines: time -> @timestamp" "$l1" @timestamp '"2023-11-14T22:13:20.123Z"'
expect_json_field "JSON lines: level -> log.level" "$l1" log.level '"error"'
expect_json_field "JSON lines: msg -> message" "$l1" message '"db down"'
expect_json_field "JSON lines: other keys kept" "$l1" service '"api"'
expect_json_field "JSON lines: numbers stay numbers" "$l1" attempt 3
expect_not_contains "JSON lines file: nothing unparsed" "$(cat json.out)" unparsed

# a mixed file: syslog and JSON lines, and one line nothing parses
cat >mixed.log <<'LOG'
Nov 14 22:13:20 web1 cron[4021]: (root) CMD (run-parts /etc/cron.hourly)
{"time":"2023-11-14T22:13:21Z","level":"error","msg":"db down","service":"api"}
Nov 14 22:13:22 web1 systemd[1]: Started Daily apt download activities.
{"ts":"2023-11-14T22:13:23.5Z","severity":"info","message":"ok"}
just some text that no format knows
LOG
expect_exit "mixed file: exit 0" 0 "$LOGSHIP" parse mixed.log
cp out mixed.out
expect_eq "mixed file: every line an event" 5 "$(wc -l <mixed.out)"
expect_eq "mixed file: each line its own format" "syslog json syslog json -" "$(datasets mixed.out)"
expect_json_field "mixed file: JSON line's time" "$(nth 2 mixed.out)" @timestamp '"2023-11-14T22:13:21.000Z"'
expect_json_field "mixed file: ts -> @timestamp" "$(nth 4 mixed.out)" @timestamp '"2023-11-14T22:13:23.500Z"'
expect_json_field "mixed file: severity -> log.level" "$(nth 4 mixed.out)" log.level '"info"'
expect_json_field "mixed file: syslog line's program" "$(nth 3 mixed.out)" process.name '"systemd"'
l5=$(nth 5 mixed.out)
expect_json_field "unparsed line: tag unparsed" "$l5" tags '["unparsed"]'
expect_json_field "unparsed line: @timestamp is LOGSHIP_NOW" "$l5" @timestamp '"2023-11-15T00:00:00.000Z"'
expect_json_field "unparsed line: message is the line" "$l5" message '"just some text that no format knows"'
expect_eq "unparsed line: no dataset" "" "$(json_get "$l5" event.dataset)"
expect_exit "mixed file -f auto: exit 0" 0 "$LOGSHIP" parse -f auto mixed.log
expect_eq "-f auto is the default" "$(cat mixed.out)" "$OUT"
expect_exit "mixed file -f syslog: exit 0" 0 "$LOGSHIP" parse -f syslog -c -w tag:unparsed mixed.log
expect_eq "mixed file -f syslog: the JSON lines are unparsed (no retry)" 3 "$OUT"

# JSON lines long after the sample a format was picked from
{
	awk 'BEGIN { for (i = 0; i < 300; i++) printf "Nov 14 22:%02d:%02d web1 cron[%d]: job %d\n", i / 60, i % 60, 1000 + i, i }'
	printf '{"time":"2023-11-14T23:00:00Z","level":"warn","msg":"late json"}\n'
	printf '203.0.113.9 - - [14/Nov/2023:23:00:01 +0000] "GET /late HTTP/1.1" 200 1 "-" "curl/8.4.0"\n'
} >late.log
expect_exit "late other formats: exit 0" 0 "$LOGSHIP" parse --stats -c late.log
expect_eq "late other formats: all lines events" 302 "$OUT"
expect_contains "late other formats: nothing unparsed" "$ERR" "unparsed: 0"
expect_contains "late other formats: the JSON line parsed" "$ERR" "format json: 1"
expect_contains "late other formats: the nginx line parsed" "$ERR" "format nginx: 1"

# two files of different formats: each detected on its own
expect_exit "two files, two formats: exit 0" 0 "$LOGSHIP" parse access.log app.jsonl
expect_eq "two files, two formats: datasets" "nginx.access nginx.access nginx.access json json" "$(datasets out)"

# stdin is detected too
run sh -c "\"\$0\" parse <syslog.log" "$LOGSHIP"
expect_eq "stdin: detected" "syslog syslog syslog" "$(datasets out)"

# a file nothing parses
printf 'lorem ipsum\ndolor sit amet\n' >prose.txt
expect_exit "prose: exit 0 (unparsed lines are events)" 0 "$LOGSHIP" parse prose.txt
expect_eq "prose: two events" 2 "$(wc -l <out)"
expect_eq "prose: all unparsed" 2 "$(grep -c '"tags":\["unparsed"\]' out)"

finish
