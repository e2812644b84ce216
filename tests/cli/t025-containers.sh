#!/usr/bin/env bash
# t025-containers: lines a container runtime split into parts (CRI "P"
# records, Docker json-file records without their final newline) come out
# as one event: first part's time and offset, last part's tag, the joined
# line parsed again; streams kept apart; the cap; a part pending at the end
# of input or at a pause of tail; ship's checkpoint; whole records as before;
# stack traces written one record per line joined to the record they follow.
. "$SRC/tests/cli/lib.sh"

# F: the fields the tsv checks print
F=@timestamp,log.offset,log.stream,cri.tag,event.dataset,message
tsv() { sed 1d "$T/out"; }
TAB=$(printf '\t')

# ---- CRI ------------------------------------------------------------------

printf '2023-11-14T22:13:20.1Z stdout P partial \n2023-11-14T22:13:20.2Z stdout F end\n' >pf.log
expect_exit "cri P+F: exit 0" 0 "$LOGSHIP" parse pf.log
expect_eq "cri P+F: one event" 1 "$(wc -l <out)"
expect_json_field "cri P+F: the parts joined" "$OUT" message '"partial end"'
expect_json_field "cri P+F: the first part's time" "$OUT" @timestamp '"2023-11-14T22:13:20.100Z"'
expect_json_field "cri P+F: the first part's offset" "$OUT" log.offset 0
expect_json_field "cri P+F: the last part's tag" "$OUT" cri.tag '"F"'
expect_json_field "cri P+F: the stream" "$OUT" log.stream '"stdout"'
expect_exit "cri P+F, -f cri -c: exit 0" 0 "$LOGSHIP" parse -f cri -c pf.log
expect_eq "cri P+F, -c: one event" 1 "$OUT"
expect_exit "cri P+F, --stats: exit 0" 0 "$LOGSHIP" parse --stats pf.log
expect_match "cri P+F, --stats: two lines read" "$ERR" '^lines: 2$'
expect_match "cri P+F, --stats: one event" "$ERR" '^events: 1$'

# a split nginx line gets nginx's fields once joined; the id is the joined
# line's, deterministic
cat >nginx.log <<'LOG'
2023-11-14T22:13:20.5Z stdout P 203.0.113.9 - - [14/Nov/2023:22:13:19 +0000] "GET /ind
2023-11-14T22:13:20.6Z stdout P ex.html HTTP/1.1" 200 612 
2023-11-14T22:13:20.7Z stdout F "-" "curl/8.4.0"
LOG
expect_exit "cri nginx in 3 parts: exit 0" 0 "$LOGSHIP" parse nginx.log
expect_eq "cri nginx in 3 parts: one event" 1 "$(wc -l <out)"
expect_json_field "cri nginx in 3 parts: dataset" "$OUT" event.dataset '"nginx.access"'
expect_json_field "cri nginx in 3 parts: url" "$OUT" url.original '"/index.html"'
expect_json_field "cri nginx in 3 parts: user agent from the last part" "$OUT" user_agent.original '"curl/8.4.0"'
expect_json_field "cri nginx in 3 parts: the container's time, of the first part" "$OUT" @timestamp '"2023-11-14T22:13:20.500Z"'
first_id=$(json_get "$OUT" event.id)
run "$LOGSHIP" parse nginx.log
expect_eq "cri nginx in 3 parts: same id again" "$first_id" "$(json_get "$OUT" event.id)"

