#!/usr/bin/env bash
# run.sh - logship's fault-injection suite: out of memory, disk full and I/O
# errors, EINTR, signals, and valgrind. tests/integration/faults.sh runs it
# as part of `make test`.
#
# Faults come from an LD_PRELOAD shim, tests/faults/inject.c (built here into
# the temp dir; see its header for the knobs): logship itself is not changed
# for them. Campaigns:
#
#   oom-parse, oom-tail, oom-ship  the Nth allocation fails (and, in the
#       -persistent runs of parse and tail, every one after it), N sampled over
#       the start-up of a clean run (patterns, libraries) and dense from
#       where it opens its input (the command's own work): the run must
#       exit below 128 and either behave exactly as a clean run or fail
#       with "out of memory" on stderr; after a failed ship the state must
#       load (logship status) and a clean rerun must deliver every event,
#       none torn. (PCRE2 10.42's JIT compiler does not survive a failed
#       allocation; logship's allocator for PCRE2 ends the run with "out of
#       memory" there: see parsers/matcher.c.)
#   io  write/fsync/rename/open/close of the state file, the file sink and
#       the dead-letter file fail with ENOSPC or EIO (also a short write on
#       a full disk): ship exits non-zero naming the file, the old state
#       stays byte-identical (or is replaced whole), and a clean rerun
#       delivers every line: none lost, none torn.
#   eintr  read, write, poll ... fail with EINTR every other call: parse,
#       tail and ship give the same output as without.
#   signals  TERM, INT, HUP, PIPE at start-up, mid-read and mid-delivery;
#       a closed stdout (| head -1).
#   valgrind  a tail run and a ship run under valgrind: no invalid access,
#       no definite leak, no uninitialised value in logship's code.
#
# Environment: LOGSHIP (binary, default ./logship), SEED (sampling offset,
# printed; replay with SEED=N), FAULTS_FULL=1 (every N: minutes per
# command), FAULTS_SAMPLES (runs over each start-up, default 100; the
# command's own work gets every 2nd N for parse, every 3rd for tail and
# ship), ONLY="oom io eintr signals valgrind" (campaigns to run), KEEP=1
# (keep the temp dir). Ends with "N passed, N failed" (one per OOM run, one
# per check elsewhere).
set -u
cd "$(dirname "$0")/../.." || exit 1
SRC=$PWD
LOGSHIP=${LOGSHIP:-$SRC/logship}
case $LOGSHIP in /*) ;; *) LOGSHIP=$SRC/$LOGSHIP ;; esac
if [ ! -x "$LOGSHIP" ]; then
	echo "faults: $LOGSHIP not built (run make)"
	echo "0 passed, 1 failed"
	exit 1
fi
SEED=${SEED:-$(( ($$ ^ $(date +%s)) % 1000 ))}
SAMPLES=${FAULTS_SAMPLES:-100}
echo "seed=$SEED (replay: SEED=$SEED bash tests/faults/run.sh)"

T=$(mktemp -d "${TMPDIR:-/tmp}/logship-faults.XXXXXX")
bg_pids=()
cleanup() {
	local p
	for p in "${bg_pids[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The same environment as tests/run-all.sh, also when run alone.
export TZ=UTC LOGSHIP_NOW=2023-11-15T00:00:00Z HOME=$T/home XDG_CONFIG_HOME=$T/config
unset XDG_STATE_HOME NO_COLOR
mkdir -p "$HOME"

# a copy, so a rebuild during the run does not pull the binary away
cp "$LOGSHIP" "$T/logship" && LOGSHIP=$T/logship
# A sanitizer build (make SANITIZE=...) must have its runtime loaded first
# and replaces malloc itself: no injector, no valgrind; the signals still run.
if ldd "$LOGSHIP" 2>/dev/null | grep -q -e libasan -e libtsan -e libubsan; then
	echo "faults: $LOGSHIP is a sanitizer build: only the signal campaign runs"
	ONLY=signals
fi
SHIM=$T/inject.so
if ! cc -shared -fPIC -O1 -g -o "$SHIM" "$SRC/tests/faults/inject.c" -ldl 2>"$T/cc.err"; then
	cat "$T/cc.err"
	echo "faults: cannot build the injector"
	echo "0 passed, 1 failed"
	exit 1
fi

passed=0
failed=0
ok() { passed=$((passed + 1)); [ -z "${1:-}" ] || echo "ok   $1"; }
bad() {
	failed=$((failed + 1))
	echo "FAIL $1"
	shift
	local l
	for l in "$@"; do
		printf '     %s\n' "$l"
	done
	return 0
}
want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }
now_ms() { date +%s%3N; }
# wait_for SECONDS CMD...: polls CMD every 20 ms; 0 once it succeeds.
wait_for() {
	local limit=$(($(now_ms) + $1 * 1000))
	shift
	while ! "$@"; do
		[ "$(now_ms)" -ge "$limit" ] && return 1
		sleep 0.02
	done
}
lines_of() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
has_lines() { [ "$(lines_of "$1")" -ge "$2" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
# until_blocked PID: waits (busily: start-up is short) until PID has blocked
# SIGTERM, i.e. set up its signalfd; the patterns are compiled after that.
until_blocked() {
	local i
	for ((i = 0; i < 100000; i++)); do
		blocked "$1" && return 0
		[ -d "/proc/$1" ] || return 1
	done
	return 1
}
# blocked PID: PID is logship (not the shell's child before its exec, which
# may block signals for a moment and would run this script's traps) and has
# blocked SIGTERM: its signalfd is set up. No fork: it is polled busily.
blocked() {
	local comm key value
	{ read -r comm <"/proc/$1/comm"; } 2>/dev/null || return 1
	[ "$comm" = logship ] || return 1
	while read -r key value; do
		if [ "$key" = SigBlk: ]; then
			(( (16#$value >> 14) & 1 ))
			return
		fi
	done 2>/dev/null <"/proc/$1/status"
	return 1
}
# event_ids FILE...: the distinct event ids of the events (not of threshold
# alerts: their counters start empty on each run), also inside dead letters
# (where the event is an escaped JSON string), sorted.
event_ids() {
	cat "$@" 2>/dev/null | sed 's/\\"/"/g' | grep -v '"kind":"alert"' |
		grep -o '"id":"[0-9a-f]\{16\}"' | sort -u
}
# torn FILE: lines of FILE that are not one whole JSON event (a partial
# line that the next write glued onto has two).
torn() {
	if [ -f "$1" ]; then
		awk '!/^\{"@timestamp".*\}$/ || gsub(/\{"@timestamp"/, "&") != 1 { n++ } END { print n + 0 }' "$1"
	else
		echo 0
	fi
}
# err_line FILE: the first lines of a stderr, for messages (without the
# warnings a machine short of inotify watches adds).
err_line() {
	grep -av -e 'inotify watch limit' -e 'polling every' "$1" 2>/dev/null | head -n 3 |
		tr '\n' '|' | cut -c1-300
}

# sample_ns TOTAL MARK STRIDE: the N to try: all of 1..20, about SAMPLES
# spread over the start-up (up to MARK, the allocations made before the
# input was opened: pattern compilation, libraries), and every STRIDE-th
# from just before MARK to TOTAL (the command's own work: reading, parsing,
# output, checkpoints), both offset by SEED; every N with FAULTS_FULL=1.
sample_ns() {
	local total=$1 mark=$2 stride=$3 sparse dense
	if [ "${FAULTS_FULL:-0}" = 1 ]; then
		seq 1 "$total"
		return
	fi
	dense=$(( mark > 50 ? mark - 30 : 1 ))
	sparse=$(( dense / SAMPLES ))
	[ "$sparse" -ge 1 ] || sparse=1
	{
		seq 1 20
		seq $(( 21 + SEED % sparse )) "$sparse" "$dense"
		seq $(( dense + SEED % stride )) "$stride" "$total"
		echo "$total"
	} | sort -nu
}

# sweep NAME FUNC N...: runs FUNC N for every N, two at a time; FUNC prints
# "ok N" or "FAIL N WHY" lines. Adds up the verdicts.
sweep() {
	local name=$1 fn=$2 w f
	shift 2
	printf '%s\n' "$@" >"$T/$name.ns"
	for w in 0 1; do
		(
			i=0
			while read -r n; do
				[ $((i % 2)) = "$w" ] && "$fn" "$n"
				i=$((i + 1))
			done <"$T/$name.ns"
		) >"$T/$name.res.$w" 2>&1 &
	done
	wait
	cat "$T/$name.res.0" "$T/$name.res.1" | sort -k2n >"$T/$name.res"
	local n_ok n_bad
	n_ok=$(grep -ac '^ok ' "$T/$name.res")
	n_bad=$(grep -ac '^FAIL ' "$T/$name.res")
	passed=$((passed + n_ok))
	failed=$((failed + n_bad))
	echo "$name: $# runs: $n_ok ok, $n_bad failed"
	grep -a '^FAIL ' "$T/$name.res" | cat -v | head -n 12 | sed 's/^/     /'
	[ "$n_bad" -le 12 ] || echo "     ... $((n_bad - 12)) more failures in this campaign"
	grep -aq '^FAIL ' "$T/$name.res" && echo "     (replay one: LS_FAULT_TRACE=1 shows where the fault hit; see tests/faults/inject.c)"
	return 0
}

# fault ENV... -- CMD...: CMD with the injector and the given settings (in
# the foreground: in the background, $! would be a subshell's).
fault() {
	local envs=()
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	env LD_PRELOAD="$SHIM" LS_FAULT_BACKTRACE=1 "${envs[@]}" "$@"
}

# verdict_oom N RC ERRFILE: the common part of an OOM run's verdict, for a
# run that did not end like a clean one: a crash, or an error that is not
# "out of memory". Prints the verdict and returns 1 when it printed one.
verdict_oom() {
	local n=$1 rc=$2 err=$3
	if [ "$rc" -ge 124 ]; then
		echo "FAIL $n exit $rc (crash or hang): $(err_line "$err")"
		grep -A8 'inject: fatal signal' "$err" | sed 's/^/       /'
		return 1
	fi
	# dlopen() says it its own way (ship loads libcurl)
	if ! grep -q -e 'out of memory' -e 'Cannot allocate memory' "$err"; then
		echo "FAIL $n exit $rc without 'out of memory': $(err_line "$err")"
		return 1
	fi
	if grep -q "$(printf '[\001-\010\016-\037\177]')" "$err" || ! iconv -f UTF-8 -t UTF-8 "$err" >/dev/null 2>&1; then
		echo "FAIL $n garbage in the error message: $(err_line "$err" | cat -v)"
		return 1
	fi
	return 0
}

# alloc_total FILE, alloc_mark FILE: the allocation count of a clean run's
# report, and how many came before it opened its input (LS_MARK_OPEN).
alloc_total() { sed -n 's/^allocs=\([0-9]*\).*/\1/p' "$1"; }
alloc_mark() { sed -n 's/.* mark=\([0-9]*\).*/\1/p' "$1"; }

