#!/usr/bin/env bash
# net-faults.sh - `logship ship` and `logship tail` when name lookups fail,
# when the wall clock jumps, and against a sink that reads very slowly.
#
# Faults come from the LD_PRELOAD shim tests/faults/inject.c (see its header:
# LS_DNS_*, LS_CLOCK_JUMP*) and from the fake sink tests/integration/fakesink.c
# (--read-rate), both built here into the temp dir. Only 127.0.0.1 is ever
# contacted: the sink's host name "sink.invalid" is answered by the shim
# alone (failing, or with 127.0.0.1), every other name lookup fails and port
# 53 is blocked inside the process, so no DNS query leaves the machine.
#
# Checks:
#  dns) every lookup fails, EAI_NONAME and then EAI_AGAIN: --once
#       --max-retry-time 2s exits 3 with one line naming the host, retried
#       with backoff (a bounded number of lookups), no other name looked up,
#       nothing sent, nothing dead-lettered; then the first 3 lookups fail
#       (EAI_AGAIN) and the name resolves: everything exactly once on the same
#       checkpoints; a rerun sends nothing new; follow mode with 5 failing
#       lookups delivers everything
#  clock) the wall clock jumps while CLOCK_MONOTONIC runs on:
#       c1 back 1 h every 200 ms during a 1.5 s outage (500s): delivered
#          exactly once, the sink saw a bounded number of 500s (no busy loop)
#       c2 the same with the sink failing for good: --max-retry-time 2s still
#          gives up (exit 3)
#       c3 forward 1 h every 200 ms during the outage, --max-retry-time 20s:
#          no early give-up, everything exactly once
#       c4 ship (follow): the flush interval and the partial-line timeout
#          still fire while the clock keeps going back; a line without a
#          time gets the (jumped) time it was read, which also shows that
#          the jump reached logship
#       c5 tail: the same for lines and a partial line printed by tail
#       c6 threshold alerts over sshd lines fed in chunks to tail: the same
#          alerts with the clock jumping back as without and as parse
#       c7 forward 25 h after a file was deleted (--forget-after 1h): its
#          compressed copy found later is still recognised, not re-sent
#  slow) a sink reading every connection at 384 KiB/s with an 8 KiB receive
#       buffer: 200k lines (37 MB of events) with the default --timeout are
#       delivered exactly once, with peak RSS within --max-inflight-bytes 1M
#       + 16 MiB of a 1000-line run's; a sink reading at 8 KiB/s, where one
#       request takes longer than --timeout 2s: --once either delivers or
#       gives up (exit 3), and a rerun delivers the rest: nothing lost (lines
#       the slow sink still read after logship gave up come twice, with the
#       same event.id)
#
# KEEP=1 keeps the temp dir. LOGSHIP=path picks the binary. ONLY="dns clock
# slow" runs only those groups. Ends with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
SRC=$PWD
LOGSHIP=${LOGSHIP:-$PWD/logship}
case $LOGSHIP in /*) ;; *) LOGSHIP=$PWD/$LOGSHIP ;; esac

# shellcheck source=tests/lib/check.sh
. "$SRC/tests/lib/check.sh"
# shellcheck source=tests/lib/fakesink.sh
. "$SRC/tests/lib/fakesink.sh"

if [ ! -x "$LOGSHIP" ]; then
	echo "net-faults: $LOGSHIP not built (run make)"
	echo "0 passed, 1 failed"
	exit 1
fi
if ! command -v jq >/dev/null 2>&1; then
	echo "net-faults: needs jq to read the delivered events"
	echo "0 passed, 1 failed"
	exit 1
fi

scratch_setup netfaults
# a proxy would be handed the sink's name, and would look it up itself
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy NO_PROXY no_proxy

fakesink_build net-faults
SHIM=$T/inject.so
if ! cc -shared -fPIC -O1 -o "$SHIM" "$SRC/tests/faults/inject.c" -ldl 2>"$T/cc.err"; then
	cat "$T/cc.err"
	echo "net-faults: cannot build the injector"
	echo "0 passed, 1 failed"
	exit 1
fi
# A sanitizer build must have its runtime loaded first: no shim for it (and
# so no name lookups of sink.invalid at all), only the slow sink.
SANITIZED=0
if ldd "$LOGSHIP" 2>/dev/null | grep -q -e libasan -e libtsan -e libubsan; then
	echo "net-faults: $LOGSHIP is a sanitizer build: only the slow-sink checks run"
	SANITIZED=1
fi

want() {
	[ "$SANITIZED" = 1 ] && [ "$1" != slow ] && return 1
	[ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]
}

# shim_cmd NAME SETTINGS... -- logship ARGS...: fills CMD with the command
# that runs logship through the shim with the settings (the shim's report
# in $T/NAME.rep) and sets LAST_CMD.
shim_cmd() {
	local name=$1 envs=()
	shift
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	LAST_CMD="${envs[*]} logship $*"
	rm -f "$T/$name.rep"
	CMD=(env LD_PRELOAD="$SHIM" LS_FAULT_REPORT="$T/$name.rep" "${envs[@]}" "$LOGSHIP" "$@")
}

# shim NAME SETTINGS... -- logship ARGS...: runs that (killed after 60 s),
# stdout in $T/NAME.stdout, stderr in $T/NAME.err; sets RC.
shim() {
	shim_cmd "$@"
	timeout -k 5 60 "${CMD[@]}" >"$T/$1.stdout" 2>"$T/$1.err"
	RC=$?
}

# shim_bg NAME SETTINGS... -- logship ARGS...: the same in the background;
# sets LP (its pid).
shim_bg() {
	shim_cmd "$@"
	"${CMD[@]}" >"$T/$1.stdout" 2>"$T/$1.err" &
	LP=$!
	bg_pids+=("$LP")
}

# stop_bg NAME: SIGTERM to $LP; sets RC (its exit status; 124 when it did
# not stop within 20 s and was killed).
stop_bg() {
	kill -TERM "$LP" 2>/dev/null
	if wait_for 20 eval '! kill -0 '"$LP"' 2>/dev/null'; then
		wait "$LP"
		RC=$?
	else
		kill -9 "$LP" 2>/dev/null
		wait "$LP" 2>/dev/null
		RC=124
		bad "$1: stops after SIGTERM" "still running 20 s after SIGTERM: killed" "$(show_err "$1")"
	fi
}

# rep NAME KEY: KEY's value in the shim's report of run NAME.
rep() { sed -n 's/.*\b'"$2"'=\([0-9]*\).*/\1/p' "$T/$1.rep" 2>/dev/null; }

