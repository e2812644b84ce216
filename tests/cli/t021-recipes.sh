#!/usr/bin/env bash
# t021-recipes: the recipes of README.md's "Cron, systemd and CI" are the
# files in docs/examples/, shown verbatim; the command each holds runs (its
# paths moved into the temp dir, the ClickHouse sink a file) and does what
# the README says; systemd-analyze verifies the units when installed.
. "$SRC/tests/cli/lib.sh"

EX=$SRC/docs/examples

# ---- README shows the files as they are ------------------------------------
for f in crontab logship-ship.service logship-ship.timer logship.service github-actions.yml; do
	missing=$(grep -vxF -f "$SRC/README.md" "$EX/$f")
	expect_eq "README.md shows docs/examples/$f verbatim" "" "$missing"
done

# ---- a place to run them ---------------------------------------------------
mkdir -p bin var/log/nginx
ln -s "$LOGSHIP" bin/logship
cp "$SRC/samples/auth.log" var/log/auth.log
cp "$SRC/samples/nginx-access.log" var/log/nginx/access.log
# events in the logs (lines and threshold alerts), as parse counts them
count_events() { "$LOGSHIP" parse -c var/log/auth.log var/log/nginx/access.log; }
expected=$(count_events)

# subst SINK: a recipe's text with the installed paths moved into $T and
# the ClickHouse sink replaced by file://$T/SINK
subst() {
	sed -e "s|/usr/local/bin/logship|$LOGSHIP|g" \
	    -e "s|clickhouse+http://127.0.0.1:8123/default.logs|file://$T/$1|g" \
	    -e "s|/var/lib/logship|$T/state-$1|g" \
	    -e "s|/var/log/|$T/var/log/|g"
}

# sink_lines SINK: events delivered to the file sink
sink_lines() {
	if [ -f "$T/$1" ]; then wc -l <"$T/$1" | tr -d ' '; else echo 0; fi
}

# ---- crontab: cron runs the command with /bin/sh -----------------------------
line=$(grep -v '^#' "$EX/crontab" | grep -v '^$')
expect_eq "crontab: one entry" 1 "$(printf '%s\n' "$line" | wc -l)"
expect_match "crontab: every 5 minutes" "$line" '^\*/5 \* \* \* \* '
expect_not_contains "crontab: no % (cron would cut the command there)" "$line" "%"
cmd=$(printf '%s\n' "$line" | cut -d' ' -f6- | subst cron.ndjson)
expect_exit "crontab: the command exits 0" 0 sh -c "$cmd"
expect_eq "crontab: -q: nothing for cron to mail" "" "$OUT$ERR"
expect_eq "crontab: every line delivered" "$expected" "$(sink_lines cron.ndjson)"
expect_exit "crontab: the next run exits 0" 0 sh -c "$cmd"
expect_eq "crontab: the next run sends nothing again" "$expected" "$(sink_lines cron.ndjson)"
printf 'Nov 14 23:00:00 web01 sshd[9]: Failed password for root from 192.0.2.9 port 22 ssh2\n' >>var/log/auth.log
expect_exit "crontab: a run after a new line exits 0" 0 sh -c "$cmd"
expected=$(count_events)
expect_eq "crontab: only the new line is sent" "$expected" "$(sink_lines cron.ndjson)"

# exec_start UNIT SINK: the unit's ExecStart= split as systemd splits it
# (quotes, no glob expansion: logship expands the globs itself)
exec_start() {
	local cmdline
	cmdline=$(sed -n 's/^ExecStart=//p' "$EX/$1" | subst "$2")
	set -f
	eval "set -- $cmdline"
	set +f
	printf '%s\n' "$@"
}

# ---- the oneshot service (started by the timer) ------------------------------
mapfile -t argv < <(exec_start logship-ship.service oneshot.ndjson)
expect_eq "logship-ship.service: runs logship" "$LOGSHIP" "${argv[0]}"
expect_contains "logship-ship.service: --once" "${argv[*]}" " --once "
expect_contains "logship-ship.service: a glob for logship to expand" "${argv[*]}" "nginx/*.log"
expect_exit "logship-ship.service: ExecStart exits 0" 0 "${argv[@]}"
expect_eq "logship-ship.service: quiet" "" "$OUT$ERR"
expect_eq "logship-ship.service: every line delivered" "$expected" "$(sink_lines oneshot.ndjson)"
expect_match "logship-ship.service: exit 4 (dead letters) is success" "$(cat "$EX/logship-ship.service")" '^SuccessExitStatus=4$'
expect_match "logship-ship.timer: every 5 minutes" "$(cat "$EX/logship-ship.timer")" '^OnCalendar=\*:0/5$'

