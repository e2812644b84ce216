#!/usr/bin/env bash
# t007-compressed: .gz and .zst read transparently with output byte-identical
# to the plain file; detection by magic bytes, not by name; a truncated
# compressed file gives the events before the damage, then an error naming
# the file and an offset, exit 2.
. "$SRC/tests/cli/lib.sh"

# 20000 lines: a few parse as nginx, the others are unparsed (their time is
# LOGSHIP_NOW), so the output is the same on every machine.
awk 'BEGIN {
	for (i = 1; i <= 20000; i++) {
		if (i % 1000 == 1)
			printf "203.0.113.%d - - [14/Nov/2023:22:13:20 +0000] \"GET /p/%d HTTP/1.1\" 200 %d \"-\" \"curl/8.4.0\"\n", i % 250, i, i
		else
			printf "plain text line %d %s\n", i, substr("abcdefghijklmnopqrstuvwxyz", 1 + i % 26)
	}
}' >plain.log
gzip -c plain.log >plain.log.gz
zstd -q -c plain.log >plain.log.zst

expect_exit "plain from stdin: exit 0" 0 "$LOGSHIP" parse <plain.log
cp out plain.out
expect_eq "plain: one event per line" 20000 "$(wc -l <plain.out)"
expect_exit ".gz from stdin: exit 0" 0 "$LOGSHIP" parse <plain.log.gz
check ".gz from stdin: byte-identical output" cmp -s plain.out out
expect_exit ".zst from stdin: exit 0" 0 "$LOGSHIP" parse <plain.log.zst
check ".zst from stdin: byte-identical output" cmp -s plain.out out

# The same name in three directories, so log.file.path is the same too: the
# compressed ones are named x.log, so only their magic bytes tell them apart.
mkdir p g z
cp plain.log p/x.log
cp plain.log.gz g/x.log
cp plain.log.zst z/x.log
(cd p && "$LOGSHIP" parse x.log >../p.out 2>../p.err)
expect_eq "plain x.log: one event per line" 20000 "$(wc -l <p.out)"
(cd g && "$LOGSHIP" parse x.log >../g.out 2>../g.err)
expect_eq "gzip content named x.log: exit status" 0 "$?"
check "gzip content named x.log: byte-identical to plain" cmp -s p.out g.out
(cd z && "$LOGSHIP" parse x.log >../z.out 2>../z.err)
check "zstd content named x.log: byte-identical to plain" cmp -s p.out z.out
expect_eq "compressed named x.log: no message on stderr" "" "$(cat g.err z.err)"

# a plain file named x.gz / x.zst is read as plain text
mkdir q
cp plain.log q/x.log
cp plain.log q/x.gz
cp plain.log q/x.zst
(cd q && "$LOGSHIP" parse -o tsv --fields message x.log >../qlog.out)
(cd q && "$LOGSHIP" parse -o tsv --fields message x.gz >../qgz.out 2>../qgz.err)
check "a plain file named x.gz: read as plain text" cmp -s qlog.out qgz.out
expect_eq "a plain file named x.gz: no error" "" "$(cat qgz.err)"
(cd q && "$LOGSHIP" parse -o tsv --fields message x.zst >../qzst.out)
check "a plain file named x.zst: read as plain text" cmp -s qlog.out qzst.out

# event.id and log.offset are the decompressed stream's
expect_json_field ".gz: log.offset of line 2 is the plain offset" \
	"$(nth 2 g.out)" log.offset "$(head -1 plain.log | wc -c)"

# several gzip members one after the other (as cat a.gz b.gz makes)
head -3 plain.log | gzip -c >multi.gz
sed -n 4,5p plain.log | gzip -c >>multi.gz
expect_exit "multi-member gzip: exit 0" 0 "$LOGSHIP" parse -o tsv --fields message multi.gz
expect_eq "multi-member gzip: every member's lines" "$(printf 'message\n'; head -5 plain.log)" "$OUT"

# a .gz, a .zst and a plain file together
expect_exit ".gz, .zst and plain together: exit 0" 0 "$LOGSHIP" parse -c plain.log.gz plain.log.zst plain.log
expect_eq ".gz, .zst and plain together: all events" 60000 "$OUT"

# truncated input: events up to the damage, an error naming the file and an
# offset, exit 2
check_truncated() { # kind file
	local kind=$1 f=$2 k
	expect_exit "truncated $kind: exit 2" 2 "$LOGSHIP" parse -o tsv --fields message "$f"
	expect_contains "truncated $kind: the file is named" "$ERR" "$f"
	expect_match "truncated $kind: an offset is given" "$ERR" '(offset|byte) [0-9]+'
	k=$(($(wc -l <"$T/out") - 1))
	expect_eq "truncated $kind: some but not all events" yes \
		"$([ "$k" -gt 100 ] && [ "$k" -lt 20000 ] && echo yes || echo "no ($k events)")"
	# every event but the last is exactly the line of the input; the last
	# may be the part of a line that was there before the damage
	expect_eq "truncated $kind: the events before the damage are the input's lines" \
		"$(head -n $((k - 1)) plain.log)" "$(sed -n "2,${k}p" "$T/out")"
	last=$(tail -1 "$T/out")
	want=$(sed -n "${k}p" plain.log)
	expect_eq "truncated $kind: the last event is (part of) the next line" yes \
		"$(case $want in "$last"*) echo yes ;; *) echo "no: '$last' vs '$want'" ;; esac)"
}
head -c $(($(wc -c <plain.log.gz) / 2)) plain.log.gz >half.gz
check_truncated gzip half.gz
head -c $(($(wc -c <plain.log.zst) / 2)) plain.log.zst >half.zst
check_truncated zstd half.zst
cp half.gz half-named.log
expect_exit "truncated gzip named .log: exit 2" 2 "$LOGSHIP" parse -c half-named.log
expect_contains "truncated gzip named .log: named" "$ERR" "half-named.log"
expect_exit "truncated gzip then a good file: exit 2" 2 "$LOGSHIP" parse -c half.gz plain.log
expect_eq "truncated gzip then a good file: the good file still read" yes \
	"$([ "${OUT:-0}" -gt 20000 ] && echo yes || echo "no ($OUT)")"
expect_exit "truncated gzip on stdin: exit 2" 2 "$LOGSHIP" parse -c <half.gz
expect_match "truncated gzip on stdin: an offset is given" "$ERR" '(offset|byte) [0-9]+'

# damage in the middle of a gzip stream (a flipped byte: CRC or data error)
cp plain.log.gz bad.gz
size=$(wc -c <bad.gz)
printf '\377\377\377\377' | dd of=bad.gz bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
expect_exit "corrupted gzip: exit 2" 2 "$LOGSHIP" parse -c bad.gz
expect_contains "corrupted gzip: named" "$ERR" "bad.gz"

finish