# show_err NAME: the command and the last lines of a run's stderr.
show_err() {
	echo "command: $LAST_CMD"
	echo "stderr (tail): $(tail -n 5 "$T/$1.err" 2>/dev/null | tr '\n' '|' | cut -c1-600)"
}

count_lines() { cat "$@" 2>/dev/null | wc -l | tr -d ' '; }
has_lines() { [ "$(count_lines "$1")" -ge "$2" ]; }

# exactly_once NAME INPUT OUT...: every input line delivered exactly once
# (input lines are unique), with distinct event ids.
exactly_once() {
	local name=$1 input=$2
	shift 2
	local n total ids
	n=$(count_lines "$input")
	total=$(count_lines "$@")
	ids=$(cat "$@" 2>/dev/null | jq -r '.event.id' | sort -u | grep -cxE '[0-9a-f]{16,}')
	if [ "$total" = "$n" ] && [ "$ids" = "$n" ] &&
		cmp -s <(cat "$@" | jq -r '.message' | sort) <(sort "$input"); then
		ok "$name: all $n lines exactly once"
	else
		local missing dups
		missing=$(comm -23 <(sort -u "$input") <(cat "$@" 2>/dev/null | jq -r '.message' | sort -u) | wc -l)
		dups=$(cat "$@" 2>/dev/null | jq -r '.message' | sort | uniq -d | wc -l)
		bad "$name: all $n lines exactly once" \
			"delivered events: $total, distinct ids: $ids, input lines missing: $missing, delivered more than once: $dups"
	fi
}

