#!/usr/bin/env bash
# sink-retry.sh - how ship waits for and retries a sink that fails, with
# the fake sink (tests/integration/fakesink.c, 127.0.0.1 only):
#
#  a) a sink answering every request 503 + "Retry-After: 0": --once
#     --max-retry-time 3s sends a handful of requests (the backoff's pace),
#     not thousands, and exits 3 with nothing recorded
#  b) the same with Retry-After an HTTP-date in the past
#  c) following, the same sink for 3 s and then the shutdown window: still
#     the backoff's pace, one warning on stderr, and a clean exit 0 on
#     SIGTERM
#  d) Elasticsearch answering 200 "errors":false with 1 item for 30 events:
#     not delivered (exit 3, a message saying why), and the next run sends
#     the 30 events again
#  e) --timeout 2s against a sink that accepts the request and never
#     answers: the request ends within a second of the 2 s (--once
#     --max-retry-time 1s exits 3 in under 5 s)
#  f) the file sink, writes failing (tests/faults/inject.c: ENOSPC, EIO,
#     EDQUOT, a short write): --once --max-retry-time 2s exits 3, no torn
#     line, and the next run writes the rest, every event once; one failed
#     write is retried (exit 0); following goes on and warns once; a failed
#     fsync and a path that cannot be opened are exit 2
#  g) the same on a real full disk, a 64 KiB tmpfs (root only): --once
#     exits 3; following, logship waits until room is made, then writes
#     every event once
#
# Times are bounded loosely (a guard, never a benchmark). KEEP=1 keeps the temp dir; LOGSHIP=path picks the binary;
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

# syslog lines of an application, one event each (no security rule, so
# no threshold alert adds events: a count of lines is a count of events)
mkdir -p "$T/in"
IN=$T/in/a.log
syslog_lines() {
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
		printf "Nov 14 22:%02d:%02d web1 app[%d]: request %d served in %d ms\n",
			int(i / 60) % 60, i % 60, 1000 + i, i, i * 7 % 1000 }'
}
syslog_lines 50 >"$IN"

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
		expect "c: one warning on stderr for the outage, not one per request" 1 \
			"$(grep -c 'warning: the sink is failing (HTTP 503' "$T/c.err")" "$(show_err c)"
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

# ---- f) the file sink on a full disk (ENOSPC), EIO, EDQUOT
# Before, a failed write ended the run at once with exit 2 (a usage error),
# whatever --max-retry-time said, and ended follow mode too. A failed write
# is now the sink failing, like a 503: retried with backoff; --once gives
# up at --max-retry-time with exit 3, the checkpoint before what was not
# written; a body written half-way is cut back off, so no line is torn and
# nothing written twice. A path that cannot be opened stays exit 2.

# lines FILE: "LINES DISTINCT TORN": the file's JSON lines, their distinct
# event.id values, and the pieces that are not a whole JSON line
lines() {
	python3 - "$1" <<'PY'
import json, sys
try:
    raw = open(sys.argv[1], 'rb').read()
except OSError:
    raw = b''
parts = raw.split(b'\n')
torn = 0 if not parts[-1] else 1
ids = []
for p in parts[:-1]:
    try:
        ids.append(json.loads(p)['event']['id'])
    except Exception:
        torn += 1
print(len(ids), len(set(ids)), torn)
PY
}

# once_each NAME FILE N: FILE holds N whole lines, N distinct events, none
# torn (every event once)
once_each() {
	local got
	got=$(lines "$2")
	expect "$1: every event once, no torn line (lines distinct torn)" "$3 $3 0" "$got"
}

# the fault injector (tests/faults/inject.c); not under ASan, whose
# allocator its malloc wrappers would bypass
SHIM=
if [ -z "${LOGSHIP_SANITIZE:-}" ] && ! ldd "$LOGSHIP" 2>/dev/null | grep -q 'libasan'; then
	if cc -shared -fPIC -O1 -o "$T/inject.so" "$SRC/tests/faults/inject.c" -ldl 2>"$T/inject.err"; then
		SHIM=$T/inject.so
	else
		bad "f: cannot build the fault injector" "$(head -3 "$T/inject.err")"
	fi
