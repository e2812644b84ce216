#!/usr/bin/env bash
# t011-timestamps: --tz and TZ for zone-less times, zones in the line win,
# year inference for year-less syslog times across New Year, output RFC 3339
# UTC with milliseconds.
. "$SRC/tests/cli/lib.sh"

R='^%{TIMESTAMP_ISO8601:@timestamp} %{LOGLEVEL:log.level} '
cat >t.log <<'LOG'
2023-11-14 10:00:00,123 ERROR winter, no zone
2023-07-01 12:00:00,000 INFO summer, no zone
2023-11-14T10:00:00+02:00 INFO with an offset
2023-11-14T10:00:00.123456Z INFO microseconds
2023-11-14T10:00:00Z INFO seconds only
LOG
times() { sed 1d "$T/out" | tr '\n' ' ' | sed 's/ $//'; }

expect_exit "TZ=UTC: exit 0" 0 "$LOGSHIP" parse -e "$R" -o tsv --fields @timestamp t.log
expect_eq "TZ=UTC: zone-less times are UTC; RFC 3339 UTC with ms" \
	"2023-11-14T10:00:00.123Z 2023-07-01T12:00:00.000Z 2023-11-14T08:00:00.000Z 2023-11-14T10:00:00.123Z 2023-11-14T10:00:00.000Z" "$(times)"
expect_exit "--tz Europe/Paris: exit 0" 0 "$LOGSHIP" parse -e "$R" -o tsv --fields @timestamp --tz Europe/Paris t.log
expect_eq "--tz Europe/Paris: winter -1h, summer -2h, explicit zones kept" \
	"2023-11-14T09:00:00.123Z 2023-07-01T10:00:00.000Z 2023-11-14T08:00:00.000Z 2023-11-14T10:00:00.123Z 2023-11-14T10:00:00.000Z" "$(times)"
run env TZ=America/New_York "$LOGSHIP" parse -e "$R" -o tsv --fields @timestamp t.log
expect_eq "TZ=America/New_York: +5h in winter, +4h in summer" \
	"2023-11-14T15:00:00.123Z 2023-07-01T16:00:00.000Z 2023-11-14T08:00:00.000Z 2023-11-14T10:00:00.123Z 2023-11-14T10:00:00.000Z" "$(times)"
run env TZ=America/New_York "$LOGSHIP" parse -e "$R" -o tsv --fields @timestamp --tz Asia/Tokyo t.log
expect_eq "--tz wins over TZ" \
	"2023-11-14T01:00:00.123Z 2023-07-01T03:00:00.000Z 2023-11-14T08:00:00.000Z 2023-11-14T10:00:00.123Z 2023-11-14T10:00:00.000Z" "$(times)"
expect_exit "--tz UTC: exit 0" 0 "$LOGSHIP" parse -e "$R" -o tsv --fields @timestamp --tz UTC t.log
expect_match "--tz UTC" "$(times)" '^2023-11-14T10:00:00.123Z '
# POSIX TZ strings, as TZ takes them: UTC+5 is five hours west of UTC
expect_exit "--tz UTC+5: exit 0" 0 "$LOGSHIP" parse -e "$R" -o tsv --fields @timestamp --tz UTC+5 t.log
expect_eq "--tz UTC+5: +5h, explicit zones kept" \
	"2023-11-14T15:00:00.123Z 2023-07-01T17:00:00.000Z 2023-11-14T08:00:00.000Z 2023-11-14T10:00:00.123Z 2023-11-14T10:00:00.000Z" "$(times)"
run env TZ=UTC+5 "$LOGSHIP" parse -e "$R" -o tsv --fields @timestamp t.log
expect_eq "TZ=UTC+5 reads the same as --tz UTC+5" \
	"2023-11-14T15:00:00.123Z 2023-07-01T17:00:00.000Z 2023-11-14T08:00:00.000Z 2023-11-14T10:00:00.123Z 2023-11-14T10:00:00.000Z" "$(times)"
expect_exit "--tz EST5EDT,M3.2.0,M11.1.0: exit 0" 0 "$LOGSHIP" parse -e "$R" -o tsv --fields @timestamp --tz EST5EDT,M3.2.0,M11.1.0 t.log
expect_eq "--tz EST5EDT,M3.2.0,M11.1.0: +5h in winter, +4h in summer" \
	"2023-11-14T15:00:00.123Z 2023-07-01T16:00:00.000Z 2023-11-14T08:00:00.000Z 2023-11-14T10:00:00.123Z 2023-11-14T10:00:00.000Z" "$(times)"
