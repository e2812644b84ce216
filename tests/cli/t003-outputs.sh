#!/usr/bin/env bash
# t003-outputs: -o json (valid, nested, numbers as numbers), logfmt, tsv
# (header, --fields, escaping) and pretty (colour rules, terminal default).
. "$SRC/tests/cli/lib.sh"

RE='^%{IP:source.ip} (?<log__level>\w+) %{WORD:http.request.method} %{INT:http.response.status_code:int} %{INT:http.response.body.bytes:int} (?<url__original>\S+) (?<note>.*)$'
line1='10.0.0.1 info GET 200 512 /index.html all "good" here'
line2=$(printf '10.0.0.2 error POST 500 0 /api/x tab\there\\back')
printf '%s\n%s\n' "$line1" "$line2" >web.log

# json: the default when stdout is not a terminal
expect_exit "json: exit 0" 0 "$LOGSHIP" parse -e "$RE" -o json web.log
cp out json.out
expect_json_valid "json: every line is valid JSON" json.out
expect_eq "json: one line per event" 2 "$(wc -l <json.out)"
run "$LOGSHIP" parse -e "$RE" web.log
expect_eq "json is the default output in a pipe" "$(cat json.out)" "$OUT"
j1=$(nth 1 json.out)
j2=$(nth 2 json.out)
expect_json_field "json: message is the original line (quotes escaped)" "$j1" message '"10.0.0.1 info GET 200 512 /index.html all \"good\" here"'
expect_json_field "json: tab and backslash escaped" "$j2" message '"10.0.0.2 error POST 500 0 /api/x tab\there\\back"'
expect_json_field "json: @timestamp RFC 3339 UTC with ms" "$j1" @timestamp '"2023-11-15T00:00:00.000Z"'
expect_json_field "json: nested source.ip" "$j1" source.ip '"10.0.0.1"'
expect_json_field "json: status code is a number" "$j1" http.response.status_code 200
expect_json_field "json: bytes is a number" "$j1" http.response.body.bytes 512
expect_json_field "json: zero bytes is the number 0" "$j2" http.response.body.bytes 0
expect_json_field "json: nested http.request.method" "$j2" http.request.method '"POST"'
expect_json_field "json: log.level" "$j2" log.level '"error"'
expect_json_field "json: log.file.path" "$j1" log.file.path '"web.log"'
expect_json_field "json: log.offset of line 1 is the number 0" "$j1" log.offset 0
expect_json_field "json: log.offset of line 2" "$j2" log.offset "$((${#line1} + 1))"
expect_json_field "json: event.kind" "$j1" event.kind '"event"'
expect_contains "json: objects nest (http holds request)" "$j1" '"http":{'
dotted=$(grep -o '"[A-Za-z_]*\.[A-Za-z_.]*":' json.out | head -3)
expect_eq "json: no dotted keys" "" "$dotted"
id1=$(json_get "$j1" event.id)
id2=$(json_get "$j2" event.id)
expect_match "json: event.id is 16+ hex digits" "$id1" '^"[0-9a-f]{16,}"$'
expect_eq "json: event.id differs between lines" yes "$([ "$id1" != "$id2" ] && echo yes || echo "no ($id1)")"
run "$LOGSHIP" parse -e "$RE" -o json web.log
expect_eq "json: the same input gives the same output (event.id deterministic)" "$(cat json.out)" "$OUT"
printf '%s\n%s\n' "$line1" "$line1" >twice.log
run "$LOGSHIP" parse -e "$RE" twice.log
ida=$(json_get "$(nth 1 out)" event.id)
idb=$(json_get "$(nth 2 out)" event.id)
expect_eq "json: equal lines at two offsets have distinct event.id" yes "$([ -n "$ida" ] && [ "$ida" != "$idb" ] && echo yes || echo "no ($ida $idb)")"

# logfmt
expect_exit "logfmt: exit 0" 0 "$LOGSHIP" parse -e "$RE" -o logfmt web.log
expect_eq "logfmt: one line per event" 2 "$(wc -l <out)"
l1=$(nth 1 out)
expect_contains "logfmt: @timestamp" "$l1" "@timestamp=2023-11-15T00:00:00.000Z"
expect_contains "logfmt: dotted keys" "$l1" "source.ip=10.0.0.1"
expect_contains "logfmt: numbers bare" "$l1" "http.response.status_code=200"
expect_contains "logfmt: values with spaces and quotes quoted" "$l1" 'note="all \"good\" here"'
expect_contains "logfmt: message quoted" "$l1" 'message="10.0.0.1 info GET 200 512 /index.html all \"good\" here"'
expect_exit "logfmt --fields: exit 0" 0 "$LOGSHIP" parse -e "$RE" -o logfmt --fields source.ip,http.response.status_code,note web.log
expect_eq "logfmt --fields: exactly those fields, in order" \
	"$(printf '%s\n' 'source.ip=10.0.0.1 http.response.status_code=200 note="all \"good\" here"' \
		'source.ip=10.0.0.2 http.response.status_code=500 note="tab\there\\back"')" "$OUT"