# a whole line of the other stream in between: each line on its own
cat >streams.log <<'LOG'
2023-11-14T22:13:20Z stdout P out-1 
2023-11-14T22:13:21Z stderr F err whole
2023-11-14T22:13:22Z stdout P out-2 
2023-11-14T22:13:23Z stderr P err-a 
2023-11-14T22:13:24Z stdout F out-3
2023-11-14T22:13:25Z stderr F err-b
LOG
expect_exit "cri streams in between: exit 0" 0 "$LOGSHIP" parse -o tsv --fields "$F" streams.log
expect_eq "cri streams in between: each stream's line joined, in the order they end" \
	"$(printf '%s\n' \
		"2023-11-14T22:13:21.000Z${TAB}37${TAB}stderr${TAB}F${TAB}cri${TAB}err whole" \
		"2023-11-14T22:13:20.000Z${TAB}0${TAB}stdout${TAB}F${TAB}cri${TAB}out-1 out-2 out-3" \
		"2023-11-14T22:13:23.000Z${TAB}114${TAB}stderr${TAB}F${TAB}cri${TAB}err-a err-b")" "$(tsv)"

# --multiline-max-bytes (and --max-line, the smaller wins) cut a joined
# line: tagged truncated, the rest of its parts dropped, the next line whole
cat >long.log <<'LOG'
2023-11-14T22:13:20Z stdout P 0123456
2023-11-14T22:13:20Z stdout P 789abc
2023-11-14T22:13:20Z stdout F def
2023-11-14T22:13:21Z stdout F next
LOG
expect_exit "cap: exit 0" 0 "$LOGSHIP" parse --multiline-max-bytes 10 long.log
expect_json_field "cap: cut at --multiline-max-bytes" "$(nth 1 out)" message '"0123456789"'
expect_json_field "cap: tagged truncated" "$(nth 1 out)" 'tags[0]' '"truncated"'
expect_json_field "cap: the next line whole" "$(nth 2 out)" message '"next"'
expect_json_field "cap: the next line not truncated" "$(nth 2 out)" tags ''
a20=aaaaaaaaaaaaaaaaaaaa
printf '2023-11-14T22:13:20Z stdout P %s\n' $a20 $a20 $a20 >long2.log
printf '2023-11-14T22:13:20Z stdout F %s\n' bbbbbbbbbbbbbbbbbbbb >>long2.log
expect_exit "cap, --max-line smaller: exit 0" 0 "$LOGSHIP" parse --max-line 60 --multiline-max-bytes 1k long2.log
expect_json_field "cap, --max-line smaller: cut there" "$OUT" message "\"$a20$a20$a20\""
expect_json_field "cap, --max-line smaller: tagged truncated" "$OUT" 'tags[0]' '"truncated"'
expect_exit "cap, default: exit 0" 0 "$LOGSHIP" parse long.log
expect_json_field "cap, default: whole" "$(nth 1 out)" message '"0123456789abcdef"'
expect_json_field "cap, default: not truncated" "$(nth 1 out)" tags ''
# a 3 MiB line in 16 KiB parts: 1 MiB kept, memory bounded
part=$(head -c 16384 /dev/zero | tr '\0' x)
for i in $(seq 191); do printf '2023-11-14T22:13:20Z stdout P %s\n' "$part"; done >huge.log
printf '2023-11-14T22:13:20Z stdout F %s\n2023-11-14T22:13:21Z stdout F after\n' "$part" >>huge.log
expect_exit "3 MiB line: exit 0" 0 "$LOGSHIP" parse -o tsv --fields message,tags huge.log
expect_eq "3 MiB line: two events" 2 "$(tsv | wc -l)"
expect_eq "3 MiB line: cut at 1 MiB, tagged" $((1048576 + 11)) "$(tsv | head -1 | wc -c)"
expect_eq "3 MiB line: tagged truncated" "x${TAB}truncated" "$(tsv | head -1 | tail -c 12)"
expect_eq "3 MiB line: the line after it" "after${TAB}" "$(tsv | tail -1)"

# the end of input with a line still waiting for its last part: out as it is
printf '2023-11-14T22:13:20Z stdout F one\n2023-11-14T22:13:21Z stdout P two \n2023-11-14T22:13:22Z stdout P three' >end.log
expect_exit "end of input: exit 0" 0 "$LOGSHIP" parse -o tsv --fields "$F" end.log
expect_eq "end of input: the pending line goes out as it is" \
	"$(printf '%s\n' \
		"2023-11-14T22:13:20.000Z${TAB}0${TAB}stdout${TAB}F${TAB}cri${TAB}one" \
		"2023-11-14T22:13:21.000Z${TAB}34${TAB}stdout${TAB}P${TAB}cri${TAB}two three")" "$(tsv)"

