#!/usr/bin/env bash
# ship-http.sh - `logship ship` against a scriptable fake HTTP sink
# (tests/integration/fakesink.c, built here into the temp dir).
#
# Checks, each with its own state dir (and the same input where it can):
#  a) happy path --once: exit 0, every line exactly once, gzip bodies;
#     a second --once run sends nothing new
#  b) 500, 429 (Retry-After: 1), 503 (Retry-After: an HTTP-date), then 200:
#     exit 0, everything exactly once, the retries are in the sink's log and
#     no request starts before a Retry-After has passed (--concurrency 1)
#  c) 413 on the first request: the batch is split in halves and everything
#     arrives exactly once; c2) a sink that 413s any body over 30 lines:
#     batches of 100 are split down to fit
#  d) 400 for requests holding either of 2 lines, --batch-size 1: exit 4, those
#     2 lines (only) in STATE/dead-letter/*.ndjson (mode 0600), the others
#     delivered exactly once
#     d2) the same with --batch-size 100: the whole 400'd request is
#     dead-lettered, the rest delivered
#  e) 401 always, --max-retry-time 2s: exit 3, nothing dead-lettered; then a
#     healthy sink on the same URL gets everything (checkpoint not advanced)
#  f) connection refused, --max-retry-time 2s: exit 3; then everything
#  g) the first request stalls past --timeout 1s: everything at least once;
#     duplicates only from the timed-out request (counted, printed)
#  h) SIGTERM in follow mode with a slow sink: exit 0 within the shutdown
#     timeout; a following --once run to a healthy sink delivers the rest
#     (every line in the union; duplicates counted, printed)
#  i) --header / --header-env / --auth-env arrive at the sink; the secrets are
#     never in logship's stderr or argv (/proc/PID/cmdline), not even when
#     the sink fails
#  k) a connection closed without an answer, a non-HTTP answer and a truncated
#     answer are retried: everything exactly once; --compress zstd and none
#  l) a sink answering 429 with Retry-After: 12: --once --max-retry-time 2s
#     gives up (exit 3) well before 12 s; in follow mode SIGTERM with
#     --shutdown-timeout 2s stops it well before 12 s
#  j) memory bound: 200k lines into a sink answering 503 for 5 s, with
#     --max-inflight-bytes 1M: peak RSS (VmHWM, sampled) at most 1 MiB + 16 MiB
#     above the peak of a 1000-line run (the shared libraries alone are ~10
#     MiB of RSS, so an absolute 17 MiB cannot hold), then everything once
#
# KEEP=1 keeps the temp dir. LOGSHIP=path picks the binary. ONLY="a b" runs
# only those checks. Ends with one line "N passed, N failed".
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
	echo "ship-http: $LOGSHIP not built (run make)"
	echo "0 passed, 1 failed"
	exit 1
fi
if ! "$LOGSHIP" ship --help >/dev/null 2>&1; then
	echo "ship-http: '$LOGSHIP ship' is not available"
	echo "0 passed, 1 failed"
	exit 1
fi
if command -v jq >/dev/null 2>&1; then
	JSON=jq
elif command -v python3 >/dev/null 2>&1; then
	JSON=python3
else
	echo "ship-http: needs jq or python3 to read the delivered events"
	echo "0 passed, 1 failed"
	exit 1
fi

scratch_setup shiphttp

fakesink_build ship-http

want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }

# ship NAME ARGS...: runs logship ship (timeout 90 s) with stderr in
# $T/NAME.err; sets RC.
ship() {
	local name=$1
	shift
	LAST_CMD="logship ship $*"
	timeout 90 "$LOGSHIP" ship "$@" >"$T/$name.stdout" 2>"$T/$name.err"
	RC=$?
}

# show_err NAME: the last lines of a run's stderr, for failure details.
show_err() {
	echo "command: $LAST_CMD"
	echo "stderr (tail): $(tail -n 5 "$T/$1.err" 2>/dev/null | tr '\n' '|' | cut -c1-600)"
}

# field FIELD FILE...: FIELD (jq path like .event.id) of every JSON line.
field() {
	local f=$1
	shift
	if [ "$JSON" = jq ]; then
		cat "$@" | jq -r "$f // \"<none>\""
	else
		cat "$@" | python3 -c '
import sys, json
path = [p for p in sys.argv[1].split(".") if p]
for line in sys.stdin:
    v = json.loads(line)
    for p in path:
        v = v.get(p) if isinstance(v, dict) else None
    print("<none>" if v is None else v)
' "$f"
	fi
}

