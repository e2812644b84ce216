#!/usr/bin/env bash
# bench/run.sh - `make bench`: logship's throughput and memory, side by side
# with cat and grep -cP on the same files in the same run.
#
# Generates (once, deterministically) an nginx combined corpus and an
# auth.log corpus in bench/data/, times each command BENCH_RUNS times
# (default 3) keeping the best wall time, prints a table and writes
# docs/BENCHMARKS.md with the machine, the numbers and PASS/FAIL per target.
# Then `logship tail`: the delay from a write to the printed event, the
# throughput on a file appended at full speed (against parse on the same
# data) and a thousand idle files (CPU, memory); bench/latency.c times those.
# Then `logship ship --once` of the nginx corpus into a file (the no-network
# baseline), the fake HTTP sink (tests/integration/fakesink.c, gzip and zstd)
# and a private clickhouse-server on loopback (tests/lib/clickhouse-server.sh): events/s,
# MB/s, CPU seconds per million events, peak RSS, every event checked to
# have arrived.
# Exits 0 even when targets fail: it reports, it does not gate.
#
# Knobs (environment): BENCH_RUNS (3), BENCH_NGINX_LINES (1000000),
# BENCH_AUTH_LINES (500000), BENCH_SLOW (15: a command slower than this many
# seconds is run once, to keep `make bench` within minutes),
# BENCH_CALLGRIND (1: instruction counts on a 20k-line slice; 0 skips),
# BENCH_MEMCHECK (1), BENCH_TAIL (1: the tail benchmarks; 0 skips),
# BENCH_LATENCY_WRITES (1000), BENCH_IDLE_FILES (1000),
# BENCH_SHIP (1: the ship benchmarks; 0 skips), BENCH_SHIP_SLOW (5: a ship
# run slower than this many seconds is not repeated),
# BENCH_TAG_RUNS (11: alternate runs of `-o json` and `--no-tag -o json`
# each for the tagging cost), BENCH_DOC (docs/BENCHMARKS.md; empty: do
# not write).
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD

RUNS=${BENCH_RUNS:-3}
TAG_RUNS=${BENCH_TAG_RUNS:-11}
NGINX_LINES=${BENCH_NGINX_LINES:-1000000}
AUTH_LINES=${BENCH_AUTH_LINES:-500000}
SLOW=${BENCH_SLOW:-15}
DO_CALLGRIND=${BENCH_CALLGRIND:-1}
DO_MEMCHECK=${BENCH_MEMCHECK:-1}
DO_TAIL=${BENCH_TAIL:-1}
LAT_WRITES=${BENCH_LATENCY_WRITES:-1000}
IDLE_FILES=${BENCH_IDLE_FILES:-1000}
DO_SHIP=${BENCH_SHIP:-1}
DO_STARTUP=${BENCH_STARTUP:-1}
SHIP_SLOW=${BENCH_SHIP_SLOW:-5}
DOC=${BENCH_DOC-docs/BENCHMARKS.md}
SLICE_LINES=20000
RSS_CAP_KIB=$((16 * 1024))

LOGSHIP=$ROOT/logship
DATA=$ROOT/bench/data
GEN=$ROOT/build/bench-gen
LATENCY=$ROOT/build/bench-latency
NGINX=$DATA/nginx-access.log
AUTH=$DATA/auth.log

die() { echo "bench: $*" >&2; exit 2; }

[ -x "$LOGSHIP" ] || die "no ./logship: run 'make' first"
TIME_BIN=/usr/bin/time
[ -x "$TIME_BIN" ] || die "/usr/bin/time is missing: apt-get install time"