# posts FILE: the POST lines of a sink log; status_count FILE S: how many
# were answered S.
posts() { grep -P '^req=\d+\t' "$1"; }
status_count() { posts "$1" | grep -c $'\tstatus='"$2"$'\t'; }

# peak_rss NAME ARGS...: runs logship ARGS under /usr/bin/time (or samples
# VmHWM when it is missing); sets PEAK (kB) and RC.
peak_rss() {
	local name=$1 p hwm
	shift
	LAST_CMD="logship $*"
	if [ -x /usr/bin/time ]; then
		timeout -k 5 60 /usr/bin/time -f %M -o "$T/$name.rss" "$LOGSHIP" "$@" \
			>"$T/$name.stdout" 2>"$T/$name.err"
		RC=$?
		PEAK=$(tail -n 1 "$T/$name.rss" 2>/dev/null | tr -dc 0-9)
	else
		"$LOGSHIP" "$@" >"$T/$name.stdout" 2>"$T/$name.err" &
		p=$!
		bg_pids+=("$p")
		PEAK=0
		while kill -0 "$p" 2>/dev/null; do
			hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
			[ -n "$hwm" ] && [ "$hwm" -gt "$PEAK" ] && PEAK=$hwm
			sleep 0.05
		done
		wait "$p"
		RC=$?
	fi
	PEAK=${PEAK:-0}
}

mkdir -p "$T/in"
IN=$T/in/app.log
seq 1 2000 | sed 's/^/line /' >"$IN"
OPTS=(--flush-interval 100ms --checkpoint-interval 1s --backoff-base 50ms --backoff-cap 500ms)
BACK=(LS_CLOCK_JUMP=-3600 LS_CLOCK_JUMP_AT_MS=200 LS_CLOCK_JUMP_REPEAT=1)

