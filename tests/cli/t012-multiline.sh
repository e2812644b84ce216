#!/usr/bin/env bash
# t012-multiline: --multiline-start, the --multiline-max-lines and
# --multiline-max-bytes caps (no data lost: the extra lines start a new
# event), and Java stack traces joined for -f log4j and -f auto.
. "$SRC/tests/cli/lib.sh"

# msgs: the messages of the events in $T/out (tsv --fields message), one per line
msgs() { sed 1d "$T/out"; }
cat >ml.log <<'LOG'
  orphan continuation before any start
2023-11-14T10:00:00Z START A
  cont a1
  cont a2
  cont a3
2023-11-14T10:00:01Z START B
2023-11-14T10:00:02Z START C
  cont c1
LOG
M='--multiline-start=^\d{4}-\d\d-\d\dT'

expect_exit "--multiline-start: exit 0" 0 "$LOGSHIP" parse "$M" -o tsv --fields message ml.log
expect_eq "--multiline-start: continuation lines join their start line" \
	"$(printf '%s\n' '  orphan continuation before any start' \
		'2023-11-14T10:00:00Z START A\n  cont a1\n  cont a2\n  cont a3' \
		'2023-11-14T10:00:01Z START B' \
		'2023-11-14T10:00:02Z START C\n  cont c1')" "$(msgs)"
expect_exit "--multiline-start, json: exit 0" 0 "$LOGSHIP" parse "$M" ml.log
expect_json_valid "--multiline-start, json: valid" out
expect_json_field "--multiline-start, json: newlines escaped" "$(nth 2 out)" message \
	'"2023-11-14T10:00:00Z START A\n  cont a1\n  cont a2\n  cont a3"'
expect_json_field "--multiline-start, json: offset of the start line" "$(nth 2 out)" log.offset \
	"$(head -1 ml.log | wc -c)"
expect_exit "--multiline-start with -c: exit 0" 0 "$LOGSHIP" parse "$M" -c ml.log
expect_eq "--multiline-start with -c: events, not lines" 4 "$OUT"
expect_exit "--multiline-start with -w on a joined line: exit 0" 0 "$LOGSHIP" parse "$M" -w 'message~cont a3' -c ml.log
expect_eq "--multiline-start with -w on a joined line" 1 "$OUT"
expect_exit "--multiline-start bad regex: exit 2" 2 "$LOGSHIP" parse --multiline-start '(' ml.log
expect_match "--multiline-start bad regex: regex error with offset" "$ERR" 'regex error at offset [0-9]+'

# --multiline-max-lines 2: at most 2 lines per event, the rest start new ones
expect_exit "--multiline-max-lines 2: exit 0" 0 "$LOGSHIP" parse "$M" --multiline-max-lines 2 -o tsv --fields message ml.log
expect_eq "--multiline-max-lines 2: capped, nothing lost" \
	"$(printf '%s\n' '  orphan continuation before any start' \
		'2023-11-14T10:00:00Z START A\n  cont a1' \
		'  cont a2\n  cont a3' \
		'2023-11-14T10:00:01Z START B' \
		'2023-11-14T10:00:02Z START C\n  cont c1')" "$(msgs)"
expect_exit "--multiline-max-lines 1: exit 0" 0 "$LOGSHIP" parse "$M" --multiline-max-lines 1 -o tsv --fields message ml.log
expect_eq "--multiline-max-lines 1: one event per line" "$(cat ml.log)" "$(msgs)"
expect_exit "--multiline-max-lines 0: exit 2" 2 "$LOGSHIP" parse "$M" --multiline-max-lines 0 ml.log

# --multiline-max-bytes: the lines here are 10 bytes; with a cap of 25 two
# fit in an event (with or without counting the \n between them), three not
printf 'S-00000001\n+ cont 001\n+ cont 002\n+ cont 003\n+ cont 004\nS-00000002\n' >bytes.log
expect_exit "--multiline-max-bytes 25: exit 0" 0 "$LOGSHIP" parse --multiline-start '^S-' --multiline-max-bytes 25 -o tsv --fields message bytes.log
expect_eq "--multiline-max-bytes 25: capped, nothing lost" \
	"$(printf '%s\n' 'S-00000001\n+ cont 001' '+ cont 002\n+ cont 003' '+ cont 004' 'S-00000002')" "$(msgs)"
expect_exit "--multiline-max-bytes 1k: exit 0" 0 "$LOGSHIP" parse --multiline-start '^S-' --multiline-max-bytes 1k -o tsv --fields message bytes.log
expect_eq "--multiline-max-bytes 1k: all joined" \
	"$(printf '%s\n' 'S-00000001\n+ cont 001\n+ cont 002\n+ cont 003\n+ cont 004' 'S-00000002')" "$(msgs)"