# The ship benchmarks start servers (the fake sink, clickhouse-server): they
# are stopped by their PID whatever way this script ends.
SINK_PID="" SHIP_RUN_PID=""
# shellcheck source=tests/lib/clickhouse-server.sh
source "$ROOT/tests/lib/clickhouse-server.sh" || die "cannot read tests/lib/clickhouse-server.sh"
TMP=$(mktemp -d) || die "mktemp failed"
cleanup() {
	if [ -n "$SHIP_RUN_PID" ]; then
		kill "$SHIP_RUN_PID" 2>/dev/null # timeout(1) passes it on to logship
		wait "$SHIP_RUN_PID" 2>/dev/null
	fi
	if [ -n "$SINK_PID" ]; then
		kill "$SINK_PID" 2>/dev/null
		wait "$SINK_PID" 2>/dev/null
	fi
	ch_server_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$TMP/home" "$TMP/config"
# The binary measured is a copy taken now: a `make` running meanwhile (it
# relinks ./logship, and removes it when the link fails) changes nothing here.
cp "$LOGSHIP" "$TMP/logship" || die "cannot copy $LOGSHIP"
LOGSHIP=$TMP/logship

# Every command runs with the same pinned environment, so no user pattern
# directory or clock leaks in and grep's locale is the same everywhere.
LOCALE=C.UTF-8
locale -a 2>/dev/null | grep -qix 'c.utf-\?8' || LOCALE=C
RUN_ENV=(env LOGSHIP_NOW=2023-11-15T00:00:00Z TZ=UTC HOME="$TMP/home"
	XDG_CONFIG_HOME="$TMP/config" LC_ALL="$LOCALE")
export LC_NUMERIC=C # bash's own number formatting below

# ---------------------------------------------------------------- corpora

build_gen() {
	if [ ! -x "$GEN" ] || [ "$ROOT/bench/gen.c" -nt "$GEN" ]; then
		mkdir -p "$(dirname "$GEN")"
		${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$GEN" "$ROOT/bench/gen.c" ||
			die "cannot compile bench/gen.c"
	fi
}

build_latency() {
	if [ ! -x "$LATENCY" ] || [ "$ROOT/bench/latency.c" -nt "$LATENCY" ]; then
		mkdir -p "$(dirname "$LATENCY")"
		${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$LATENCY" "$ROOT/bench/latency.c" ||
			die "cannot compile bench/latency.c"
	fi
}

# gen_corpus KIND COUNT FILE: regenerate when missing, when the generator
# changed, or when asked for another size (a stamp records the arguments).
gen_corpus() {
	local kind=$1 count=$2 file=$3 stamp=$3.stamp
	if [ -s "$file" ] && [ -f "$stamp" ] && [ "$file" -nt "$GEN" ] &&
		[ "$(cat "$stamp")" = "$kind $count" ]; then
		return 0
	fi
	echo "bench: generating $(basename "$file") ($kind, $count)" >&2
	if ! "$GEN" "$kind" "$count" "$file.tmp" || ! mv "$file.tmp" "$file"; then
		rm -f "$file.tmp"
		die "generating $file failed"
	fi
	echo "$kind $count" >"$stamp"
}

LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
build_gen
mkdir -p "$DATA"
gen_corpus nginx "$NGINX_LINES" "$NGINX"
gen_corpus auth "$AUTH_LINES" "$AUTH"

# ---------------------------------------------------------------- timing

# Results, by key: seconds, peak RSS KiB, exit status, stdout (for counts), runs.
declare -A R_SEC R_RSS R_RC R_OUT R_RUNS R_ERR

# measure KEY OUT CMD...: runs CMD up to RUNS times, keeps the best wall time
# and the highest peak RSS. OUT is "null" (stdout discarded) or "keep"
# (stdout kept for the result, for counts). Wall time comes from bash's
# microsecond clock; /usr/bin/time gives the peak RSS.
measure() {
	local key=$1 out=$2 i t0 t1 sec rc rss best="" maxrss=0 n=0
	shift 2
	for ((i = 0; i < RUNS; i++)); do
		t0=$EPOCHREALTIME
		if [ "$out" = keep ]; then
			"$TIME_BIN" -f '%M' -o "$TMP/time" "${RUN_ENV[@]}" "$@" >"$TMP/out" 2>"$TMP/err"
		else
			"$TIME_BIN" -f '%M' -o "$TMP/time" "${RUN_ENV[@]}" "$@" >/dev/null 2>"$TMP/err"
		fi
		rc=$?
		t1=$EPOCHREALTIME
		n=$((n + 1))
		sec=$(awk -v a="${t0/,/.}" -v b="${t1/,/.}" 'BEGIN { printf "%.3f", b - a }')
		rss=$(tail -n 1 "$TMP/time")
		[[ $rss =~ ^[0-9]+$ ]] || rss=0
		((rss > maxrss)) && maxrss=$rss
		if [ -z "$best" ] || awk -v a="$sec" -v b="$best" 'BEGIN { exit !(a < b) }'; then
			best=$sec
		fi
		R_RC[$key]=$rc
		# grep and parse exit 1 when nothing matched; 2 and up is an error.
		if ((rc >= 2)); then
			R_ERR[$key]=$(head -c 300 "$TMP/err" | head -n 2 | tr '\n' ' ')
			break
		fi
		# A slow command is measured once: the budget is minutes, not hours.
		awk -v a="$sec" -v s="$SLOW" 'BEGIN { exit !(a > s) }' && break
	done
	R_SEC[$key]=$best
	R_RSS[$key]=$maxrss
	R_RUNS[$key]=$n
	if [ "$out" = keep ]; then
		R_OUT[$key]=$(head -c 100 "$TMP/out" | head -n 1)
	else
		R_OUT[$key]=""
	fi
}

# ---------------------------------------------------------------- the runs

# Regexes equivalent to what the formats extract (named groups, anchored).
NGINX_RE='^(?<source__ip>\S+) \S+ (?<user__name>\S+) \[(?<timestamp>[^\]]+)\] "(?<method>[A-Z]+) (?<url>[^ "]*) HTTP/(?<version>[0-9.]+)" (?<status>\d{3}) (?<bytes>\d+|-) "(?<referrer>[^"]*)" "(?<user_agent>[^"]*)"$'
SYSLOG_RE='^(?<timestamp>[A-Z][a-z]{2} [ 0-9]\d \d{2}:\d{2}:\d{2}) (?<host>\S+) (?<program>[^\s\[:]+)(?:\[(?<pid>\d+)\])?: (?<message>.*)$'

# Each corpus: key prefix, file, logship format, regex.
CORPORA=(nginx auth)
declare -A C_FILE=([nginx]=$NGINX [auth]=$AUTH)
declare -A C_FMT=([nginx]=nginx [auth]=syslog)
declare -A C_RE=([nginx]=$NGINX_RE [auth]=$SYSLOG_RE)
declare -A C_LINES C_BYTES C_MD5

# Labels, in table order.
CMD_KEYS=(cat grep count json auto notag noredact)
declare -A LABEL

for c in "${CORPORA[@]}"; do
	f=${C_FILE[$c]} fmt=${C_FMT[$c]}
	C_LINES[$c]=$(wc -l <"$f")
	C_BYTES[$c]=$(stat -c %s "$f")
	C_MD5[$c]=$(md5sum <"$f" | cut -c1-12)
	LABEL[$c.cat]="cat FILE >/dev/null"
	LABEL[$c.grep]="grep -cP '<$c regex>' FILE"
	LABEL[$c.count]="logship parse -f $fmt -c FILE"
	LABEL[$c.json]="logship parse -f $fmt -o json FILE"
	LABEL[$c.auto]="logship parse -f auto -o json FILE"
	LABEL[$c.notag]="logship parse -f $fmt --no-tag -o json FILE"
	LABEL[$c.noredact]="logship parse -f $fmt --no-tag --no-redact -o json FILE"

	echo "bench: $c corpus: ${C_LINES[$c]} lines, ${C_BYTES[$c]} bytes; best of $RUNS" >&2
	measure "$c.cat" null cat "$f"
	measure "$c.grep" keep grep -cP "${C_RE[$c]}" "$f"
	measure "$c.count" keep "$LOGSHIP" parse -f "$fmt" -c "$f"
	measure "$c.json" null "$LOGSHIP" parse -f "$fmt" -o json "$f"
	measure "$c.auto" null "$LOGSHIP" parse -f auto -o json "$f"
	measure "$c.notag" null "$LOGSHIP" parse -f "$fmt" --no-tag -o json "$f"
	measure "$c.noredact" null "$LOGSHIP" parse -f "$fmt" --no-tag --no-redact -o json "$f"
done

# ---------------------------------------------------------------- tagging cost

# tag_pair CORPUS: the tagging cost's own measurement: `-o json` and
# `--no-tag -o json` run alternately TAG_RUNS times each, the best wall
# time of each kept (in R_SEC[CORPUS.tagjson] and [CORPUS.tagnotag]).
# Alternating puts a slow moment of the machine on both sides alike,
# where the table's runs, one command after the other, can put it on one.
tag_pair() {
	local c=$1 f=${C_FILE[$1]} fmt=${C_FMT[$1]} i side t0 t1 sec
	local -A best=()
	for ((i = 0; i < TAG_RUNS; i++)); do
		for side in tagjson tagnotag; do
			local -a opt=(-o json)
			[ "$side" = tagnotag ] && opt=(--no-tag -o json)
			t0=$EPOCHREALTIME
			"${RUN_ENV[@]}" "$LOGSHIP" parse -f "$fmt" "${opt[@]}" "$f" >/dev/null 2>&1 || return 1
			t1=$EPOCHREALTIME
			sec=$(awk -v a="${t0/,/.}" -v b="${t1/,/.}" 'BEGIN { printf "%.3f", b - a }')
			if [ -z "${best[$side]:-}" ] ||
				awk -v a="$sec" -v b="${best[$side]}" 'BEGIN { exit !(a < b) }'; then
				best[$side]=$sec
			fi
		done
	done
	R_SEC[$c.tagjson]=${best[tagjson]}
	R_SEC[$c.tagnotag]=${best[tagnotag]}
}

for c in "${CORPORA[@]}"; do
	echo "bench: $c tagging cost: -o json and --no-tag -o json alternately, $TAG_RUNS runs each" >&2
	tag_pair "$c" || echo "bench: $c: a tagging run failed" >&2
done

# ---------------------------------------------------------------- memory check

MEM_KEYS=()
if [ "$DO_MEMCHECK" = 1 ]; then
	gen_corpus oneline 10000000 "$DATA/oneline-10MB.log"
	gen_corpus sparse 100000000 "$DATA/sparse-100MB.log"
	echo "bench: memory check (10 MB single line, 100 MB with a newline every 24 MiB)" >&2
	saved_runs=$RUNS
	RUNS=1
	for m in oneline-10MB sparse-100MB; do
		f=$DATA/$m.log
		C_BYTES[$m]=$(stat -c %s "$f")
		C_LINES[$m]=$(wc -l <"$f")
		LABEL[$m.json]="logship parse -o json $m.log"
		LABEL[$m.nginx]="logship parse -f nginx -o json $m.log"
		measure "$m.json" null "$LOGSHIP" parse -o json "$f"
		measure "$m.nginx" null "$LOGSHIP" parse -f nginx -o json "$f"
		MEM_KEYS+=("$m.json" "$m.nginx")
	done
	RUNS=$saved_runs
fi

# ---------------------------------------------------------------- tail

# Results: TL_* (latency), TT_* (throughput), TI_* (idle files); an empty
# value means not measured, *_ERR says why.
TL_N="" TL_MED="" TL_P99="" TL_MAX="" TL_ERR=""
TT_LINES="" TT_PARSE="" TT_PARSE_RSS=0 TT_PARSE_CPU="" TT_TAIL="" TT_TAIL_RSS=0 TT_TAIL_CPU="" TT_WRITER="" TT_EXTRA=0 TT_RUNS=0 TT_ERR=""
TI_CPU_MS="" TI_HWM="" TI_FDS="" TI_WAKEUPS="" TI_ERR=""
LAT_PAUSE_MS=3
APPEND_CHUNK=$((1024 * 1024))
IDLE_WAIT=2
IDLE_SPAN=10
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# cpu_ticks PID: utime + stime from /proc/PID/stat (after the ")" of comm).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'; }
# ctx_switches PID: voluntary + involuntary context switches (wake-ups).
ctx_switches() { awk '/^(non)?voluntary_ctxt_switches/ { n += $2 } END { print n + 0 }' "/proc/$1/status" 2>/dev/null; }
# stderr_line: "; stderr: FIRST LINE" of $TMP/err, or nothing when it is empty.
stderr_line() { [ -s "$TMP/err" ] && printf '; stderr: %s' "$(head -c 200 "$TMP/err" | head -n 1)"; }
# faster A B: A < B (seconds)
faster() { [ -z "$2" ] || awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

if [ "$DO_TAIL" = 1 ]; then
	build_latency

	# -- latency: a line written, how long until logship prints it
	echo "bench: tail latency ($LAT_WRITES writes, ${LAT_PAUSE_MS} ms apart)" >&2
	out=$("${RUN_ENV[@]}" "$LATENCY" latency "$LAT_WRITES" "$LAT_PAUSE_MS" "$TMP/latency.log" -- \
		"$LOGSHIP" tail -o tsv --fields message "$TMP/latency.log" 2>"$TMP/err")
	read -r what n med p99 max _ <<<"$out"
	if [ "$what" = latency ]; then
		TL_N=$n TL_MED=$med TL_P99=$p99 TL_MAX=$max
	else
		TL_ERR="${out#error }$(stderr_line)"
	fi
	rm -f "$TMP/latency.log"

	# -- throughput: parse on the complete file, then tail on the same bytes
	# appended at full speed, both read through the same pipe and line count
	echo "bench: tail throughput (nginx corpus appended at full speed) against parse; best of $RUNS" >&2
	for ((i = 0; i < RUNS; i++)); do
		out=$("${RUN_ENV[@]}" "$LATENCY" count 0 -- "$LOGSHIP" parse -o json "$NGINX" 2>"$TMP/err")
		read -r what lines sec _ _ rc rss cpu <<<"$out"
		if [ "$what" != count ]; then
			TT_ERR="parse: ${out#error }$(stderr_line)"
			break
		elif ((rc >= 2)); then
			TT_ERR="parse: exit $rc$(stderr_line)"
			break
		fi
		TT_LINES=$lines
		if faster "$sec" "$TT_PARSE"; then TT_PARSE=$sec TT_PARSE_CPU=$cpu; fi
		((rss > TT_PARSE_RSS)) && TT_PARSE_RSS=$rss
		awk -v a="$sec" -v s="$SLOW" 'BEGIN { exit !(a > s) }' && break
	done
	for ((i = 0; i < RUNS && ${#TT_ERR} == 0; i++)); do
		rm -f "$TMP/append.log"
		: >"$TMP/append.log"
		out=$("${RUN_ENV[@]}" "$LATENCY" count "$TT_LINES" --append "$NGINX" "$TMP/append.log" "$APPEND_CHUNK" -- \
			"$LOGSHIP" tail --from-start -o json "$TMP/append.log" 2>"$TMP/err")
		read -r what lines sec extra wsec rc rss cpu <<<"$out"
		if [ "$what" != count ]; then
			TT_ERR="tail, run $((i + 1)): ${out#error }$(stderr_line)"
			break
		elif [ "$lines" != "$TT_LINES" ] || [ "$rc" != 0 ]; then
			TT_ERR="tail, run $((i + 1)): $lines of $TT_LINES events, exit $rc$(stderr_line)"
			break
		fi
		TT_RUNS=$((TT_RUNS + 1))
		if faster "$sec" "$TT_TAIL"; then TT_TAIL=$sec TT_WRITER=$wsec TT_TAIL_CPU=$cpu; fi
		((rss > TT_TAIL_RSS)) && TT_TAIL_RSS=$rss
		((extra > TT_EXTRA)) && TT_EXTRA=$extra
		awk -v a="$sec" -v s="$SLOW" 'BEGIN { exit !(a > s) }' && break
	done
	rm -f "$TMP/append.log"

	# -- idle: many small files that do not change
	echo "bench: tail over $IDLE_FILES idle files (${IDLE_SPAN} s)" >&2
	mkdir -p "$TMP/idle"
	awk -v n="$IDLE_FILES" -v d="$TMP/idle" 'BEGIN {
		for (i = 0; i < n; i++) {
			f = sprintf("%s/app-%04d.log", d, i)
			printf "Nov 14 22:13:20 web1 app[%d]: started worker %d\n", 1000 + i, i >f
			printf "Nov 14 22:13:21 web1 app[%d]: listening on port %d\n", 1000 + i, 8000 + i >f
			close(f)
		}
	}'
	"${RUN_ENV[@]}" "$LOGSHIP" tail "$TMP/idle/*.log" >"$TMP/idle.out" 2>"$TMP/idle.err" &
	pid=$!
	sleep "$IDLE_WAIT"
	c0=$(cpu_ticks "$pid") w0=$(ctx_switches "$pid")
	sleep "$IDLE_SPAN"
	c1=$(cpu_ticks "$pid") w1=$(ctx_switches "$pid")
	TI_HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
	TI_FDS=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	if [[ $c0 =~ ^[0-9]+$ && $c1 =~ ^[0-9]+$ && $TI_HWM =~ ^[0-9]+$ ]] && [ "$rc" = 0 ]; then
		TI_CPU_MS=$(((c1 - c0) * 1000 / CLK_TCK))
		TI_WAKEUPS=$((w1 - w0))
	else
		TI_HWM=""
		TI_ERR="exit $rc: $(head -c 200 "$TMP/idle.err" | head -n 1)"
	fi
	[ -s "$TMP/idle.out" ] && TI_ERR="${TI_ERR:+$TI_ERR; }printed $(wc -l <"$TMP/idle.out") lines (expected none)"
	rm -rf "$TMP/idle"
fi

# ---------------------------------------------------------------- ship

# `logship ship --once` of the nginx corpus with the shipping defaults
# (batches of 1000 events / 1 MiB, gzip, 2 requests in flight,
# --max-inflight-bytes 8 MiB), a fresh --state and an empty sink each run:
# into a file (no network), the fake HTTP sink (gzip, then zstd) and
# ClickHouse on loopback. After every run the sink's count must equal the
# events logship reports, or the row is an error. Results by key: S_*.
S_KEYS=()
declare -A S_SEC S_CPU S_RSS S_RUNS S_EVENTS S_ERR S_BASE_RSS S_BASE_ERR S_SINK_CPU S_BATCHES S_RETRIES
SHIP_INFLIGHT_KIB=$((8 * 1024))
SHIP_CAP_KIB=$((SHIP_INFLIGHT_KIB + 16 * 1024))
SHIP_TIMEOUT=300
SHIP_BASE_LINES=1000
FAKESINK=$TMP/fakesink
SHIP_TO="" SHIP_ERR="" SINK_PORT="" CH_START_MS="" CH_TABLE="" CH_RUN=0

# sink_start: a fake sink recording into $TMP/sink.out; sets SINK_PID, SINK_PORT.
sink_start() {
	local i
	rm -f "$TMP/sink.port" "$TMP/sink.out" "$TMP/sink.log"
	"$FAKESINK" --port-file "$TMP/sink.port" --out "$TMP/sink.out" --log "$TMP/sink.log" \
		2>"$TMP/sink.err" &
	SINK_PID=$!
	for ((i = 0; i < 200; i++)); do
		[ -s "$TMP/sink.port" ] && break
		kill -0 "$SINK_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$TMP/sink.port" ]; then
		SHIP_ERR="the fake sink did not start: $(head -c 200 "$TMP/sink.err" | head -n 1)"
		sink_stop
		return 1
	fi
	SINK_PORT=$(cat "$TMP/sink.port")
	touch "$TMP/sink.out"
}
sink_stop() {
	[ -n "$SINK_PID" ] || return 0
	kill "$SINK_PID" 2>/dev/null
	wait "$SINK_PID" 2>/dev/null
	SINK_PID=""
}

# ship_prep KIND: an empty sink and no state; sets SHIP_TO.
ship_prep() {
	rm -rf "$TMP/ship-state"
	SHIP_ERR=""
	case $1 in
	file)
		rm -f "$TMP/ship.out"
		SHIP_TO="file://$TMP/ship.out"
		;;
	fakesink)
		sink_stop
		sink_start || return 1
		SHIP_TO="http://127.0.0.1:$SINK_PORT/ingest"
		;;
	clickhouse)
		# A new table each run: dropping the last one waits for its
		# merges (minutes on a busy machine); the data goes with $TMP.
		[ -n "$CH_PID" ] || { SHIP_ERR=$CH_ERR; return 1; }
		CH_TABLE=default.bench_$((++CH_RUN))
		SHIP_TO="clickhouse+http://127.0.0.1:$CH_PORT/$CH_TABLE"
		;;
	esac
}
# ship_sink_pid KIND: the server's PID, for its CPU time (none for a file).
ship_sink_pid() {
	case $1 in fakesink) echo "$SINK_PID" ;; clickhouse) echo "$CH_PID" ;; esac
}
# ship_count KIND: SR_GOT, the events the sink holds (then frees the space).
ship_count() {
	case $1 in
	file)
		SR_GOT=$(wc -l <"$TMP/ship.out" 2>/dev/null || echo 0)
		rm -f "$TMP/ship.out"
		;;
	fakesink)
		sink_stop
		SR_GOT=$(wc -l <"$TMP/sink.out")
		rm -f "$TMP/sink.out"
		;;
	clickhouse) SR_GOT=$(chq "SELECT count() FROM $CH_TABLE") ;;
	esac
}
# ship_once KIND FILE OPTS...: one timed run; sets SR_RC SR_SEC SR_CPU SR_RSS
# SR_EVENTS SR_GOT SR_SINK_CPU SR_BATCHES SR_RETRIES (SR_RC 99: no sink).
ship_once() {
	local kind=$1 file=$2 t0 t1 pid s0="" s1="" u s
	shift 2
	SR_SEC="" SR_CPU="" SR_RSS=0 SR_EVENTS="" SR_GOT="" SR_SINK_CPU="" SR_BATCHES="" SR_RETRIES=""
	if ! ship_prep "$kind"; then
		SR_RC=99
		return
	fi
	pid=$(ship_sink_pid "$kind")
	[ -n "$pid" ] && s0=$(cpu_ticks "$pid")
	t0=$EPOCHREALTIME
	# In the background, so that a signal to this script is handled at once
	# (cleanup stops this run and the servers).
	timeout "$SHIP_TIMEOUT" "$TIME_BIN" -f '%U %S %M' -o "$TMP/time" "${RUN_ENV[@]}" \
		"$LOGSHIP" ship --once --state "$TMP/ship-state" "$@" --to "$SHIP_TO" "$file" \
		>/dev/null 2>"$TMP/err" </dev/null &
	SHIP_RUN_PID=$!
	wait "$SHIP_RUN_PID"
	SR_RC=$?
	SHIP_RUN_PID=""
	t1=$EPOCHREALTIME
	[ -n "$pid" ] && s1=$(cpu_ticks "$pid")
	if [[ $s0 =~ ^[0-9]+$ && $s1 =~ ^[0-9]+$ ]]; then
		SR_SINK_CPU=$(awk -v t=$((s1 - s0)) -v h="$CLK_TCK" 'BEGIN { printf "%.2f", t / h }')
	fi
	SR_SEC=$(awk -v a="${t0/,/.}" -v b="${t1/,/.}" 'BEGIN { printf "%.3f", b - a }')
	read -r u s SR_RSS < <(tail -n 1 "$TMP/time")
	[[ $SR_RSS =~ ^[0-9]+$ ]] || SR_RSS=0
	SR_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
	# "logship ship: 1 files, N events, B bytes read, N batches, N retries, ..."
	read -r SR_EVENTS SR_BATCHES SR_RETRIES < <(sed -n \
		's/^logship ship: .* \([0-9][0-9]*\) events, .* \([0-9][0-9]*\) batches, \([0-9][0-9]*\) retries.*/\1 \2 \3/p' \
		"$TMP/err" | tail -n 1)
	ship_count "$kind"
}

