#!/usr/bin/env bash
# t015-threshold-memory: one million distinct source addresses failing once
# each keep the threshold tables at their fixed size (peak RSS under the
# 16 MiB cap), and a real brute force after them is still detected.
. "$SRC/tests/cli/lib.sh"

awk 'BEGIN {
	for (i = 0; i < 1000000; i++)
		printf "Nov 14 22:%02d:%02d bastion sshd[4711]: Failed password for root from 10.%d.%d.%d port 22 ssh2\n",
			int(i / 60000) % 60, int(i / 1000) % 60, int(i / 65536) % 256, int(i / 256) % 256, i % 256
	for (i = 0; i < 5; i++)
		printf "Nov 14 23:59:%02d bastion sshd[4711]: Failed password for root from 203.0.113.9 port 22 ssh2\n", i
}' >many.log
expect_eq "corpus has 1000005 lines" 1000005 "$(wc -l <many.log)"

run /usr/bin/time -f '%M' "$LOGSHIP" parse -c many.log
expect_eq "exit 0" 0 "$RC"
expect_eq "every line an event, plus one brute-force alert" 1000006 "$OUT"
rss_kib=$(tail -1 err)
# A sanitizer build's shadow memory is not logship's: its RSS says nothing.
if [ -z "${LOGSHIP_SANITIZE:-}" ]; then
	expect_eq "peak RSS under 16 MiB (got ${rss_kib} KiB)" 1 "$([ "$rss_kib" -lt 16384 ] && echo 1)"
fi

run "$LOGSHIP" parse -o tsv --fields rule.id,source.ip,threshold.count -w event.kind=alert many.log
expect_eq "the alert names the attacker" "$(printf 'rule.id\tsource.ip\tthreshold.count\nauth.brute_force\t203.0.113.9\t5')" "$OUT"

finish