# tsv
expect_exit "tsv --fields: exit 0" 0 "$LOGSHIP" parse -e "$RE" -o tsv --fields source.ip,http.response.status_code,note web.log
expect_eq "tsv --fields: header line then one row per event, tabs escaped" \
	"$(printf 'source.ip\thttp.response.status_code\tnote\n10.0.0.1\t200\tall "good" here\n10.0.0.2\t500\ttab\\there\\\\back')" "$OUT"
expect_exit "tsv default columns: exit 0" 0 "$LOGSHIP" parse -e "$RE" -o tsv web.log
expect_eq "tsv default: header plus two rows" 3 "$(wc -l <out)"
cols=$(awk -F'\t' '{print NF}' out | sort -u | tr '\n' ' ')
expect_eq "tsv default: every row has the header's column count" "$(nth 1 out | awk -F'\t' '{print NF}') " "$cols"
expect_match "tsv default: the header names @timestamp" "$(nth 1 out)" '^@timestamp	'
expect_exit "tsv: a field an event lacks is an empty column" 0 "$LOGSHIP" parse -e "$RE" -o tsv --fields source.ip,no.such.field,log.level web.log
expect_eq "tsv: empty column kept" "$(printf 'source.ip\tno.such.field\tlog.level\n10.0.0.1\t\tinfo\n10.0.0.2\t\terror')" "$OUT"
cp web.log web2.log
run "$LOGSHIP" parse -e "$RE" -o tsv --fields source.ip web.log web2.log
expect_eq "tsv: one header for several files" "$(printf 'source.ip\n10.0.0.1\n10.0.0.2\n10.0.0.1\n10.0.0.2')" "$OUT"

# pretty
expect_exit "pretty --color=always: exit 0" 0 "$LOGSHIP" parse -e "$RE" -o pretty --color=always web.log
expect_contains "pretty --color=always has ANSI escapes" "$OUT" $'\033['
expect_exit "pretty --color=never: exit 0" 0 "$LOGSHIP" parse -e "$RE" -o pretty --color=never web.log
expect_not_contains "pretty --color=never: no escapes" "$OUT" $'\033'
expect_eq "pretty: one line per event" 2 "$(wc -l <out)"
expect_contains "pretty: shows the time" "$(nth 1 out)" "2023-11-15T00:00:00"
expect_contains "pretty: shows the message" "$(nth 1 out)" "/index.html all"
# aligned: the message starts in the same column whatever the level's width
c1=$(nth 1 out | awk '{print index($0, "10.0.0.1 info")}')
c2=$(nth 2 out | awk '{print index($0, "10.0.0.2 error")}')
expect_eq "pretty: columns aligned" "$c1" "$c2"
# pretty --fields: the chosen columns, aligned as the default ones, "-" for
# a field the event lacks, the message last, no blanks at the ends of lines
expect_exit "pretty --fields: exit 0" 0 "$LOGSHIP" parse -e "$RE" -o pretty --color=never --fields @timestamp,log.level,message web.log
expect_eq "pretty --fields @timestamp,log.level,message" \
	"$(printf '2023-11-15T00:00:00.000Z info      %s\n2023-11-15T00:00:00.000Z error     %s' "$line1" "$(printf '%s' "$line2" | sed 's/\t/\\t/; s/\\back/\\\\back/')")" "$OUT"
expect_exit "pretty --fields, message first: exit 0" 0 "$LOGSHIP" parse -e "$RE" -o pretty --color=never --fields message,source.ip,http.response.status_code,no.such.field web.log
expect_eq "pretty --fields: the message goes last, a missing field is -" \
	"10.0.0.1         200              -                ${line1}" "$(nth 1 out)"
expect_exit "pretty --fields without the message: exit 0" 0 "$LOGSHIP" parse -e "$RE" -o pretty --color=never --fields source.ip,log.level web.log
expect_eq "pretty --fields without the message: the last column is not padded" \
	"$(printf '10.0.0.1         info\n10.0.0.2         error')" "$OUT"
printf '10.0.0.3 info GET 200 1 /a/very/long/path/x ab\001cdefghijklmn\n' >long.log
expect_exit "pretty --fields, values longer than their columns: exit 0" 0 "$LOGSHIP" parse -e "$RE" -o pretty --color=never --fields url.original,note,source.ip long.log
expect_eq "pretty --fields: long values cut (escapes count), the next column in place" \
	"/a/very/long/... ab\\x01cdefghi... 10.0.0.3" "$OUT"
run "$LOGSHIP" parse -e "$RE" -o pretty --color=always --fields @timestamp,log.level,message web.log
expect_contains "pretty --fields --color=always: the time dimmed" "$(nth 1 out)" $'\033[2m2023-11-15T00:00:00.000Z\033[0m'
expect_contains "pretty --fields --color=always: an error line coloured" "$(nth 2 out)" $'\033[31merror'