expect_exit "--multiline-max-bytes 0: exit 2" 2 "$LOGSHIP" parse --multiline-start '^S-' --multiline-max-bytes 0 bytes.log
# a long run of continuation lines: every byte still printed once
{ printf 'S-00000001\n'; awk 'BEGIN { for (i = 1; i <= 5000; i++) printf "+ continuation line %05d\n", i }'; printf 'S-00000002\n'; } >many.log
expect_exit "5000 continuation lines: exit 0" 0 "$LOGSHIP" parse --multiline-start '^S-' -o tsv --fields message many.log
expect_eq "5000 continuation lines: default cap of 500 lines, nothing lost" \
	"$(cat many.log)" "$(msgs | sed 's/\\n/\n/g')"
expect_eq "5000 continuation lines: 500-line events (5001 lines: 11 events, then S-2)" 12 "$(msgs | wc -l)"

# Java stack traces, -f log4j and -f auto
cat >java.log <<'LOG'
2023-11-14 22:11:05.640 [http-nio-8080-exec-2] ERROR c.e.shop.payments.ChargeService - Charge failed for order A-100233
com.example.shop.payments.PaymentException: card_declined (provider=stripe, status=402)
	at com.example.shop.payments.StripeClient.charge(StripeClient.java:142)
	at com.example.shop.payments.ChargeService.charge(ChargeService.java:77)
	... 48 common frames omitted
Caused by: java.io.IOException: connection reset
	at java.base/sun.nio.ch.NioSocketImpl.read(NioSocketImpl.java:546)
	... 61 more
2023-11-14 22:11:20.215 [http-nio-8080-exec-3] INFO  c.e.shop.web.CheckoutController - checkout page rendered in 18 ms
LOG
# tsvjoin FROM TO: lines FROM..TO of java.log as tsv writes a joined message
tsvjoin() { sed -n "$1,$2p" java.log | awk '{ printf "%s%s", (NR > 1 ? "\\n" : ""), $0 }' | sed 's/\t/\\t/g'; }
# ends_with NAME TEXT SUFFIX
ends_with() {
	case "$2" in
	*"$3") pass ;;
	*) fail "$1" "text ending with '$3'" "$2" ;;
	esac
}
for f in log4j auto; do
	expect_exit "java trace, -f $f: exit 0" 0 "$LOGSHIP" parse -f "$f" -o tsv --fields message java.log
	expect_eq "java trace, -f $f: two events" 2 "$(msgs | wc -l)"
	m1=$(msgs | sed -n 1p)
	ends_with "java trace, -f $f: the trace joins its line" "$m1" "\\n$(tsvjoin 2 8)"
	expect_contains "java trace, -f $f: the first line's text" "$m1" "Charge failed for order A-100233\\n"
	ends_with "java trace, -f $f: the next line its own event" "$(msgs | sed -n 2p)" "checkout page rendered in 18 ms"
	expect_exit "java trace, -f $f, json: exit 0" 0 "$LOGSHIP" parse -f "$f" java.log
	expect_json_valid "java trace, -f $f, json: valid" out
	expect_json_field "java trace, -f $f: the time of the first line" "$(nth 1 out)" @timestamp '"2023-11-14T22:11:05.640Z"'
	expect_eq "java trace, -f $f: log.level" error "$(json_get "$(nth 1 out)" log.level | tr -d '"' | tr A-Z a-z)"
	expect_json_field "java trace, -f $f: dataset" "$(nth 1 out)" event.dataset '"log4j"'
	expect_not_contains "java trace, -f $f: parsed" "$(json_get "$(nth 1 out)" tags)" unparsed
	expect_json_field "java trace, -f $f: the next event" "$(nth 2 out)" @timestamp '"2023-11-14T22:11:20.215Z"'
done
expect_exit "java trace, --multiline-max-lines 3: exit 0" 0 "$LOGSHIP" parse -f log4j --multiline-max-lines 3 -o tsv --fields message java.log
expect_eq "java trace, --multiline-max-lines 3: 3+3+2+1 lines" 4 "$(msgs | wc -l)"
ends_with "java trace, --multiline-max-lines 3: first event, 3 lines" "$(msgs | sed -n 1p)" "A-100233\\n$(tsvjoin 2 3)"
expect_eq "java trace, --multiline-max-lines 3: lines 4-6 a new event" "$(tsvjoin 4 6)" "$(msgs | sed -n 2p)"
expect_eq "java trace, --multiline-max-lines 3: lines 7-8 a new event" "$(tsvjoin 7 8)" "$(msgs | sed -n 3p)"
ends_with "java trace, --multiline-max-lines 3: then the next line" "$(msgs | sed -n 4p)" "checkout page rendered in 18 ms"