fi

# fship NAME SECONDS ENV... -- ARGS...: ship --once to file://$T/NAME/out.ndjson
# with state $T/NAME/st and the fault ENV (through the injector)
fship() {
	local name=$1 limit=$2 envs=() t0
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	mkdir -p "$T/$name"
	LAST_CMD="${envs[*]} logship ship --once --to file://$T/$name/out.ndjson $*"
	t0=$(now_ms)
	env "${envs[@]}" timeout -k 5 "$limit" "$LOGSHIP" ship --once --state "$T/$name/st" \
		--to "file://$T/$name/out.ndjson" "$@" >"$T/$name.stdout" 2>"$T/$name.err"
	RC=$?
	EL=$(($(now_ms) - t0))
}

if want f && [ -n "$SHIM" ]; then
	inj=(LD_PRELOAD="$SHIM" LS_FAIL_OP=write LS_FAIL_PATH=out.ndjson)
	for run in "f1 ENOSPC 0" "f2 EIO 0" "f3 EDQUOT 0" "f4 ENOSPC 1"; do
		set -- $run
		name=$1 errno=$2 short=$3
		what="$errno from the 3rd write on"
		[ "$short" = 1 ] && what="a short 3rd write, then $errno"
		fship "$name" 30 "${inj[@]}" LS_FAIL_ERRNO="$errno" LS_FAIL_NTH=3 LS_FAIL_PERSIST=1 \
			LS_FAIL_SHORT="$short" -- -q --batch-size 7 --max-retry-time 2s "$IN"
		expect "$name: --once exits 3 on $what (the sink failing)" 3 "$RC" "$(show_err "$name")"
		within "$name: gave up near --max-retry-time 2s, not at once (ms)" 1900 10000 "$EL"
		if grep -q "cannot write $T/$name/out.ndjson" "$T/$name.err"; then
			ok "$name: the message names the file"
		else
			bad "$name: the message names the file" "$(show_err "$name")"
		fi
		set -- $(lines "$T/$name/out.ndjson")
		if [ "$3" = 0 ] && [ "$1" = "$2" ] && [ "$1" -gt 0 ] && [ "$1" -lt 50 ]; then
			ok "$name: the file holds the $1 events written before, no torn line"
		else
			bad "$name: the file holds whole lines only, each event once" \
				"lines distinct torn: $*"
		fi
		# the checkpoint did not pass what was not written: a run without
		# the fault writes the rest, each event once
		fship "$name" 30 LS_NONE=1 -- -q --batch-size 7 "$IN"
		expect "$name: the next run, the disk writable again, exits 0" 0 "$RC" "$(show_err "$name")"
		once_each "$name" "$T/$name/out.ndjson" 50
	done

	# one failed write, one failed fsync: retried, delivered, exit 0
	fship f5 30 "${inj[@]}" LS_FAIL_ERRNO=ENOSPC LS_FAIL_NTH=3 -- -q --batch-size 7 "$IN"
	expect "f5: one failed write is retried: exit 0" 0 "$RC" "$(show_err f5)"
	once_each f5 "$T/f5/out.ndjson" 50
	# a failed fsync may have lost what was written (the kernel reports it
	# once): the run stops, the checkpoint before all of it, and the next
	# run writes it again (some events twice, with the same event.id)
	fship f6 30 LD_PRELOAD="$SHIM" LS_FAIL_OP=fsync LS_FAIL_PATH=out.ndjson LS_FAIL_ERRNO=EIO \
		LS_FAIL_NTH=1 -- -q --batch-size 7 "$IN"
	expect "f6: a failed fsync stops the run: exit 2" 2 "$RC" "$(show_err f6)"
	fship f6 30 LS_NONE=1 -- -q --batch-size 7 "$IN"
	expect "f6: the next run exits 0" 0 "$RC" "$(show_err f6)"
	set -- $(lines "$T/f6/out.ndjson")
	if [ "$2" = 50 ] && [ "$3" = 0 ]; then
		ok "f6: every event at least once ($1 lines), none torn"
	else
		bad "f6: every event at least once, none torn" "lines distinct torn: $*"
	fi

	# following: the disk stays full; logship keeps going, warns once
	mkdir -p "$T/f7"
	LAST_CMD="logship ship (follow) --to file://$T/f7/out.ndjson, ENOSPC on every write"
	env "${inj[@]}" LS_FAIL_ERRNO=ENOSPC LS_FAIL_NTH=1 LS_FAIL_PERSIST=1 \
		"$LOGSHIP" ship --state "$T/f7/st" --batch-size 7 --backoff-cap 500ms \
		--to "file://$T/f7/out.ndjson" "$IN" >"$T/f7.stdout" 2>"$T/f7.err" &
	lp=$!
	bg_pids+=("$lp")
	if wait_for 10 grep -q 'No space left on device' "$T/f7.err"; then
		sleep 2
		if kill -0 "$lp" 2>/dev/null; then
			ok "f7: following goes on while the disk is full"
			kill -TERM "$lp"
			wait_for 15 eval '! kill -0 '"$lp"' 2>/dev/null'
			wait "$lp"
			expect "f7: exit status after SIGTERM" 0 "$?" "$(show_err f7)"
		else
			wait "$lp"
			bad "f7: following goes on while the disk is full" "exited $?" "$(show_err f7)"
		fi
		expect "f7: one warning for the outage, not one per retry" 1 \
			"$(grep -c 'No space left on device' "$T/f7.err")" "$(show_err f7)"
	else
		bad "f7: says on stderr that the file cannot be written" "$(show_err f7)"
		kill -9 "$lp" 2>/dev/null
		wait "$lp" 2>/dev/null
	fi
