#!/usr/bin/env bash
# t008-bad-input: empty and binary files, NUL bytes, invalid UTF-8, CRLF, no
# final newline, a 10 MB line, --max-line, a FIFO on stdin, a closed stdout.
. "$SRC/tests/cli/lib.sh"

# an empty file
: >empty.log
expect_exit "empty file: exit 1" 1 "$LOGSHIP" parse empty.log
expect_eq "empty file: no output" "" "$OUT"
expect_eq "empty file: no message" "" "$ERR"

# a binary file
head -c 4096 "$LOGSHIP" >binary.log
run "$LOGSHIP" parse binary.log
expect_eq "binary file: exit 0 or 1" yes "$([ "$RC" = 0 ] || [ "$RC" = 1 ] && echo yes || echo "no (exit $RC)")"
expect_json_valid "binary file: every line valid JSON" out
expect_eq "binary file: one event per line of input" "$(awk 'END { print NR }' binary.log)" "$(wc -l <out)"
run "$LOGSHIP" parse -o pretty binary.log
expect_eq "binary file, pretty: exit 0 or 1" yes "$([ "$RC" = 0 ] || [ "$RC" = 1 ] && echo yes || echo "no (exit $RC)")"
head -c 65536 /dev/urandom >random.log
run "$LOGSHIP" parse random.log
expect_eq "random bytes: exit 0 or 1" yes "$([ "$RC" = 0 ] || [ "$RC" = 1 ] && echo yes || echo "no (exit $RC)")"
expect_json_valid "random bytes: every line valid JSON" out

# NUL bytes in a line: escaped, nothing dropped
printf 'before\000after\000\000end\nnext\n' >nul.log
expect_exit "NUL bytes: exit 0" 0 "$LOGSHIP" parse nul.log
expect_json_valid "NUL bytes: valid JSON" out
expect_eq "NUL bytes: two events" 2 "$(wc -l <out)"
expect_json_field "NUL bytes: escaped as \\u0000, nothing dropped" "$(nth 1 out)" message '"before\u0000after\u0000\u0000end"'
expect_json_field "NUL bytes: the next line" "$(nth 2 out)" message '"next"'

# control characters
printf 'a\001b\033[31mc\177d\te\n' >ctl.log
expect_exit "control bytes: exit 0" 0 "$LOGSHIP" parse ctl.log
expect_json_valid "control bytes: valid JSON" out
msg=$(json_get "$OUT" message)
expect_match "control bytes: escaped" "$msg" '^"a\\u0001b\\u001[bB]\[31mc(\\u007[fF]|'$'\177'')d\\te"$'

# invalid UTF-8: each bad byte as the text \xHH, tagged invalid_utf8;
# valid UTF-8 round-trips
printf 'caf\303\251 \342\234\223 \360\237\230\200 ok\n' >utf8.log
printf 'bad \377 byte, cut \303 and \355\240\200 surrogate\n' >latin.log
expect_exit "valid UTF-8: exit 0" 0 "$LOGSHIP" parse utf8.log
expect_json_field "valid UTF-8: written as is" "$OUT" message "\"$(cat utf8.log)\""
expect_not_contains "valid UTF-8: not tagged invalid_utf8" "$OUT" invalid_utf8
expect_exit "invalid UTF-8: exit 0" 0 "$LOGSHIP" parse latin.log
cp out latin.out
expect_json_valid "invalid UTF-8: valid JSON (and valid UTF-8)" latin.out
msg=$(json_get "$(cat latin.out)" message | tr 'A-F' 'a-f')
expect_eq "invalid UTF-8: each bad byte as \\xHH" '"bad \\xff byte, cut \\xc3 and \\xed\\xa0\\x80 surrogate"' "$msg"
expect_contains "invalid UTF-8: tagged invalid_utf8" "$(json_get "$(cat latin.out)" tags)" '"invalid_utf8"'
run "$LOGSHIP" parse -o tsv --fields message latin.log
expect_eq "invalid UTF-8 in tsv: \\xHH" 'bad \xff byte, cut \xc3 and \xed\xa0\x80 surrogate' "$(nth 2 out | tr 'A-F' 'a-f')"
check "invalid UTF-8 in tsv: output is valid UTF-8" iconv -f UTF-8 -t UTF-8 out -o /dev/null

# CRLF endings
printf 'first line\r\nsecond line\r\n' >crlf.log
expect_exit "CRLF: exit 0" 0 "$LOGSHIP" parse crlf.log
expect_eq "CRLF: two events" 2 "$(wc -l <out)"
expect_json_field "CRLF: no \\r in message" "$(nth 1 out)" message '"first line"'
expect_json_field "CRLF: second line" "$(nth 2 out)" message '"second line"'
expect_not_contains "CRLF: no \\r anywhere" "$OUT" '\r'

# no final newline
printf 'one\ntwo\nthree' >nonl.log
expect_exit "no final newline: exit 0" 0 "$LOGSHIP" parse nonl.log
expect_eq "no final newline: three events" 3 "$(wc -l <out)"
expect_json_field "no final newline: the last line is an event" "$(nth 3 out)" message '"three"'
printf 'lonely' | "$LOGSHIP" parse >out 2>err
expect_json_field "no final newline on stdin: the line is an event" "$(cat out)" message '"lonely"'