# the format engineer's sample files, when there are any
for f in "$SRC"/tests/data/formats/log4j*.log "$SRC"/tests/data/formats/java*.log; do
	[ -f "$f" ] || continue
	n_start=$(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9:.,]+ ' "$f")
	expect_exit "$(basename "$f"), -f log4j: exit 0" 0 "$LOGSHIP" parse -f log4j -c "$f"
	expect_eq "$(basename "$f"), -f log4j: one event per timestamped line" "$n_start" "$OUT"
done

# PostgreSQL: tab-indented detail lines belong to the entry above them.
printf '%s\n' \
 '2023-11-14 22:13:20.123 UTC [21955] ERROR:  deadlock detected' \
 '	Process 21955 waits for ShareLock on transaction 88230; blocked by process 21960.' \
 '	Process 21960: UPDATE stock SET qty = qty - 1' \
 '2023-11-14 22:13:21.000 UTC [21955] LOG:  next entry' >pg.log
expect_exit "postgresql detail lines: exit 0" 0 "$LOGSHIP" parse -f postgresql -c pg.log
expect_eq "postgresql detail lines join their entry" 2 "$OUT"
expect_exit "postgresql: none unparsed" 1 "$LOGSHIP" parse -v pg.log

# Tomcat container loggers with brackets parse as log4j.
printf '%s\n' '2023-11-14 22:13:40.118 [http-nio-8080-exec-8] ERROR o.a.c.c.C.[.[.[/].[dispatcherServlet] - Servlet.service() threw exception' >tomcat.log
expect_exit "tomcat logger: parsed" 0 "$LOGSHIP" parse -f log4j -o tsv --fields log.logger tomcat.log
expect_eq "tomcat logger name kept whole" "$(printf 'log.logger\no.a.c.c.C.[.[.[/].[dispatcherServlet]')" "$OUT"

# A Go panic or a Python traceback after JSON or logfmt lines joins the
# record before it; the next record starts a new event.
printf '%s\n' '{"level":"info","msg":"start","time":"2023-11-14T22:13:20Z"}' 'panic: boom' '' \
	'goroutine 1 [running]:' 'main.main()' '	/app/main.go:12 +0x1c' 'exit status 2' \
	'{"level":"info","msg":"next","time":"2023-11-14T22:13:21Z"}' >gopanic.jsonl
expect_exit "json + go panic: exit 0" 0 "$LOGSHIP" parse -o tsv --fields message gopanic.jsonl
expect_eq "json + go panic: two events, the panic in the first" \
	"$(printf 'message\nstart\\npanic: boom\\n\\ngoroutine 1 [running]:\\nmain.main()\\n\\t/app/main.go:12 +0x1c\\nexit status 2\nnext')" "$OUT"
printf '%s\n' 'level=info msg=start' 'Traceback (most recent call last):' '  File "a.py", line 1, in <module>' \
	'    x()' 'NameError: name x is not defined' 'level=info msg=next' >pytb.logfmt
expect_exit "logfmt + traceback: exit 0" 0 "$LOGSHIP" parse -c pytb.logfmt
expect_eq "logfmt + traceback: two events" 2 "$OUT"
expect_exit "logfmt + traceback: none unparsed" 1 "$LOGSHIP" parse -v pytb.logfmt

# a bad --multiline-start is reported under its name (-e's own message,
# which the contract fixes, has none: t010)
expect_exit "bad --multiline-start: exit 2" 2 "$LOGSHIP" parse --multiline-start '(' ml.log
expect_eq "bad --multiline-start: the option, the offset and the reason" \
	"logship: --multiline-start: regex error at offset 1: missing closing parenthesis" "$ERR"
expect_eq "bad --multiline-start: nothing on stdout" "" "$OUT"
expect_exit "bad --multiline-start with -e: exit 2" 2 "$LOGSHIP" parse -e '^(?<a>\S+)' --multiline-start 'x[' ml.log
expect_eq "bad --multiline-start with a good -e: the option named" \
	"logship: --multiline-start: regex error at offset 2: missing terminating ] for character class" "$ERR"
expect_exit "bad -e with a good --multiline-start: exit 2" 2 "$LOGSHIP" parse -e 'a(b' --multiline-start '^x' ml.log
expect_eq "bad -e with a good --multiline-start: -e's message as it was" \
	"logship: regex error at offset 3: missing closing parenthesis" "$ERR"
expect_exit "tail, bad --multiline-start: exit 2" 2 "$LOGSHIP" tail --multiline-start '(' ml.log
expect_eq "tail, bad --multiline-start: the option named" \
	"logship: --multiline-start: regex error at offset 1: missing closing parenthesis" "$ERR"
expect_exit "ship, bad --multiline-start: exit 2" 2 "$LOGSHIP" ship --once --to - --state "$T/st" --multiline-start '(' ml.log
expect_eq "ship, bad --multiline-start: the option named" \
	"logship: --multiline-start: regex error at offset 1: missing closing parenthesis" "$ERR"

finish