SAMPLE=$SRC/samples/auth.log

# References: clean runs (through the injector, which then only counts the
# allocations) of parse and ship --once.
if want oom || want io || want eintr || want valgrind; then
	fault LS_FAULT_REPORT="$T/parse.rep" LS_MARK_OPEN=auth.log -- "$LOGSHIP" parse -o json "$SAMPLE" \
		>"$T/parse.ref" 2>/dev/null
	cp "$SAMPLE" "$T/ship-in.log"
	mkdir -p "$T/shipref"
	timeout -k 5 60 env LD_PRELOAD="$SHIM" LS_FAULT_REPORT="$T/ship.rep" LS_MARK_OPEN=ship-in.log \
		"$LOGSHIP" ship --once \
		--to "file://$T/shipref/out.ndjson" --state "$T/shipref/state" "$T/ship-in.log" \
		>/dev/null 2>"$T/shipref/err"
	ship_ref_rc=$?
	cp "$T/shipref/out.ndjson" "$T/ship.ref" 2>/dev/null
	if [ ! -s "$T/parse.ref" ] || [ "$ship_ref_rc" != 0 ] || [ ! -s "$T/ship.ref" ]; then
		bad "references: clean runs fail (parse: $(lines_of "$T/parse.ref") lines; ship --once: exit $ship_ref_rc)" \
			"$(err_line "$T/shipref/err")"
	fi