# count_lines FILE...: lines in the files together.
count_lines() { cat "$@" 2>/dev/null | wc -l | tr -d ' '; }

# ids_ok NAME N OUT...: the events' event.id values are N distinct hex ids
# (a re-sent event keeps its id, so duplicates of one line count once).
ids_ok() {
	local name=$1 n=$2
	shift 2
	local ids nonhex
	ids=$(field .event.id "$@" | sort -u | wc -l | tr -d ' ')
	nonhex=$(field .event.id "$@" | grep -vxE '[0-9a-f]{16,}' | sort | uniq -c | head -3 | tr -s ' ' | tr '\n' '|')
	if [ "$ids" = "$n" ] && [ -z "$nonhex" ]; then
		ok "$name: $n distinct hex event.id values"
	else
		bad "$name: $n distinct hex event.id values" "distinct event.id: $ids" \
			"ids that are not 16+ hex digits (count id): ${nonhex:-none}"
	fi
}

# exactly_once NAME INPUT OUT...: every input line delivered exactly once
# (input lines are unique: the delivered messages, sorted, equal the input).
exactly_once() {
	local name=$1 input=$2
	shift 2
	local n total
	n=$(count_lines "$input")
	total=$(count_lines "$@")
	if [ "$total" = "$n" ] && cmp -s <(field .message "$@" | sort) <(sort "$input"); then
		ok "$name: all $n lines exactly once"
	else
		local missing extra dups
		missing=$(comm -23 <(sort -u "$input") <(field .message "$@" | sort -u) | wc -l)
		extra=$(comm -13 <(sort -u "$input") <(field .message "$@" | sort -u) | wc -l)
		dups=$(field .message "$@" | sort | uniq -d | wc -l)
		bad "$name: all $n lines exactly once" \
			"delivered events: $total, input lines missing: $missing, delivered more than once: $dups, unknown messages: $extra" \
			"first missing: $(comm -23 <(sort -u "$input") <(field .message "$@" | sort -u) | head -3 | tr '\n' '|')"
	fi
	ids_ok "$name" "$n" "$@"
}

# at_least_once NAME INPUT OUT...: every input line delivered; sets DUPS
# (events delivered more than once) and prints the count; a re-sent event
# must carry the same event.id.
at_least_once() {
	local name=$1 input=$2
	shift 2
	local n total distinct missing pairs
	n=$(count_lines "$input")
	total=$(count_lines "$@")
	distinct=$(field .message "$@" | sort -u | wc -l | tr -d ' ')
	missing=$(comm -23 <(sort -u "$input") <(field .message "$@" | sort -u) | wc -l | tr -d ' ')
	DUPS=$((total - distinct))
	echo "     ($name: $total events delivered, $distinct distinct lines, $DUPS duplicates)"
	if [ "$missing" = 0 ]; then
		ok "$name: all $n lines at least once"
	else
		bad "$name: all $n lines at least once" "missing lines: $missing" \
			"first missing: $(comm -23 <(sort -u "$input") <(field .message "$@" | sort -u) | head -3 | tr '\n' '|')"
	fi
	if [ "$JSON" = jq ]; then
		pairs=$(cat "$@" | jq -r '[.message, .event.id] | @tsv' | sort -u | wc -l | tr -d ' ')
		expect "$name: a re-sent line keeps its event.id" "$distinct" "$pairs"
	fi
}

# logv FILE REQ KEY: KEY's value in the sink log line of request REQ.
logv() { awk -F'\t' -v r="req=$2" -v k="$3=" '$1 == r { for (i = 1; i <= NF; i++) if (index($i, k) == 1) { print substr($i, length(k) + 1); exit } }' "$1"; }
# posts FILE: the POST lines of a sink log, in request order.
posts() { grep -P '^req=\d+\t' "$1" | sort -t= -k2,2n; }
statuses() { posts "$1" | awk -F'\t' '{ for (i = 1; i <= NF; i++) if ($i ~ /^status=/) { printf "%s%s", sep, substr($i, 8); sep = "," } } END { print "" }'; }