# a UTF-8 character the runtime cut in two is whole again
printf '2023-11-14T22:13:20Z stdout P caf\303\n2023-11-14T22:13:20Z stdout F \251!\n' >utf8.log
expect_exit "UTF-8 cut by the runtime: exit 0" 0 "$LOGSHIP" parse utf8.log
expect_json_field "UTF-8 cut by the runtime: whole again" "$OUT" message "\"$(printf 'caf\303\251!')\""
expect_json_field "UTF-8 cut by the runtime: not invalid" "$OUT" tags ''

# ---- Docker json-file -------------------------------------------------------

cat >docker.log <<'LOG'
{"log":"{\"level\":\"warn\",\"msg\":\"long ","stream":"stdout","time":"2023-11-14T22:13:20.1Z"}
{"log":"err whole\n","stream":"stderr","time":"2023-11-14T22:13:20.15Z"}
{"log":"line\"}\n","stream":"stdout","time":"2023-11-14T22:13:20.2Z"}
{"log":"tail without its end","stream":"stderr","time":"2023-11-14T22:13:20.4Z"}
LOG
expect_exit "docker parts: exit 0" 0 "$LOGSHIP" parse docker.log
expect_json_valid "docker parts: valid" out
expect_eq "docker parts: three events" 3 "$(wc -l <out)"
expect_json_field "docker parts: the other stream's whole line first" "$(nth 1 out)" message '"err whole"'
expect_json_field "docker parts: joined, parsed again as JSON" "$(nth 2 out)" message '"long line"'
expect_json_field "docker parts: the JSON line's level" "$(nth 2 out)" log.level '"warn"'
expect_json_field "docker parts: the first part's time" "$(nth 2 out)" @timestamp '"2023-11-14T22:13:20.100Z"'
expect_json_field "docker parts: the first part's offset" "$(nth 2 out)" log.offset 0
expect_json_field "docker parts: the pending part at the end" "$(nth 3 out)" message '"tail without its end"'
expect_json_field "docker parts: its stream" "$(nth 3 out)" log.stream '"stderr"'
expect_exit "docker parts, -f docker -c: exit 0" 0 "$LOGSHIP" parse -f docker -c docker.log
expect_eq "docker parts, -c" 3 "$OUT"

# ---- whole records: exactly as before ---------------------------------------