fi

# ---- out of memory: parse --------------------------------------------------

oom_parse_one() {
	local n=$1 d=$T/op.$1 rc
	mkdir -p "$d"
	timeout -k 5 30 env LD_PRELOAD="$SHIM" LS_FAULT_BACKTRACE=1 LS_FAIL_ALLOC="$n" \
		LS_FAIL_ALLOC_PERSIST="${PERSIST:-0}" "$LOGSHIP" parse -o json "$SAMPLE" >"$d/out" 2>"$d/err"
	rc=$?
	if [ "$rc" = 0 ] && cmp -s "$d/out" "$T/parse.ref"; then
		echo "ok $n"
	elif [ "$rc" = 0 ]; then
		echo "FAIL $n exit 0 but the output differs from a clean run: $(err_line "$d/err")"
	elif verdict_oom "$n" "$rc" "$d/err"; then
		if [ "$rc" = 2 ]; then
			echo "ok $n"
		else
			echo "FAIL $n exit $rc (want 2) on out of memory"
		fi
	fi
	rm -rf "$d"
}

if want oom; then
	echo "=== oom: parse -o json samples/auth.log"
	total=$(alloc_total "$T/parse.rep")
	if [ -z "$total" ]; then
		bad "oom-parse: no allocation count from a clean run"
	else
		mark=$(alloc_mark "$T/parse.rep")
		echo "a clean run makes $total allocations, $mark before it opens the input"
		# shellcheck disable=SC2046
		sweep oom-parse oom_parse_one $(sample_ns "$total" "${mark:-0}" 2)
		# memory that stays short: every allocation from the Nth on fails
		# shellcheck disable=SC2046
		PERSIST=1 sweep oom-parse-persistent oom_parse_one \
			$(seq $(( ${mark:-0} + SEED % 37 )) 37 "$total")
	fi
fi

# ---- out of memory: tail ---------------------------------------------------

# tail --from-start prints every line, then waits: SIGTERM once all lines
# are out, or once it exited, or after 4 s.
oom_tail_one() {
	local n=$1 d=$T/ot.$1 pid rc want
	want=$(lines_of "$T/tail.ref")
	mkdir -p "$d"
	env LD_PRELOAD="$SHIM" LS_FAULT_BACKTRACE=1 LS_FAIL_ALLOC="$n" LS_FAIL_ALLOC_PERSIST="${PERSIST:-0}" \
		"$LOGSHIP" tail --from-start -o json "$T/tail-in.log" >"$d/out" 2>"$d/err" &
	pid=$!
	wait_for 4 eval "has_lines '$d/out' $want || gone $pid"
	kill -TERM "$pid" 2>/dev/null
	wait_for 5 gone "$pid" || kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	if [ "$rc" = 0 ] && cmp -s "$d/out" "$T/tail.ref"; then
		echo "ok $n"
	elif [ "$rc" = 0 ] && ! grep -q 'out of memory' "$d/err"; then
		echo "FAIL $n exit 0, $(lines_of "$d/out") of $want lines: $(err_line "$d/err")"
	elif verdict_oom "$n" "$rc" "$d/err"; then
		# exit 0 after saying "out of memory": a warning, the run went on
		if [ "$rc" = 2 ]; then
			echo "ok $n"
		else
			echo "FAIL $n exit $rc (want 2) on out of memory: $(err_line "$d/err")"
		fi
	fi
	rm -rf "$d"
}

if want oom; then
	echo "=== oom: tail --from-start -o json FILE, SIGTERM when done"
	cp "$SAMPLE" "$T/tail-in.log"
	env LD_PRELOAD="$SHIM" LS_FAULT_REPORT="$T/tail.rep" LS_MARK_OPEN=tail-in.log "$LOGSHIP" tail \
		--from-start -o json "$T/tail-in.log" >"$T/tail.ref" 2>/dev/null &
	pid=$!
	bg_pids+=("$pid")
	wait_for 10 has_lines "$T/tail.ref" "$(lines_of "$T/parse.ref")"
	sleep 0.2
	kill -TERM "$pid"
	wait "$pid"
	total=$(alloc_total "$T/tail.rep")
	if [ -z "$total" ] || [ ! -s "$T/tail.ref" ]; then
		bad "oom-tail: no allocation count or output from a clean run"
	else
		mark=$(alloc_mark "$T/tail.rep")
		echo "a clean run makes $total allocations, $mark before it opens the input"
		# shellcheck disable=SC2046
		sweep oom-tail oom_tail_one $(sample_ns "$total" "${mark:-0}" 3)
		# shellcheck disable=SC2046
		PERSIST=1 sweep oom-tail-persistent oom_tail_one \
			$(seq $(( ${mark:-0} + SEED % 37 )) 37 "$total")
	fi
fi

# ---- out of memory: ship ---------------------------------------------------