mkdir -p "$T/in"
IN=$T/in/app.log
seq 1 5000 | sed 's/^/line /' >"$IN"
N=$(count_lines "$IN")
OPTS=(--flush-interval 100ms --checkpoint-interval 1s --backoff-base 50ms --backoff-cap 500ms)

# sample_peak PID: samples VmHWM of PID every 50 ms until it exits (90 s
# at most, then kill -9); sets PEAK (kB) and RC (its exit status).
sample_peak() {
	local p=$1 hwm limit=$(($(now_ms) + 90000))
	PEAK=0
	while kill -0 "$p" 2>/dev/null && [ "$(now_ms)" -lt "$limit" ]; do
		hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ -n "$hwm" ] && [ "$hwm" -gt "$PEAK" ] && PEAK=$hwm
		sleep 0.05
	done
	if kill -0 "$p" 2>/dev/null; then
		bad "logship (pid $p) finishes" "still running after 90 s: killed"
		kill -9 "$p"
	fi
	wait "$p"
	RC=$?
}

# ---- a) happy path
if want a; then
	sink_start a
	ship a1 --to "http://127.0.0.1:$SINK_PORT/ingest" --once --state "$T/st-a" "${OPTS[@]}" "$IN"
	expect "a: --once exit status" 0 "$RC" "$(show_err a1)"
	exactly_once a "$IN" "$T/a.out"
	nposts=$(posts "$T/a.log" | wc -l)
	ngzip=$(posts "$T/a.log" | grep -c $'\th:content-encoding=gzip')
	if [ "$nposts" -gt 0 ] && [ "$ngzip" = "$nposts" ]; then
		ok "a: Content-Encoding: gzip on all $nposts requests"
	else
		bad "a: Content-Encoding: gzip on every request" "$ngzip of $nposts requests"
	fi
	expect "a: every request POSTs to the URL's path" "$nposts" "$(posts "$T/a.log" | grep -c $'\tpath=/ingest\t')"
	before=$(count_lines "$T/a.out")
	ship a2 --to "http://127.0.0.1:$SINK_PORT/ingest" --once --state "$T/st-a" "${OPTS[@]}" "$IN"
	expect "a: second --once run exit status" 0 "$RC" "$(show_err a2)"
	expect "a: second --once run sends nothing new" "$before" "$(count_lines "$T/a.out")"
	sink_stop "$SINK_PID"
fi

# ---- b) 500, 429 + Retry-After seconds, 503 + Retry-After HTTP-date, then 200
if want b; then
	sink_start b --script '500,429@1,503@date+2'
	ship b --to "http://127.0.0.1:$SINK_PORT/b" --once --state "$T/st-b" --concurrency 1 \
		--batch-size 1000 "${OPTS[@]}" "$IN"
	expect "b: exit status" 0 "$RC" "$(show_err b)"
	exactly_once b "$IN" "$T/b.out"
	st=$(statuses "$T/b.log")
	case $st in
	500,429,503,200*) ok "b: the sink saw 500, 429, 503, then 200s ($st)" ;;
	*) bad "b: the sink saw 500, 429, 503, then 200s" "statuses: $st" ;;
	esac
	# The next request after a 429/503 may only start once Retry-After passed
	# (a lower bound, so not timing-fragile): 1 s after the 429; the 503's
	# date was 2 s ahead at second resolution, so more than 1 s.
	for r in 2 3; do
		gap=$(($(logv "$T/b.log" $((r + 1)) t_in) - $(logv "$T/b.log" $r t_out)))
		if [ "$gap" -ge 950 ]; then
			ok "b: request $((r + 1)) waited for request $r's Retry-After ($(logv "$T/b.log" $r retry-after)): ${gap} ms"
		else
			bad "b: request $((r + 1)) waited for request $r's Retry-After ($(logv "$T/b.log" $r retry-after))" \
				"expected a gap >= 950 ms (1 s)" "actual: ${gap} ms"
		fi
	done
	sink_stop "$SINK_PID"
fi