expect_exit "--tz '<+0530>-5:30': exit 0" 0 "$LOGSHIP" parse -e "$R" -o tsv --fields @timestamp --tz '<+0530>-5:30' t.log
expect_match "--tz '<+0530>-5:30': -5h30" "$(times)" '^2023-11-14T04:30:00.123Z '
expect_exit "--tz UTC+: exit 2" 2 "$LOGSHIP" parse -e "$R" --tz UTC+ t.log
expect_exit "--tz Mars/Olympus: exit 2" 2 "$LOGSHIP" parse -e "$R" --tz Mars/Olympus t.log
expect_contains "--tz Mars/Olympus: named" "$ERR" "Mars/Olympus"
expect_eq "--tz Mars/Olympus: nothing on stdout" "" "$OUT"
expect_exit "JSON @timestamp: exit 0" 0 "$LOGSHIP" parse -e "$R" t.log
expect_json_field "JSON @timestamp: RFC 3339 UTC with ms" "$(nth 1 out)" @timestamp '"2023-11-14T10:00:00.123Z"'

# the built-in python format (asctime - name - level - message)
printf '2023-11-14 10:00:00,123 - app.db - ERROR - connection lost\n' >py.log
expect_exit "python line, --tz Europe/Paris: exit 0" 0 "$LOGSHIP" parse --tz Europe/Paris py.log
expect_json_field "python line, --tz Europe/Paris: 1h earlier in UTC" "$OUT" @timestamp '"2023-11-14T09:00:00.123Z"'
expect_json_field "python line: log.level" "$OUT" log.level '"ERROR"'
run env TZ=Europe/Paris "$LOGSHIP" parse py.log
expect_json_field "python line, TZ=Europe/Paris: 1h earlier in UTC" "$OUT" @timestamp '"2023-11-14T09:00:00.123Z"'

# year inference: no "future" dates across New Year
cat >newyear.log <<'LOG'
Dec 31 23:59:00 web1 cron[100]: last job of the year
Jan  1 00:05:00 web1 cron[101]: first job of the year
LOG
S='^%{SYSLOGTIMESTAMP:@timestamp} '
run env LOGSHIP_NOW=2024-01-01T00:10:00Z "$LOGSHIP" parse -e "$S" -o tsv --fields @timestamp newyear.log
expect_eq "year inference across New Year (-e)" "2023-12-31T23:59:00.000Z 2024-01-01T00:05:00.000Z" "$(times)"
run env LOGSHIP_NOW=2024-01-01T00:10:00Z "$LOGSHIP" parse -o tsv --fields @timestamp newyear.log
expect_eq "year inference across New Year (syslog, auto)" "2023-12-31T23:59:00.000Z 2024-01-01T00:05:00.000Z" "$(times)"
run env LOGSHIP_NOW=2024-01-01T00:10:00Z "$LOGSHIP" parse -o json newyear.log
expect_json_field "year inference: the syslog line parsed" "$(nth 1 out)" process.name '"cron"'
run env LOGSHIP_NOW=2024-03-01T00:00:00Z "$LOGSHIP" parse -e "$S" -o tsv --fields @timestamp newyear.log
expect_eq "year inference two months later" "2023-12-31T23:59:00.000Z 2024-01-01T00:05:00.000Z" "$(times)"
printf 'Nov 14 22:13:20 web1 sshd[1]: x\n' >nov.log
run "$LOGSHIP" parse -e "$S" -o tsv --fields @timestamp nov.log
expect_eq "year inference: the current year (LOGSHIP_NOW 2023-11-15)" "2023-11-14T22:13:20.000Z" "$(times)"
printf 'Feb 29 12:00:00 web1 sshd[1]: leap day\n' >leap.log
run env LOGSHIP_NOW=2024-03-01T00:00:00Z "$LOGSHIP" parse -e "$S" -o tsv --fields @timestamp leap.log
expect_eq "year inference: Feb 29 in a leap year" "2024-02-29T12:00:00.000Z" "$(times)"

# LOGSHIP_NOW: the time of lines without one
printf 'no time here\n' >notime.log
run env LOGSHIP_NOW=2020-02-29T12:34:56.789Z "$LOGSHIP" parse notime.log
expect_json_field "LOGSHIP_NOW is the read time of a line with no time" "$OUT" @timestamp '"2020-02-29T12:34:56.789Z"'
run env LOGSHIP_NOW=2020-02-29T13:34:56+01:00 "$LOGSHIP" parse notime.log
expect_json_field "LOGSHIP_NOW with an offset, written in UTC" "$OUT" @timestamp '"2020-02-29T12:34:56.000Z"'
expect_exit "LOGSHIP_NOW unreadable: exit 2" 2 env LOGSHIP_NOW=tomorrow "$LOGSHIP" parse notime.log
expect_contains "LOGSHIP_NOW unreadable: named" "$ERR" "LOGSHIP_NOW"

finish