# levels and datasets longer than their columns: cut, ending in "...", so
# every column still starts in the same place
printf '{"level":"emergency","msg":"m1"}\n{"level":"i","msg":"m2"}\n{"level":"critical","msg":"m3"}\n{"level":"informational","msg":"m4"}\n' >levels.jsonl
expect_exit "pretty, long levels: exit 0" 0 "$LOGSHIP" parse -o pretty --color=never levels.jsonl
expect_eq "pretty: emergency fits its column" "2023-11-15T00:00:00.000Z emergency json             m1" "$(nth 1 out)"
expect_eq "pretty: a short level is padded" "2023-11-15T00:00:00.000Z i         json             m2" "$(nth 2 out)"
expect_eq "pretty: a longer level is cut, ending in ..." \
	"2023-11-15T00:00:00.000Z inform... json             m4" "$(nth 4 out)"
ML='^(?<event__dataset>\S+) (?<log__level>\S+) (?<message>.*)$'
printf 'a.dataset.longer.than.its.column emergency first\nweb i second\nweb w\303\251r\303\261ing third\nweb a\033b fourth\n' >ds.log
expect_exit "pretty, a long dataset: exit 0" 0 "$LOGSHIP" parse -e "$ML" -o pretty --color=never ds.log
# columns counted as characters: the accents are one each
starts=$(sed 's/\xc3[\xa9\xb1]/e/g' out |
	awk '{ for (w = 1; w <= 4; w++) if ((i = index($0, " " (w == 1 ? "first" : w == 2 ? "second" : w == 3 ? "third" : "fourth"))) > 0) print i }' | sort -u)
expect_eq "pretty: the message starts in one column whatever the dataset and level" 1 "$(printf '%s\n' "$starts" | wc -l)"
expect_contains "pretty: a long dataset is cut, ending in ..." "$(nth 1 out)" "a.dataset.lon... "
expect_contains "pretty: an escaped level fits its column" "$(nth 4 out)" 'a\x1bb    web              fourth'

# coloured by level and by severity: the escapes differ from a plain line's
codes() { printf '%s\n' "$1" | grep -o $'\033\\[[0-9;]*m' | sort -u | tr '\n' ' '; }
run "$LOGSHIP" parse -e "$RE" -o pretty --color=always web.log
expect_eq "pretty: an error line is coloured unlike an info line" yes \
	"$([ "$(codes "$(nth 1 out)")" != "$(codes "$(nth 2 out)")" ] && echo yes || echo "no: both $(codes "$(nth 1 out)" | cat -v)")"
mkdir rules
printf 'rule test.post\n  name: a POST\n  literal: POST\n  match: POST\n  level: high\n  tags: security\n' >rules/t.pattern
printf '10.0.0.1 info GET 200 1 /a x\n10.0.0.1 info POST 200 1 /b x\n' >sev.log
run "$LOGSHIP" parse --patterns rules -e "$RE" -o pretty --color=always sev.log
expect_eq "pretty: a high-severity line is coloured unlike a plain one" yes \
	"$([ "$(codes "$(nth 1 out)")" != "$(codes "$(nth 2 out)")" ] && echo yes || echo "no: both $(codes "$(nth 1 out)" | cat -v)")"
run "$LOGSHIP" parse --patterns rules -e "$RE" -o pretty --color=never sev.log
expect_contains "pretty: a rule hit shows its id" "$(nth 2 out)" "test.post"

run env NO_COLOR=1 "$LOGSHIP" parse -e "$RE" -o pretty --color=auto web.log
expect_not_contains "pretty, NO_COLOR=1 --color=auto in a pipe: no escapes" "$OUT" $'\033'
run "$LOGSHIP" parse -e "$RE" -o pretty --color=auto web.log
expect_not_contains "pretty --color=auto in a pipe: no escapes" "$OUT" $'\033'
run env NO_COLOR=1 "$LOGSHIP" parse -e "$RE" -o pretty --color=always web.log
expect_contains "pretty --color=always wins over NO_COLOR" "$OUT" $'\033['

# on a terminal (script gives a pty): pretty and coloured by default
printf '%s\n' "$RE" >re.txt
run script -qec "$LOGSHIP parse -e \"\$(cat re.txt)\" web.log" /dev/null
tty_out=$(printf '%s' "$OUT" | tr -d '\r')
expect_eq "terminal: two lines" 2 "$(printf '%s\n' "$tty_out" | wc -l)"
expect_not_contains "terminal: default output is not JSON" "$tty_out" '{"@timestamp"'
expect_contains "terminal: default output shows the message" "$tty_out" "/api/x tab"
expect_contains "terminal: coloured by default" "$tty_out" $'\033['
run script -qec "NO_COLOR=1 $LOGSHIP parse -e \"\$(cat re.txt)\" web.log" /dev/null
expect_not_contains "terminal with NO_COLOR=1: no escapes" "$OUT" $'\033'
expect_contains "terminal with NO_COLOR=1: still pretty" "$OUT" "/api/x tab"
run script -qec "$LOGSHIP parse --color=never -e \"\$(cat re.txt)\" web.log" /dev/null
expect_not_contains "terminal with --color=never: no escapes" "$OUT" $'\033'
run script -qec "$LOGSHIP parse -o json -e \"\$(cat re.txt)\" web.log" /dev/null
expect_eq "terminal with -o json: JSON" "$(cat json.out)" "$(printf '%s' "$OUT" | tr -d '\r')"

finish