# ---- the long-running service --------------------------------------------------
mapfile -t argv < <(exec_start logship.service follow.ndjson)
expect_not_contains "logship.service: follows (no --once)" "${argv[*]}" "--once"
"${argv[@]}" >follow.out 2>follow.err &
pid=$!
# wait_lines SINK N: up to 10 s for N events in the sink
wait_lines() {
	local i
	for i in $(seq 100); do
		[ "$(sink_lines "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
check "logship.service: ships what is there" wait_lines follow.ndjson "$expected"
printf 'Nov 14 23:01:00 web01 sshd[9]: Failed password for root from 192.0.2.9 port 22 ssh2\n' >>var/log/auth.log
check "logship.service: ships a line as it is written" wait_lines follow.ndjson "$(count_events)"
kill -TERM "$pid"
wait "$pid"
expect_eq "logship.service: SIGTERM (systemctl stop) exits 0" 0 "$?"
expect_eq "logship.service: nothing on stderr" "" "$(cat follow.err)"

# ---- the GitHub Actions step ---------------------------------------------------
# the `run: |` block, as the runner's shell gets it
awk '/^ *run: \|/ { on = 1; ind = -1; next }
     on && /^ *$/ { print; next }
     on { match($0, /^ */); if (ind < 0) ind = RLENGTH; if (RLENGTH < ind) exit; print substr($0, ind + 1) }' \
	"$EX/github-actions.yml" >ci-step.sh
expect_contains "github-actions.yml: the step uses --fail-on" "$(cat ci-step.sh)" "--fail-on medium"
expect_contains "github-actions.yml: the step writes the step summary" "$(cat ci-step.sh)" '--summary-file "$GITHUB_STEP_SUMMARY"'
mkdir -p ci/test-logs
cp "$SRC/samples/auth.log" ci/test-logs/auth.log
: >ci/summary.md
# GitHub runs `bash -e {0}`
(cd ci && PATH=$T/bin:$PATH GITHUB_STEP_SUMMARY=$T/ci/summary.md timeout 30 bash -e "$T/ci-step.sh") >ci.out 2>ci.err
expect_eq "CI step: findings at medium fail the step" 1 "$?"
expect_eq "CI step: nothing on stderr" "" "$(cat ci.err)"
expect_eq "CI step: the events are kept" "$("$LOGSHIP" parse -c "$SRC/samples/auth.log")" \
	"$(wc -l <ci/findings.ndjson | tr -d ' ')"
summary=$(cat ci/summary.md)
expect_contains "CI step: the summary is in GITHUB_STEP_SUMMARY" "$summary" "# logship summary"
expect_contains "CI step: the summary has the rules" "$summary" "| auth.brute_force | medium | 3 |"
# a clean log passes, and the summary file is appended to, not replaced
rm ci/test-logs/auth.log
printf 'Nov 14 23:02:00 web01 CRON[1]: pam_unix(cron:session): session closed for user root\n' >ci/test-logs/clean.log
(cd ci && PATH=$T/bin:$PATH GITHUB_STEP_SUMMARY=$T/ci/summary.md timeout 30 bash -e "$T/ci-step.sh") >ci.out 2>ci.err
expect_eq "CI step: a clean log passes" 0 "$?"
expect_eq "CI step: a later step appends its summary" 2 "$(grep -c '^# logship summary' ci/summary.md)"

# ---- systemd-analyze verify ------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	mkdir units
	for f in logship-ship.service logship-ship.timer logship.service; do
		sed "s|/usr/local/bin/logship|$LOGSHIP|" "$EX/$f" >"units/$f"
	done
	# --man=no: Documentation= names man:logship(1), not installed here
	run systemd-analyze verify --man=no units/logship-ship.service units/logship-ship.timer units/logship.service
	expect_eq "systemd-analyze verify: the units are valid" 0 "$RC"
	expect_eq "systemd-analyze verify: no warning" "" "$OUT$ERR"
else
	echo "t021: systemd-analyze is not installed: the units are not verified" >&2
fi

finish