cat >plain-cri.log <<'LOG'
2023-11-14T22:13:18.000000001Z stderr F I1114 22:13:18.000000       1 server.go:155] "Starting Kubernetes Scheduler" version="v1.28.3"
2023-11-14T22:13:20.200000000Z stdout F {"level":"info","ts":1700000000.2,"logger":"controller","msg":"Reconciling","name":"web-0"}
2023-11-14T22:13:21.000000000Z stdout F 192.0.2.50 - - [14/Nov/2023:22:13:21 +0000] "GET / HTTP/1.1" 200 615 "-" "kube-probe/1.28"
2023-11-14T22:13:22.000000000Z stdout F plain text output from a container
2023-11-14T22:13:23.000000000Z stdout F
LOG
cat >plain-docker.log <<'LOG'
{"log":"Starting nginx 1.25.3\n","stream":"stdout","time":"2023-11-14T22:13:18.001000000Z"}
{"log":"203.0.113.9 - - [14/Nov/2023:22:13:19 +0000] \"GET /healthz HTTP/1.1\" 200 2 \"-\" \"kube-probe/1.28\"\n","stream":"stdout","time":"2023-11-14T22:13:19.100000000Z"}
{"log":"{\"level\":\"error\",\"ts\":1700000000.5,\"msg\":\"query failed\"}\n","stream":"stderr","time":"2023-11-14T22:13:20.500000000Z"}
{"log":"\n","stream":"stdout","time":"2023-11-14T22:13:21.600000000Z"}
{"log":"time=\"2023-11-14T22:13:21Z\" level=warning msg=\"cache miss\" ratio=0.42\n","stream":"stdout","time":"2023-11-14T22:13:21.000000000Z"}
LOG
# what logship printed before parts were joined
expect_exit "whole records: exit 0" 0 "$LOGSHIP" parse -o tsv --fields "$F" plain-cri.log plain-docker.log
expect_eq "whole records: the events as before" \
	"$(printf '%s\n' \
		"2023-11-14T22:13:18.000Z${TAB}0${TAB}stderr${TAB}F${TAB}klog${TAB}\"Starting Kubernetes Scheduler\" version=\"v1.28.3\"" \
		"2023-11-14T22:13:20.200Z${TAB}135${TAB}stdout${TAB}F${TAB}json${TAB}Reconciling" \
		"2023-11-14T22:13:21.000Z${TAB}267${TAB}stdout${TAB}F${TAB}nginx.access${TAB}192.0.2.50 - - [14/Nov/2023:22:13:21 +0000] \"GET / HTTP/1.1\" 200 615 \"-\" \"kube-probe/1.28\"" \
		"2023-11-14T22:13:22.000Z${TAB}398${TAB}stdout${TAB}F${TAB}cri${TAB}plain text output from a container" \
		"2023-11-14T22:13:23.000Z${TAB}473${TAB}stdout${TAB}F${TAB}cri${TAB}2023-11-14T22:13:23.000000000Z stdout F" \
		"2023-11-14T22:13:18.001Z${TAB}0${TAB}stdout${TAB}${TAB}docker${TAB}Starting nginx 1.25.3" \
		"2023-11-14T22:13:19.100Z${TAB}92${TAB}stdout${TAB}${TAB}nginx.access${TAB}203.0.113.9 - - [14/Nov/2023:22:13:19 +0000] \"GET /healthz HTTP/1.1\" 200 2 \"-\" \"kube-probe/1.28\"" \
		"2023-11-14T22:13:20.500Z${TAB}265${TAB}stderr${TAB}${TAB}json${TAB}query failed" \
		"2023-11-14T22:13:21.600Z${TAB}402${TAB}stdout${TAB}${TAB}docker${TAB}" \
		"2023-11-14T22:13:21.000Z${TAB}473${TAB}stdout${TAB}${TAB}logfmt${TAB}cache miss")" "$(tsv)"
# parts after whole records leave those records' events (ids included) alone
for f in plain-cri.log plain-docker.log; do
	run "$LOGSHIP" parse "$f"
	cp out "$f.alone"
done
cat plain-cri.log pf.log >with-parts-cri.log
cp plain-docker.log with-parts-docker.log
head -1 docker.log >>with-parts-docker.log
sed -n 3p docker.log >>with-parts-docker.log
for kind in cri docker; do
	expect_exit "whole records then parts ($kind): exit 0" 0 "$LOGSHIP" parse "with-parts-$kind.log"
	expect_eq "whole records then parts ($kind): the records' events unchanged" \
		"$(sed "s/plain-$kind.log/with-parts-$kind.log/" "plain-$kind.log.alone" | sed 's/"id":"[0-9a-f]*"/"id":ID/')" \
		"$(head -n "$(wc -l <"plain-$kind.log")" out | sed 's/"id":"[0-9a-f]*"/"id":ID/')"
	expect_eq "whole records then parts ($kind): one more event" \
		$(($(wc -l <"plain-$kind.log") + 1)) "$(wc -l <out)"
done

# ---- stack traces written through the runtime ------------------------------
#
# Each line of a trace is a record of its own; the lines join the event of the
# record they follow on their stream, by the multiline rule of the format
# that record's line parsed as (log4j: java, python: python, golog and json:
# go); the first record's time and offset; the next record a new event.

