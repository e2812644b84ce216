#!/usr/bin/env bash
# samples/demo.sh - `make demo`: a short tour of `logship parse` over the
# sample logs in samples/ (written by us; addresses are from the
# documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and
# 2001:db8::/32). Always exits 0: `parse` exits 1 when it prints nothing,
# which is an answer here, not a failure.
set -u
cd "$(dirname "$0")/.." || exit 0

LOGSHIP=./logship
[ -x "$LOGSHIP" ] || { echo "demo: no ./logship: run 'make' first" >&2; exit 0; }

# The samples were written on 14 November 2023. Syslog lines carry no year:
# logship infers it from "now", so pin "now" to the day after, and the
# year-less lines land in 2023 like the others.
export LOGSHIP_NOW=${LOGSHIP_NOW:-2023-11-15T00:00:00Z}
export TZ=${TZ:-UTC}

color=()
[ -t 1 ] && color=(--color=always)

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	bold=$'\e[1m' dim=$'\e[2m' reset=$'\e[0m'
else
	bold="" dim="" reset=""
fi

# step TITLE EXPLANATION...: a header for the next command.
step() {
	printf '\n%s== %s%s\n' "$bold" "$1" "$reset"
	shift
	local line
	for line in "$@"; do printf '%s   %s%s\n' "$dim" "$line" "$reset"; done
}

# run CMD...: show the command, run it, and carry on whatever it returns.
run() {
	local arg shown=""
	for arg in "$@"; do
		[[ $arg =~ ^[A-Za-z0-9_./,@:=+-]+$ ]] || arg="'$arg'"
		shown+="${shown:+ }$arg"
	done
	printf '%s$ %s%s\n' "$bold" "$shown" "$reset"
	"$@"
	local rc=$?
	case $rc in
	0) ;;
	1) echo "(exit 1: nothing matched)" ;;
	*) echo "(exit $rc)" ;;
	esac
	return 0
}

step "1. Security events in an SSH server's auth.log" \
	"Every line is parsed (format picked automatically) and run through the" \
	"security rules. Shown: the events a rule tagged, including the alerts the" \
	"brute-force and password-spraying thresholds raise for 203.0.113.45."
run "$LOGSHIP" parse -o pretty "${color[@]}" -w has:rule.id samples/auth.log

step "2. Everything at severity low or above, across all the samples, as TSV" \
	"-w filters on any field; --fields picks the columns."
run "$LOGSHIP" parse -w 'event.severity>=2' -o tsv \
	--fields @timestamp,rule.id,source.ip,user.name samples/*.log samples/*.jsonl

step "3. A Markdown summary of all the samples" \
	"Formats found, top rules, top offending addresses, unparsed lines."
run "$LOGSHIP" parse --summary md samples/*.log samples/*.jsonl

step "4. Statistics" \
	"--stats writes lines, bytes, events and unparsed lines, per format and per" \
	"tag, to stderr; -c prints only the number of events."
run "$LOGSHIP" parse --stats -c samples/*.log samples/*.jsonl

printf '\n%sMore:%s logship help parse; logship patterns list; README.md\n' "$bold" "$reset"
exit 0