fi

if want f; then
	# a path that cannot be opened is a mistake in the configuration: 2
	mkdir -p "$T/f8"
	LAST_CMD="logship ship --once --to file://$T/no/such/dir/out.ndjson"
	timeout 30 "$LOGSHIP" ship --once -q --state "$T/f8/st" \
		--to "file://$T/no/such/dir/out.ndjson" "$IN" >"$T/f8.stdout" 2>"$T/f8.err"
	expect "f8: a directory that does not exist: exit 2" 2 "$?" "$(show_err f8)"
	LAST_CMD="logship ship --once --to file://$IN/out.ndjson"
	timeout 30 "$LOGSHIP" ship --once -q --state "$T/f8/st2" \
		--to "file://$IN/out.ndjson" "$IN" >"$T/f8.stdout" 2>"$T/f8.err"
	expect "f8: a path under a regular file: exit 2" 2 "$?" "$(show_err f8)"
	if [ "$(id -u)" != 0 ]; then
		mkdir -p "$T/f8/ro"
		chmod 0500 "$T/f8/ro"
		LAST_CMD="logship ship --once --to file://$T/f8/ro/out.ndjson"
		timeout 30 "$LOGSHIP" ship --once -q --state "$T/f8/st3" \
			--to "file://$T/f8/ro/out.ndjson" "$IN" >"$T/f8.stdout" 2>"$T/f8.err"
		expect "f8: no permission to make the file: exit 2" 2 "$?" "$(show_err f8)"
		chmod 0700 "$T/f8/ro"
	fi
fi