ML=@timestamp,log.offset,log.stream,event.dataset,message
# tsvjoin TEXT...: the texts joined as tsv writes a multi-line message
tsvjoin() { printf '%s\n' "$@" | awk '{ printf "%s%s", (NR > 1 ? "\\n" : ""), $0 }' | sed 's/\t/\\t/g'; }

cat >java.cri <<'LOG'
2023-11-14T22:13:20.100Z stdout F 2023-11-14 22:13:20,123 ERROR [main] com.example.App - Failed
2023-11-14T22:13:20.101Z stdout F java.lang.IllegalStateException: boom
2023-11-14T22:13:20.102Z stdout F 	at com.example.App.main(App.java:12)
2023-11-14T22:13:20.103Z stdout F 	... 3 more
2023-11-14T22:13:20.104Z stdout F Caused by: java.io.IOException: reset
2023-11-14T22:13:21.000Z stdout F 2023-11-14 22:13:21,000 INFO [main] com.example.App - next
LOG
TRACE=$(tsvjoin 'Failed' 'java.lang.IllegalStateException: boom' '	at com.example.App.main(App.java:12)' \
	'	... 3 more' 'Caused by: java.io.IOException: reset')
expect_exit "cri java trace: exit 0" 0 "$LOGSHIP" parse -o tsv --fields "$ML" java.cri
expect_eq "cri java trace: the trace joins its line; the next line a new event" \
	"$(printf '%s\n' "2023-11-14T22:13:20.100Z${TAB}0${TAB}stdout${TAB}log4j${TAB}$TRACE" \
		"2023-11-14T22:13:21.000Z${TAB}358${TAB}stdout${TAB}log4j${TAB}next")" "$(tsv)"
expect_exit "cri java trace, json: exit 0" 0 "$LOGSHIP" parse java.cri
expect_json_valid "cri java trace, json: valid" out
expect_json_field "cri java trace, json: the message" "$(nth 1 out)" message \
	'"Failed\njava.lang.IllegalStateException: boom\n\tat com.example.App.main(App.java:12)\n\t... 3 more\nCaused by: java.io.IOException: reset"'
expect_json_field "cri java trace, json: the first record's offset" "$(nth 1 out)" log.offset 0
expect_json_field "cri java trace, json: the line's level" "$(nth 1 out)" log.level '"ERROR"'
expect_not_contains "cri java trace, json: parsed" "$(json_get "$(nth 1 out)" tags)" unparsed
first_id=$(json_get "$(nth 1 out)" event.id)
run "$LOGSHIP" parse java.cri
expect_eq "cri java trace: same id again" "$first_id" "$(json_get "$(nth 1 out)" event.id)"
expect_exit "cri java trace, -f cri -c: exit 0" 0 "$LOGSHIP" parse -f cri -c java.cri
expect_eq "cri java trace, -c: two events" 2 "$OUT"
expect_exit "cri java trace, --stats: exit 0" 0 "$LOGSHIP" parse --stats java.cri
expect_match "cri java trace, --stats: six lines read" "$ERR" '^lines: 6$'
expect_match "cri java trace, --stats: two events" "$ERR" '^events: 2$'

# the same through docker's json-file driver ("log" ends in "\n")
cat >java.docker <<'LOG'
{"log":"2023-11-14 22:13:20,123 ERROR [main] com.example.App - Failed\n","stream":"stdout","time":"2023-11-14T22:13:20.100Z"}
{"log":"java.lang.IllegalStateException: boom\n","stream":"stdout","time":"2023-11-14T22:13:20.101Z"}
{"log":"\tat com.example.App.main(App.java:12)\n","stream":"stdout","time":"2023-11-14T22:13:20.102Z"}
{"log":"\t... 3 more\n","stream":"stdout","time":"2023-11-14T22:13:20.103Z"}
{"log":"Caused by: java.io.IOException: reset\n","stream":"stdout","time":"2023-11-14T22:13:20.104Z"}
{"log":"2023-11-14 22:13:21,000 INFO [main] com.example.App - next\n","stream":"stdout","time":"2023-11-14T22:13:21.000Z"}
LOG
expect_exit "docker java trace: exit 0" 0 "$LOGSHIP" parse -o tsv --fields "$ML" java.docker
expect_eq "docker java trace: the trace joins its line; the next line a new event" \
	"$(printf '%s\n' "2023-11-14T22:13:20.100Z${TAB}0${TAB}stdout${TAB}log4j${TAB}$TRACE" \
		"2023-11-14T22:13:21.000Z${TAB}510${TAB}stdout${TAB}log4j${TAB}next")" "$(tsv)"