# ---- c) 413 on the first request: split in halves
if want c; then
	sink_start c --script '413'
	ship c --to "http://127.0.0.1:$SINK_PORT/c" --once --state "$T/st-c" --concurrency 1 \
		--batch-size 100 "${OPTS[@]}" "$IN"
	expect "c: exit status" 0 "$RC" "$(show_err c)"
	exactly_once c "$IN" "$T/c.out"
	# the 413'd batch (all batches hold 100 lines here) comes back as two
	# requests of half its size, whenever they are sent
	l1=$(logv "$T/c.log" 1 lines)
	halves=$(posts "$T/c.log" | grep $'\tstatus=200\t' | grep -oP '\tlines=\K\d+' |
		awk -v l="${l1:-0}" '$1 < l { n++; s += $1; if ($1 > m) m = $1 } END { printf "%d %d %d", n, s, m }')
	read -r nh sh mh <<<"$halves"
	if [ "$(logv "$T/c.log" 1 status)" = 413 ] && [ "${l1:-0}" -ge 2 ] && [ "$nh" = 2 ] &&
		[ "$sh" = "$l1" ] && [ "$mh" -le $(((l1 + 1) / 2)) ]; then
		ok "c: the 413'd batch of $l1 was resent as 2 halves"
	else
		bad "c: the 413'd batch is resent as 2 halves" \
			"request 1: ${l1:-?} lines, status $(logv "$T/c.log" 1 status); smaller accepted requests: $nh, holding $sh lines, largest $mh"
	fi

	# c2) every body over 30 lines is too large: 100 -> 50 -> 25
	sink_start c2 --max-lines 30
	ship c2 --to "http://127.0.0.1:$SINK_PORT/c2" --once --state "$T/st-c2" --batch-size 100 \
		"${OPTS[@]}" "$IN"
	expect "c2: exit status (413 for every body over 30 lines)" 0 "$RC" "$(show_err c2)"
	exactly_once c2 "$IN" "$T/c2.out"
	big=$(posts "$T/c2.log" | grep -c $'\tstatus=200\t.*\trecorded=1' )
	maxl=$(posts "$T/c2.log" | grep $'\tstatus=200\t' | grep -oP '\tlines=\K\d+' | sort -n | tail -1)
	if [ "${maxl:-99}" -le 30 ]; then ok "c2: accepted bodies hold <= 30 lines ($big requests, largest $maxl)"; else bad "c2: accepted bodies hold <= 30 lines" "largest: ${maxl:-none}"; fi
	sink_stop "$SINK_PID"
fi