# ship_measure KEY KIND LABEL OPTS...: best wall time of up to RUNS runs
# (no more once one is slower than SHIP_SLOW), then one run on a SHIP_BASE_LINES-line slice
# for the peak RSS of a small run.
ship_measure() {
	local key=$1 kind=$2 i best="" maxrss=0 n=0
	LABEL[ship.$key]=$3
	shift 3
	S_KEYS+=("$key")
	for ((i = 0; i < RUNS; i++)); do
		ship_once "$kind" "$NGINX" "$@"
		if [ "$SR_RC" = 99 ]; then
			S_ERR[$key]=$SHIP_ERR
			break
		fi
		n=$((n + 1))
		if [ "$SR_RC" != 0 ]; then
			S_ERR[$key]="exit $SR_RC$([ "$SR_RC" = 124 ] && echo " (timed out after $SHIP_TIMEOUT s)")$(stderr_line)"
			break
		elif ! [[ $SR_EVENTS =~ ^[0-9]+$ ]]; then
			S_ERR[$key]="no summary line on stderr$(stderr_line)"
			break
		elif [ "$SR_GOT" != "$SR_EVENTS" ]; then
			S_ERR[$key]="the sink holds $(head -c 200 <<<"$SR_GOT" | head -n 1) of $SR_EVENTS events (run $n)"
			break
		fi
		((SR_RSS > maxrss)) && maxrss=$SR_RSS
		if faster "$SR_SEC" "$best"; then
			best=$SR_SEC
			S_CPU[$key]=$SR_CPU S_SINK_CPU[$key]=$SR_SINK_CPU S_EVENTS[$key]=$SR_EVENTS
			S_BATCHES[$key]=$SR_BATCHES S_RETRIES[$key]=$SR_RETRIES
		fi
		awk -v a="$SR_SEC" -v s="$SHIP_SLOW" 'BEGIN { exit !(a > s) }' && break
	done
	S_RUNS[$key]=$n
	[ -n "${S_ERR[$key]:-}" ] && return
	S_SEC[$key]=$best
	S_RSS[$key]=$maxrss
	ship_once "$kind" "$TMP/ship-slice.log" "$@"
	if [ "$SR_RC" = 0 ] && [ "$SR_GOT" = "$SR_EVENTS" ]; then
		S_BASE_RSS[$key]=$SR_RSS
	else
		S_BASE_ERR[$key]="the $SHIP_BASE_LINES-line run failed: exit $SR_RC${SHIP_ERR:+ ($SHIP_ERR)}, $(head -c 100 <<<"$SR_GOT" | head -n 1) of ${SR_EVENTS:-?} events$(stderr_line)"
	fi
}