# a Python traceback (stderr), a Go panic with its blank line (docker)
cat >py.cri <<'LOG'
2023-11-14T22:13:20Z stderr F 2023-11-14 22:13:20,123 - app.billing - ERROR - charge failed
2023-11-14T22:13:20Z stderr F Traceback (most recent call last):
2023-11-14T22:13:20Z stderr F   File "/app/billing.py", line 42, in charge
2023-11-14T22:13:20Z stderr F     raise ValueError("card")
2023-11-14T22:13:20Z stderr F ValueError: card
2023-11-14T22:13:21Z stderr F 2023-11-14 22:13:21,000 - app.billing - INFO - retrying
LOG
expect_exit "cri python traceback: exit 0" 0 "$LOGSHIP" parse -o tsv --fields event.dataset,message py.cri
expect_eq "cri python traceback: joins its line" \
	"$(printf '%s\n' event.dataset\	message "python${TAB}$(tsvjoin 'charge failed' 'Traceback (most recent call last):' \
		'  File "/app/billing.py", line 42, in charge' '    raise ValueError("card")' 'ValueError: card')" \
		"python${TAB}retrying")" "$OUT"
cat >go.docker <<'LOG'
{"log":"2023/11/14 22:13:20 worker.go:42: job failed\n","stream":"stderr","time":"2023-11-14T22:13:20Z"}
{"log":"panic: runtime error: index out of range [3] with length 3\n","stream":"stderr","time":"2023-11-14T22:13:20Z"}
{"log":"\n","stream":"stderr","time":"2023-11-14T22:13:20Z"}
{"log":"goroutine 1 [running]:\n","stream":"stderr","time":"2023-11-14T22:13:20Z"}
{"log":"main.main()\n","stream":"stderr","time":"2023-11-14T22:13:20Z"}
{"log":"\t/app/main.go:12 +0x1c\n","stream":"stderr","time":"2023-11-14T22:13:20Z"}
{"log":"exit status 2\n","stream":"stderr","time":"2023-11-14T22:13:20Z"}
{"log":"2023/11/14 22:13:21 restarted\n","stream":"stderr","time":"2023-11-14T22:13:21Z"}
LOG
expect_exit "docker go panic: exit 0" 0 "$LOGSHIP" parse -o tsv --fields event.dataset,message go.docker
expect_eq "docker go panic: joins its line, blank line included" \
	"$(printf '%s\n' event.dataset\	message "golog${TAB}$(tsvjoin 'job failed' \
		'panic: runtime error: index out of range [3] with length 3' '' 'goroutine 1 [running]:' \
		'main.main()' '	/app/main.go:12 +0x1c' 'exit status 2')" "golog${TAB}restarted")" "$OUT"

