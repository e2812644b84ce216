#!/usr/bin/env bash
# sink-retry.sh - how ship waits for and retries a sink that fails, with
# the fake sink (tests/integration/fakesink.c, 127.0.0.1 only):
#
#  a) a sink answering every request 503 + "Retry-After: 0": --once
#     --max-retry-time 3s sends a handful of requests (the backoff's pace),
#     not thousands, and exits 3 with nothing recorded
#  b) the same with Retry-After an HTTP-date in the past
#  c) following, the same sink for 3 s and then the shutdown window: still
#     the backoff's pace, and a clean exit 0 on SIGTERM
#  d) Elasticsearch answering 200 "errors":false with 1 item for 30 events:
#     not delivered (exit 3, a message saying why), and the next run sends
#     the 30 events again
#  e) --timeout 2s against a sink that accepts the request and never
#     answers: the request ends within a second of the 2 s (--once
#     --max-retry-time 1s exits 3 in under 5 s)
#
# Each check bounds a count or a time from one side only (a guard, never a
# benchmark). KEEP=1 keeps the temp dir; LOGSHIP=path picks the binary;
# ONLY="a b" runs only those checks. Ends with "N passed, N failed".
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
	echo "sink-retry: $LOGSHIP not built (run make)"
	echo "0 passed, 1 failed"
	exit 1
fi

scratch_setup sinkretry
fakesink_build sink-retry

want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }

# ship NAME SECONDS ARGS...: logship ship (killed after SECONDS) with
# stdout and stderr in $T/NAME.stdout, $T/NAME.err; sets RC and EL (ms).
ship() {
	local name=$1 limit=$2 t0
	shift 2
	LAST_CMD="logship ship $*"
	t0=$(now_ms)
	timeout -k 5 "$limit" "$LOGSHIP" ship "$@" >"$T/$name.stdout" 2>"$T/$name.err"
	RC=$?
	EL=$(($(now_ms) - t0))
}

# show_err NAME: the command and the end of its stderr, for failure details.
show_err() {
	echo "command: $LAST_CMD"
	echo "stderr (tail): $(tail -n 5 "$T/$1.err" 2>/dev/null | tr '\n' '|' | cut -c1-600)"
}

# requests NAME: POST requests the fake sink NAME answered.
requests() { grep -c '^req=[0-9]' "$T/$1.log" 2>/dev/null; }

# count_lines FILE...: lines in the files together.
count_lines() { cat "$@" 2>/dev/null | wc -l | tr -d ' '; }

# 50 syslog lines, each an event with its own event.id
mkdir -p "$T/in"
IN=$T/in/a.log
for i in $(seq 1 50); do
	printf 'Nov 14 22:13:%02d web1 sshd[%d]: Failed password for root from 192.0.2.%d port 22 ssh2\n' \
		$((i % 60)) $((1000 + i)) "$i"
done >"$IN"

# ---- a) b) 503 + Retry-After 0 / a date past, --once --max-retry-time 3s
# Before, each answer was taken as "no pause": ~20,000 requests in 3 s.
# Full jitter makes the backoff's delays random between 0 and 250 ms,
# 500 ms, 1 s ...: some 5 to 15 requests in 3 s; 60 is far above that.
for run in "a 503@0*60s" "b 503@date-30*60s"; do
	set -- $run
	name=$1 step=$2
	want "$name" || continue
	sink_start "$name" --script "$step"
	ship "$name" 30 --once -q --state "$T/st-$name" --max-retry-time 3s \
		--to "http://127.0.0.1:$SINK_PORT/$name" "$IN"
	n=$(requests "$name")
	sink_stop "$SINK_PID"
	what="Retry-After ${step#503@}"
	what=${what%\*60s}
	expect "$name: --once gives up (exit 3) while the sink answers 503, $what" 3 "$RC" \
		"took $EL ms" "$(show_err "$name")"
	within "$name: requests in 3 s to a sink answering 503 with $what (the backoff's pace)" \
		2 60 "$n" "$(show_err "$name")"
	within "$name: gave up near --max-retry-time 3s (ms)" 2500 10000 "$EL"
	expect "$name: nothing recorded" 0 "$(count_lines "$T/$name.out")"
done