# ---- dns: the sink's name does not resolve
if want dns; then
	sink_start dns
	port=$SINK_PORT
	URL=http://sink.invalid:$port/dns
	FAST=(--max-retry-time 2s --backoff-base 50ms --backoff-cap 200ms --flush-interval 100ms)
	for e in EAI_NONAME EAI_AGAIN; do
		shim "dns-$e" LS_DNS_NAME=sink.invalid LS_DNS_ERROR=$e -- \
			ship --to "$URL" --once --state "$T/st-dns" "${FAST[@]}" "$IN"
		expect "dns $e: --once exit status (sink unreachable)" 3 "$RC" "$(show_err "dns-$e")"
		lines=$(grep -c "could not resolve host 'sink.invalid'" "$T/dns-$e.err")
		expect "dns $e: one line on stderr names the host" 1 "$lines" "$(show_err "dns-$e")"
		within "dns $e: lookups retried with backoff, not in a loop" 2 200 "$(rep "dns-$e" dns_failed)"
		expect "dns $e: no other name looked up, no port-53 traffic" "0 0" \
			"$(rep "dns-$e" dns_other) $(rep "dns-$e" dns_blocked)"
	done
	expect "dns: the sink got no request" 0 "$(posts "$T/dns.log" | wc -l | tr -d ' ')"
	expect "dns: nothing dead-lettered" 0 "$(cat "$T"/st-dns/dead-letter/* 2>/dev/null | wc -c | tr -d ' ')"

	# the name comes back: on the same checkpoints, everything exactly once
	shim dns-back LS_DNS_NAME=sink.invalid LS_DNS_ERROR=EAI_AGAIN LS_DNS_FAIL_FIRST=3 \
		LS_DNS_ADDR=127.0.0.1 -- ship --to "$URL" --once --state "$T/st-dns" "${OPTS[@]}" "$IN"
	expect "dns: exit status once the name resolves after 3 failures" 0 "$RC" "$(show_err dns-back)"
	exactly_once "dns: after the failed runs" "$IN" "$T/dns.out"
	expect "dns: 3 lookups failed, then answered" "3 yes" \
		"$(rep dns-back dns_failed) $([ "$(rep dns-back dns_answered)" -ge 1 ] && echo yes || echo no)"
	np=$(posts "$T/dns.log" | wc -l)
	expect "dns: every request was addressed to sink.invalid" "$np" \
		"$(posts "$T/dns.log" | grep -c $'\th:host=sink.invalid:'"$port")"
	shim dns-again LS_DNS_NAME=sink.invalid LS_DNS_FAIL_FIRST=0 -- \
		ship --to "$URL" --once --state "$T/st-dns" "${OPTS[@]}" "$IN"
	expect "dns: a rerun exits 0" 0 "$RC" "$(show_err dns-again)"
	expect "dns: a rerun sends nothing new" "$(count_lines "$IN")" "$(count_lines "$T/dns.out")"
	sink_stop "$SINK_PID"

	# follow mode: retried until the name resolves
	sink_start dns4
	shim_bg dns4 LS_DNS_NAME=sink.invalid LS_DNS_FAIL_FIRST=5 -- ship \
		--to "http://sink.invalid:$SINK_PORT/f" --state "$T/st-dns4" "${OPTS[@]}" "$IN"
	if wait_for 60 has_lines "$T/dns4.out" "$(count_lines "$IN")"; then
		ok "dns follow: delivered once the name resolves"
	else
		bad "dns follow: delivered once the name resolves" "$(count_lines "$T/dns4.out") lines in 60 s" "$(show_err dns4)"
	fi
	stop_bg dns4
	expect "dns follow: exit status after SIGTERM" 0 "$RC" "$(show_err dns4)"
	exactly_once "dns follow" "$IN" "$T/dns4.out"
	expect "dns follow: 5 lookups failed, then answered" "5 0" \
		"$(rep dns4 dns_failed) $(rep dns4 dns_other)"
	# said once when it starts, once when it ends
	expect "dns follow: one warning naming the host" 1 \
		"$(grep -c "warning: cannot reach the sink (.*could not resolve host 'sink.invalid'" "$T/dns4.err")" \
		"$(show_err dns4)"
	expect "dns follow: one line when the sink answers again" 1 \
		"$(grep -c 'the sink answers again' "$T/dns4.err")" "$(show_err dns4)"
	sink_stop "$SINK_PID"
fi

# ---- clock: the wall clock jumps, CLOCK_MONOTONIC does not
if want clock; then
	# c1) back 1 h every 200 ms while the sink fails for 1.5 s
	sink_start c1 --script '500*1500ms'
	shim c1 "${BACK[@]}" -- ship --to "http://127.0.0.1:$SINK_PORT/c1" --once --state "$T/st-c1" \
		--concurrency 1 --max-retry-time 30s "${OPTS[@]}" "$IN"
	expect "c1: exit status, clock going back during an outage" 0 "$RC" "$(show_err c1)"
	exactly_once "c1" "$IN" "$T/c1.out"
	within "c1: 500s the sink saw (retried with backoff, no busy loop)" 2 60 "$(status_count "$T/c1.log" 500)"
	sink_stop "$SINK_PID"

	# c2) ... and a sink that never recovers: --max-retry-time still ends it
	sink_start c2 --then 500
	shim c2 "${BACK[@]}" -- ship --to "http://127.0.0.1:$SINK_PORT/c2" --once --state "$T/st-c2" \
		--concurrency 1 --max-retry-time 2s "${OPTS[@]}" "$IN"
	expect "c2: --max-retry-time 2s gives up (exit 3) with the clock going back" 3 "$RC" "$(show_err c2)"
	within "c2: requests the failing sink saw" 2 60 "$(status_count "$T/c2.log" 500)"
	sink_stop "$SINK_PID"

	# c3) forward 1 h every 200 ms: no early give-up
	sink_start c3 --script '500*1500ms'
	shim c3 LS_CLOCK_JUMP=3600 LS_CLOCK_JUMP_AT_MS=200 LS_CLOCK_JUMP_REPEAT=1 -- ship \
		--to "http://127.0.0.1:$SINK_PORT/c3" --once --state "$T/st-c3" --concurrency 1 \
		--max-retry-time 20s "${OPTS[@]}" "$IN"
	expect "c3: exit status, clock going forward during an outage (--max-retry-time 20s)" 0 "$RC" "$(show_err c3)"
	exactly_once "c3" "$IN" "$T/c3.out"
	within "c3: 500s the sink saw" 2 60 "$(status_count "$T/c3.log" 500)"
	sink_stop "$SINK_PID"

	# jumped_back NAME OUT MESSAGE: the event MESSAGE (a line without a time,
	# read after the clock jumped) carries a read time an hour or more behind
	jumped_back() {
		local ts behind
		ts=$(jq -r --arg m "$3" 'select(.message == $m) | ."@timestamp"' "$2" 2>/dev/null | head -1)
		behind=$(($(date +%s) - $(date -d "${ts:-now}" +%s 2>/dev/null || date +%s)))
		if [ "$behind" -ge 3000 ]; then
			ok "$1: '$3' was stamped with its read time, ${behind} s behind: the jump reached logship"
		else
			bad "$1: '$3' is stamped with its read time, an hour or more behind (the jump reached logship)" \
				"@timestamp: ${ts:-none}, ${behind} s behind" "shim: $(cat "$T/$1.rep" 2>/dev/null)"
		fi
	}

	# c4) ship's flush interval and partial-line timeout
	sink_start c4
	: >"$T/in/c4.log"
	LOGSHIP_NOW='' shim_bg c4 "${BACK[@]}" -- ship --to "http://127.0.0.1:$SINK_PORT/c4" --state "$T/st-c4" \
		--batch-size 100000 --flush-interval 300ms --partial-timeout 1s --checkpoint-interval 500ms \
		"$T/in/c4.log"
	seq 1 10 | sed 's/^/c4 line /' >>"$T/in/c4.log"
	if wait_for 30 has_lines "$T/c4.out" 10; then
		ok "c4: 10 lines delivered by the flush timer (batch size 100000)"
	else
		bad "c4: 10 lines delivered by the flush timer (batch size 100000)" \
			"$(count_lines "$T/c4.out") lines in 30 s" "$(show_err c4)"
	fi
	printf 'c4 partial line' >>"$T/in/c4.log"
	if wait_for 30 grep -q '"c4 partial line"' "$T/c4.out"; then
		ok "c4: the partial line delivered after --partial-timeout"
	else
		bad "c4: the partial line delivered after --partial-timeout" "not in 30 s" "$(show_err c4)"
	fi
	stop_bg c4
	expect "c4: exit status after SIGTERM" 0 "$RC" "$(show_err c4)"
	jumped_back c4 "$T/c4.out" 'c4 partial line'
	{ seq 1 10 | sed 's/^/c4 line /'; echo 'c4 partial line'; } >"$T/c4.expect"
	exactly_once "c4" "$T/c4.expect" "$T/c4.out"
	sink_stop "$SINK_PID"

	# c5) tail's partial-line timeout; lines without a time get the (jumped)
	# time they were read, which shows the jump reached logship
	: >"$T/in/c5.log"
	LOGSHIP_NOW='' shim_bg c5 "${BACK[@]}" -- tail -o json --from-start --partial-timeout 1s \
		"$T/in/c5.log"
	seq 1 5 | sed 's/^/c5 line /' >>"$T/in/c5.log"
	if wait_for 30 has_lines "$T/c5.stdout" 5; then
		ok "c5: tail printed 5 lines"
	else
		bad "c5: tail printed 5 lines" "$(count_lines "$T/c5.stdout") in 30 s" "$(show_err c5)"
	fi
	printf 'c5 partial line' >>"$T/in/c5.log"
	if wait_for 30 grep -q '"c5 partial line"' "$T/c5.stdout"; then
		ok "c5: tail printed the partial line after --partial-timeout"
	else
		bad "c5: tail printed the partial line after --partial-timeout" "not in 30 s" "$(show_err c5)"
	fi
	stop_bg c5
	expect "c5: tail's exit status after SIGTERM" 0 "$RC" "$(show_err c5)"
	jumped_back c5 "$T/c5.stdout" 'c5 partial line'

	# c6) thresholds count on the events' own times: sshd failures fed to tail
	# in 4 chunks give the same alerts with the clock jumping back as without
	{
		for i in $(seq 0 11); do echo "$((i * 5)) 203.0.113.9"; done
		for i in $(seq 0 5); do echo "$((3 + i * 20)) 203.0.113.10"; done
		for i in $(seq 0 4); do echo "$((7 + i * 10)) 203.0.113.11"; done
	} | sort -n -k1,1 | while read -r off ip; do
		s=$((22 * 3600 + 13 * 60 + 20 + off))
		printf '2023-11-14T%02d:%02d:%02d.000000+00:00 bastion sshd[%d]: Failed password for root from %s port %d ssh2\n' \
			$((s / 3600)) $((s / 60 % 60)) $((s % 60)) $((800 + off)) "$ip" $((40000 + off))
	done >"$T/auth.src"
	# events_at_least FILE N: FILE holds N events besides the alerts
	events_at_least() { [ "$(grep -vc '"kind":"alert"' "$1")" -ge "$2" ]; }
	alerts() { grep '"kind":"alert"' "$1" | jq -r '[.rule.id, .source.ip, ."@timestamp"] | @tsv' | sort; }
	"$LOGSHIP" parse -o json "$T/auth.src" >"$T/c6-parse.out" 2>"$T/c6-parse.err"
	alerts "$T/c6-parse.out" >"$T/c6-parse.alerts"
	# 203.0.113.9: 12 failures 5 s apart (2 alerts); .10: 20 s apart (none);
	# .11: 5 in 40 s (1)
	expect "c6: parse finds 3 brute-force alerts" 3 "$(count_lines "$T/c6-parse.alerts")" \
		"$(head -3 "$T/c6-parse.err")"
	for run in c6-steady c6-jump; do
		: >"$T/in/$run.log"
		settings=(LS_CLOCK_JUMP=0)
		# every read of the wall clock an hour before the one before it
		[ "$run" = c6-jump ] && settings=(LS_CLOCK_JUMP=-3600 LS_CLOCK_JUMP_AT_CALL=1 LS_CLOCK_JUMP_REPEAT=1)
		LOGSHIP_NOW='' shim_bg "$run" "${settings[@]}" -- tail -o json --from-start "$T/in/$run.log"
		fed=0
		for chunk in 1 2 3 4; do
			sed -n "$(( (chunk - 1) * 6 + 1 )),$(( chunk * 6 ))p" "$T/auth.src" >>"$T/in/$run.log"
			fed=$(count_lines "$T/in/$run.log")
			wait_for 30 events_at_least "$T/$run.stdout" "$fed"
		done
		stop_bg "$run"
		expect "$run: tail's exit status after SIGTERM" 0 "$RC" "$(show_err "$run")"
		expect "$run: all $fed events printed" "$fed" "$(grep -vc '"kind":"alert"' "$T/$run.stdout")"
		alerts "$T/$run.stdout" >"$T/$run.alerts"
		if cmp -s "$T/$run.alerts" "$T/c6-parse.alerts"; then
			ok "$run: the same $(count_lines "$T/$run.alerts") alerts (rule, source, time) as parse"
		else
			bad "$run: the same alerts as parse" "parse: $(tr '\t\n' ' |' <"$T/c6-parse.alerts")" \
				"tail:  $(tr '\t\n' ' |' <"$T/$run.alerts")"
		fi
	done
	within "c6-jump: the wall clock tail read jumped back (jumps)" 4 1000000 "$(rep c6-jump clock_jumps)"

	# c7) forward 25 h after a file was deleted: with --forget-after 1h a
	# finished file aged by the wall clock would be forgotten, and its
	# compressed copy, found later, sent again
	mkdir -p "$T/in/c7"
	seq 1 100 | sed 's/^/c7 first /' >"$T/in/c7/app.log"
	shim_bg c7 LS_CLOCK_JUMP=90000 "LS_CLOCK_JUMP_FILE=$T/c7.jump" -- ship --to "file://$T/c7.out" \
		--state "$T/st-c7" --flush-interval 100ms --checkpoint-interval 200ms --forget-after 1h \
		"$T/in/c7/app.log*"
	wait_for 30 has_lines "$T/c7.out" 100
	mv "$T/in/c7/app.log" "$T/in/c7/app.log.1"
	seq 1 10 | sed 's/^/c7 second /' >"$T/in/c7/app.log"
	wait_for 30 has_lines "$T/c7.out" 110
	# (the sleeps give logship time to see the deletion, then to save a
	# checkpoint after the jump: too short, and the check passes vacuously)
	sleep 0.5
	rm "$T/in/c7/app.log.1"
	sleep 0.5
	touch "$T/c7.jump"
	seq 11 20 | sed 's/^/c7 second /' >>"$T/in/c7/app.log"
	wait_for 30 has_lines "$T/c7.out" 120
	sleep 0.6
	seq 1 100 | sed 's/^/c7 first /' | gzip >"$T/in/c7.gz"
	mv "$T/in/c7.gz" "$T/in/c7/app.log.1.gz"
	sleep 0.3
	echo 'c7 marker' >>"$T/in/c7/app.log"
	wait_for 30 grep -q '"c7 marker"' "$T/c7.out"
	sleep 0.3
	stop_bg c7
	expect "c7: exit status after SIGTERM" 0 "$RC" "$(show_err c7)"
	expect "c7: the wall clock jumped 25 h forward" 1 "$(rep c7 clock_jumps)"
	{ seq 1 100 | sed 's/^/c7 first /'; seq 1 20 | sed 's/^/c7 second /'; echo 'c7 marker'; } >"$T/c7.expect"
	exactly_once "c7: the compressed copy of a finished file is not re-sent" "$T/c7.expect" "$T/c7.out"
fi

# ---- slow: a sink that reads slowly
if want slow; then
	INS=$T/in/slow.log
	seq 1 200000 | sed 's/^/line /' >"$INS"
	seq 1 1000 | sed 's/^/line /' >"$T/in/small.log"
	sink_start s0
	peak_rss s0 ship --to "http://127.0.0.1:$SINK_PORT/s" --once --state "$T/st-s0" \
		--max-inflight-bytes 1M "$T/in/small.log"
	base=$PEAK
	sink_stop "$SINK_PID"

	sink_start s1 --read-rate 393216
	peak_rss s1 ship --to "http://127.0.0.1:$SINK_PORT/s" --once --state "$T/st-s1" \
		--max-inflight-bytes 1M "$INS"
	expect "s1: exit status with a sink reading 384 KiB/s per connection" 0 "$RC" "$(show_err s1)"
	exactly_once "s1" "$INS" "$T/s1.out"
	waits=$(posts "$T/s1.log" | grep -oP '\tthrottled=\K\d+' | awk '{ n += $1 } END { print n + 0 }')
	body=$(posts "$T/s1.log" | grep -oP '\tbody=\K\d+' | awk '{ n += $1 } END { print n + 0 }')
	if [ "$waits" -gt 0 ]; then ok "s1: the sink held logship back ($waits waits for the read rate)"; else bad "s1: the sink held logship back" "no request waited for the read rate"; fi
	max_kb=$(((1 + 16) * 1024))
	echo "     (s1: $((body / 1048576)) MiB of events; peak RSS ${PEAK} kB, a 1000-line run's ${base} kB)"
	if [ "$PEAK" -gt 0 ] && [ "$base" -gt 0 ] && [ $((PEAK - base)) -le "$max_kb" ]; then
		ok "s1: peak RSS ${PEAK} kB is within 1 MiB in flight + 16 MiB of the baseline (${base} kB)"
	else
		bad "s1: peak RSS within 1 MiB in flight + 16 MiB of a 1000-line run's (${base} kB)" \
			"expected: <= $((base + max_kb)) kB" "actual:   ${PEAK} kB"
	fi
	sink_stop "$SINK_PID"

	# s2) one request takes longer than --timeout at this rate (3000 lines of
	# varied text: about 45 KB of gzip per 1000-line request, 5 s at 8 KiB/s)
	awk 'BEGIN { srand(7); for (i = 1; i <= 3000; i++) printf "line %d user=u%d req=%08x took=%dms\n", i, int(rand() * 1000), int(rand() * 4294967295), int(rand() * 5000) }' >"$T/in/s2.log"
	sink_start s2 --read-rate 8192
	port=$SINK_PORT
	LAST_CMD="logship ship --once --timeout 2s --max-retry-time 3s (sink: 8 KiB/s)"
	timeout -k 5 60 "$LOGSHIP" ship --to "http://127.0.0.1:$port/s2" --once --state "$T/st-s2" --timeout 2s \
		--max-retry-time 3s --backoff-cap 200ms "$T/in/s2.log" >"$T/s2.stdout" 2>"$T/s2.err"
	RC=$?
	cut=$(grep -c $'\taction=incomplete' "$T/s2.log")
	case $RC in
	0) ok "s2: --once delivered through the slow sink (exit 0)" ;;
	3) ok "s2: --once gave up (exit 3): every request outlasted --timeout 2s ($cut cut off)" ;;
	*) bad "s2: --once exit status 0 or 3" "actual: $RC" "$(show_err s2)" ;;
	esac
	echo "     (s2: $(posts "$T/s2.log" | wc -l) requests answered, $cut cut off by the client)"
	sink_stop "$SINK_PID"
	sink_start s2b --port "$port"
	LAST_CMD="logship ship --once (rerun, a fast sink)"
	timeout -k 5 60 "$LOGSHIP" ship --to "http://127.0.0.1:$port/s2" --once --state "$T/st-s2" \
		"${OPTS[@]}" "$T/in/s2.log" >"$T/s2b.stdout" 2>"$T/s2b.err"
	RC=$?
	expect "s2: a rerun with a fast sink exits 0" 0 "$RC" "$(show_err s2b)"
	# A request logship gave up on was already in the kernel's send buffer:
	# the slow sink may still read and record it, its answer lost. So lines
	# may come twice (at least once), always with the same event.id, so the
	# sink can drop the copies; the rerun itself sends each line once.
	total=$(count_lines "$T/s2.out" "$T/s2b.out")
	distinct=$(cat "$T/s2.out" "$T/s2b.out" | jq -r .message | sort -u | wc -l | tr -d ' ')
	pairs=$(cat "$T/s2.out" "$T/s2b.out" | jq -r '[.message, .event.id] | @tsv' | sort -u | wc -l | tr -d ' ')
	echo "     (s2: $(count_lines "$T/s2.out") events recorded by the slow sink, $(count_lines "$T/s2b.out") by the rerun's; $((total - distinct)) duplicates)"
	expect "s2: every line delivered across both runs" 3000 "$distinct"
	expect "s2: a line sent twice keeps its event.id" "$distinct" "$pairs"
	expect "s2: the rerun sends each line at most once" 0 \
		"$(jq -r .message "$T/s2b.out" | sort | uniq -d | wc -l | tr -d ' ')"
	sink_stop "$SINK_PID"
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