# stdout and stderr written in between each other: each trace joins the line
# of its own stream; events in the order of their first lines
cat >inter.cri <<'LOG'
2023-11-14T22:13:20Z stderr F 2023-11-14 22:13:20,123 - app - ERROR - boom
2023-11-14T22:13:20Z stdout F 2023-11-14 22:13:20,123 ERROR [main] com.example.App - Failed
2023-11-14T22:13:20Z stderr F Traceback (most recent call last):
2023-11-14T22:13:20Z stdout F java.lang.IllegalStateException: boom
2023-11-14T22:13:20Z stdout F {"level":"info","msg":"a"}
2023-11-14T22:13:20Z stderr F   File "/app/x.py", line 3, in <module>
2023-11-14T22:13:20Z stdout F {"level":"info","msg":"b"}
2023-11-14T22:13:20Z stderr F ValueError: x
2023-11-14T22:13:21Z stdout F 2023-11-14 22:13:21,000 INFO [main] com.example.App - next
LOG
expect_exit "interleaved streams: exit 0" 0 "$LOGSHIP" parse -o tsv --fields log.offset,log.stream,message inter.cri
expect_eq "interleaved streams: each trace with its own stream's line, in order" \
	"$(printf '%s\n' "0${TAB}stderr${TAB}$(tsvjoin boom 'Traceback (most recent call last):' \
		'  File "/app/x.py", line 3, in <module>' 'ValueError: x')" \
		"75${TAB}stdout${TAB}$(tsvjoin Failed 'java.lang.IllegalStateException: boom')" \
		"300${TAB}stdout${TAB}a" "427${TAB}stdout${TAB}b" "528${TAB}stdout${TAB}next")" "$(tsv)"

# the caps: a line past one starts a new event (which the next lines join),
# nothing is dropped
expect_exit "trace, --multiline-max-lines 2: exit 0" 0 "$LOGSHIP" parse --multiline-max-lines 2 -o tsv --fields log.offset,message java.cri
expect_eq "trace, --multiline-max-lines 2: 2+2+1 lines, then the next record" \
	"$(printf '%s\n' "0${TAB}$(tsvjoin Failed 'java.lang.IllegalStateException: boom')" \
		"168${TAB}$(tsvjoin '	at com.example.App.main(App.java:12)' '	... 3 more')" \
		"286${TAB}Caused by: java.io.IOException: reset" "358${TAB}next")" "$(tsv)"
# the first record (96 bytes as read) and its first line (1 + 37) fit in
# 140, the next line (1 + 37) not: it starts an event (72 bytes as read)
# which the other two lines join
expect_exit "trace, --multiline-max-bytes 140: exit 0" 0 "$LOGSHIP" parse --multiline-max-bytes 140 -o tsv --fields log.offset,message java.cri
expect_eq "trace, --multiline-max-bytes 140: cut between lines, nothing lost" \
	"$(printf '%s\n' "0${TAB}$(tsvjoin Failed 'java.lang.IllegalStateException: boom')" \
		"168${TAB}$(tsvjoin '	at com.example.App.main(App.java:12)' '	... 3 more' 'Caused by: java.io.IOException: reset')" \
		"358${TAB}next")" "$(tsv)"

# --multiline-start: on the container's line, not on the record
expect_exit "trace, --multiline-start: exit 0" 0 "$LOGSHIP" parse --multiline-start '^\d{4}-\d\d-\d\d ' -o tsv --fields log.offset,message java.cri
expect_eq "trace, --multiline-start: lines not matching it join" \
	"$(printf '%s\n' "0${TAB}$TRACE" "358${TAB}next")" "$(tsv)"

# ---- tail and ship: nothing held past a pause ---------------------------------

# tail: a line waiting for its last part is printed when the file has no
# more data for now; the last part, written later, is an event of its own
printf '2023-11-14T22:13:20Z stdout F one\n2023-11-14T22:13:21Z stdout P two \n' >follow.log
"$LOGSHIP" tail --from-start -o tsv --fields message,cri.tag follow.log >tail.out 2>tail.err &
TPID=$!
PIDS="$PIDS $TPID"
has_lines() { [ "$(wc -l <"$2" 2>/dev/null || echo 0)" -ge "$1" ]; }
if wait_for has_lines 3 tail.out; then pass; else fail "tail: the pending part printed" "3 lines" "$(cat tail.out)"; fi
printf '2023-11-14T22:13:22Z stdout F three\n' >>follow.log
if wait_for has_lines 4 tail.out; then pass; else fail "tail: the last part printed" "4 lines" "$(cat tail.out)"; fi
kill -TERM "$TPID" 2>/dev/null
wait "$TPID" 2>/dev/null
expect_eq "tail: what was printed" "$(printf 'message\tcri.tag\none\tF\ntwo \tP\nthree\tF')" "$(cat tail.out)"