# ship_once DIR ENV...: ship --once of $T/ship-in.log to DIR/out.ndjson with
# state DIR/state; stderr to DIR/err (appended); sets RC.
ship_once() {
	local d=$1
	shift
	timeout -k 5 60 env "$@" "$LOGSHIP" ship --once --to "file://$d/out.ndjson" \
		--state "$d/state" "$T/ship-in.log" >/dev/null 2>>"$d/err"
	RC=$?
}

oom_ship_one() {
	local n=$1 d=$T/os.$1 rc missing nt
	mkdir -p "$d"
	ship_once "$d" LD_PRELOAD="$SHIM" LS_FAULT_BACKTRACE=1 LS_FAIL_ALLOC="$n"
	rc=$RC
	cp "$d/err" "$d/err1"
	if [ "$rc" = 0 ]; then
		if ! cmp -s "$d/out.ndjson" "$T/ship.ref"; then
			echo "FAIL $n exit 0 but the sink got other events than a clean run's: $(err_line "$d/err1")"
			rm -rf "$d"
			return
		fi
	elif ! verdict_oom "$n" "$rc" "$d/err1"; then
		rm -rf "$d"
		return
	elif [ "$rc" != 2 ]; then
		echo "FAIL $n exit $rc (want 2) on out of memory: $(err_line "$d/err1")"
		rm -rf "$d"
		return
	fi
	# the state left behind loads, and a clean run delivers the rest
	if [ -d "$d/state" ] && ! "$LOGSHIP" status --state "$d/state" >/dev/null 2>"$d/st.err"; then
		echo "FAIL $n the state does not load after the failed run: $(err_line "$d/st.err")"
	else
		ship_once "$d" LS_NONE=1
		missing=$(comm -23 "$T/ship.ids" <(event_ids "$d/out.ndjson") | wc -l)
		nt=$(torn "$d/out.ndjson")
		if [ "$RC" != 0 ]; then
			echo "FAIL $n the clean rerun exits $RC: $(err_line "$d/err")"
		elif [ "$missing" != 0 ] || [ "$nt" != 0 ]; then
			echo "FAIL $n after the failed run (exit $rc: $(err_line "$d/err1")) and a clean one, $missing events are lost, $nt lines torn"
		else
			echo "ok $n"
		fi
	fi
	rm -rf "$d"
}

if want oom; then
	echo "=== oom: ship --once --to file:// --state DIR, then status and a clean rerun"
	event_ids "$T/ship.ref" >"$T/ship.ids"
	total=$(alloc_total "$T/ship.rep")
	if [ -z "$total" ] || [ ! -s "$T/ship.ids" ]; then
		bad "oom-ship: no allocation count or events from a clean run"
	else
		mark=$(alloc_mark "$T/ship.rep")
		echo "a clean run makes $total allocations, $mark before it opens the input, ships $(lines_of "$T/ship.ref") events"
		# shellcheck disable=SC2046
		sweep oom-ship oom_ship_one $(sample_ns "$total" "${mark:-0}" 3)
	fi
fi

# ---- disk full and I/O errors ---------------------------------------------