if [ "$DO_SHIP" = 1 ]; then
	echo "bench: ship --once of the nginx corpus: file, fake sink, ClickHouse; best of $RUNS" >&2
	head -n "$SHIP_BASE_LINES" "$NGINX" >"$TMP/ship-slice.log"

	ship_measure file file "logship ship --once --to file:///TMP/out.ndjson FILE"

	if ${CC:-cc} -O2 -o "$FAKESINK" "$ROOT/tests/integration/fakesink.c" -lz -lzstd 2>"$TMP/cc.err"; then
		ship_measure fake fakesink "logship ship --once --to http://127.0.0.1:PORT/ingest FILE"
		ship_measure fake-zstd fakesink "logship ship --once --compress zstd --to http://127.0.0.1:PORT/ingest FILE" \
			--compress zstd
	else
		for k in fake fake-zstd; do
			S_KEYS+=("$k")
			S_ERR[$k]="cannot compile tests/integration/fakesink.c: $(head -c 200 "$TMP/cc.err" | head -n 1)"
		done
		LABEL[ship.fake]="logship ship --once --to http://127.0.0.1:PORT/ingest FILE"
		LABEL[ship.fake-zstd]="logship ship --once --compress zstd --to http://127.0.0.1:PORT/ingest FILE"
	fi

	t0=$(date +%s%3N)
	ch_server_start "$TMP/ch" && CH_START_MS=$(($(date +%s%3N) - t0))
	ship_measure clickhouse clickhouse \
		"logship ship --once --create-table --to clickhouse+http://127.0.0.1:PORT/default.bench_N FILE" \
		--create-table
	ch_server_stop
	rm -rf "$TMP/ch" "$TMP/ship-state"
