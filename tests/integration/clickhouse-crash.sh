#!/usr/bin/env bash
# clickhouse-crash.sh - crash safety of `logship ship` into a real
# ClickHouse server (clickhouse-server 18.16 on Debian 12), started here on
# loopback ports with its data in a temp dir and stopped (by its PID) on
# exit.
#
# A deterministic corpus (awk, fixed-seed PRNG) of 50000 lines in three
# files (auth.log: syslog/sshd with brute-force bursts, access.log: nginx,
# app.log: JSON lines); 40000 are there at the start, a writer appends the
# other 10000 in random chunks (about 100 lines every 30-70 ms) during the
# first seconds. Meanwhile
#   logship ship --state S --create-table --batch-size 200 \
#     --flush-interval 100ms --checkpoint-interval 100ms \
#     --to clickhouse+http://127.0.0.1:P/default.logs 'DIR/*.log'
# runs in follow mode and is killed with SIGKILL at random moments
# (20 ms to 1 s after its start), KILLS times (default 24), restarted each
# time. Then the writer is waited for and one --once run finishes.
# Checks:
#  - the server starts (else FAIL with its error log, never a skip)
#  - every follow-mode run was still running when killed (none exited)
#  - the final --once run exits 0
#  - the files hold exactly the generated 50000 lines
#  - no line lost: every line event's event_id that `logship parse`
#    computes for the final files is in ClickHouse, and
#    uniqExact(event_id) over the line events == that number; no event_id
#    that parse does not compute (re-sent lines keep their ids)
#  - logship never warned that a file was truncated (none was)
# Printed, not checked: duplicates (count() - uniqExact(event_id): at least
# once delivery re-sends what was unacknowledged at a kill), dead letters,
# and the alerts (threshold rules: their counting state is in memory, so a
# kill may move, drop or repeat an alert; alerts are not lines).
#
# Random choices come from bash $RANDOM seeded with SEED (printed as
# "seed=N"; replay: SEED=N bash tests/integration/clickhouse-crash.sh); the
# timing still varies. KILLS sets the number of kills, KEEP=1 keeps the temp
# dir, LOGSHIP=path picks the binary. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
LOGSHIP=${LOGSHIP:-$PWD/logship}
case $LOGSHIP in /*) ;; *) LOGSHIP=$PWD/$LOGSHIP ;; esac
export LC_ALL=C
SEED=${SEED:-$(( ($$ ^ $(date +%s)) % 32768 ))}
KILLS=${KILLS:-24}
echo "seed=$SEED (replay: SEED=$SEED bash tests/integration/clickhouse-crash.sh)"
RANDOM=$SEED

# shellcheck source=tests/lib/check.sh
. tests/lib/check.sh

for tool in clickhouse-server curl awk timeout; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "clickhouse-crash: '$tool' is installed" "not found: apt-get install clickhouse-server clickhouse-client curl"
done
[ -x "$LOGSHIP" ] || die "clickhouse-crash: $LOGSHIP is built" "run make"

T=$(mktemp -d "${TMPDIR:-/tmp}/logship-chcrash.XXXXXX")
export HOME=$T/home XDG_CONFIG_HOME=$T/config XDG_STATE_HOME=$T/xstate XDG_CACHE_HOME=$T/cache
export TZ=UTC LOGSHIP_NOW=2023-11-15T00:00:00Z
mkdir -p "$HOME"
CH_PID=
SHIP_PID=
WRITER_PID=
cleanup() {
	[ -n "$SHIP_PID" ] && kill -9 "$SHIP_PID" 2>/dev/null
	[ -n "$WRITER_PID" ] && kill -9 "$WRITER_PID" 2>/dev/null
	if [ -n "$CH_PID" ] && kill -0 "$CH_PID" 2>/dev/null; then
		kill "$CH_PID" 2>/dev/null
		for _ in $(seq 100); do
			kill -0 "$CH_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$CH_PID" 2>/dev/null
	fi
	wait 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# A private copy: a rebuild of ./logship during the run cannot change it.
cp "$LOGSHIP" "$T/logship" || die "clickhouse-crash: copy $LOGSHIP"
LOGSHIP=$T/logship

cp tests/lib/logcorpus.awk "$T/gen.awk"

now_ms() { date +%s%3N; }

# The server comes from tests/lib/clickhouse-server.sh (make bench uses it
# too): free loopback ports, config and data in $T/ch; chq SQL queries it.
# shellcheck source=tests/lib/clickhouse-server.sh
. tests/lib/clickhouse-server.sh
ch_start() {
	ch_server_start "$T/ch" && return 0
	echo "$CH_ERR; its output and error log:"
	tail -n 30 "$T/ch/stdout" "$T/ch/server.err.log" 2>/dev/null | sed 's/^/     | /'
	return 1
}

SINK="clickhouse+http://127.0.0.1:PORT/default.logs"
SHIP_OPTS=(--state "$T/state" --create-table --batch-size 200 --flush-interval 100ms
	--checkpoint-interval 100ms)

# ------------------------------------------------------------- the corpus

L=$T/logs
F=$T/full
mkdir -p "$L" "$F"
FILES=(auth.log access.log app.log)
declare -A TOTAL=([auth.log]=17000 [access.log]=17000 [app.log]=16000)
declare -A INITIAL=([auth.log]=13500 [access.log]=13500 [app.log]=13000)
awk -v kind=auth -v n=${TOTAL[auth.log]} -v seed=101 -v known=-1 -f "$T/gen.awk" >"$F/auth.log"
awk -v kind=nginx -v n=${TOTAL[access.log]} -v seed=202 -v known=-1 -f "$T/gen.awk" >"$F/access.log"
awk -v kind=app -v n=${TOTAL[app.log]} -v seed=303 -v known=-1 -f "$T/gen.awk" >"$F/app.log"
for f in "${FILES[@]}"; do
	head -n "${INITIAL[$f]}" "$F/$f" >"$L/$f"
done

# writer: appends the rest in chunks of 50-150 lines to a random file,
# every 30-70 ms (its own seeded sequence).
writer() {
	local f k pos left
	declare -A at
	RANDOM=$((SEED + 7))
	for f in "${FILES[@]}"; do at[$f]=${INITIAL[$f]}; done
	while :; do
		left=()
		for f in "${FILES[@]}"; do
			[ "${at[$f]}" -lt "${TOTAL[$f]}" ] && left+=("$f")
		done
		[ ${#left[@]} -eq 0 ] && break
		f=${left[RANDOM % ${#left[@]}]}
		k=$((50 + RANDOM % 101))
		pos=${at[$f]}
		[ $((pos + k)) -gt "${TOTAL[$f]}" ] && k=$((TOTAL[$f] - pos))
		sed -n "$((pos + 1)),$((pos + k))p" "$F/$f" >>"$L/$f"
		at[$f]=$((pos + k))
		sleep "0.0$((3 + RANDOM % 5))"
	done
}

# ------------------------------------------------------------- the server

t0=$(now_ms)
ch_start || die "clickhouse-server starts (on 127.0.0.1)"
ok "clickhouse-server $(chq 'SELECT version()') up on 127.0.0.1:$CH_PORT in $(($(now_ms) - t0)) ms"
SINK=${SINK/PORT/$CH_PORT}

# ------------------------------------------------------------- kill -9 loop

t0=$(now_ms)
writer &
WRITER_PID=$!
kills=0
exited=""
for i in $(seq "$KILLS"); do
	"$LOGSHIP" ship "${SHIP_OPTS[@]}" --to "$SINK" "$L/*.log" >>"$T/follow.out" 2>>"$T/follow.err" &
	SHIP_PID=$!
	ms=$((20 + RANDOM % 981))
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	if kill -9 "$SHIP_PID" 2>/dev/null; then
		wait "$SHIP_PID" 2>/dev/null
		rc=$?
		[ "$rc" = 137 ] && kills=$((kills + 1)) || exited+=" run $i: exit $rc;"
	else
		wait "$SHIP_PID"
		exited+=" run $i: exit $?;"
	fi
	SHIP_PID=
	printf '     kill %2d after %4d ms: %6s rows\n' "$i" "$ms" "$(chq 'SELECT count() FROM logs' 2>/dev/null | grep -E '^[0-9]+$' || echo '-')"
done
wait "$WRITER_PID"
WRITER_PID=
echo "     ($kills kills in $(($(now_ms) - t0)) ms; the writer is done)"
if [ -z "$exited" ] && [ "$kills" -ge 20 ]; then
	ok "$kills follow-mode runs killed with SIGKILL, none exited by itself"
else
	bad "at least 20 follow-mode runs killed with SIGKILL, none exited by itself" \
		"kills: $kills; exited by themselves:${exited:- none}" \
		"stderr (tail): $(tail -n 5 "$T/follow.err" | tr '\n' '|' | cut -c1-600)"
fi

# ------------------------------------------------------------- finish

timeout 120 "$LOGSHIP" ship --once "${SHIP_OPTS[@]}" --to "$SINK" "$L/*.log" >"$T/once.out" 2>"$T/once.err"
expect "the final --once run exit status" 0 "$?" "stderr: $(tail -n 5 "$T/once.err" | tr '\n' '|' | cut -c1-600)"
echo "     ($(tail -n 1 "$T/once.err"))"
# an insert of a killed run cannot still be on its way: wait for none
limit=$(($(now_ms) + 30000))
while [ "$(chq "SELECT count() FROM system.processes WHERE query LIKE 'INSERT%'")" != 0 ] &&
	[ "$(now_ms)" -lt "$limit" ]; do
	sleep 0.1
done

same=0
for f in "${FILES[@]}"; do
	cmp -s "$F/$f" "$L/$f" && same=$((same + 1))
done
expect "the files hold exactly the 50000 generated lines" "3 50000" "$same $(cat "$L"/*.log | wc -l)"

# expected: the line events parse makes of the final files
"$LOGSHIP" parse -o tsv --fields event.id,log.file.path,log.offset -w event.kind=event \
	"$L/auth.log" "$L/access.log" "$L/app.log" | tail -n +2 | sort >"$T/expect.tsv"
cut -f1 "$T/expect.tsv" | sort -u >"$T/expect.ids"
n=$(wc -l <"$T/expect.ids")
chq "SELECT DISTINCT event_id FROM logs WHERE NOT has(tags, 'alert') ORDER BY event_id FORMAT TSV" >"$T/got.ids"
missing=$(comm -23 "$T/expect.ids" "$T/got.ids" | wc -l)
extra=$(comm -13 "$T/expect.ids" "$T/got.ids" | wc -l)
if [ "$missing" = 0 ]; then
	ok "no line lost: all $n line events' event_ids are in ClickHouse"
else
	bad "no line lost: all $n line events' event_ids are in ClickHouse" \
		"missing: $missing; the first (file, offset):" \
		"$(comm -23 "$T/expect.ids" "$T/got.ids" | head -5 | join -t $'\t' - "$T/expect.tsv" | cut -f2,3 | tr '\t\n' ': ')"
fi
expect "uniqExact(event_id) of the line events == the $n lines' events" "$n" \
	"$(chq "SELECT uniqExact(event_id) FROM logs WHERE NOT has(tags, 'alert')")"
expect "no event_id that parse does not compute (re-sent lines keep their ids)" 0 "$extra" \
	"first: $(comm -13 "$T/expect.ids" "$T/got.ids" | head -3 | tr '\n' ' ')"
if grep -q 'truncated' "$T/follow.err" "$T/once.err"; then
	bad "logship never saw a truncation (none happened)" "$(grep -h 'truncated' "$T/follow.err" "$T/once.err" | sort | uniq -c | head -3)"
else
	ok "logship never saw a truncation (none happened)"
fi

read -r rows uniq <<<"$(chq "SELECT count(), uniqExact(event_id) FROM logs FORMAT TSV")"
echo "     (rows: $rows, distinct event_id: $uniq, duplicates: $((rows - uniq)))"
want_alerts=$("$LOGSHIP" parse -o tsv --fields event.id -w event.kind=alert "$L/auth.log" "$L/access.log" "$L/app.log" | tail -n +2 | sort -u)
got_alerts=$(chq "SELECT DISTINCT event_id FROM logs WHERE has(tags, 'alert') ORDER BY event_id FORMAT TSV")
echo "     (alerts: parse raises $(grep -c . <<<"$want_alerts"); ClickHouse holds $(grep -c . <<<"$got_alerts") distinct, $(comm -12 <(echo "$want_alerts") <(echo "$got_alerts") | grep -c .) of them parse's)"
dl=$(cat "$T"/state/dead-letter/* 2>/dev/null | wc -l)
echo "     (dead-lettered: $dl; warnings in the follow runs' stderr: $(grep -c . "$T/follow.err"))"

finish
