#!/usr/bin/env bash
# rotation-torture.sh - the rotation torture test.
#
# A writer (bash only) appends uniquely numbered lines ("<stream> <seq>") to
# f1.log, f2.log, f3.log (and to n<k>.log files it creates on the way) in a
# temp dir, and at random moments:
#   - rename-rotates a stream (rm .3 once it was read, .2->.3, .1->.2,
#     .log->.1; half the time it keeps writing to the renamed file for a
#     while before reopening, as a daemon that reopens late does),
#   - copytruncates f3 (cp f3.log f3.ct-N; truncate f3.log; the glob does
#     not match the copies),
#   - deletes the oldest rotated file (.3 or .2) of a stream,
#   - creates a new file n<k>.log that the glob matches.
# A rotated file is only deleted once its last line is in logship's output,
# so no line can be lost by a deletion racing the reader.
# Meanwhile `logship tail --from-start --state ...` follows 'logs/*.log*'
# with its stdout appended to one file, and is stopped and restarted at
# random moments. Two phases:
#   (a) graceful: SIGTERM stops only -> every line exactly once;
#   (b) crash: SIGTERM or kill -9 -> every line at least once (duplicates
#       are counted and printed, not a failure).
# f1, f2 and the n<k> files are only rename-rotated: strict. f3 is only
# copytruncated: lines logship had not read when a truncate came are lost by
# design (they are only in the copy, which the glob skips). As logship reads
# a file in order, those are the last lines before that truncate: every line
# after the last truncate, and every line followed by a seen line written
# before the same truncate, must appear. Duplicates count as for the others.
#
# Random choices come from bash $RANDOM seeded with SEED (printed as
# "seed=N"); replay with SEED=N bash tests/integration/rotation-torture.sh.
# The timing still varies. DURATION (default 4) is the seconds of writing
# per phase; KEEP=1 keeps the temp dir for a look after a failure;
# TORTURE_ARGS adds logship options (e.g. "--max-open 2"); DOWNTIME_MS
# (up to 999, default 0) waits up to that long before each restart.
# Ends with one line "N passed, N failed" (N = assertions).
set -u
cd "$(dirname "$0")/../.." || exit 1
LOGSHIP=${LOGSHIP:-$PWD/logship}
case $LOGSHIP in /*) ;; *) LOGSHIP=$PWD/$LOGSHIP ;; esac
if [ ! -x "$LOGSHIP" ]; then
	echo "rotation-torture: $LOGSHIP not built (run make)"
	echo "0 passed, 1 failed"
	exit 1
fi
SEED=${SEED:-$(( ($$ ^ $(date +%s)) % 32768 ))}
DURATION=${DURATION:-4}
echo "seed=$SEED (replay: SEED=$SEED bash tests/integration/rotation-torture.sh)"

T=$(mktemp -d "${TMPDIR:-/tmp}/logship-torture.XXXXXX")
bg_pids=()
cleanup() {
	local p f
	for p in "${bg_pids[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	for f in "$T"/*/logship.pid; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
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

# shellcheck source=tests/lib/check.sh
. tests/lib/check.sh

# ---- the writer (runs in a background subshell: its globals are its own) --

# W_name W_fd W_seq: a stream's name, descriptor, last sequence number.
# W_cur: last seq in the file W_fd names while it is <name>.log (0: none);
# W_pend: 1 while W_fd still writes to <name>.log.1 after a rotation;
# R1 R2 R3: last seq in <name>.log.1/.2/.3 (-1: no such file, 0: no line).
TAB=$'\t'
W_name=() W_fd=() W_seq=() W_cur=() W_pend=() W_ct=() R1=() R2=() R3=()
n_rot=0 n_ct=0 n_del=0 n_skip=0 n_new=0 n_reopen_late=0

# w_open I: (re)opens stream I's <name>.log for appending.
w_open() {
	local i=$1 nfd
	if [ -n "${W_fd[i]:-}" ]; then
		nfd=${W_fd[i]}
		exec {nfd}>&-
	fi
	exec {nfd}>>"$WL/${W_name[i]}.log"
	W_fd[i]=$nfd
	W_cur[i]=0
	W_pend[i]=0
}