fi

# ---------------------------------------------------------------- callgrind

# Instructions per line on a 20k-line slice, minus the cost of starting up
# (loading and compiling the patterns) measured on an empty file.
CG_ROWS=()
CG_TOP=()
callgrind_ir() { # out-file cmd... -> prints total Ir
	"${RUN_ENV[@]}" valgrind --tool=callgrind --callgrind-out-file="$1" "${@:2}" >/dev/null 2>&1
	awk '/^(summary|totals):/ { print $2; exit }' "$1"
}
# top_functions: callgrind_annotate's listing -> "fn (12.3%), ..." for the
# five functions with the most own instructions; PCRE2's JIT code has no symbol.
top_functions() {
	awk '/PROGRAM TOTALS/ { next }
	match($0, /^ *[0-9,]+ +\( *[0-9.]+%\) +/) {
		head = substr($0, 1, RLENGTH); fn = substr($0, RLENGTH + 1)
		match(head, /[0-9.]+%/); pct = substr(head, RSTART, RLENGTH)
		sub(/ \[.*$/, "", fn)
		k = split(fn, part, "/"); fn = part[k]
		if (fn ~ /^\?\?\?:0x/) fn = "(PCRE2 JIT code)"
		printf "%s%s %s", (n ? ", " : ""), fn, pct
		if (++n == 5) exit
	}'
}
if [ "$DO_CALLGRIND" = 1 ] && command -v valgrind >/dev/null 2>&1; then
	echo "bench: callgrind on ${SLICE_LINES}-line slices" >&2
	: >"$TMP/empty.log"
	head -n "$SLICE_LINES" "$NGINX" >"$TMP/nginx-slice.log"
	head -n "$SLICE_LINES" "$AUTH" >"$TMP/auth-slice.log"
	cg_start=$EPOCHREALTIME
	for spec in "nginx|nginx|-o json" "nginx|nginx|-c" "nginx|nginx|--no-tag -o json" \
		"auth|syslog|-o json" "auth|syslog|-c" "auth|syslog|--no-tag -o json"; do
		IFS='|' read -r c fmt opts <<<"$spec"
		# shellcheck disable=SC2086 # opts are words on purpose
		base=$(callgrind_ir "$TMP/cg.base" "$LOGSHIP" parse -f "$fmt" $opts "$TMP/empty.log")
		# shellcheck disable=SC2086
		full=$(callgrind_ir "$TMP/cg.full" "$LOGSHIP" parse -f "$fmt" $opts "$TMP/$c-slice.log")
		if [[ $base =~ ^[0-9]+$ && $full =~ ^[0-9]+$ ]]; then
			per=$(((full - base) / SLICE_LINES))
			CG_ROWS+=("| \`logship parse -f $fmt $opts\` | $c | $base | $full | $per |")
			if command -v callgrind_annotate >/dev/null 2>&1; then
				top=$(callgrind_annotate "$TMP/cg.full" 2>/dev/null | top_functions)
				CG_TOP+=("- \`-f $fmt $opts\` on $c: $top")
			fi
		else
			CG_ROWS+=("| \`logship parse -f $fmt $opts\` | $c | - | - | failed |")
		fi
		# Callgrind is optional: stop when it eats the budget.
		awk -v a="${cg_start/,/.}" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { exit !(b - a > 90) }' && {
			echo "bench: callgrind is slow here; skipping the rest" >&2
			break
		}
	done
fi

# ---------------------------------------------------------------- report

# Derived numbers, all from awk for floating point.
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", b / 1e6 / s; else print "-" }'; }
lps() { awk -v l="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", l / s; else print "-" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v g="$1" -v s="$2" 'BEGIN { if (s > 0 && g > 0) printf "%.2f", g / s; else print "-" }'; }

ok_run() { [ "${R_RC[$1]:-9}" -lt 2 ] && [ -n "${R_SEC[$1]:-}" ]; }

# row KEY CORPUS -> "label|s|MB/s|lines/s|RSS|ratio|note"
row() {
	local k=$1 c=$2 g=$2.grep note=""
	if ! ok_run "$k"; then
		echo "${LABEL[$k]}|ERROR|-|-|-|-|exit ${R_RC[$k]:-?}: ${R_ERR[$k]:-}"
		return
	fi
	[ -n "${R_OUT[$k]}" ] && note="count ${R_OUT[$k]}"
	[ "${R_RUNS[$k]}" -lt "$RUNS" ] && note="${note:+$note; }${R_RUNS[$k]} run"
	local r="-"
	ok_run "$g" && r=$(ratio "${R_SEC[$g]}" "${R_SEC[$k]}")
	echo "${LABEL[$k]}|${R_SEC[$k]}|$(mbps "${C_BYTES[$c]}" "${R_SEC[$k]}")|$(lps "${C_LINES[$c]}" "${R_SEC[$k]}")|$(mib "${R_RSS[$k]}")|$r|$note"
}