# ---- g) the same on a real full disk: a tmpfs of 64 KiB (root only)
# 400 events (some 240 KB of NDJSON) do not fit
TFS=$T/tfs
mounted=0
if want g && [ "$(id -u)" = 0 ] && mkdir -p "$TFS" &&
	mount -t tmpfs -o size=64k,mode=0700 tmpfs "$TFS" 2>/dev/null; then
	mounted=1
	umount_tfs() { umount "$TFS" 2>/dev/null; }
	trap 'umount_tfs; scratch_cleanup' EXIT
	syslog_lines 400 >"$T/in/g.log"
	LAST_CMD="logship ship --once --batch-size 7 --max-retry-time 2s --to file://$TFS/out.ndjson (64 KiB tmpfs)"
	t0=$(now_ms)
	timeout -k 5 30 "$LOGSHIP" ship --once --state "$T/st-g" --batch-size 7 --max-retry-time 2s \
		--to "file://$TFS/out.ndjson" "$T/in/g.log" >"$T/g.stdout" 2>"$T/g.err"
	RC=$?
	EL=$(($(now_ms) - t0))
	expect "g: --once on a full tmpfs exits 3" 3 "$RC" "$(show_err g)"
	within "g: gave up near --max-retry-time 2s (ms)" 1900 10000 "$EL"
	if grep -q 'No space left on device' "$T/g.err"; then ok "g: the message says the disk is full"; else bad "g: the message says the disk is full" "$(show_err g)"; fi
	set -- $(lines "$TFS/out.ndjson")
	if [ "$3" = 0 ] && [ "$1" = "$2" ] && [ "$1" -gt 0 ] && [ "$1" -lt 400 ]; then
		ok "g: the full disk holds $1 whole events, no torn line"
	else
		bad "g: the full disk holds whole lines only" "lines distinct torn: $*"
	fi
	mount -o remount,size=2m "$TFS"
	LAST_CMD="logship ship --once (the tmpfs now 2 MiB)"
	timeout -k 5 30 "$LOGSHIP" ship --once -q --state "$T/st-g" --batch-size 7 \
		--to "file://$TFS/out.ndjson" "$T/in/g.log" >"$T/g.stdout" 2>"$T/g.err"
	expect "g: with room again, the next run exits 0" 0 "$?" "$(show_err g)"
	once_each g "$TFS/out.ndjson" 400

	# following: the disk fills up, then room is made; logship goes on,
	# warns once, says when it can write again, and writes every event once
	rm -f "$TFS/out.ndjson"
	mount -o remount,size=64k "$TFS"
	LAST_CMD="logship ship (follow) --to file://$TFS/out.ndjson (64 KiB tmpfs)"
	"$LOGSHIP" ship --state "$T/st-g2" --batch-size 7 --backoff-cap 300ms \
		--to "file://$TFS/out.ndjson" "$T/in/g.log" >"$T/g2.stdout" 2>"$T/g2.err" &
	lp=$!
	bg_pids+=("$lp")
	if wait_for 15 grep -q 'No space left on device' "$T/g2.err"; then
		sleep 1
		if kill -0 "$lp" 2>/dev/null; then ok "g2: following goes on while the disk is full"; else bad "g2: following goes on while the disk is full" "$(show_err g2)"; fi
		mount -o remount,size=2m "$TFS"
		if wait_for 15 eval '[ "$(lines "$TFS/out.ndjson" | cut -d" " -f1)" -ge 400 ]'; then
			ok "g2: with room again, the events are written"
		else
			bad "g2: with room again, the events are written" "$(lines "$TFS/out.ndjson")" "$(show_err g2)"
		fi
		kill -TERM "$lp"
		wait_for 15 eval '! kill -0 '"$lp"' 2>/dev/null'
		wait "$lp"
		expect "g2: exit status after SIGTERM" 0 "$?" "$(show_err g2)"
		once_each g2 "$TFS/out.ndjson" 400
		expect "g2: one warning for the outage, not one per retry" 1 \
			"$(grep -c 'No space left on device' "$T/g2.err")" "$(show_err g2)"
		if grep -q 'can be written again' "$T/g2.err"; then ok "g2: says when the file can be written again"; else bad "g2: says when the file can be written again" "$(show_err g2)"; fi
	else
		bad "g2: says on stderr that the disk is full" "$(show_err g2)"
		kill -9 "$lp" 2>/dev/null
		wait "$lp" 2>/dev/null
	fi
	umount_tfs
elif want g; then
	echo "     (g: a tmpfs needs root and mount: the full-disk runs on a real tmpfs are left out)"
fi

finish