# a 10 MB line: truncated to --max-line (1 MiB), tagged truncated; the next
# line still parsed
{ head -c 10485760 /dev/zero | tr '\0' x; printf '\nthe next line\n'; } >long.log
expect_exit "10 MB line: exit 0" 0 "$LOGSHIP" parse long.log
expect_eq "10 MB line: two events" 2 "$(wc -l <out)"
expect_json_valid "10 MB line: valid JSON" out
msg=$(json_get "$(nth 1 out)" message)
expect_eq "10 MB line: message truncated to 1048576 bytes" 1048576 "$((${#msg} - 2))"
expect_eq "10 MB line: message is the line's start" 1048576 "$(printf '%s' "$msg" | tr -cd x | wc -c)"
expect_contains "10 MB line: tagged truncated" "$(json_get "$(nth 1 out)" tags)" '"truncated"'
expect_json_field "10 MB line: the next line is parsed" "$(nth 2 out)" message '"the next line"'
expect_json_field "10 MB line: the next line's offset" "$(nth 2 out)" log.offset 10485761
expect_not_contains "10 MB line: the next line is not truncated" "$(json_get "$(nth 2 out)" tags)" truncated

# --max-line 100
{ printf '%0250d\n' 0 | tr 0 y; printf '%0100d\n' 0 | tr 0 z; printf 'short\n'; } >max.log
expect_exit "--max-line 100: exit 0" 0 "$LOGSHIP" parse --max-line 100 max.log
expect_eq "--max-line 100: three events" 3 "$(wc -l <out)"
msg=$(json_get "$(nth 1 out)" message)
expect_eq "--max-line 100: message of 100 bytes" 100 "$((${#msg} - 2))"
expect_contains "--max-line 100: tagged truncated" "$(json_get "$(nth 1 out)" tags)" '"truncated"'
msg=$(json_get "$(nth 2 out)" message)
expect_eq "--max-line 100: a line of exactly 100 bytes is whole" 100 "$((${#msg} - 2))"
expect_not_contains "--max-line 100: a line of exactly 100 bytes is not truncated" "$(nth 2 out)" truncated
expect_json_field "--max-line 100: the short line" "$(nth 3 out)" message '"short"'
expect_exit "--max-line 0: exit 2" 2 "$LOGSHIP" parse --max-line 0 max.log
expect_exit "--max-line -5: exit 2" 2 "$LOGSHIP" parse --max-line -5 max.log

# a FIFO on stdin, and a FIFO as a file argument
mkfifo fifo
(printf 'fifo one\nfifo two\n'; sleep 0.3; printf 'fifo three\n') >fifo &
expect_exit "FIFO on stdin: exit 0" 0 "$LOGSHIP" parse -o tsv --fields message <fifo
expect_eq "FIFO on stdin: every line" "$(printf 'message\nfifo one\nfifo two\nfifo three')" "$OUT"
wait
(printf 'named one\nnamed two\n') >fifo &
expect_exit "FIFO as a file: exit 0" 0 "$LOGSHIP" parse -o tsv --fields message fifo
expect_eq "FIFO as a file: every line" "$(printf 'message\nnamed one\nnamed two')" "$OUT"
wait
printf 'piped\n' | "$LOGSHIP" parse - >out 2>err
expect_json_field "'-' reads stdin" "$(cat out)" message '"piped"'

# a closed stdout: logship parse big.log | head -1 exits quietly
awk 'BEGIN { for (i = 1; i <= 200000; i++) printf "big line number %d with some text\n", i }' >big.log
timeout 20 "$LOGSHIP" parse big.log 2>big.err | head -1 >big.head
status=("${PIPESTATUS[@]}")
expect_eq "closed stdout: logship ended (no timeout, no signal)" yes \
	"$([ "${status[0]}" -lt 124 ] && echo yes || echo "no (exit ${status[0]})")"
expect_eq "closed stdout: nothing on stderr" "" "$(cat big.err)"
expect_json_field "closed stdout: head got the first event" "$(cat big.head)" message '"big line number 1 with some text"'
timeout 20 "$LOGSHIP" parse -o tsv big.log 2>big.err | head -1 >/dev/null
expect_eq "closed stdout, tsv: nothing on stderr" "" "$(cat big.err)"
timeout 20 "$LOGSHIP" parse --stats big.log 2>big.err | head -1 >/dev/null
expect_eq "closed stdout with --stats: no error message" "" "$(grep -iv -E '^(lines|bytes|events|unparsed|alerts|printed|format [^:]*|tag [^:]*): [0-9]+$' big.err)"


# an input that cannot be read is an error, not an empty input: stdin
# closed, and a file whose read fails (EIO)
run "$LOGSHIP" parse <&-
expect_eq "stdin closed: exit 2" 2 "$RC"
expect_eq "stdin closed: the read error on stderr" \
	"logship: (standard input): read error at byte 0: Bad file descriptor" "$ERR"
run "$LOGSHIP" parse /proc/self/mem
expect_eq "a read that fails: exit 2" 2 "$RC"
expect_eq "a read that fails: the read error on stderr" \
	"logship: /proc/self/mem: read error at byte 0: Input/output error" "$ERR"
run "$LOGSHIP" parse -c empty.log /proc/self/mem
expect_eq "a read that fails after a good file: exit 2" 2 "$RC"
expect_eq "a read that fails after a good file: the count still printed" 0 "$OUT"

finish