# w_add NAME CT: a new stream.
w_add() {
	local i=${#W_name[@]}
	W_name[i]=$1 W_seq[i]=0 W_ct[i]=$2 R1[i]=-1 R2[i]=-1 R3[i]=-1 W_fd[i]=
	w_open "$i"
}

# w_write I COUNT: appends COUNT lines to stream I in one write.
w_write() {
	local i=$1 b=$2 s=${W_seq[$1]} nm=${W_name[$1]} buf='' j
	for ((j = 0; j < b; j++)); do
		s=$((s + 1))
		buf+="$nm $s"$'\n'
	done
	printf '%s' "$buf" >&"${W_fd[i]}"
	W_seq[i]=$s
	if ((W_pend[i])); then R1[i]=$s; else W_cur[i]=$s; fi
}

# w_seen NAME SEQ: line "NAME SEQ" is in logship's output (or SEQ <= 0).
w_seen() {
	(($2 <= 0)) || grep -q "$TAB$1 $2\$" "$WD/out"
}

# w_rotate I: rename rotation of stream I.
w_rotate() {
	local i=$1 f=$WL/${W_name[$1]}.log
	((W_pend[i])) && w_open "$i"
	if ((R3[i] >= 0)); then
		if ! w_seen "${W_name[i]}" "${R3[i]}"; then
			n_skip=$((n_skip + 1)) # .3 not read yet: rotate later
			return
		fi
		rm -f "$f.3"
		R3[i]=-1
		n_del=$((n_del + 1))
	fi
	if ((R2[i] >= 0)); then mv "$f.2" "$f.3"; R3[i]=${R2[i]}; R2[i]=-1; fi
	if ((R1[i] >= 0)); then mv "$f.1" "$f.2"; R2[i]=${R1[i]}; R1[i]=-1; fi
	mv "$f" "$f.1"
	R1[i]=${W_cur[i]}
	W_cur[i]=0
	n_rot=$((n_rot + 1))
	if ((RANDOM % 2)); then
		w_open "$i"
	else
		W_pend[i]=1 # keeps writing to .1 until it reopens
	fi
}

# w_delete I: deletes stream I's oldest rotated file (.3 or .2) once read.
w_delete() {
	local i=$1 f=$WL/${W_name[$1]}.log
	if ((R3[i] >= 0)); then
		w_seen "${W_name[i]}" "${R3[i]}" || { n_skip=$((n_skip + 1)); return; }
		rm -f "$f.3"
		R3[i]=-1
	elif ((R2[i] >= 0)); then
		w_seen "${W_name[i]}" "${R2[i]}" || { n_skip=$((n_skip + 1)); return; }
		rm -f "$f.2"
		R2[i]=-1
	else
		return
	fi
	n_del=$((n_del + 1))
}

# w_copytruncate I: copytruncate of stream I (f3).
w_copytruncate() {
	local i=$1 f=$WL/${W_name[$1]}.log
	n_ct=$((n_ct + 1))
	cp "$f" "$WL/${W_name[i]}.ct-$n_ct"
	: >"$f"
	echo "${W_name[i]} ${W_seq[i]}" >>"$WD/truncs"
	rm -f "$WL/${W_name[i]}.ct-$((n_ct - 2))"
}

# writer DIR SEED: writes until DIR/stop exists.
writer() {
	local r i n b sfd
	WD=$1 WL=$1/logs
	RANDOM=$2
	exec {sfd}<>"$WD/fifo" # nothing is ever written to it: read -t sleeps
	w_add f1 0
	w_add f2 0
	w_add f3 1
	for i in 0 1 2; do w_write "$i" 3; done
	touch "$WD/ready"
	while [ ! -e "$WD/stop" ]; do
		n=${#W_name[@]}
		r=$((RANDOM % 1000))
		if ((r < 12)); then
			# rename rotation of any stream but f3 (index 2)
			i=$((RANDOM % (n - 1)))
			((i >= 2)) && i=$((i + 1))
			w_rotate "$i"
		elif ((r < 16)); then
			w_copytruncate 2
		elif ((r < 24)); then
			i=$((RANDOM % n))
			((W_ct[i])) || w_delete "$i"
		elif ((r < 26)); then
			if ((n < 8)); then
				n_new=$((n_new + 1))
				w_add "n$n_new" 0
				w_write "$n" $((1 + RANDOM % 5))
			fi
		else
			i=$((RANDOM % n))
			if ((W_pend[i] && RANDOM % 8 == 0)); then
				w_open "$i"
				n_reopen_late=$((n_reopen_late + 1))
			fi
			if ((r < 36)); then
				w_write "$i" $((100 + RANDOM % 200)) # a burst
			else
				w_write "$i" $((1 + RANDOM % 8))
			fi
		fi
		read -r -t 0.001 -u "$sfd"
	done
	# last lines: after f3's last truncate, and in every live file
	for ((i = 0; i < ${#W_name[@]}; i++)); do
		((W_pend[i])) && w_open "$i"
		w_write "$i" 5
	done
	for ((i = 0; i < ${#W_name[@]}; i++)); do
		echo "${W_name[i]} ${W_seq[i]} ${W_ct[i]}"
	done >"$WD/written"
	echo "rotations=$n_rot copytruncates=$n_ct deletions=$n_del skipped=$n_skip" \
		"new_files=$n_new late_reopens=$n_reopen_late" >"$WD/wstats"
	touch "$WD/writer.done"
}

# ---- the logship controller -------------------------------------------

# stop_wait PID: waits (at most 10 s) for PID, a child of this shell, to end;
# sets STOP_RC to its exit status, or to "hang" after killing it. (bash
# reaps the child itself: it is gone from /proc, or a zombie, once ended.)
stop_wait() {
	local p=$1 k st
	for ((k = 0; k < 500; k++)); do
		st=
		read -r _ _ st _ 2>/dev/null <"/proc/$p/stat"
		[ -z "$st" ] || [ "$st" = Z ] && break
		sleep 0.02
	done
	if ((k == 500)); then
		kill -9 "$p" 2>/dev/null
		wait "$p"
		STOP_RC=hang
		return
	fi
	wait "$p"
	STOP_RC=$?
}

# alive PID: PID runs (not ended, not a zombie).
alive() {
	local st=
	read -r _ _ st _ 2>/dev/null <"/proc/$1/stat"
	[ -n "$st" ] && [ "$st" != Z ]
}

# drop_torn FILE: after logship died abruptly, drops a last line it had
# only half written (not committed, so it is read again).
drop_torn() {
	local frag size
	if [ -s "$1" ] && [ -n "$(tail -c 1 "$1")" ]; then
		frag=$(tail -n 1 "$1" | wc -c)
		size=$(stat -c %s "$1")
		truncate -s $((size - frag)) "$1"
		echo torn >>"$D/stops"
	fi
}

# controller DIR SEED MODE: runs logship, stops (MODE graceful: SIGTERM;
# crash: SIGTERM or kill -9) and restarts it until the writer is done, then
# waits for the output to stop growing for 2 s (at most 30 s) and stops it
# with SIGTERM. Records each stop in DIR/stops ("term RC", "kill RC",
# "died RC" when logship ended on its own, "final RC").
controller() {
	local D=$1 mode=$3 lp ms size prev=-1 stable=0 waited=0
	RANDOM=$2
	# shellcheck disable=SC2206,SC2054 # TORTURE_ARGS: extra options, split on spaces
	local args=(tail --from-start -o tsv --fields log.file.path,message
		--state "$D/state" --checkpoint-interval 200ms --rotate-wait 2s
		${TORTURE_ARGS:-} "$D/logs/*.log*")
	start() {
		"$LOGSHIP" "${args[@]}" >>"$D/out" 2>>"$D/err" &
		lp=$!
		echo "$lp" >"$D/logship.pid"
	}
	start
	while :; do
		[ -e "$D/writer.done" ] && break
		ms=$((100 + RANDOM % 900))
		sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
		[ -e "$D/writer.done" ] && break
		if ! alive "$lp"; then
			stop_wait "$lp"
			echo "died $STOP_RC" >>"$D/stops"
			drop_torn "$D/out"
		elif [ "$mode" = crash ] && { ((RANDOM % 2)) || [ ! -e "$D/killed" ]; }; then
			touch "$D/killed" # at least one kill -9 in a crash phase
			kill -9 "$lp"
			stop_wait "$lp"
			echo "kill $STOP_RC" >>"$D/stops"
			drop_torn "$D/out"
		else
			kill -TERM "$lp"
			stop_wait "$lp"
			echo "term $STOP_RC" >>"$D/stops"
		fi
		((${DOWNTIME_MS:-0} > 0)) && sleep "0.$(printf %03d $((RANDOM % DOWNTIME_MS)))"
		start
	done
	while ((waited < 30000)); do
		sleep 0.2
		waited=$((waited + 200))
		if ! alive "$lp"; then
			stop_wait "$lp"
			echo "died $STOP_RC" >>"$D/stops"
			drop_torn "$D/out"
			start
		fi
		size=$(stat -c %s "$D/out")
		if [ "$size" = "$prev" ]; then
			stable=$((stable + 200))
			((stable >= 2000)) && break
		else
			stable=0
		fi
		prev=$size
	done
	echo "$waited" >"$D/catchup_ms"
	kill -TERM "$lp"
	stop_wait "$lp"
	echo "final $STOP_RC" >>"$D/stops"
	rm -f "$D/logship.pid"
}

# ---- checking ---------------------------------------------------------

# verify DIR: prints a table per stream, the lost and duplicated lines, and
# a last line "RESULT lost=N ctlost=N maylost=N dup=N bad=N".
verify() {
	local D=$1
	touch "$D/truncs"
	awk -F'\t' -v wfile="$D/written" -v tfile="$D/truncs" '
	BEGIN {
		while ((getline l < wfile) > 0) {
			split(l, a, " ")
			N[a[1]] = a[2]; CT[a[1]] = a[3]; order[++ns] = a[1]
		}
		while ((getline l < tfile) > 0) {
			split(l, a, " ")
			if (a[2] + 0 > LT[a[1]] + 0) LT[a[1]] = a[2] + 0
			TB[a[1] " " (a[2] + 0)] = 1 # the last line before a truncate
		}
	}
	$0 == "log.file.path\tmessage" { next }
	{
		good = NF == 2 && split($2, m, " ") == 2 && (m[1] in N) &&
		       m[2] ~ /^[0-9]+$/ && m[2] >= 1 && m[2] <= N[m[1]] + 0
		base = $1; sub(/.*\//, "", base)
		if (good && index(base, m[1] ".log") != 1) good = 0
		if (!good) { if (++bad <= 5) print "  malformed: " $0; next }
		c[$2]++
	}
	# a run of consecutive sequence numbers in the same state: one line
	function run_end() {
		if (rclass != "" && ++nruns <= 40)
			runs = runs sprintf("  %s: %s %d%s\n", rclass, rs, rfrom,
					    rto > rfrom ? "-" rto : "")
		rclass = ""
	}
	function mark(s, q, cls) {
		if (cls != rclass || s != rs || q != rto + 1) {
			run_end()
			rclass = cls; rs = s; rfrom = q
		}
		rto = q
	}
	END {
		printf "  %-4s %8s %8s %6s %6s %8s  %s\n", "file", "written", "seen", "lost", "dup", "may-lose", "(may-lose: not read before a copytruncate)"
		for (k = 1; k <= ns; k++) {
			s = order[k]; seen = lost = dup = may = 0
			# copytruncated: a line before a truncate may be lost when
			# logship had not read it yet, so only at the end of its
			# segment: a line seen after it in the segment makes it lost
			later = 0
			for (q = N[s]; q >= 1; q--) {
				if ((s " " q) in TB) later = 0
				if (c[s " " q]) later = 1
				else if (later) gap[s " " q] = 1
			}
			for (q = 1; q <= N[s]; q++) {
				x = c[s " " q]; cls = ""
				if (x) seen++
				if (x > 1) { dup += x - 1; cls = "duplicated x" x }
				if (!x) {
					if (CT[s] && q <= LT[s] && !((s " " q) in gap)) may++
					else { lost++; cls = "lost" }
				}
				mark(s, q, cls)
			}
			run_end()
			if (CT[s]) { maylost += may; ctlost += lost } else tlost += lost
			tdup += dup
			printf "  %-4s %8d %8d %6d %6d %8s\n", s, N[s], seen, lost, dup, CT[s] ? may : "-"
		}
		printf "%s", runs
		if (nruns > 40) printf "  ... %d more runs of lost or duplicated lines\n", nruns - 40
		printf "RESULT lost=%d ctlost=%d maylost=%d dup=%d bad=%d\n", tlost, ctlost, maylost, tdup, bad
	}' "$D/out"
}

# phase NAME MODE SEED
phase() {
	local name=$1 mode=$2 seed=$3 D=$T/$1 wpid cpid k res stops kills terms died
	local lost ctlost maylost dup badl torn
	mkdir -p "$D/logs" "$D/state"
	mkfifo "$D/fifo"
	: >"$D/out"
	echo "--- phase $name ($mode stops, writing ${DURATION}s)"
	(writer "$D" "$seed") &
	wpid=$!
	bg_pids+=("$wpid")
	for ((k = 0; k < 100; k++)); do [ -e "$D/ready" ] && break; sleep 0.05; done
	(controller "$D" $((seed + 1)) "$mode") 2>"$D/controller.err" &
	cpid=$!
	bg_pids+=("$cpid")
	sleep "$DURATION"
	touch "$D/stop"
	wait "$wpid"
	wait "$cpid"
	echo "  writer: $(cat "$D/wstats" 2>/dev/null)"
	# bash reports each killed logship ("Killed"); anything else is shown
	grep -v 'Killed' "$D/controller.err" | sed 's/^/  controller: /'
	stops=$(cat "$D/stops" 2>/dev/null)
	terms=$(grep -c '^term ' <<<"$stops")
	kills=$(grep -c '^kill ' <<<"$stops")
	torn=$(grep -c '^torn' <<<"$stops")
	died=$(grep -c '^died' <<<"$stops")
	echo "  logship: $((terms + kills + died + 1)) runs, $terms SIGTERM stops, $kills kill -9 stops," \
		"$died deaths on its own ($torn torn output lines dropped)," \
		"caught up in $(cat "$D/catchup_ms" 2>/dev/null) ms"
	# stderr: the copytruncate warnings are expected; anything else is shown
	k=$(grep -c 'was truncated .*copytruncate' "$D/err")
	echo "  logship stderr: $k copytruncate warnings, $(grep -vc 'was truncated .*copytruncate' "$D/err") other lines"
	grep -v 'was truncated .*copytruncate' "$D/err" | sed -E 's/[0-9]+/N/g' | sort | uniq -c |
		sort -rn | head -5 | sed 's/^/    /'
	res=$(verify "$D")
	grep -v '^RESULT' <<<"$res"
	res=$(grep '^RESULT' <<<"$res")
	lost=$(sed -E 's/.* lost=([0-9]+).*/\1/' <<<"$res")
	ctlost=$(sed -E 's/.*ctlost=([0-9]+).*/\1/' <<<"$res")
	maylost=$(sed -E 's/.*maylost=([0-9]+).*/\1/' <<<"$res")
	dup=$(sed -E 's/.*dup=([0-9]+).*/\1/' <<<"$res")
	badl=$(sed -E 's/.*bad=([0-9]+).*/\1/' <<<"$res")

	if grep -q 'rotations=[1-9]' "$D/wstats" 2>/dev/null &&
	   grep -q 'copytruncates=[1-9]' "$D/wstats" && ((terms + kills >= 2)); then
		ok "$name: rotations, copytruncates and restarts happened"
	else
		bad "$name: rotations, copytruncates and restarts happened" \
			"writer: $(cat "$D/wstats" 2>/dev/null); stops: $((terms + kills))"
	fi
	# 143: the SIGTERM came while logship was starting, before it blocks
	# the signal (nothing was read yet): not a failure, but shown
	k=$(grep -c '^term 143$' <<<"$stops")
	((k > 0)) && echo "  $k SIGTERM stops during logship's start (exit 143: killed before it handles signals)"
	if grep -qvE '^(term 0|term 143|kill 137|torn|final 0)$' <<<"$stops"; then
		bad "$name: logship never dies on its own, every SIGTERM stop exits 0, none hangs" \
			"$(grep -vE '^(term 0|term 143|kill 137|torn|final 0)$' <<<"$stops" | sort | uniq -c | tr '\n' ';')"
	else
		ok "$name: logship never dies on its own, every SIGTERM stop exits 0, none hangs"
	fi
	if [ "$(cat "$D/catchup_ms" 2>/dev/null)" -lt 30000 ] 2>/dev/null; then
		ok "$name: logship caught up (output still for 2 s) within 30 s"
	else
		bad "$name: logship caught up (output still for 2 s) within 30 s"
	fi
	if [ "$badl" = 0 ]; then
		ok "$name: every output line is a written line under its file's path"
	else
		bad "$name: every output line is a written line under its file's path" "$badl malformed lines"
	fi
	if [ "$lost" = 0 ]; then
		ok "$name: no line lost from rename-rotated and new files"
	else
		bad "$name: no line lost from rename-rotated and new files" "$lost lost"
	fi
	if [ "$ctlost" = 0 ]; then
		ok "$name: copytruncated f3: no line lost but the unread ends of truncated copies ($maylost)"
	else
		bad "$name: copytruncated f3: no line lost but the unread ends of truncated copies" "$ctlost lost"
	fi
	if [ "$mode" = graceful ]; then
		if [ "$dup" = 0 ]; then
			ok "$name: no line duplicated (SIGTERM stops only)"
		else
			bad "$name: no line duplicated (SIGTERM stops only)" "$dup duplicates"
		fi
	else
		echo "  $dup duplicated lines (allowed after kill -9)"
	fi
}

started=$SECONDS
phase a-graceful graceful "$SEED"
phase b-crash crash $(((SEED + 7919) % 32768))
echo "took $((SECONDS - started)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