print_table() { # corpus keys...
	local c=$1
	shift
	printf '\n%s (%s lines, %.1f MB)\n' "$c" "${C_LINES[$c]}" "$(awk -v b="${C_BYTES[$c]}" 'BEGIN { print b / 1e6 }')"
	printf '%-58s %8s %8s %11s %8s %7s  %s\n' command seconds MB/s lines/s "RSS MiB" "x grep" note
	local k
	for k in "$@"; do
		IFS='|' read -r l s m n r x note <<<"$(row "$k" "$c")"
		printf '%-58s %8s %8s %11s %8s %7s  %s\n' "$l" "$s" "$m" "$n" "$r" "$x" "$note"
	done
}

md_table() { # corpus keys...
	local c=$1
	shift
	echo "| command | seconds | MB/s | lines/s | peak RSS MiB | × grep -cP | note |"
	echo "|---|---:|---:|---:|---:|---:|---|"
	local k
	for k in "$@"; do
		IFS='|' read -r l s m n r x note <<<"$(row "$k" "$c")"
		echo "| \`$l\` | $s | $m | $n | $r | $x | $note |"
	done
}

# ---- targets
TARGETS=()
target() { # PASS|FAIL text
	TARGETS+=("$1: $2")
}
thr_ratio() { # key-a key-b -> throughput(a)/throughput(b) on the same file
	awk -v a="${R_SEC[$1]}" -v b="${R_SEC[$2]}" 'BEGIN { printf "%.2f", b / a }'
}
check_ge() { # value min
	awk -v v="$1" -v m="$2" 'BEGIN { exit !(v >= m) }'
}
for c in "${CORPORA[@]}"; do
	for pair in "json|0.40|-o json" "count|0.80|-c"; do
		IFS='|' read -r k min what <<<"$pair"
		if ok_run "$c.$k" && ok_run "$c.grep"; then
			v=$(thr_ratio "$c.$k" "$c.grep")
			check_ge "$v" "$min" && s=PASS || s=FAIL
			target "$s" "$c: \`$what\` throughput is ${v}× grep -cP (target ≥ ${min}×)"
		else
			target FAIL "$c: \`$what\` did not run (exit ${R_RC[$c.$k]:-?})"
		fi
	done
	if ok_run "$c.auto" && ok_run "$c.json"; then
		v=$(thr_ratio "$c.auto" "$c.json")
		check_ge "$v" 0.85 && s=PASS || s=FAIL
		target "$s" "$c: \`-f auto\` throughput is ${v}× \`-f ${C_FMT[$c]}\` (target ≥ 0.85×, within 15%)"
	else
		target FAIL "$c: \`-f auto\` or \`-f ${C_FMT[$c]}\` did not run"
	fi
	if [ -n "${R_SEC[$c.tagjson]:-}" ] && [ -n "${R_SEC[$c.tagnotag]:-}" ]; then
		cost=$(awk -v t="${R_SEC[$c.tagjson]}" -v u="${R_SEC[$c.tagnotag]}" 'BEGIN { printf "%.1f", 100 * (1 - u / t) }')
		awk -v x="$cost" 'BEGIN { exit !(x <= 25) }' && s=PASS || s=FAIL
		target "$s" "$c: tagging costs ${cost}% of \`-o json\` throughput (${R_SEC[$c.tagjson]} s with it, ${R_SEC[$c.tagnotag]} s without, best of $TAG_RUNS alternate runs each; target ≤ 25%)"
	else
		target FAIL "$c: tagging cost not measured (\`-o json\` or \`--no-tag -o json\` did not run)"
	fi
done
worst_key="" worst=0 rss_fail=0 rss_runs=0
for k in "${!R_RSS[@]}"; do
	case $k in *.cat | *.grep) continue ;; esac
	ok_run "$k" || continue
	rss_runs=$((rss_runs + 1))
	if ((R_RSS[$k] > worst)); then worst=${R_RSS[$k]} worst_key=$k; fi
	((R_RSS[$k] >= RSS_CAP_KIB)) && rss_fail=$((rss_fail + 1))
done
if ((rss_runs == 0)); then
	target FAIL "peak RSS: no logship run succeeded"
elif ((rss_fail == 0)); then
	target PASS "peak RSS < 16 MiB in all $rss_runs logship runs (highest $(mib "$worst") MiB: ${LABEL[$worst_key]})"
else
	target FAIL "peak RSS ≥ 16 MiB in $rss_fail of $rss_runs logship runs (highest $(mib "$worst") MiB: ${LABEL[$worst_key]})"
fi

# ---- tail
# tail_rows: "label|command|result" lines for the terminal and the doc.
tail_rows() {
	local r
	if [ -n "$TL_P99" ]; then
		r="median $TL_MED ms, p99 $TL_P99 ms, max $TL_MAX ms"
	else
		r="ERROR: $TL_ERR"
	fi
	echo "latency, write to printed event ($LAT_WRITES writes, ${LAT_PAUSE_MS} ms apart)|logship tail -o tsv --fields message FILE|$r"
	if [ -n "$TT_PARSE" ]; then
		r="$TT_PARSE s, $(mbps "${C_BYTES[nginx]}" "$TT_PARSE") MB/s, $(lps "$TT_LINES" "$TT_PARSE") events/s, CPU $TT_PARSE_CPU s, peak RSS $(mib "$TT_PARSE_RSS") MiB"
	else
		r="ERROR: $TT_ERR"
	fi
	echo "nginx corpus, complete file, into a pipe|logship parse -o json FILE|$r"
	if [ -n "$TT_TAIL" ]; then
		r="$TT_TAIL s, $(mbps "${C_BYTES[nginx]}" "$TT_TAIL") MB/s, $(lps "$TT_LINES" "$TT_TAIL") events/s, CPU $TT_TAIL_CPU s, peak RSS $(mib "$TT_TAIL_RSS") MiB (the writer done at $TT_WRITER s)"
		[ "$TT_EXTRA" -gt 0 ] && r="$r; $TT_EXTRA events more than parse"
		[ "$TT_RUNS" -lt "$RUNS" ] && r="$r; $TT_RUNS run"
	else
		r="ERROR: ${TT_ERR:-not run}"
	fi
	echo "nginx corpus appended at full speed (1 MiB writes)|logship tail --from-start -o json FILE|$r"
	if [ -n "$TI_HWM" ]; then
		r="CPU $TI_CPU_MS ms in ${IDLE_SPAN} s, $TI_WAKEUPS context switches, peak RSS $(mib "$TI_HWM") MiB, $TI_FDS descriptors"
		[ -n "$TI_ERR" ] && r="$r; $TI_ERR"
	else
		r="ERROR: $TI_ERR"
	fi
	echo "$IDLE_FILES idle files, ${IDLE_SPAN} s after ${IDLE_WAIT} s|logship tail 'DIR/*.log'|$r"
}