# ship: the checkpoint never passes a part not yet delivered, and nothing is
# delivered twice; a part pending at the end of a run goes out as it is
printf '2023-11-14T22:13:20Z stdout F one\n2023-11-14T22:13:21Z stdout P two \n' >shipped.log
expect_exit "ship: first run" 0 "$LOGSHIP" ship --once --state st --to "file://$T/sink.ndjson" shipped.log
printf '2023-11-14T22:13:22Z stdout F three\n2023-11-14T22:13:23Z stdout P four \n2023-11-14T22:13:24Z stdout F five\n' >>shipped.log
expect_exit "ship: second run" 0 "$LOGSHIP" ship --once --state st --to "file://$T/sink.ndjson" shipped.log
expect_exit "ship: third run, nothing new" 0 "$LOGSHIP" ship --once --state st --to "file://$T/sink.ndjson" shipped.log
expect_eq "ship: every part delivered once" "$(printf '%s\n' '"one" 0' '"two " 34' '"three" 69' '"four five" 105')" \
	"$(while read -r l; do echo "$(json_get "$l" message) $(json_get "$l" log.offset)"; done <sink.ndjson)"

# tail: a record waiting for its trace is printed when the file has no more
# data for now; trace lines written later make one event of their own
head -2 java.cri >tailtrace.cri
: >tailtrace.out
"$LOGSHIP" tail --from-start -o tsv --fields log.offset,message tailtrace.cri >tailtrace.out 2>tailtrace.err &
TPID=$!
PIDS="$PIDS $TPID"
if wait_for has_lines 2 tailtrace.out; then pass; else fail "tail trace: the record printed at the pause" "2 lines" "$(cat tailtrace.out)"; fi
sed -n 3,5p java.cri >>tailtrace.cri
sed -n 6p java.cri >>tailtrace.cri
if wait_for has_lines 4 tailtrace.out; then pass; else fail "tail trace: the rest printed" "4 lines" "$(cat tailtrace.out)"; fi
kill -TERM "$TPID" 2>/dev/null
wait "$TPID" 2>/dev/null
expect_eq "tail trace: what was printed" \
	"$(printf '%s\n' "log.offset${TAB}message" "0${TAB}$(tsvjoin Failed 'java.lang.IllegalStateException: boom')" \
		"168${TAB}$(tsvjoin '	at com.example.App.main(App.java:12)' '	... 3 more' 'Caused by: java.io.IOException: reset')" \
		"358${TAB}next")" "$(cat tailtrace.out)"

# ship: a trace delivered once; the checkpoint never passes a record that
# waited for its trace. Joined within a run: the second run starts at the
# trace's fourth line, its record sent by the first, and sends the rest as
# they are
head -3 java.cri >shiptrace.cri
expect_exit "ship trace: first run" 0 "$LOGSHIP" ship --once --state st2 --to "file://$T/sink2.ndjson" shiptrace.cri
sed -n 4,6p java.cri >>shiptrace.cri
expect_exit "ship trace: second run" 0 "$LOGSHIP" ship --once --state st2 --to "file://$T/sink2.ndjson" shiptrace.cri
expect_exit "ship trace: third run, nothing new" 0 "$LOGSHIP" ship --once --state st2 --to "file://$T/sink2.ndjson" shiptrace.cri
expect_eq "ship trace: every line delivered once" \
	"$(printf '%s\n' '0 "Failed\njava.lang.IllegalStateException: boom\n\tat com.example.App.main(App.java:12)"' \
		'240 "\t... 3 more"' '286 "Caused by: java.io.IOException: reset"' '358 "next"')" \
	"$(while read -r l; do echo "$(json_get "$l" log.offset) $(json_get "$l" message)"; done <sink2.ndjson)"

finish
