#!/usr/bin/env bash
# ship-memory.sh - `logship ship` holds bounded memory, whatever the sink
# does: peak RSS (GNU time's %M) stays under --max-inflight-bytes + 16 MiB,
# and every event arrives. 200k nginx lines (tests/lib/logcorpus.awk) go
# --once to tests/integration/fakesink.c on loopback and to the file sink:
#  a) gzip (the default), --max-inflight-bytes 8MiB: under 24 MiB
#  b) zstd, 8MiB: under 24 MiB
#  c) the file sink, 8MiB: under 24 MiB
#  d) gzip, --max-inflight-bytes 2MiB: under 18 MiB
#  e) a sink answering 503 (Retry-After: 1) for 3 s, zstd, 8MiB: under 24 MiB
# and the items of a compressed batch read back when the sink wants them
# apart (ship holds sealed batches compressed):
#  f) zstd bodies split by 413 (a sink taking at most 300 lines a request)
#  g) zstd bodies, two lines the sink rejects (400), batches of 100: the two
#     requests holding them dead-lettered item by item, the rest delivered
#  h) Loki (a prefix, separators and a suffix around the items) split by a
#     413: every event in well-formed pushes
# Under a sanitizer ($LOGSHIP_SANITIZE) the RSS bounds are not checked: the
# shadow memory is not logship's. KEEP=1 keeps the temp dir; LOGSHIP=path
# picks the binary. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
SRC=$PWD
LOGSHIP=${LOGSHIP:-$PWD/logship}
case $LOGSHIP in /*) ;; *) LOGSHIP=$PWD/$LOGSHIP ;; esac
TIME_BIN=/usr/bin/time

# shellcheck source=tests/lib/check.sh
. "$SRC/tests/lib/check.sh"
# shellcheck source=tests/lib/fakesink.sh
. "$SRC/tests/lib/fakesink.sh"

if [ ! -x "$LOGSHIP" ]; then
	echo "ship-memory: $LOGSHIP not built (run make)"
	echo "0 passed, 1 failed"
	exit 1
fi
if [ -z "${LOGSHIP_SANITIZE:-}" ] && ! "$TIME_BIN" -f %M true >/dev/null 2>&1; then
	echo "ship-memory: needs GNU time at $TIME_BIN (apt-get install time)"
	echo "0 passed, 1 failed"
	exit 1
fi

scratch_setup shipmem
fakesink_build ship-memory

# ship NAME ARGS...: logship ship --once (timeout 120 s) under GNU time;
# sets RC, PEAK (KiB) and EVENTS (from the summary line).
ship() {
	local name=$1
	shift
	LAST_CMD="logship ship --once $*"
	if [ -n "${LOGSHIP_SANITIZE:-}" ]; then
		timeout 120 "$LOGSHIP" ship --once --state "$T/st-$name" "$@" >"$T/$name.stdout" 2>"$T/$name.err"
		RC=$?
		PEAK=0
	else
		timeout 120 "$TIME_BIN" -f %M -o "$T/$name.time" "$LOGSHIP" ship --once \
			--state "$T/st-$name" "$@" >"$T/$name.stdout" 2>"$T/$name.err"
		RC=$?
		PEAK=$(tail -n 1 "$T/$name.time")
	fi
	EVENTS=$(sed -n 's/^logship ship: .* \([0-9][0-9]*\) events, .*/\1/p' "$T/$name.err" | tail -n 1)
}

show_err() {
	echo "command: $LAST_CMD"
	echo "stderr (tail): $(tail -n 5 "$T/$1.err" 2>/dev/null | tr '\n' '|' | cut -c1-600)"
}

# rss_under NAME MIB: the last run's peak RSS is under MIB MiB.
rss_under() {
	local name=$1 mib=$2
	if [ -n "${LOGSHIP_SANITIZE:-}" ]; then
		echo "     ($name: peak RSS not checked under a sanitizer)"
		return 0
	fi
	if [[ $PEAK =~ ^[0-9]+$ ]] && [ "$PEAK" -gt 0 ] && [ "$PEAK" -lt $((mib * 1024)) ]; then
		ok "$name: peak RSS $((PEAK / 1024)).$((PEAK % 1024 * 10 / 1024)) MiB is under $mib MiB"
	else
		bad "$name: peak RSS under $mib MiB" "expected: < $((mib * 1024)) KiB" "actual:   $PEAK KiB" \
			"$(show_err "$name")"
	fi
}