if [ "$DO_TAIL" = 1 ]; then
	if [ -n "$TL_P99" ]; then
		awk -v x="$TL_P99" 'BEGIN { exit !(x <= 50) }' && s=PASS || s=FAIL
		target "$s" "tail: a written line is printed within $TL_P99 ms at p99 (median $TL_MED ms, $TL_N writes; target p99 ≤ 50 ms with inotify)"
	else
		target FAIL "tail: latency not measured ($TL_ERR)"
	fi
	if [ -n "$TT_TAIL" ] && [ -n "$TT_PARSE" ]; then
		v=$(awk -v t="$TT_TAIL" -v p="$TT_PARSE" 'BEGIN { printf "%.2f", t / p }')
		awk -v x="$v" 'BEGIN { exit !(x <= 1.2) }' && s=PASS || s=FAIL
		target "$s" "tail: on the nginx corpus appended at full speed, \`tail --from-start -o json\` takes ${v}× the time of \`parse -o json\` on the same data ($TT_TAIL s vs $TT_PARSE s; target ≤ 1.20×, within 20%)"
	else
		target FAIL "tail: throughput not measured (${TT_ERR:-not run})"
	fi
	if [ -n "$TI_HWM" ]; then
		((TI_CPU_MS < 50)) && s=PASS || s=FAIL
		target "$s" "tail: $IDLE_FILES idle files cost $TI_CPU_MS ms of CPU in ${IDLE_SPAN} s (target < 50 ms: no work beyond timers)"
		((TI_HWM <= RSS_CAP_KIB)) && s=PASS || s=FAIL
		target "$s" "tail: $IDLE_FILES idle files, peak RSS $(mib "$TI_HWM") MiB (target ≤ 16 MiB)"
	else
		target FAIL "tail: idle files not measured ($TI_ERR)"
	fi
fi

# ---- ship
# ship_rows: "label|command|seconds|events/s|MB/s|CPU s per M events|RSS MiB|note"
ship_rows() {
	local k note
	for k in "${S_KEYS[@]}"; do
		case $k in
		file) l="file (no network)" ;;
		fake) l="fake HTTP sink, gzip" ;;
		fake-zstd) l="fake HTTP sink, zstd" ;;
		clickhouse) l="ClickHouse${CH_VERSION:+ $CH_VERSION}, HTTP, gzip" ;;
		esac
		if [ -z "${S_SEC[$k]:-}" ]; then
			echo "$l|${LABEL[ship.$k]}|ERROR|-|-|-|-|${S_ERR[$k]:-not run}"
			continue
		fi
		note="${S_EVENTS[$k]} events arrived, ${S_BATCHES[$k]} requests, ${S_RETRIES[$k]} retries"
		[ -n "${S_SINK_CPU[$k]}" ] && note="$note; the server's CPU ${S_SINK_CPU[$k]} s"
		[ -n "${S_BASE_RSS[$k]:-}" ] && note="$note; peak RSS $(mib "${S_BASE_RSS[$k]}") MiB for $SHIP_BASE_LINES lines"
		[ -n "${S_BASE_ERR[$k]:-}" ] && note="$note; ${S_BASE_ERR[$k]}"
		[ "${S_RUNS[$k]}" -lt "$RUNS" ] && note="$note; ${S_RUNS[$k]} run"
		echo "$l|${LABEL[ship.$k]}|${S_SEC[$k]}|$(lps "${S_EVENTS[$k]}" "${S_SEC[$k]}")|$(mbps "${C_BYTES[nginx]}" "${S_SEC[$k]}")|$(awk -v c="${S_CPU[$k]}" -v e="${S_EVENTS[$k]}" 'BEGIN { printf "%.2f", c * 1e6 / e }')|$(mib "${S_RSS[$k]}")|$note"
	done
}

if [ "$DO_SHIP" = 1 ]; then
	if [ -n "${C_LINES[nginx]:-}" ] && ok_run nginx.count; then
		for k in "${S_KEYS[@]}"; do
			[ -n "${S_SEC[$k]:-}" ] || continue
			[ "${S_EVENTS[$k]}" = "${R_OUT[nginx.count]}" ] && s=PASS || s=FAIL
			target "$s" "ship → $k: ${S_EVENTS[$k]} events shipped and received, \`parse -c\` counts ${R_OUT[nginx.count]} (target: equal)"
		done
	fi
	for k in "${S_KEYS[@]}"; do
		if [ -z "${S_SEC[$k]:-}" ]; then
			target FAIL "ship → $k: not measured (${S_ERR[$k]:-not run})"
			continue
		fi
		((S_RSS[$k] <= SHIP_CAP_KIB)) && s=PASS || s=FAIL
		target "$s" "ship → $k: peak RSS $(mib "${S_RSS[$k]}") MiB (target ≤ --max-inflight-bytes $((SHIP_INFLIGHT_KIB / 1024)) MiB + 16 MiB = $((SHIP_CAP_KIB / 1024)) MiB${S_BASE_RSS[$k]:+; $(mib "${S_BASE_RSS[$k]}") MiB for $SHIP_BASE_LINES lines})"
	done
fi

# ---- start-up: `logship parse` on a one-line input, against grep
STARTUP_ROWS=""
if [ "$DO_STARTUP" = 1 ]; then
	echo "bench: start-up (bench/startup.sh)" >&2
	if STARTUP_ROWS=$(LOGSHIP="$LOGSHIP" bash "$ROOT/bench/startup.sh" --header); then
		row=$(tail -n 1 <<<"$STARTUP_ROWS")
		IFS='|' read -r _ _ st_ms st_grep _ st_target st_verdict _ <<<"$row"
		# unquoted on purpose: word splitting trims the cells
		target $st_verdict "start-up: parse of a one-line input $(echo $st_ms) ms (grep $(echo $st_grep) ms; target $(echo $st_target))"
	else
		STARTUP_ROWS=""
		target FAIL "start-up: bench/startup.sh failed"
	fi
fi

# ---- terminal
for c in "${CORPORA[@]}"; do
	keys=()
	for k in "${CMD_KEYS[@]}"; do keys+=("$c.$k"); done
	print_table "$c" "${keys[@]}"
