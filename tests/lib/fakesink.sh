# fakesink.sh - starting and stopping tests/integration/fakesink.c, our
# HTTP sink on 127.0.0.1, for the integration scripts (sourced after
# check.sh). Needs $T (the script's temp dir), the array bg_pids (killed by
# the script's cleanup) and $SRC (the source tree).

now_ms() { date +%s%3N; }

# wait_for SECONDS CMD...: polls CMD every 50 ms; 0 once it succeeds (a
# guard against hanging, never a timing assertion).
wait_for() {
	local limit=$(($(now_ms) + $1 * 1000))
	shift
	while ! "$@"; do
		[ "$(now_ms)" -ge "$limit" ] && return 1
		sleep 0.05
	done
	return 0
}

# fakesink_build WHO: compiles the sink to $T/fakesink; on failure prints
# why (naming WHO) and the summary line of one failure, and exits 1.
fakesink_build() {
	if ! cc -O2 -o "$T/fakesink" "$SRC/tests/integration/fakesink.c" -lz -lzstd 2>"$T/cc.err"; then
		cat "$T/cc.err"
		echo "$1: cannot build the fake sink"
		echo "0 passed, 1 failed"
		exit 1
	fi
}

# sink_start NAME [fakesink options...]: a sink writing $T/NAME.out and
# $T/NAME.log; sets SINK_PID and SINK_PORT (pass --port P to reuse a port).
sink_start() {
	local name=$1
	shift
	rm -f "$T/$name.port"
	"$T/fakesink" --port-file "$T/$name.port" --out "$T/$name.out" --log "$T/$name.log" "$@" \
		2>>"$T/$name.sinkerr" &
	SINK_PID=$!
	bg_pids+=("$SINK_PID")
	if ! wait_for 10 test -s "$T/$name.port"; then
		echo "the fake sink $name did not start: $(cat "$T/$name.sinkerr")"
		SINK_PORT=1
		return 1
	fi
	SINK_PORT=$(cat "$T/$name.port")
	touch "$T/$name.out" "$T/$name.log"
}

# sink_stop PID
sink_stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}
