#!/usr/bin/env bash
# bench/startup.sh - how long `logship parse` takes on a one-line input (its
# start-up: loading and compiling the built-in formats and rules, choosing
# the format, the first event), against grep on the same input, each run
# STARTUP_RUNS times (default 200) from this shell as a user would run it;
# the medians in ms. Target: logship under 5 ms.
#
# Prints one Markdown table row:
#   | parse, one-line input (start-up) | LOGSHIP ms | GREP ms | RATIO | < 5 ms | PASS/FAIL |
# With --header, the table's header first. Exits 0 whatever the numbers (it
# reports, it does not gate); 2 when a command fails.
#
# Environment: LOGSHIP (default ./logship), STARTUP_RUNS (200),
# STARTUP_TARGET_MS (5).
set -u
cd "$(dirname "$0")/.." || exit 2

LOGSHIP=${LOGSHIP:-./logship}
RUNS=${STARTUP_RUNS:-200}
TARGET_MS=${STARTUP_TARGET_MS:-5}

if [ ! -x "$LOGSHIP" ]; then
	echo "startup.sh: $LOGSHIP is not built (run make)" >&2
	exit 2
fi
if [ -z "${EPOCHREALTIME:-}" ]; then
	echo "startup.sh: needs bash 5 (EPOCHREALTIME)" >&2
	exit 2
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
LINE="$TMP/one-line.log"
printf 'Nov 14 22:05:45 web01 sshd[4242]: Failed password for invalid user admin from 203.0.113.45 port 40112 ssh2\n' >"$LINE"
# no user or site pattern directory, no terminal
export HOME=$TMP XDG_CONFIG_HOME=$TMP/config

# median_ms CMD...: runs CMD $RUNS times (stdout to /dev/null) after one
# warm-up run; prints the median wall time in ms with 2 decimals.
median_ms() {
	local i t0 t1 us
	"$@" >/dev/null 2>&1 || { echo "startup.sh: '$*' failed" >&2; return 2; }
	: >"$TMP/times"
	for ((i = 0; i < RUNS; i++)); do
		t0=$EPOCHREALTIME
		"$@" >/dev/null 2>&1
		t1=$EPOCHREALTIME
		# microseconds: EPOCHREALTIME is seconds.micro
		us=$(( (10#${t1%.*} - 10#${t0%.*}) * 1000000 + 10#${t1#*.} - 10#${t0#*.} ))
		echo "$us" >>"$TMP/times"
	done
	sort -n "$TMP/times" | awk '{ v[NR] = $1 }
		END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f\n", m / 1000 }'
}

ls_ms=$(median_ms "$LOGSHIP" parse "$LINE") || exit 2
grep_ms=$(median_ms grep -c Failed "$LINE") || exit 2
ratio=$(awk -v a="$ls_ms" -v b="$grep_ms" 'BEGIN { printf (b > 0 ? "%.1f×" : "-"), a / b }')
verdict=$(awk -v a="$ls_ms" -v t="$TARGET_MS" 'BEGIN { print (a < t) ? "PASS" : "FAIL" }')

if [ "${1:-}" = "--header" ]; then
	echo "| what | logship parse (median ms) | grep (median ms) | × grep | target | result |"
	echo "|---|---:|---:|---:|---|---|"
fi
echo "| parse, one-line input (start-up, $RUNS runs) | $ls_ms | $grep_ms | $ratio | < $TARGET_MS ms | $verdict |"