# ---- d) 400 for 2 specific lines with --batch-size 1: dead-lettered, exit 4
if want d; then
	IND=$T/in/d.log
	seq 1 400 | sed 's/^/line /' >"$IND"
	sink_start d --bad-if-contains '"line 77"' --bad-if-contains '"line 345"'
	ship d --to "http://127.0.0.1:$SINK_PORT/d" --once --state "$T/st-d" --batch-size 1 \
		"${OPTS[@]}" "$IND"
	expect "d: exit status (some dead-lettered)" 4 "$RC" "$(show_err d)"
	dl=$(ls "$T"/st-d/dead-letter/*.ndjson 2>/dev/null)
	if [ -n "$dl" ]; then
		got=$(cat $dl | grep -oE 'line [0-9]+' | sort -u | tr '\n' ',')
		expect "d: the dead letters hold exactly the 2 rejected lines" "line 345,line 77," "$got"
		modes=$(stat -c %a $dl | sort -u | tr '\n' ' ')
		expect "d: dead-letter files are mode 0600" "600 " "$modes"
	else
		bad "d: dead-letter files in STATE/dead-letter/*.ndjson" "none: $(ls -laR "$T/st-d" 2>&1 | head -20 | tr '\n' '|')"
	fi
	grep -vxE 'line (77|345)' "$IND" >"$T/d.expect"
	exactly_once "d: the other lines" "$T/d.expect" "$T/d.out"
	expect "d: 2 requests answered 400" 2 "$(posts "$T/d.log" | grep -c $'\tstatus=400\t')"
	sink_stop "$SINK_PID"

	# d2) a 400 for a batch: every event of that request is dead-lettered
	sink_start d2 --bad-if-contains '"line 77"'
	ship d2 --to "http://127.0.0.1:$SINK_PORT/d" --once --state "$T/st-d2" --batch-size 100 \
		--concurrency 1 "${OPTS[@]}" "$IND"
	expect "d2: exit status (a batch dead-lettered)" 4 "$RC" "$(show_err d2)"
	got=$(cat "$T"/st-d2/dead-letter/*.ndjson 2>/dev/null | grep -oE 'line [0-9]+' | sort -u | wc -l | tr -d ' ')
	l1=$(posts "$T/d2.log" | grep $'\tstatus=400\t' | grep -oP '\tlines=\K\d+' | head -1)
	expect "d2: the dead letters hold the 400'd request's $l1 lines, line 77 among them" "${l1:-?} 1" \
		"$got $(cat "$T"/st-d2/dead-letter/*.ndjson 2>/dev/null | grep -cF 'line 77\"')"
	expect "d2: delivered + dead-lettered = all lines" "$(count_lines "$IND")" "$(($(count_lines "$T/d2.out") + got))"
	sink_stop "$SINK_PID"
fi

# ---- e) 401 always: failing sink, exit 3, nothing dead-lettered; then healthy
if want e; then
	sink_start e --then 401
	port=$SINK_PORT
	ship e1 --to "http://127.0.0.1:$port/e" --once --state "$T/st-e" --max-retry-time 2s \
		--backoff-cap 200ms --flush-interval 100ms "$IN"
	expect "e: exit status with a 401 sink" 3 "$RC" "$(show_err e1)"
	expect "e: nothing recorded by the 401 sink" 0 "$(count_lines "$T/e.out")"
	n401=$(posts "$T/e.log" | grep -c $'\tstatus=401\t')
	if [ "$n401" -ge 2 ]; then ok "e: the 401 was retried ($n401 requests)"; else bad "e: the 401 is retried" "$n401 requests"; fi
	dlbytes=$(cat "$T"/st-e/dead-letter/* 2>/dev/null | wc -c)
	expect "e: nothing dead-lettered" 0 "$dlbytes"
	sink_stop "$SINK_PID"
	sink_start e2 --port "$port"
	ship e2 --to "http://127.0.0.1:$port/e" --once --state "$T/st-e" "${OPTS[@]}" "$IN"
	expect "e: exit status once the sink is healthy" 0 "$RC" "$(show_err e2)"
	exactly_once "e: after the failing run" "$IN" "$T/e2.out"
	sink_stop "$SINK_PID"
fi

# ---- f) connection refused: exit 3; then healthy
if want f; then
	sink_start f0
	port=$SINK_PORT
	sink_stop "$SINK_PID"
	ship f1 --to "http://127.0.0.1:$port/f" --once --state "$T/st-f" --max-retry-time 2s \
		--backoff-cap 200ms --flush-interval 100ms "$IN"
	expect "f: exit status, connection refused" 3 "$RC" "$(show_err f1)"
	sink_start f --port "$port"
	ship f2 --to "http://127.0.0.1:$port/f" --once --state "$T/st-f" "${OPTS[@]}" "$IN"
	expect "f: exit status once the sink is up" 0 "$RC" "$(show_err f2)"
	exactly_once f "$IN" "$T/f.out"
	sink_stop "$SINK_PID"
fi

# ---- g) the first request stalls beyond --timeout
if want g; then
	sink_start g --script 'stall=3000'
	ship g --to "http://127.0.0.1:$SINK_PORT/g" --once --state "$T/st-g" --timeout 1s \
		--batch-size 500 "${OPTS[@]}" "$IN"
	expect "g: exit status" 0 "$RC" "$(show_err g)"
	# the stalled request is recorded when the sink gets to answer it
	wait_for 10 grep -q '^req=1'$'\t' "$T/g.log"
	at_least_once g "$IN" "$T/g.out"
	l1=$(logv "$T/g.log" 1 lines)
	if [ "$DUPS" -le "${l1:-0}" ]; then
		ok "g: duplicates ($DUPS) only from the timed-out request (${l1:-?} lines)"
	else
		bad "g: duplicates only from the timed-out request" "duplicates: $DUPS, timed-out request: ${l1:-?} lines"
	fi
	sink_stop "$SINK_PID"
fi

# ---- h) SIGTERM in follow mode with a slow sink
if want h; then
	sink_start h --delay 300
	port=$SINK_PORT
	"$LOGSHIP" ship --to "http://127.0.0.1:$port/h" --state "$T/st-h" --batch-size 100 \
		--shutdown-timeout 5s "${OPTS[@]}" "$IN" >"$T/h1.stdout" 2>"$T/h1.err" &
	lp=$!
	bg_pids+=("$lp")
	LAST_CMD="logship ship --to http://127.0.0.1:$port/h --state ST --batch-size 100 --shutdown-timeout 5s (follow)"
	if wait_for 30 test -s "$T/h.out"; then
		atterm=$(count_lines "$T/h.out")
		t0=$(now_ms)
		kill -TERM "$lp"
		if wait_for 10 eval '! kill -0 '"$lp"' 2>/dev/null'; then
			wait "$lp"
			rc=$?
			el=$(($(now_ms) - t0))
			expect "h: exit status after SIGTERM" 0 "$rc" "$(show_err h1)"
			if [ "$el" -le 7000 ]; then ok "h: stopped ${el} ms after SIGTERM (--shutdown-timeout 5s)"; else bad "h: stops within the shutdown timeout (5 s)" "took ${el} ms"; fi
			echo "     (h: $atterm lines delivered at SIGTERM, $(count_lines "$T/h.out") at exit, of $N)"
		else
			bad "h: exits after SIGTERM" "still running 10 s after SIGTERM (--shutdown-timeout 5s)" "$(show_err h1)"
			kill -9 "$lp" 2>/dev/null
			wait "$lp" 2>/dev/null
		fi
	else
		bad "h: the slow sink gets events" "nothing in 30 s" "$(show_err h1)"
		kill -9 "$lp" 2>/dev/null
		wait "$lp" 2>/dev/null
	fi
	sink_stop "$SINK_PID"
	sink_start h2 --port "$port"
	ship h2 --to "http://127.0.0.1:$port/h" --once --state "$T/st-h" "${OPTS[@]}" "$IN"
	expect "h: exit status of the --once run after SIGTERM" 0 "$RC" "$(show_err h2)"
	at_least_once "h: union of both runs" "$IN" "$T/h.out" "$T/h2.out"
	sink_stop "$SINK_PID"
fi

# ---- i) headers and secrets
if want i; then
	SECRET="Bearer tok-s3cr3t-$$-XYZZY"
	sink_start i
	port=$SINK_PORT
	TOKVAR=$SECRET "$LOGSHIP" ship --to "http://127.0.0.1:$port/i" --state "$T/st-i" \
		--header 'X-Test: 1' --header-env 'Authorization: TOKVAR' "${OPTS[@]}" "$IN" \
		>"$T/i.stdout" 2>"$T/i.err" &
	lp=$!
	bg_pids+=("$lp")
	LAST_CMD="TOKVAR=... logship ship --header 'X-Test: 1' --header-env 'Authorization: TOKVAR' (follow)"
	wait_for 30 eval '[ "$(count_lines "$T/i.out")" -ge '"$N"' ]'
	cmdline=$(tr '\0' ' ' <"/proc/$lp/cmdline" 2>/dev/null)
	if [ -n "$cmdline" ]; then
		expect_nc=$(printf '%s' "$cmdline" | grep -c "tok-s3cr3t")
		expect "i: the token is not in /proc/PID/cmdline" 0 "$expect_nc" "cmdline: $cmdline"
	else
		bad "i: logship still running to read /proc/PID/cmdline" "$(show_err i)"
	fi
	kill -TERM "$lp" 2>/dev/null
	wait_for 15 eval '! kill -0 '"$lp"' 2>/dev/null'
	wait "$lp" 2>/dev/null
	np=$(posts "$T/i.log" | wc -l)
	if [ "$np" -gt 0 ]; then
		expect "i: X-Test: 1 on every request" "$np" "$(posts "$T/i.log" | grep -c $'\th:x-test=1\(\t\|$\)')"
		expect "i: Authorization from TOKVAR on every request" "$np" \
			"$(posts "$T/i.log" | grep -cF "$(printf '\th:authorization=%s' "$SECRET")")"
	else
		bad "i: requests reach the sink" "none" "$(show_err i)"
	fi
	expect "i: the token is not in stderr" 0 "$(grep -c "tok-s3cr3t" "$T/i.err")"
	sink_stop "$SINK_PID"

	# the same with a sink that rejects the token: errors must not show it
	sink_start i2 --then 401
	TOKVAR=$SECRET ship i2 --to "http://127.0.0.1:$SINK_PORT/i" --once --state "$T/st-i2" \
		--header-env 'Authorization: TOKVAR' --max-retry-time 1s --backoff-cap 200ms "$IN"
	expect "i2: exit status with a 401 sink" 3 "$RC" "$(show_err i2)"
	expect "i2: the token is not in stderr when the sink refuses it" 0 "$(grep -c "tok-s3cr3t" "$T/i2.err")"
	sink_stop "$SINK_PID"

	# --auth-env: the secret reaches the sink in Authorization, nowhere else
	sink_start i3
	AUTHVAR=tok-s3cr3t-auth-$$ ship i3 --to "http://127.0.0.1:$SINK_PORT/i" --once --state "$T/st-i3" \
		--auth-env AUTHVAR "${OPTS[@]}" "$IN"
	expect "i3: exit status with --auth-env" 0 "$RC" "$(show_err i3)"
	got=$(posts "$T/i3.log" | head -1 | grep -oP '\th:authorization=\K[^\t]*')
	case $got in
	*tok-s3cr3t-auth-$$*) ok "i3: --auth-env's secret arrives in Authorization ($(printf '%s' "$got" | cut -d' ' -f1) ...)" ;;
	*) bad "i3: --auth-env's secret arrives in Authorization" "Authorization: ${got:-<none>}" ;;
	esac
	expect "i3: the secret is not in stderr" 0 "$(grep -c "tok-s3cr3t" "$T/i3.err")"
	sink_stop "$SINK_PID"
fi

# ---- k) answers that are not HTTP answers; other compressions
if want k; then
	sink_start k --script 'close,garbage,truncate'
	ship k --to "http://127.0.0.1:$SINK_PORT/k" --once --state "$T/st-k" --concurrency 1 \
		--batch-size 1000 "${OPTS[@]}" "$IN"
	expect "k: exit status after close, garbage and truncated answers" 0 "$RC" "$(show_err k)"
	exactly_once k "$IN" "$T/k.out"
	st=$(statuses "$T/k.log")
	case $st in
	-,-,-,200*) ok "k: the 3 broken answers were retried ($st)" ;;
	*) bad "k: the 3 broken answers are retried" "statuses: $st" ;;
	esac
	sink_stop "$SINK_PID"
	for z in zstd none; do
		sink_start "k-$z"
		ship "k-$z" --to "http://127.0.0.1:$SINK_PORT/k" --once --state "$T/st-k-$z" --compress "$z" \
			"${OPTS[@]}" "$IN"
		expect "k: --compress $z exit status" 0 "$RC" "$(show_err "k-$z")"
		exactly_once "k: --compress $z" "$IN" "$T/k-$z.out"
		want_enc=$z
		[ "$z" = none ] && want_enc=identity
		np=$(posts "$T/k-$z.log" | wc -l)
		ne=$(posts "$T/k-$z.log" | grep -c $'\tencoding='"$want_enc"$'\t')
		if [ "$np" -gt 0 ] && [ "$ne" = "$np" ]; then ok "k: --compress $z: all $np bodies sent as $want_enc"; else bad "k: --compress $z: bodies sent as $want_enc" "$ne of $np requests"; fi
		sink_stop "$SINK_PID"
	done
fi

# ---- l) a long Retry-After bounded by --max-retry-time and by SIGTERM
if want l; then
	sink_start l --then '429@12'
	t0=$(now_ms)
	LAST_CMD="logship ship --once --max-retry-time 2s (sink: 429, Retry-After: 12)"
	timeout 20 "$LOGSHIP" ship --to "http://127.0.0.1:$SINK_PORT/l" --once --state "$T/st-l" \
		--max-retry-time 2s "${OPTS[@]}" "$IN" >"$T/l.stdout" 2>"$T/l.err"
	RC=$?
	el=$(($(now_ms) - t0))
	expect "l: exit status when Retry-After (12 s) outlasts --max-retry-time 2s" 3 "$RC" "took ${el} ms" "$(show_err l)"
	if [ "$el" -lt 8000 ]; then ok "l: gave up in ${el} ms, not after the 12 s Retry-After"; else bad "l: gives up near --max-retry-time 2s, not after the 12 s Retry-After" "took ${el} ms"; fi
	expect "l: nothing recorded" 0 "$(count_lines "$T/l.out")"
	sink_stop "$SINK_PID"

	sink_start l2 --then '429@12'
	"$LOGSHIP" ship --to "http://127.0.0.1:$SINK_PORT/l" --state "$T/st-l2" --shutdown-timeout 2s \
		"${OPTS[@]}" "$IN" >"$T/l2.stdout" 2>"$T/l2.err" &
	lp=$!
	bg_pids+=("$lp")
	LAST_CMD="logship ship --shutdown-timeout 2s (follow; sink: 429, Retry-After: 12)"
	if wait_for 20 grep -q $'\tstatus=429\t' "$T/l2.log"; then
		sleep 0.2
		t0=$(now_ms)
		kill -TERM "$lp"
		if wait_for 8 eval '! kill -0 '"$lp"' 2>/dev/null'; then
			wait "$lp"
			rc=$?
			el=$(($(now_ms) - t0))
			expect "l2: exit status after SIGTERM during a Retry-After pause" 0 "$rc" "$(show_err l2)"
			if [ "$el" -le 7000 ]; then ok "l2: stopped ${el} ms after SIGTERM (--shutdown-timeout 2s)"; else bad "l2: stops within the shutdown timeout (2 s) during a 12 s Retry-After pause" "took ${el} ms"; fi
		else
			bad "l2: stops within the shutdown timeout (2 s) during a 12 s Retry-After pause" "still running 8 s after SIGTERM: killed" "$(show_err l2)"
			kill -9 "$lp" 2>/dev/null
			wait "$lp" 2>/dev/null
		fi
	else
		bad "l2: the sink answers 429" "no request in 20 s" "$(show_err l2)"
		kill -9 "$lp" 2>/dev/null
		wait "$lp" 2>/dev/null
	fi
	sink_stop "$SINK_PID"
fi

# ---- j) memory bound while the sink refuses for 5 s
if want j; then
	INJ=$T/in/big.log
	seq 1 200000 | sed 's/^/line /' >"$INJ"
	NJ=200000
	# the baseline: a small --once run (shared libraries alone are ~10 MiB
	# of RSS) to a slow sink, so there is time to sample it
	seq 1 1000 | sed 's/^/line /' >"$T/in/small.log"
	sink_start j0 --delay 300
	"$LOGSHIP" ship --to "http://127.0.0.1:$SINK_PORT/j" --once --state "$T/st-j0" \
		--max-inflight-bytes 1M --batch-size 100 "${OPTS[@]}" "$T/in/small.log" >"$T/j0.stdout" 2>"$T/j0.err" &
	lp=$!
	bg_pids+=("$lp")
	sample_peak "$lp"
	base=$PEAK
	sink_stop "$SINK_PID"

	sink_start j --script '503*5s' --retry-after 1
	"$LOGSHIP" ship --to "http://127.0.0.1:$SINK_PORT/j" --once --state "$T/st-j" \
		--max-inflight-bytes 1M "${OPTS[@]}" "$INJ" >"$T/j.stdout" 2>"$T/j.err" &
	lp=$!
	bg_pids+=("$lp")
	LAST_CMD="logship ship --once --max-inflight-bytes 1M (200k lines, 503 for 5 s)"
	sample_peak "$lp"
	expect "j: exit status" 0 "$RC" "$(show_err j)"
	max_kb=$(((1 + 16) * 1024))
	echo "     (j: peak VmHWM ${PEAK} kB; a 1000-line run peaks at ${base} kB)"
	if [ "$PEAK" -gt 0 ] && [ "$base" -gt 0 ] && [ $((PEAK - base)) -le "$max_kb" ]; then
		ok "j: peak RSS ${PEAK} kB is within 1 MiB in flight + 16 MiB of the baseline (${base} kB)"
	else
		bad "j: peak RSS within 1 MiB in flight + 16 MiB of a 1000-line run's (${base} kB)" \
			"expected: <= $((base + max_kb)) kB" "actual:   ${PEAK} kB (VmHWM)"
	fi
	n503=$(posts "$T/j.log" | grep -c $'\tstatus=503\t')
	echo "     (j: $n503 requests answered 503, $(posts "$T/j.log" | wc -l) requests in all)"
	exactly_once j "$INJ" "$T/j.out"
	sink_stop "$SINK_PID"
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
