#!/usr/bin/env bash
# t017-tail-rotation: logship tail across rotation. Rename-and-create (the
# rotated name matched by the glob or not), copytruncate, a file deleted while
# open (drained, then its descriptor closed), a symlink switched to a new
# target, a recycled inode with --state, partial lines, a rotated file
# compressed to .gz (not read twice), many files under --max-open, the
# polling backend and an inotify queue overflow. Every case checks the exact
# set of lines printed: none missing, none twice, nothing else.
#
# logship runs in the background; the script waits for a condition (polled
# every 50 ms for up to 10 s), never for a fixed time, except a short settle
# before the final count so that a line read twice has a chance to show.
. "$SRC/tests/cli/lib.sh"

PIDS=" "   # the logships still running, " 12 34 "
OLD_QUEUE=""
OLD_WATCHES=""
cleanup() {
	local p
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	if [ -n "$OLD_QUEUE" ]; then
		echo "$OLD_QUEUE" >/proc/sys/fs/inotify/max_queued_events 2>/dev/null
		OLD_QUEUE=""
	fi
	if [ -n "$OLD_WATCHES" ]; then
		echo "$OLD_WATCHES" >/proc/sys/fs/inotify/max_user_watches 2>/dev/null
		OLD_WATCHES=""
	fi
}
# lib.sh's EXIT trap writes the counts: run it after ours
_lib_trap=$(trap -p EXIT)
_lib_trap=${_lib_trap#"trap -- '"}
_lib_trap=${_lib_trap%"' EXIT"}
trap 'cleanup; eval "$_lib_trap"' EXIT

# lines PREFIX FROM TO: "PREFIX line N" for N = FROM..TO
lines() {
	awk -v p="$1" -v a="$2" -v b="$3" 'BEGIN { for (i = a; i <= b; i++) print p " line " i }'
}

# start_tail NAME ARGS...: logship tail ARGS in the background (PID), its
# output in $T/NAME.out (TOUT), its stderr in $T/NAME.err (TERR)
start_tail() {
	local name=$1
	shift
	TOUT=$T/$name.out
	TERR=$T/$name.err
	LAST_CMD="logship tail -o tsv --fields message $*"
	: >"$TOUT"
	"$LOGSHIP" tail -o tsv --fields message "$@" >"$TOUT" 2>"$TERR" &
	PID=$!
	PIDS="$PIDS$PID "
}

# stop_tail: SIGTERM, then its exit status in STOP_RC
stop_tail() {
	kill -TERM "$PID" 2>/dev/null
	wait "$PID"
	STOP_RC=$?
	PIDS=${PIDS/ $PID / }
}

# the messages printed so far (the tsv header left out)
printed() { grep -v '^message$' "$TOUT"; }
has_lines() { [ "$(printed | sort -u | wc -l)" -ge "$1" ]; }
has_line() { printed | grep -qxF -- "$1"; }

# wait_for CMD...: CMD succeeds, tried every 50 ms for up to 10 s
wait_for() {
	local i
	for ((i = 0; i < 200; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# a line read twice (or a stray one) has a moment to show up
settle() { sleep 0.3; }

# expect_set NAME WANT: the printed messages are exactly the lines of WANT,
# each once
expect_set() {
	local name=$1 want=$T/want.txt got=$T/got.txt missing dup extra
	printf '%s\n' "$2" | sort >"$want"
	printed | sort >"$got"
	missing=$(comm -23 "$want" "$got" | sort -u)
	extra=$(comm -13 "$want" "$got" | sort -u)
	dup=$(uniq -d "$got")
	if [ -z "$missing$extra$dup" ]; then
		pass
	else
		fail "$name" "$(wc -l <"$want") lines, each once" \
			"$(wc -l <"$got") lines; missing $(printf '%s' "$missing" | grep -c '^') [$(printf '%s' "$missing" | head -3 | tr '\n' '|')]; twice $(printf '%s' "$dup" | grep -c '^') [$(printf '%s' "$dup" | head -3 | tr '\n' '|')]; unexpected $(printf '%s' "$extra" | grep -c '^') [$(printf '%s' "$extra" | head -3 | tr '\n' '|')]"
	fi
}

# stop_and_check NAME WANT: stops logship, checks the lines and exit 0
stop_and_check() {
	settle
	stop_tail
	expect_set "$1: every line exactly once" "$2"
	expect_eq "$1: exit 0 on SIGTERM" 0 "$STOP_RC"
}

# ---- 1a. rename-and-create, the rotated names matched ('app.log*') -------
mkdir "$T/c1a" && cd "$T/c1a"
lines app-1a 1 5 >app.log
start_tail c1a --from-start 'app.log*'
wait_for has_lines 5
mv app.log app.log.1
lines app-1a 6 10 >>app.log.1    # the old file, before the new one exists
lines app-1a 11 15 >app.log
lines app-1a 16 18 >>app.log.1   # the old file, after the new one exists
mv app.log.1 app.log.2           # a second rotation
mv app.log app.log.1
lines app-1a 19 20 >>app.log.1
lines app-1a 21 25 >app.log
wait_for has_lines 25
stop_and_check "rename rotation, glob app.log*" "$(lines app-1a 1 25)"

# ---- 1b. rename-and-create, the rotated name not matched ('app.log') ----
# the old file is still drained through its open descriptor
mkdir "$T/c1b" && cd "$T/c1b"
lines app-1b 1 5 >app.log
start_tail c1b --from-start app.log
wait_for has_lines 5
mv app.log app.log.1
lines app-1b 6 10 >>app.log.1
lines app-1b 11 15 >app.log
lines app-1b 16 18 >>app.log.1   # within --rotate-wait (5 s)
lines app-1b 19 20 >>app.log
wait_for has_lines 20
stop_and_check "rename rotation, glob app.log" "$(lines app-1b 1 20)"

# ---- 2. copytruncate -----------------------------------------------------
mkdir "$T/c2" && cd "$T/c2"
lines app-2 1 5 >app.log
start_tail c2 --from-start app.log
wait_for has_lines 5
cp app.log app.log.1
truncate -s0 app.log
lines app-2 6 8 >>app.log
wait_for has_lines 8
stop_and_check "copytruncate" "$(lines app-2 1 8)"
expect_contains "copytruncate: a warning on stderr" "$(cat "$TERR")" "truncated"

# ---- 3. deleted while open -----------------------------------------------
mkdir "$T/c3" && cd "$T/c3"
lines app-3 1 5 >app.log
start_tail c3 --from-start --rotate-wait 60s app.log
wait_for has_lines 5
lines app-3 6 10 >>app.log
rm app.log
wait_for has_lines 10
deleted_fds() { ls -l "/proc/$PID/fd" 2>/dev/null | grep -c '(deleted)'; }
no_deleted_fd() { [ "$(deleted_fds)" = 0 ]; }
wait_for no_deleted_fd
expect_eq "deleted while open: no descriptor left on the deleted file" 0 "$(deleted_fds)"
lines app-3 11 12 >app.log       # a new file under the name: followed
wait_for has_lines 12
stop_and_check "deleted while open" "$(lines app-3 1 12)"

# ---- 4. a symlink switched to a new target --------------------------------
# a.log's last line has no newline: printed whole when a.log is let go,
# never glued to b.log's first line
mkdir "$T/c4" && cd "$T/c4"
lines sym-a 1 3 >a.log
ln -s a.log current.log
start_tail c4 --from-start --rotate-wait 500ms current.log
wait_for has_lines 3
lines sym-a 4 5 >>a.log
printf 'sym-a line 6 par' >>a.log
wait_for has_lines 5
printf 'tial' >>a.log
lines sym-b 1 3 >b.log
ln -sfn b.log current.log
lines sym-b 4 5 >>b.log
wait_for has_lines 11
stop_and_check "symlink switch" "$(lines sym-a 1 5; echo 'sym-a line 6 partial'; lines sym-b 1 5)"

# ---- 5. a recycled inode with --state ------------------------------------
mkdir "$T/c5" && cd "$T/c5"
lines old 1 20 >app.log
lines keep 1 3 >keep.log
start_tail c5a --from-start --state "$T/c5/st" app.log keep.log
wait_for has_lines 23
stop_and_check "state, first run" "$(lines old 1 20; lines keep 1 3)"
old_ino=$(stat -c %i app.log)
rm app.log
lines new 1 40 >app.log          # longer than the old offset
new_ino=$(stat -c %i app.log)
if [ "$old_ino" = "$new_ino" ]; then
	echo "NOTE t017: inode reuse: the new app.log got the old inode $old_ino back"
else
	echo "NOTE t017: inode reuse: not reused here (old $old_ino, new $new_ino); the in-place case below has the same inode"
fi
lines keep 4 5 >>keep.log
start_tail c5b --from-start --state "$T/c5/st" app.log keep.log
wait_for has_lines 42
stop_and_check "state, app.log deleted and created again: read from its start" \
	"$(lines new 1 40; lines keep 4 5)"
# the same inode for sure: rewritten in place while logship was stopped
ino_before=$(stat -c %i app.log)
lines other 1 60 >app.log
expect_eq "state, rewritten in place: the same inode" "$ino_before" "$(stat -c %i app.log)"
start_tail c5c --from-start --state "$T/c5/st" app.log keep.log
wait_for has_lines 60
stop_and_check "state, same inode with new content: read from its start" "$(lines other 1 60)"

# ---- 6. partial lines ----------------------------------------------------
mkdir "$T/c6" && cd "$T/c6"
lines part-0 1 1 >p.log
start_tail c6a --from-start --partial-timeout 5s p.log
wait_for has_lines 1
printf 'part-1 no ' >>p.log
sleep 0.1
expect_eq "partial: nothing of it printed before its newline" "" "$(printed | grep 'part-1')"
printf 'newline\n' >>p.log
wait_for has_line 'part-1 no newline'
stop_and_check "partial completed" "$(lines part-0 1 1; echo 'part-1 no newline')"

lines lone-0 1 1 >q.log
start_tail c6b --from-start --partial-timeout 300ms q.log
wait_for has_lines 1
printf 'lone-1 partial' >>q.log
wait_for has_line 'lone-1 partial'
expect_eq "lone partial: printed after --partial-timeout" yes \
	"$(has_line 'lone-1 partial' && echo yes || echo no)"
stop_and_check "lone partial" "$(lines lone-0 1 1; echo 'lone-1 partial')"

# ---- 7. a rotated file compressed (app.log.1.gz) -------------------------
# over 1 KiB, so the fingerprint covers its first 1 KiB
mkdir "$T/c7" && cd "$T/c7"
lines "gz-7 padding padding padding padding" 1 60 >app.log
start_tail c7 --from-start 'app.log*'
wait_for has_lines 60
mv app.log app.log.1 && gzip app.log.1
lines "gz-7 padding padding padding padding" 61 65 >app.log
wait_for has_lines 65
lines gz-7new 1 4 | gzip >app.log.9.gz   # lines never read, compressed
wait_for has_lines 69
stop_and_check "rotated and compressed: .gz not read again" \
	"$(lines "gz-7 padding padding padding padding" 1 65; lines gz-7new 1 4)"
expect_eq "rotated and compressed: no message on stderr" "" "$(cat "$TERR")"

# compressed files present at start: read with --from-start
mkdir "$T/c7b" && cd "$T/c7b"
lines gz-7b 1 3 | gzip >app.log.2.gz
lines gz-7b 4 6 | zstd -q >app.log.1.zst
lines gz-7b 7 9 >app.log
start_tail c7b --from-start 'app.log*'
wait_for has_lines 9
stop_and_check "compressed files present at start" "$(lines gz-7b 1 9)"

# ---- 8. many files, --max-open 16 -----------------------------------------
mkdir -p "$T/c8/d" && cd "$T/c8"
for ((i = 1; i <= 300; i++)); do : >"d/f$i.log"; done
echo 'many-0 line 0' >d/sync.log
MAXFD=0
sample_fds() {
	local n
	n=$(ls "/proc/$PID/fd" 2>/dev/null | wc -l)
	[ "$n" -gt "$MAXFD" ] && MAXFD=$n
	return 0
}
sampled() { sample_fds; "$@"; }
start_tail c8 --from-start --max-open 16 'd/*.log'
wait_for sampled has_line 'many-0 line 0'
for ((i = 1; i <= 300; i++)); do echo "many-$i line 1" >>"d/f$i.log"; done
wait_for sampled has_lines 301
sample_fds
stop_and_check "300 files" "$(echo 'many-0 line 0'; for ((i = 1; i <= 300; i++)); do echo "many-$i line 1"; done)"
expect_eq "300 files: open descriptors stay within --max-open 16 + 10" yes \
	"$([ "$MAXFD" -le 26 ] && echo yes || echo "no: $MAXFD")"

# ---- 9. the polling backend ------------------------------------------------
mkdir "$T/c9" && cd "$T/c9"
lines poll-9 1 5 >app.log
start_tail c9 --from-start --poll 100 'app.log*' 'new-*.log'
wait_for has_lines 5
mv app.log app.log.1
lines poll-9 6 8 >>app.log.1
lines poll-9 9 12 >app.log
lines poll-new 1 3 >new-1.log
wait_for has_lines 15
lines poll-9 13 14 >>app.log
wait_for has_lines 17
stop_and_check "poll, rename rotation and a new file" "$(lines poll-9 1 14; lines poll-new 1 3)"

# the rotated name not matched, polling
mkdir "$T/c9b" && cd "$T/c9b"
lines poll-9b 1 5 >app.log
start_tail c9b --from-start --poll 100 app.log
wait_for has_lines 5
mv app.log app.log.1
lines poll-9b 6 8 >>app.log.1
lines poll-9b 9 12 >app.log
wait_for has_lines 12
stop_and_check "poll, rename rotation, glob app.log" "$(lines poll-9b 1 12)"

# ---- 10. inotify queue overflow ------------------------------------------
# the queue limit is taken when logship creates its inotify instance: set it
# to 64 just for that, then back. The setting is system-wide: a lock keeps
# two runs of this script from restoring each other's 64.
Q=/proc/sys/fs/inotify/max_queued_events
if [ "$(id -u)" = 0 ] && [ -w "$Q" ] && exec 9>/tmp/logship-t017-inotify.lock &&
	flock -w 30 9 && OLD_QUEUE=$(cat "$Q") && echo 64 >"$Q" 2>/dev/null; then
	# 64 is this script's own value: left by a run that was killed
	[ "$OLD_QUEUE" = 64 ] && OLD_QUEUE=16384
	mkdir -p "$T/c10/d" && cd "$T/c10"
	echo 'flood-0 line 0' >d/sync.log
	start_tail c10 --from-start 'd/*.log'
	wait_for has_line 'flood-0 line 0'
	echo "$OLD_QUEUE" >"$Q"
	OLD_QUEUE=""
	exec 9>&-
	for ((i = 1; i <= 500; i++)); do echo "flood-$i line 1" >"d/f$i.log"; done
	wait_for has_lines 501
	stop_and_check "inotify overflow: 500 new files" \
		"$(echo 'flood-0 line 0'; for ((i = 1; i <= 500; i++)); do echo "flood-$i line 1"; done)"
else
	exec 9>&-
	OLD_QUEUE=""
	echo "SKIP overflow: needs root"
fi

# ---- 11. out of inotify watches ---------------------------------------------
# With the per-user watch limit reached, logship warns (naming the sysctl)
# and polls instead: lines written later still arrive. The limit is
# system-wide: set to 1 only while logship starts, under the same lock.
W=/proc/sys/fs/inotify/max_user_watches
if [ "$(id -u)" = 0 ] && [ -w "$W" ] && exec 9>/tmp/logship-t017-inotify.lock &&
	flock -w 30 9 && OLD_WATCHES=$(cat "$W") && echo 1 >"$W" 2>/dev/null; then
	[ "$OLD_WATCHES" = 1 ] && OLD_WATCHES=65536
	mkdir -p "$T/c11/d" && cd "$T/c11"
	echo 'limit-0 line 0' >d/a.log
	start_tail c11 --from-start 'd/*.log'
	wait_for has_line 'limit-0 line 0'
	wait_for grep -q 'max_user_watches' "$TERR"
	echo "$OLD_WATCHES" >"$W"
	OLD_WATCHES=""
	exec 9>&-
	expect_contains "watch limit: the warning names fs.inotify.max_user_watches" \
		"$(cat "$TERR")" "fs.inotify.max_user_watches"
	expect_contains "watch limit: logship says it polls instead" "$(cat "$TERR")" "polling"
	lines limit-1 1 5 >>d/a.log
	lines limit-2 1 5 >d/b.log
	wait_for has_lines 11
	stop_and_check "watch limit: polling still delivers appended lines and new files" \
		"$(echo 'limit-0 line 0'; lines limit-1 1 5; lines limit-2 1 5)"
else
	exec 9>&-
	OLD_WATCHES=""
	echo "SKIP watch limit: needs root"
fi

finish