# io_case NAME WHAT ENV...: the input's first 30 lines are shipped cleanly,
# the rest appended, then ship --once runs with the fault ENV; WHAT says
# which file's name the error must give: "state", "sink" or "deadletter".
# Checks: a non-zero exit naming the file; the old state byte-identical, or
# (a failure after the rename) a new one that loads; a clean rerun then
# delivers every event (sink, or dead letters for the rejected ones), with
# no torn line.
io_case() {
	local name=$1 what=$2 d=$T/io.$1 st stfile path
	shift 2
	mkdir -p "$d"
	head -n 30 "$SAMPLE" >"$d/in.log"
	io_run "$d" LS_NONE=1
	if [ "$RC" != 0 ] && [ "$RC" != 4 ]; then
		bad "io $name: the first, clean run exits $RC" "$(err_line "$d/err")"
		return
	fi
	stfile=$(ls "$d"/state/*.state 2>/dev/null | head -n 1)
	cp "$stfile" "$d/state.before" 2>/dev/null
	tail -n +31 "$SAMPLE" >>"$d/in.log"
	: >"$d/err"
	io_run "$d" LD_PRELOAD="$SHIM" LS_FAULT_REPORT="$d/rep" "$@"
	st=$RC
	cp "$d/err" "$d/err.fault"
	case $what in
	state) path=$(basename "$stfile") ;;
	sink) path=out.ndjson ;;
	deadletter) path=dead-letter/ ;;
	esac
	if ! grep -q 'io_fired=[1-9]' "$d/rep" 2>/dev/null; then
		bad "io $name: the fault never fired (the code path changed?)" "$(cat "$d/rep" 2>/dev/null)"
		return
	fi
	if [ "$st" -ge 124 ]; then
		bad "io $name: exit $st (crash)" "$(err_line "$d/err.fault")"
	elif [ "$st" = 0 ] || { [ "$what" = deadletter ] && [ "$st" = 4 ]; }; then
		# 4 says "rejected events were dead-lettered": not so here
		bad "io $name: exit $st although the $what could not be written" \
			"stderr: $(err_line "$d/err.fault")" \
			"fault: $* (replay: ONLY=io KEEP=1 bash tests/faults/run.sh)"
	elif ! grep -q "$path" "$d/err.fault"; then
		bad "io $name: the error does not name $path" "$(err_line "$d/err.fault")"
	else
		ok "io $name: exit $st, $(grep -m1 "$path" "$d/err.fault" | cut -c1-140)"
	fi
	if cmp -s "$stfile" "$d/state.before"; then
		ok "io $name: the old state is byte-identical"
	elif "$LOGSHIP" status --state "$d/state" >/dev/null 2>"$d/st.err"; then
		if [ "$what" = state ] && [ "${IO_NEW_STATE_OK:-0}" != 1 ]; then
			bad "io $name: the state changed although saving it failed"
		else
			ok "io $name: the state moved on and loads"
		fi
	else
		bad "io $name: the state does not load" "$(err_line "$d/st.err")"
	fi
	ls "$d"/state/*.tmp >/dev/null 2>&1 && bad "io $name: a temp file was left: $(ls "$d"/state/*.tmp)"
	: >"$d/err"
	io_run "$d" LS_NONE=1
	local missing nt
	missing=$(comm -23 <(event_ids "$d/ref.ndjson") \
		<(event_ids "$d/out.ndjson" "$d"/state/dead-letter/*.ndjson "$d/sink.out") | wc -l)
	nt=$(torn "$d/out.ndjson")
	if [ "$RC" != 0 ] && [ "$RC" != 4 ]; then
		bad "io $name: the clean rerun exits $RC" "$(err_line "$d/err")"
	elif [ "$missing" != 0 ] || [ "${nt:-0}" != 0 ]; then
		bad "io $name: after the fault and a clean rerun, $missing events are lost, $nt lines torn" \
			"fault run: exit $st: $(err_line "$d/err.fault")"
	else
		ok "io $name: a clean rerun delivers every event, none torn"
	fi
}

# io_run DIR ENV...: ship --once of DIR/in.log, to the file sink or (with
# IO_HTTP set) to the fake sink; sets RC.
io_run() {
	local d=$1
	shift
	if [ -n "${IO_HTTP:-}" ]; then
		timeout -k 5 60 env "$@" "$LOGSHIP" ship --once --to "http://127.0.0.1:$IO_HTTP/" \
			--backoff-base 10ms --state "$d/state" "$d/in.log" >/dev/null 2>>"$d/err"
	else
		# a file that cannot be written is the sink failing: --once
		# gives up (exit 3) at --max-retry-time, as for a server
		timeout -k 5 60 env "$@" "$LOGSHIP" ship --once --to "file://$d/out.ndjson" \
			--max-retry-time 2s --state "$d/state" "$d/in.log" >/dev/null 2>>"$d/err"
	fi
	RC=$?
}

if want io; then
	echo "=== io: ENOSPC and EIO on the state file, the file sink, dead letters"
	mkdir -p "$T/ioref"
	cp "$SAMPLE" "$T/ioref/in.log"
	io_run "$T/ioref" LS_NONE=1
	for c in state-write state-short state-fsync state-rename state-open state-close \
		state-dirsync sink-write sink-short sink-fsync; do
		mkdir -p "$T/io.$c"
		cp "$T/ioref/out.ndjson" "$T/io.$c/ref.ndjson"
	done
	io_case state-write state LS_FAIL_OP=write LS_FAIL_PATH=.state.tmp LS_FAIL_ERRNO=ENOSPC
	io_case state-short state LS_FAIL_OP=write LS_FAIL_PATH=.state.tmp LS_FAIL_ERRNO=ENOSPC \
		LS_FAIL_SHORT=1
	io_case state-fsync state LS_FAIL_OP=fsync LS_FAIL_PATH=.state.tmp LS_FAIL_ERRNO=EIO
	io_case state-rename state LS_FAIL_OP=rename LS_FAIL_PATH=.state.tmp LS_FAIL_ERRNO=EIO
	io_case state-open state LS_FAIL_OP=open LS_FAIL_PATH=.state.tmp LS_FAIL_ERRNO=ENOSPC
	io_case state-close state LS_FAIL_OP=close LS_FAIL_PATH=.state.tmp LS_FAIL_ERRNO=EIO
	# the directory's fsync fails after the rename: the new state is in
	# place (complete, checksummed) and the failure is still reported
	IO_NEW_STATE_OK=1 io_case state-dirsync state LS_FAIL_OP=fsync LS_FAIL_PATH=/state\$ \
		LS_FAIL_ERRNO=EIO
	io_case sink-write sink LS_FAIL_OP=write LS_FAIL_PATH=out.ndjson LS_FAIL_ERRNO=ENOSPC \
		LS_FAIL_PERSIST=1
	io_case sink-short sink LS_FAIL_OP=write LS_FAIL_PATH=out.ndjson LS_FAIL_ERRNO=ENOSPC \
		LS_FAIL_SHORT=1
	io_case sink-fsync sink LS_FAIL_OP=fsync LS_FAIL_PATH=out.ndjson LS_FAIL_ERRNO=EIO

	# dead letters: a fake HTTP sink rejects the svc-backup lines (400),
	# which are in the appended part; one sink per case
	if cc -O2 -o "$T/fakesink" "$SRC/tests/integration/fakesink.c" -lz -lzstd 2>"$T/fs.err"; then
		for c in dl-write dl-fsync; do
			mkdir -p "$T/io.$c"
			cp "$T/ioref/out.ndjson" "$T/io.$c/ref.ndjson"
			"$T/fakesink" --port-file "$T/io.$c/port" --out "$T/io.$c/sink.out" \
				--log "$T/io.$c/sink.log" --bad-if-contains 'svc-backup' 2>"$T/io.$c/sink.err" &
			spid=$!
			bg_pids+=("$spid")
			if ! wait_for 10 test -s "$T/io.$c/port"; then
				bad "io $c: the fake sink did not start: $(cat "$T/io.$c/sink.err")"
				continue
			fi
			IO_HTTP=$(cat "$T/io.$c/port")
			if [ "$c" = dl-write ]; then
				io_case dl-write deadletter LS_FAIL_OP=write LS_FAIL_PATH=dead-letter \
					LS_FAIL_ERRNO=ENOSPC LS_FAIL_PERSIST=1
			else
				io_case dl-fsync deadletter LS_FAIL_OP=fsync LS_FAIL_PATH=dead-letter \
					LS_FAIL_ERRNO=EIO
			fi
			IO_HTTP=
			kill "$spid" 2>/dev/null
			wait "$spid" 2>/dev/null
		done
	else
		bad "io: cannot build tests/integration/fakesink.c: $(head -3 "$T/fs.err")"
	fi

	# tail --state: a failed save is reported, the run goes on, exit 2
	d=$T/io.tail
	mkdir -p "$d"
	cp "$SAMPLE" "$d/in.log"
	env LD_PRELOAD="$SHIM" LS_FAULT_REPORT="$d/rep" LS_FAIL_OP=write LS_FAIL_PATH=.state.tmp \
		LS_FAIL_PERSIST=1 "$LOGSHIP" tail --from-start --state "$d/state" -o json "$d/in.log" \
		>"$d/out" 2>"$d/err" &
	pid=$!
	bg_pids+=("$pid")
	wait_for 10 has_lines "$d/out" "$(lines_of "$T/parse.ref")"
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	if [ "$rc" = 2 ] && grep -q 'state.*No space left' "$d/err" && [ ! -e "$(ls "$d"/state/*.state 2>/dev/null)" ]; then
		ok "io tail-state: exit 2, '$(grep -m1 'No space' "$d/err" | cut -c1-100)', no state written"
	else
		bad "io tail-state: exit $rc (want 2 and the error)" "$(err_line "$d/err")"
	fi
fi

# ---- EINTR -----------------------------------------------------------------

if want eintr; then
	echo "=== eintr: every other read/write/poll interrupted"
	d=$T/eintr
	mkdir -p "$d"
	gzip -c "$SAMPLE" >"$d/auth.log.gz"
	for input in plain gzip stdin; do
		case $input in
		plain) args=("$SAMPLE") ;;
		gzip) args=("$d/auth.log.gz") ;;
		stdin) args=(-) ;;
		esac
		"$LOGSHIP" parse -o json "${args[@]}" <"$SAMPLE" >"$d/p.ref" 2>"$d/p.ref.err"
		rc_ref=$?
		fault LS_EINTR=1 LS_FAULT_REPORT="$d/rep" -- "$LOGSHIP" parse -o json "${args[@]}" \
			<"$SAMPLE" >"$d/p.out" 2>"$d/p.err"
		rc=$?
		n=$(sed -n 's/.*eintr=\([0-9]*\).*/\1/p' "$d/rep")
		if [ "$rc" = "$rc_ref" ] && cmp -s "$d/p.ref" "$d/p.out" && [ -s "$d/p.out" ] && [ "${n:-0}" -gt 0 ]; then
			ok "eintr parse ($input): same output and exit, $n calls interrupted"
		else
			bad "eintr parse ($input): exit $rc (clean: $rc_ref), output $(cmp -s "$d/p.ref" "$d/p.out" && echo same || echo differs), $n interrupted" \
				"$(err_line "$d/p.err")"
		fi
	done
	# tail: the whole file, then two more lines, then SIGTERM; once
	# without and once with EINTR, on the same file
	for mode in clean eintr; do
		cp "$SAMPLE" "$d/t.log"
		if [ "$mode" = clean ]; then
			"$LOGSHIP" tail --from-start -o json "$d/t.log" >"$d/t.$mode" 2>"$d/t.err" &
		else
			env LD_PRELOAD="$SHIM" LS_EINTR=1 LS_FAULT_REPORT="$d/trep" "$LOGSHIP" tail \
				--from-start -o json "$d/t.log" >"$d/t.$mode" 2>"$d/t.err" &
		fi
		pid=$!
		bg_pids+=("$pid")
		want_n=$(lines_of "$T/parse.ref")
		[ "$want_n" -gt 0 ] || want_n=63
		wait_for 10 has_lines "$d/t.$mode" "$want_n"
		printf '%s\n' "$(sed -n 5p "$SAMPLE")" "$(sed -n 6p "$SAMPLE")" >>"$d/t.log"
		wait_for 10 has_lines "$d/t.$mode" $((want_n + 2))
		kill -TERM "$pid"
		wait "$pid"
		rc=$?
		[ "$mode" = clean ] && rc_ref=$rc
	done
	n=$(sed -n 's/.*eintr=\([0-9]*\).*/\1/p' "$d/trep")
	if [ "$rc" = 0 ] && [ "$rc_ref" = 0 ] && [ "$(lines_of "$d/t.eintr")" = $((want_n + 2)) ] &&
		cmp -s "$d/t.clean" "$d/t.eintr"; then
		ok "eintr tail: the same lines as without, appended ones too, exit 0 on SIGTERM ($n interrupted)"
	else
		bad "eintr tail: exit $rc (clean: $rc_ref), $(lines_of "$d/t.eintr") lines (want $((want_n + 2))), $(cmp -s "$d/t.clean" "$d/t.eintr" && echo same || echo "not the same as without")" \
			"$(err_line "$d/t.err")"
	fi
	# ship --once to the file sink
	mkdir -p "$d/s1" "$d/s2"
	cp "$SAMPLE" "$d/s.log"
	timeout 60 "$LOGSHIP" ship --once --to "file://$d/s1/out" --state "$d/s1/state" "$d/s.log" 2>/dev/null
	rc_ref=$?
	timeout 60 env LD_PRELOAD="$SHIM" LS_EINTR=1 LS_FAULT_REPORT="$d/srep" "$LOGSHIP" ship --once \
		--to "file://$d/s2/out" --state "$d/s2/state" "$d/s.log" 2>"$d/s.err"
	rc=$?
	n=$(sed -n 's/.*eintr=\([0-9]*\).*/\1/p' "$d/srep")
	if [ "$rc" = "$rc_ref" ] && [ "$rc" = 0 ] && cmp -s "$d/s1/out" "$d/s2/out" &&
		"$LOGSHIP" status --state "$d/s2/state" >/dev/null 2>&1; then
		ok "eintr ship --once: same sink output, exit 0, the state loads ($n interrupted)"
	else
		bad "eintr ship --once: exit $rc (clean: $rc_ref), sink output $(cmp -s "$d/s1/out" "$d/s2/out" && echo same || echo differs)" \
			"$(err_line "$d/s.err")"
	fi
fi

# ---- signals ---------------------------------------------------------------

# big FILE N: N numbered syslog lines.
big() {
	awk -v n="$2" 'BEGIN { for (i = 1; i <= n; i++)
		printf "Nov 14 22:%02d:%02d web01 sshd[%d]: Failed password for invalid user u%d from 198.51.100.%d port %d ssh2\n",
			(i / 60) % 60, i % 60, 1000 + i % 5000, i, i % 250, 1024 + i % 60000 }' >"$1"
}

# offsets FILE...: the log.offset of every event (JSON, or logfmt with
# --fields log.offset), one line each, sorted.
offsets() { cat "$@" 2>/dev/null | grep -o -e '"offset":[0-9]*' -e 'log\.offset=[0-9]*' | sort; }

if want signals; then
	echo "=== signals"
	d=$T/sig
	mkdir -p "$d"
	big "$d/big.log" 150000
	nbig=150000

	# tail: SIGTERM/SIGINT/SIGHUP at start-up (signals just set up, the
	# patterns still compiling) and mid-read; a restart with the same state
	# prints the rest: every line exactly once.
	for sig in TERM INT HUP; do
		for when in startup midread; do
			s=$d/tail-$sig-$when
			mkdir -p "$s"
			# mid-read: stdout is a FIFO read only after a pause, so tail
			# is blocked writing its first lines when the signal comes
			mkfifo "$s/fifo"
			{ [ "$when" = startup ] || sleep 0.4; cat; } <"$s/fifo" >"$s/out1" &
			reader=$!
			"$LOGSHIP" tail --from-start --state "$s/state" -o logfmt --fields log.offset \
				"$d/big.log" >"$s/fifo" 2>"$s/err1" &
			pid=$!
			bg_pids+=("$pid" "$reader")
			until_blocked "$pid"
			[ "$when" = startup ] || sleep 0.2
			kill -"$sig" "$pid"
			wait "$pid"
			rc=$?
			wait "$reader"
			n1=$(lines_of "$s/out1")
			if [ "$rc" != 0 ]; then
				bad "signal tail $sig at $when: exit $rc (want 0)" "$(err_line "$s/err1")"
				continue
			fi
			if ! "$LOGSHIP" status --state "$s/state" >/dev/null 2>"$s/st.err"; then
				bad "signal tail $sig at $when: the state does not load" "$(err_line "$s/st.err")"
				continue
			fi
			"$LOGSHIP" tail --from-start --state "$s/state" -o logfmt --fields log.offset \
				"$d/big.log" >"$s/out2" 2>"$s/err2" &
			pid=$!
			wait_for 60 has_lines "$s/out2" $((nbig - n1))
			sleep 0.1
			kill -TERM "$pid"
			wait "$pid"
			all=$(offsets "$s/out1" "$s/out2" | wc -l)
			uniq=$(offsets "$s/out1" "$s/out2" | uniq | wc -l)
			if [ "$uniq" = "$nbig" ] && [ "$all" = "$nbig" ]; then
				ok "signal tail $sig at $when: exit 0, $n1 lines, then the rest after a restart: each line once"
			else
				bad "signal tail $sig at $when: $uniq distinct of $nbig lines, $((all - uniq)) repeated (first run $n1)"
			fi
		done
	done

	# SIGPIPE sent to tail is ignored (it only matters as EPIPE on write)
	"$LOGSHIP" tail -o json "$d/big.log" >/dev/null 2>"$d/pipe.err" &
	pid=$!
	bg_pids+=("$pid")
	wait_for 10 blocked "$pid"
	kill -PIPE "$pid"
	sleep 0.3
	if gone "$pid"; then
		wait "$pid"
		bad "signal tail PIPE: tail died (exit $?)"
	else
		kill -TERM "$pid"
		wait "$pid"
		rc=$?
		[ "$rc" = 0 ] && ok "signal tail PIPE: ignored, then exit 0 on SIGTERM" ||
			bad "signal tail PIPE: exit $rc after SIGTERM"
	fi

	# a closed stdout: no error, no signal death
	for cmd in parse tail; do
		if [ "$cmd" = parse ]; then
			"$LOGSHIP" parse -o json "$d/big.log" 2>"$d/head.err" | head -n 1 >/dev/null
			rc=${PIPESTATUS[0]}
		else
			timeout 20 "$LOGSHIP" tail --from-start -o json "$d/big.log" 2>"$d/head.err" | head -n 1 >/dev/null
			rc=${PIPESTATUS[0]}
		fi
		if [ "$rc" = 0 ] && [ ! -s "$d/head.err" ]; then
			ok "signal $cmd | head -1: exit 0, nothing on stderr"
		else
			bad "signal $cmd | head -1: exit $rc" "$(err_line "$d/head.err")"
		fi
	done

	# ship (following): SIGTERM/SIGINT at start-up and mid-delivery exit 0
	# with a state that loads; ship --once then delivers the rest: every
	# event at least once (duplicates are counted, not failed).
	big "$d/ship.log" 60000
	for sig in TERM INT; do
		for when in startup middelivery; do
			s=$d/ship-$sig-$when
			mkdir -p "$s"
			"$LOGSHIP" ship --to "file://$s/out" --state "$s/state" --batch-size 500 "$d/ship.log" \
				>/dev/null 2>"$s/err1" &
			pid=$!
			bg_pids+=("$pid")
			if [ "$when" = startup ]; then
				until_blocked "$pid"
			else
				wait_for 30 test -s "$s/out"
			fi
			kill -"$sig" "$pid"
			wait "$pid"
			rc=$?
			n1=$(lines_of "$s/out")
			if [ "$rc" != 0 ]; then
				bad "signal ship $sig at $when: exit $rc (want 0)" "$(err_line "$s/err1")"
				continue
			fi
			if ! "$LOGSHIP" status --state "$s/state" >/dev/null 2>"$s/st.err"; then
				bad "signal ship $sig at $when: the state does not load" "$(err_line "$s/st.err")"
				continue
			fi
			timeout 120 "$LOGSHIP" ship --once --to "file://$s/out" --state "$s/state" "$d/ship.log" \
				>/dev/null 2>"$s/err2"
			rc=$?
			uniq=$(offsets "$s/out" | uniq | wc -l)
			all=$(lines_of "$s/out")
			if [ "$rc" = 0 ] && [ "$uniq" = 60000 ] && [ "$(torn "$s/out")" = 0 ]; then
				ok "signal ship $sig at $when: exit 0 ($n1 events), the rest by --once: all, $((all - uniq)) re-sent"
			else
				bad "signal ship $sig at $when: after --once (exit $rc) $uniq distinct of 60000 events" \
					"$(err_line "$s/err2")"
			fi
		done
	done

	# ship on SIGHUP starts again (same pid, config reread) and keeps
	# shipping; SIGPIPE is ignored; SIGTERM then stops it with exit 0
	s=$d/ship-HUP
	mkdir -p "$s"
	head -n 100 "$d/big.log" >"$s/in.log"
	"$LOGSHIP" ship --to "file://$s/out" --state "$s/state" --flush-interval 100ms "$s/in.log" \
		>/dev/null 2>"$s/err" &
	pid=$!
	bg_pids+=("$pid")
	wait_for 20 has_lines "$s/out" 100
	kill -HUP "$pid"
	wait_for 10 grep -q 'SIGHUP' "$s/err"
	wait_for 10 blocked "$pid"
	sed -n '101,150p' "$d/big.log" >>"$s/in.log"
	kill -PIPE "$pid"
	if wait_for 20 has_lines "$s/out" 150 && ! gone "$pid"; then
		kill -TERM "$pid"
		wait "$pid"
		rc=$?
		uniq=$(offsets "$s/out" | uniq | wc -l)
		if [ "$rc" = 0 ] && [ "$uniq" = 150 ]; then
			ok "signal ship HUP: restarted, shipped what came after, PIPE ignored, exit 0 on TERM"
		else
			bad "signal ship HUP: exit $rc after TERM, $uniq of 150 events" "$(err_line "$s/err")"
		fi
	else
		bad "signal ship HUP: $(lines_of "$s/out") of 150 events after the restart, $(gone "$pid" && echo dead || echo alive)" \
			"$(err_line "$s/err")"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
fi

# ---- valgrind --------------------------------------------------------------

if want valgrind; then
	echo "=== valgrind"
	if ! command -v valgrind >/dev/null; then
		bad "valgrind: not installed (make deps)"
	else
		d=$T/vg
		mkdir -p "$d"
		# PCRE2's JIT-compiled code lives in anonymous executable memory
		# (no object: "???" in valgrind's stacks), where memcheck takes the
		# JIT's own bookkeeping for uninitialised reads unless PCRE2 was
		# built with --enable-valgrind; those frames alone are suppressed
		# (a real object's name is a path, never three characters)
		cat >"$d/supp" <<'EOF'
{
   pcre2-jit-code-cond
   Memcheck:Cond
   obj:???
}
{
   pcre2-jit-code-value
   Memcheck:Value8
   obj:???
}
EOF
		vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
			--show-leak-kinds=definite --suppressions="$d/supp" --log-file="$d/vg.%p")
		cp "$SAMPLE" "$d/t.log"
		"${vg[@]}" "$LOGSHIP" tail --from-start --state "$d/tstate" -o json "$d/t.log" >"$d/t.out" 2>"$d/t.err" &
		pid=$!
		bg_pids+=("$pid")
		want_n=$(lines_of "$T/parse.ref")
		[ "$want_n" -gt 0 ] || want_n=63
		wait_for 90 has_lines "$d/t.out" "$want_n"
		sed -n '1,5p' "$SAMPLE" >>"$d/t.log"
		wait_for 60 has_lines "$d/t.out" $((want_n + 5))
		kill -TERM "$pid"
		wait "$pid"
		rc=$?
		if [ "$rc" = 0 ] && has_lines "$d/t.out" $((want_n + 5)); then
			ok "valgrind tail: exit 0, every line, no error or definite leak"
		else
			bad "valgrind tail: exit $rc (99: valgrind found errors), $(lines_of "$d/t.out") lines" \
				"$(cat "$d"/vg.* 2>/dev/null | head -n 30)"
		fi
		rm -f "$d"/vg.*
		timeout 300 "${vg[@]}" "$LOGSHIP" ship --once --to "file://$d/s.out" --state "$d/sstate" "$SAMPLE" \
			>/dev/null 2>"$d/s.err"
		rc=$?
		if [ "$rc" = 0 ] && [ "$(lines_of "$d/s.out")" = "$(lines_of "$T/ship.ref")" ]; then
			ok "valgrind ship --once: exit 0, every event, no error or definite leak"
		else
			bad "valgrind ship --once: exit $rc (99: valgrind found errors)" \
				"$(cat "$d"/vg.* 2>/dev/null | head -n 30)" "$(err_line "$d/s.err")"
		fi
	fi
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