# delivered NAME OUT LINES: the run exited 0 and OUT holds one line per
# event, at least one per input line.
delivered() {
	local name=$1 out=$2 lines=$3 got
	expect "$name: exit status" 0 "$RC" "$(show_err "$name")"
	got=$(wc -l <"$out")
	if [[ ${EVENTS:-} =~ ^[0-9]+$ ]] && [ "$EVENTS" -ge "$lines" ] && [ "$got" = "$EVENTS" ]; then
		ok "$name: all $EVENTS events delivered"
	else
		bad "$name: every event delivered" "expected: $EVENTS events (at least $lines)" "actual:   $got lines" \
			"$(show_err "$name")"
	fi
}

# the messages delivered, sorted, are the input's lines, sorted
exactly_once() {
	local name=$1 out=$2
	if command -v jq >/dev/null 2>&1; then
		jq -r 'select(.event.kind != "alert") | .message' "$out" | sort >"$T/$name.msgs"
	else
		python3 -c 'import json, sys
for l in sys.stdin:
    e = json.loads(l)
    if e.get("event", {}).get("kind") != "alert": print(e["message"])' <"$out" | sort >"$T/$name.msgs"
	fi
	if cmp -s "$T/$name.msgs" "$T/$name.want"; then
		ok "$name: every line exactly once"
	else
		bad "$name: every line exactly once" "$(diff "$T/$name.want" "$T/$name.msgs" | head -n 4 | tr '\n' '|')"
	fi
}

N=200000
IN=$T/access.log
awk -v kind=nginx -v n=$N -v seed=22 -v known=-1 -f "$SRC/tests/lib/logcorpus.awk" >"$IN"
expect "corpus: $N nginx lines" "$N" "$(wc -l <"$IN" | tr -d ' ')"

# ---- a) b) d) the fake sink, gzip and zstd, 8 MiB and 2 MiB in flight
for run in "a gzip 8MiB 24" "b zstd 8MiB 24" "d gzip 2MiB 18"; do
	read -r name comp budget cap <<<"$run"
	sink_start "$name"
	ship "$name" --compress "$comp" --max-inflight-bytes "$budget" \
		--to "http://127.0.0.1:$SINK_PORT/ingest" "$IN"
	sink_stop "$SINK_PID"
	rss_under "$name ($comp, --max-inflight-bytes $budget)" "$cap"
	delivered "$name" "$T/$name.out" "$N"
	ngz=$(grep -cP "\\th:content-encoding=$comp(\\t|\$)" "$T/$name.log")
	nreq=$(grep -cP '^req=\d+\t' "$T/$name.log")
	if [ "$nreq" -gt 0 ] && [ "$ngz" = "$nreq" ]; then
		ok "$name: all $nreq bodies sent as $comp"
	else
		bad "$name: every body sent as $comp" "$ngz of $nreq requests"
	fi
done

# ---- c) the file sink
ship c --max-inflight-bytes 8MiB --to "file://$T/c.out" "$IN"
rss_under "c (file sink, --max-inflight-bytes 8MiB)" 24
delivered c "$T/c.out" "$N"

# ---- e) a sink refusing everything for 3 s: nothing piles up
sink_start e --script '503*3s' --retry-after 1
ship e --compress zstd --max-inflight-bytes 8MiB --to "http://127.0.0.1:$SINK_PORT/ingest" "$IN"
sink_stop "$SINK_PID"
rss_under "e (503 for 3 s, zstd, --max-inflight-bytes 8MiB)" 24
delivered e "$T/e.out" "$N"
n503=$(grep -cP '^req=\d+\t.*\tstatus=503\t' "$T/e.log")
if [ "$n503" -gt 0 ]; then ok "e: the sink answered 503 ($n503 times)"; else bad "e: the sink answered 503" "no 503 in its log"; fi

# ---- f) g) h) compressed batches read back: splits and dead letters
head -n 3000 "$IN" >"$T/small.log"
sort "$T/small.log" >"$T/f.want"
sink_start f --max-lines 300
ship f --compress zstd --to "http://127.0.0.1:$SINK_PORT/ingest" "$T/small.log"
sink_stop "$SINK_PID"
delivered f "$T/f.out" 3000
exactly_once f "$T/f.out"
n413=$(grep -cP '^req=\d+\t.*\tstatus=413\t' "$T/f.log")
if [ "$n413" -gt 0 ]; then ok "f: batches were split ($n413 answers 413)"; else bad "f: batches were split" "no 413 in the sink's log"; fi