done
if ((${#MEM_KEYS[@]})); then
	echo
	echo "memory check"
	for k in "${MEM_KEYS[@]}"; do
		if ok_run "$k"; then
			printf '  %-48s %8ss  peak RSS %s MiB\n' "${LABEL[$k]}" "${R_SEC[$k]}" "$(mib "${R_RSS[$k]}")"
		else
			printf '  %-48s ERROR exit %s: %s\n' "${LABEL[$k]}" "${R_RC[$k]}" "${R_ERR[$k]:-}"
		fi
	done
fi
if [ "$DO_TAIL" = 1 ]; then
	echo
	echo "tail"
	while IFS='|' read -r l cmd r; do
		printf '  %-58s %s\n' "$l" "$r"
	done < <(tail_rows)
fi
if [ "$DO_SHIP" = 1 ]; then
	echo
	echo "ship --once, nginx corpus (${C_LINES[nginx]} lines, ${C_BYTES[nginx]} bytes)"
	printf '  %-32s %8s %9s %7s %9s %8s  %s\n' sink seconds events/s MB/s "CPU s/M" "RSS MiB" note
	while IFS='|' read -r l cmd sec eps mb cpm rss note; do
		printf '  %-32s %8s %9s %7s %9s %8s  %s\n' "$l" "$sec" "$eps" "$mb" "$cpm" "$rss" "$note"
	done < <(ship_rows)
fi
if [ -n "$STARTUP_ROWS" ]; then
	echo
	echo "start-up"
	echo "$STARTUP_ROWS"
fi
if ((${#CG_ROWS[@]})); then
	echo
	echo "callgrind, instructions per line on a ${SLICE_LINES}-line slice (startup subtracted)"
	for r in "${CG_ROWS[@]}"; do echo "  $r"; done
	for r in "${CG_TOP[@]}"; do echo "  $r"; done
fi
echo
echo "targets"
for t in "${TARGETS[@]}"; do
	case $t in FAIL*) echo "  *** $t" ;; *) echo "      $t" ;; esac
done

# ---- docs/BENCHMARKS.md
if [ -n "$DOC" ]; then
	mkdir -p "$(dirname "$DOC")"
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	ram=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	{
		echo "# Benchmarks"
		echo
		echo "Written by \`make bench\` (bench/run.sh); do not edit by hand."
		echo "Each command ran $RUNS times (once if slower than ${SLOW}s) on files in the page cache;"
		echo "the best wall time and the highest peak RSS are shown. \"× grep -cP\" is the"
		echo "command's throughput divided by grep -cP's on the same file in the same run."
		echo "The tagging cost (under Targets) has runs of its own: \`-o json\` and"
		echo "\`--no-tag -o json\` alternately, $TAG_RUNS times each, the best of each kept."
		echo
		echo "## Machine"
		echo
		echo "- CPU: ${cpu:-unknown}, $(nproc) cores"
		echo "- RAM: $ram"
		echo "- Kernel: $(uname -sr)"
		echo "- Compiler: $(${CC:-cc} --version 2>/dev/null | head -n 1)"
		echo "- grep: $(grep --version | head -n 1), libpcre2-8 $(pkg-config --modversion libpcre2-8 2>/dev/null || echo '?'), locale $LOCALE"
		echo "- Load average at the start: $LOAD_AT_START (other work on the machine skews the numbers)"
		echo "- Date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "- logship: commit $commit ($("$LOGSHIP" --version 2>/dev/null | head -n 1))"
		echo
		echo "## Corpora"
		echo
		echo "Generated by \`bench/gen.c\` with a fixed seed (identical bytes on every run):"
		echo
		echo "- nginx: ${C_LINES[nginx]} lines of nginx \"combined\", ${C_BYTES[nginx]} bytes (md5 ${C_MD5[nginx]}), IPv4 and IPv6 clients,"
		echo "  ~2% scanner and attack requests (wp-login, .env, SQL injection, traversal, sqlmap/nikto agents)."
		echo "- auth: ${C_LINES[auth]} lines of Debian auth.log, ${C_BYTES[auth]} bytes (md5 ${C_MD5[auth]}): sshd, sudo, CRON, systemd,"
		echo "  kernel/UFW; ~10% security-relevant (brute-force runs, invalid users, sudo failures)."
		echo
		echo "## nginx access log"
		echo
		keys=()
		for k in "${CMD_KEYS[@]}"; do keys+=("nginx.$k"); done
		md_table nginx "${keys[@]}"
		echo
		echo "## auth.log (syslog)"
		echo
		keys=()
		for k in "${CMD_KEYS[@]}"; do keys+=("auth.$k"); done
		md_table auth "${keys[@]}"
		echo
		echo "The regexes given to grep -cP:"
		echo
		echo '```'
		echo "nginx:  $NGINX_RE"
		echo "syslog: $SYSLOG_RE"
		echo '```'
		if ((${#MEM_KEYS[@]})); then
			echo
			echo "## Memory check"
			echo
			echo "A 10 MB file that is one line, and a 100 MB file with a newline only every 24 MiB"
			echo "(lines are truncated at \`--max-line\`, 1 MiB by default)."
			echo
			echo "| command | bytes | seconds | peak RSS MiB | note |"
			echo "|---|---:|---:|---:|---|"
			for k in "${MEM_KEYS[@]}"; do
				c=${k%.*}
				if ok_run "$k"; then
					echo "| \`${LABEL[$k]}\` | ${C_BYTES[$c]} | ${R_SEC[$k]} | $(mib "${R_RSS[$k]}") | exit ${R_RC[$k]} |"
				else
					echo "| \`${LABEL[$k]}\` | ${C_BYTES[$c]} | ERROR | - | exit ${R_RC[$k]}: ${R_ERR[$k]:-} |"
				fi
			done
		fi
		if [ "$DO_TAIL" = 1 ]; then
			echo
			echo "## tail"
			echo
			echo "\`logship tail\` following files with inotify, timed by \`bench/latency.c\` through a pipe on"
			echo "its standard output. Latency: one line appended with one write() (a sequence number and"
			echo "the CLOCK_MONOTONIC time), the delay until the line comes out of the pipe. Throughput:"
			echo "the nginx corpus appended to an empty file in 1 MiB writes at full speed while tail"
			echo "follows it from the start, timed until it has printed as many events as parse does"
			echo "(${TT_LINES:-?}); parse reads the complete file through the same pipe (best of $RUNS each). Idle files: after"
			echo "${IDLE_WAIT} s, the CPU time (utime + stime, /proc/PID/stat) over ${IDLE_SPAN} s, and VmHWM."
			echo
			echo "| benchmark | command | result |"
			echo "|---|---|---|"
			while IFS='|' read -r l cmd r; do
				echo "| $l | \`$cmd\` | $r |"
			done < <(tail_rows)
		fi
		if [ "$DO_SHIP" = 1 ]; then
			echo
			echo "## ship"
			echo
			echo "\`logship ship --once\` of the nginx corpus with the shipping defaults (batches of 1000"
			echo "events or 1 MiB, gzip where the sink takes it, 2 requests in flight, \`--max-inflight-bytes\`"
			echo "8 MiB), a fresh \`--state\` and an empty sink for every run (best of $RUNS, no more runs after one slower"
			echo "than ${SHIP_SLOW}s). Sinks: a file; \`tests/integration/fakesink.c\` on loopback (it decompresses"
			echo "and records every body); a private clickhouse-server on loopback (tests/lib/clickhouse-server.sh${CH_START_MS:+,}"
			echo "${CH_START_MS:+started in $CH_START_MS ms, }a new table made by \`--create-table\` for each run)."
			echo "Every run is checked: the lines in the file or the fake sink's record, or \`count()\` in"
			echo "ClickHouse, equal the events logship reports. MB/s is input bytes per second; CPU is"
			echo "logship's user + system time (the server's own CPU is in the note); peak RSS is"
			echo "logship's, from /usr/bin/time."
			echo
			echo "| sink | command | seconds | events/s | MB/s | CPU s per M events | peak RSS MiB | note |"
			echo "|---|---|---:|---:|---:|---:|---:|---|"
			while IFS='|' read -r l cmd sec eps mb cpm rss note; do
				echo "| $l | \`$cmd\` | $sec | $eps | $mb | $cpm | $rss | $note |"
			done < <(ship_rows)
		fi
		if [ -n "$STARTUP_ROWS" ]; then
			echo
			echo "## Start-up"
			echo
			echo "\`logship parse\` on a one-line auth.log input (loading the built-in formats and rules,"
			echo "choosing the format, one event), run from bash one after another as a user would; the"
			echo "median wall time, with \`grep -c\` on the same file for the cost of starting any process"
			echo "(bench/startup.sh)."
			echo
			echo "$STARTUP_ROWS"
		fi
		if ((${#CG_ROWS[@]})); then
			echo
			echo "## Instructions per line (callgrind)"
			echo
			echo "On the first $SLICE_LINES lines of each corpus; the instructions of a run on an empty"
			echo "file (start-up: loading and compiling the patterns) are subtracted."
			echo
			echo "| command | corpus | Ir start-up | Ir total | Ir per line |"
			echo "|---|---|---:|---:|---:|"
			for r in "${CG_ROWS[@]}"; do echo "$r"; done
			if ((${#CG_TOP[@]})); then
				echo
				echo "Top functions by own instructions (whole run, start-up included):"
				echo
				for r in "${CG_TOP[@]}"; do echo "$r"; done
			fi
		fi
		echo
		echo "## Targets"
		echo
		for t in "${TARGETS[@]}"; do echo "- $t"; done
	} >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
	echo
	echo "bench: wrote $DOC"
fi
exit 0
