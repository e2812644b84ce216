#!/usr/bin/env bash
# score.sh - scores logship's security tagging on the labelled corpus
# (tests/data/security/corpus.tsv, format in tests/data/security/README.md).
#
# The corpus lines are written back into one temporary file per "file"
# column (so each file is homogeneous, as real logs are, and -f auto picks
# its format), all files are parsed by one `logship parse -o json` run, and
# each event is matched to its corpus line by log.file.path and log.offset.
#
#   recall           labelled lines whose rule.id and source.ip are the
#                    expected ones ("-" as source.ip: the event has none)
#   false positives  unlabelled lines that got a rule.id at level low or
#                    higher (informational hits are allowed)
#
# Prints every miss, then the scores and "N passed, N failed" (corpus lines).
# Exit 0 only when recall >= 0.97 and there are no false positives.
# Usage: tests/security/score.sh [CORPUS]   (LOGSHIP=path overrides ./logship)
set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
corpus=${1:-$root/tests/data/security/corpus.tsv}
logship=${LOGSHIP:-$root/logship}
min_recall=0.97

if [ ! -x "$logship" ]; then
	echo "score.sh: $logship not found or not executable (run make)" >&2
	exit 2
fi
if [ ! -r "$corpus" ]; then
	echo "score.sh: cannot read $corpus" >&2
	exit 2
fi

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home" "$tmp/files"

# 1. Split the corpus into its files; index: file offset rule ip corpus-line.
awk -F '\t' -v dir="$tmp/files" -v index_file="$tmp/index.tsv" '
	/^#/ || NF == 0 { next }
	NF < 5 { printf "score.sh: %s:%d: expected 5 tab-separated columns\n", FILENAME, NR > "/dev/stderr"; bad = 1; next }
	$1 !~ /^[A-Za-z0-9._-]+$/ { printf "score.sh: %s:%d: bad file name %s\n", FILENAME, NR, $1 > "/dev/stderr"; bad = 1; next }
	{
		line = $5
		for (i = 6; i <= NF; i++)
			line = line "\t" $i
		printf "%s\t%d\t%s\t%s\t%d\n", $1, off[$1] + 0, $3, $4, NR > index_file
		print line > (dir "/" $1)
		off[$1] += length(line) + 1
	}
	END { exit bad }
' "$corpus" || exit 2

# 2. Parse everything in one run (at least two files, so that events carry
#    log.file.path; an empty extra file is added when the corpus has one).
[ "$(ls "$tmp/files" | wc -l)" -ge 2 ] || : > "$tmp/files/zz-empty.log"
(
	cd "$tmp/files" &&
	TZ=UTC LOGSHIP_NOW=2023-11-15T00:00:00Z HOME="$tmp/home" \
	XDG_CONFIG_HOME="$tmp/home" XDG_STATE_HOME="$tmp/home" \
	"$logship" parse -o json * > "$tmp/events.json" 2> "$tmp/stderr.txt"
)
rc=$?
if [ "$rc" -gt 1 ]; then
	echo "score.sh: logship parse failed (exit $rc):" >&2
	cat "$tmp/stderr.txt" >&2
	exit 2
fi

# 3. One row per event: file offset rule.id source.ip severity (alerts skipped).
#    The JSON is one object per line with sorted keys; nested objects are
#    read with plain pattern matching, as jq is not available.
awk '
	function obj(s, key,    p, rest) {
		p = index(s, "\"" key "\":{")
		if (!p)
			return ""
		rest = substr(s, p + length(key) + 4)
		if (!match(rest, /^[^}]*/))
			return ""
		return substr(rest, 1, RLENGTH)
	}
	function str(s, key,    p, rest) {
		p = index(s, "\"" key "\":\"")
		if (!p)
			return ""
		rest = substr(s, p + length(key) + 4)
		if (!match(rest, /^([^"\\]|\\.)*/))
			return ""
		return substr(rest, 1, RLENGTH)
	}
	function num(s, key,    p, rest) {
		p = index(s, "\"" key "\":")
		if (!p)
			return ""
		rest = substr(s, p + length(key) + 3)
		if (!match(rest, /^[0-9]+/))
			return ""
		return substr(rest, 1, RLENGTH)
	}
	{
		ev = obj($0, "event")
		if (str(ev, "kind") == "alert")
			next
		p = index($0, "\"log\":{\"file\":{\"path\":\"")
		if (!p)
			next
		rest = substr($0, p + length("\"log\":{\"file\":{\"path\":\""))
		path = substr(rest, 1, index(rest, "\"") - 1)
		sub(/.*\//, "", path)
		offset = num(rest, "offset")
		rule = str(obj($0, "rule"), "id")
		ip = str(obj($0, "source"), "ip")
		sev = num(ev, "severity")
		printf "%s\t%s\t%s\t%s\t%s\n", path, offset, rule == "" ? "-" : rule,
		       ip == "" ? "-" : ip, sev == "" ? 0 : sev
	}
' "$tmp/events.json" > "$tmp/got.tsv"

# Threshold alerts are not scored (they belong to no corpus line); they are
# listed for information.
grep -o '"kind":"alert"[^}]*}.*"rule":{[^}]*"id":"[^"]*"' "$tmp/events.json" |
	sed 's/.*"id":"\([^"]*\)"$/\1/' | sort | uniq -c |
	awk '{ printf "%s%s x%d", n++ ? ", " : "threshold alerts: ", $2, $1 } END { if (n) print "" }'

# 4. Compare.
awk -F '\t' -v min_recall="$min_recall" -v corpus="$corpus" '
	FNR == NR {
		key = $1 "\t" $2
		if (!(key in got)) {
			got[key] = $3
			gotip[key] = $4
			gotsev[key] = $5
		}
		next
	}
	{
		key = $1 "\t" $2
		want = $3
		wantip = $4
		r = (key in got) ? got[key] : "(no event)"
		gip = (key in got) ? gotip[key] : "-"
		sev = (key in got) ? gotsev[key] + 0 : 0
		if (want != "-") {
			labelled++
			if (r == want && gip == wantip) {
				hit++
				pass++
			} else {
				fail++
				printf "MISS %s:%d (%s): want %s %s, got %s %s\n", corpus, $5, $1,
				       want, wantip, r, gip
			}
		} else {
			unlabelled++
			if (r != "-" && r != "(no event)" && sev >= 2) {
				fp++
				fail++
				printf "FALSE POSITIVE %s:%d (%s): got %s (level %d) %s\n", corpus, $5,
				       $1, r, sev, gip
			} else {
				pass++
			}
		}
	}
	END {
		recall = labelled ? hit / labelled : 0
		printf "labelled lines: %d, recalled: %d, recall: %.4f (required %.2f)\n",
		       labelled, hit, recall, min_recall
		printf "unlabelled lines: %d, false positives: %d (required 0)\n", unlabelled, fp
		printf "%d passed, %d failed\n", pass, fail
		exit (recall >= min_recall && fp == 0) ? 0 : 1
	}
' "$tmp/got.tsv" "$tmp/index.tsv"