# ---- c) following: 503 + Retry-After 0 for 3 s, then SIGTERM with a 2 s
# shutdown window in which the sink still says the same
if want c; then
	sink_start c --script '503@0*60s'
	LAST_CMD="logship ship --shutdown-timeout 2s (follow; sink: 503, Retry-After: 0)"
	"$LOGSHIP" ship --state "$T/st-c" --shutdown-timeout 2s \
		--to "http://127.0.0.1:$SINK_PORT/c" "$IN" >"$T/c.stdout" 2>"$T/c.err" &
	lp=$!
	bg_pids+=("$lp")
	if wait_for 20 grep -q $'\tstatus=503\t' "$T/c.log"; then
		sleep 3
		kill -TERM "$lp"
		if wait_for 10 eval '! kill -0 '"$lp"' 2>/dev/null'; then
			wait "$lp"
			expect "c: exit status after SIGTERM while the sink answers 503" 0 "$?" "$(show_err c)"
		else
			bad "c: stops after SIGTERM (--shutdown-timeout 2s)" "still running 10 s after it" \
				"$(show_err c)"
			kill -9 "$lp" 2>/dev/null
			wait "$lp" 2>/dev/null
		fi
		within "c: requests in 3 s of following and the 2 s shutdown window (the backoff's pace)" \
			2 80 "$(requests c)" "$(show_err c)"
	else
		bad "c: the sink answers 503" "no request in 20 s" "$(show_err c)"
		kill -9 "$lp" 2>/dev/null
		wait "$lp" 2>/dev/null
	fi
	sink_stop "$SINK_PID"
fi

# ---- d) Elasticsearch: 200, "errors":false, but 1 item for 30 events
# Before, that was taken as full success and the checkpoint moved past the
# 29 events no item answered for.
if want d; then
	head -n 30 "$IN" >"$T/in/d.log"
	sink_start d --ok-body '{"took":1,"errors":false,"items":[{"create":{"status":201}}]}'
	ship d 30 --once -q --name d --state "$T/st-d" --max-retry-time 2s --batch-size 100 \
		--to "elasticsearch+http://127.0.0.1:$SINK_PORT/logs" "$T/in/d.log"
	sink_stop "$SINK_PID"
	expect "d: --once exits 3 when the bulk answer lists 1 item for 30 events" 3 "$RC" \
		"$(show_err d)"
	if grep -q 'lists 1 items for 30 events sent' "$T/d.err"; then
		ok "d: the message says what is wrong with the answer"
	else
		bad "d: the message says what is wrong with the answer" "$(show_err d)"
	fi
	# the checkpoint stayed before the 30 events: a run against a sink that
	# answers for each of them (batches of 10: the fake sink's answers hold
	# 600 bytes) delivers all 30
	items=$(printf '{"create":{"status":201}},%.0s' $(seq 1 10))
	sink_start d2 --ok-body "{\"took\":1,\"errors\":false,\"items\":[${items%,}]}"
	ship d2 30 --once -q --name d --state "$T/st-d" --batch-size 10 \
		--to "elasticsearch+http://127.0.0.1:$SINK_PORT/logs" "$T/in/d.log"
	sink_stop "$SINK_PID"
	expect "d: the next run (a sink answering for every event) exits 0" 0 "$RC" "$(show_err d2)"
	expect "d: the next run delivers the 30 events again" 30 \
		"$(grep -c '"message"' "$T/d2.out")" "$(show_err d2)"
fi

# ---- e) --timeout 2s against a sink that takes the request and never
# answers. Before, libcurl's low-speed check ended such a request some 5 s
# after the timeout (7 s; 36 s for the default 30 s). The first request now
# ends within a second of the 2 s; --max-retry-time 1s then gives up 1 s
# later, while the second request waits.
if want e; then
	sink_start e --then 'stall=60000'
	ship e 40 --once -q --state "$T/st-e" --timeout 2s --max-retry-time 1s \
		--to "http://127.0.0.1:$SINK_PORT/e" "$IN"
	sink_stop "$SINK_PID"
	expect "e: --once exits 3 when the sink never answers" 3 "$RC" "$(show_err e)"
	within "e: ms until it gave up (a 2 s --timeout, then 1 s of --max-retry-time)" \
		2000 5000 "$EL" "$(show_err e)"
	if grep -q 'no byte moved for 2 s (--timeout)' "$T/e.err"; then
		ok "e: the reason names --timeout"
	else
		bad "e: the reason names --timeout" "$(show_err e)"
	fi
fi

finish