# two lines the sink rejects (400) wherever they are (by their text up to
# the first quote, which is the same in the JSON), batches of 100: their
# two requests are dead-lettered, item by item from the zstd bodies
l=$(sed -n 1234p "$T/small.log")
bad1=${l%%\"*}
l=$(sed -n 2345p "$T/small.log")
bad2=${l%%\"*}
sink_start g --bad-if-contains "$bad1" --bad-if-contains "$bad2"
ship g --compress zstd --batch-size 100 --to "http://127.0.0.1:$SINK_PORT/ingest" "$T/small.log"
sink_stop "$SINK_PID"
expect "g: exit status (some events dead-lettered)" 4 "$RC" "$(show_err g)"
ndl=$(sed -n 's/.* \([0-9][0-9]*\) dead-lettered.*/\1/p' "$T/g.err" | tail -n 1)
expect "g: the 2 rejected requests' events dead-lettered" 200 "${ndl:-?}"
if command -v jq >/dev/null 2>&1; then
	cat "$T"/st-g/dead-letter/*.ndjson | jq -r '.item | fromjson | .message' >"$T/g.dead"
else
	cat "$T"/st-g/dead-letter/*.ndjson | python3 -c 'import json, sys
for l in sys.stdin: print(json.loads(json.loads(l)["item"])["message"])' >"$T/g.dead"
fi
if grep -qF "$bad1" "$T/g.dead" && grep -qF "$bad2" "$T/g.dead" && [ "$(wc -l <"$T/g.dead")" = 200 ]; then
	ok "g: the dead letters hold the rejected requests' events, the bad lines among them"
else
	bad "g: the dead letters hold the rejected requests' events" "$(wc -l <"$T/g.dead") items"
fi
# delivered and dead-lettered together: every line once
if command -v jq >/dev/null 2>&1; then
	{ cat "$T/g.dead"; jq -r 'select(.event.kind != "alert") | .message' "$T/g.out"; } | sort >"$T/g.msgs"
else
	{ cat "$T/g.dead"; python3 -c 'import json, sys
for l in sys.stdin:
    e = json.loads(l)
    if e.get("event", {}).get("kind") != "alert": print(e["message"])' <"$T/g.out"; } | sort >"$T/g.msgs"
fi
if cmp -s "$T/g.msgs" "$T/f.want"; then
	ok "g: delivered and dead-lettered, every line exactly once"
else
	bad "g: delivered and dead-lettered, every line exactly once" "$(diff "$T/f.want" "$T/g.msgs" | head -n 4 | tr '\n' '|')"
fi

# Loki: the first push is refused as too large; its halves must be whole
# pushes again, gzip as the batch was
sink_start h --script 413
ship h --to "loki+http://127.0.0.1:$SINK_PORT" "$T/small.log"
sink_stop "$SINK_PID"
expect "h: exit status" 0 "$RC" "$(show_err h)"
nvalues=$(grep -o '"values":\[\[' "$T/h.out" | wc -l)
npush=$(wc -l <"$T/h.out")
nwhole=$(grep -cE '^\{"streams":\[.*\]\}$' "$T/h.out")
if [ "$nvalues" = "${EVENTS:-x}" ] && [ "$nwhole" = "$npush" ]; then
	ok "h: all $EVENTS events in $npush well-formed pushes after the split"
else
	bad "h: every event in well-formed pushes" "events: ${EVENTS:-?}, values: $nvalues, pushes: $npush, well-formed: $nwhole"
fi
if grep -qP '^req=1\t.*\tstatus=413\t' "$T/h.log" &&
	[ "$(grep -cP '^req=\d+\t.*\th:content-encoding=gzip' "$T/h.log")" = "$(grep -cP '^req=\d+\t' "$T/h.log")" ]; then
	ok "h: the 413'd push was split, the halves sent gzip"
else
	bad "h: the 413'd push split and its halves sent gzip" "$(grep -P '^req=' "$T/h.log" | cut -c1-120 | head -n 4 | tr '\n' '|')"
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
