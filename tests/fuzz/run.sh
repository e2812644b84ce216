#!/usr/bin/env bash
# run.sh - runs the libFuzzer harnesses built into $FUZZ_BUILD (build-fuzz).
#
#   run.sh check             for CI (`make fuzz-check`, and `make test` through
#                            tests/run-all.sh): builds the harnesses, replays
#                            each one's committed corpus and regression inputs,
#                            then a short deterministic run (-seed=1 -runs=N)
#                            on a temp copy of its corpus. One line per
#                            harness, then "N passed, N failed".
#   run.sh explore SECS [NAME...]
#                            (`make fuzz`) each harness (or the NAMEs) for SECS
#                            seconds of random inputs on a temp copy of its
#                            corpus; crashers are kept in
#                            $FUZZ_BUILD/findings/NAME/ and fail the run.
#
# A crash, sanitizer report, leak, timeout or failed check in a harness fails
# it. The committed corpus is never written to.
set -u
cd "$(dirname "$0")/../.."
mode=${1:-check}
secs=60
[ "$mode" = explore ] && secs=${2:-60}
build=${FUZZ_BUILD:-build-fuzz}
dir=tests/fuzz

# Runs per harness in check mode: each takes a few seconds under ASan and
# UBSan, so all of them stay well under a minute.
runs_for() {
	case $1 in
	line) echo 8000 ;;
	patfile) echo 5000 ;;
	checkpoint) echo 10000 ;;
	config) echo 20000 ;;
	*) echo 60000 ;;
	esac
}

# Options for every run: a slow input is a finding too (PCRE2 keeps its own
# match limit, so a pathological user regex does not hang), and config
# lines run up to 8 KiB.
opts_for() {
	local o="-timeout=10 -rss_limit_mb=3072 -print_final_stats=0"
	case $1 in
	config) o="$o -max_len=20000" ;;
	line | patfile) o="$o -max_len=8192" ;;
	esac
	echo "$o"
}

if [ "$mode" = check ]; then
	# a make of its own: a parent's -j jobserver is not passed down to scripts
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} -s -j"$(nproc 2>/dev/null || echo 2)" \
		fuzz-build >/dev/null || {
		echo "FAIL fuzz-build (clang with libFuzzer needed: see DEB_TEST)"
		echo "0 passed, 1 failed"
		exit 1
	}
fi

names=()
if [ "$mode" = explore ] && [ $# -gt 2 ]; then
	names=("${@:3}")
else
	for f in "$dir"/fuzz_*.c; do
		n=${f##*/fuzz_}
		names+=("${n%.c}")
	done
fi

# Temp files (the harnesses' own and the corpus copies) on tmpfs when there
# is one: the checkpoint harness fsyncs.
base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
tmp=$(mktemp -d "$base/logship-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export TMPDIR=$tmp
# Leaks fail a run; reports name source lines.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

pass=0 fail=0
for name in "${names[@]}"; do
	bin=$build/fuzz_$name
	log=$tmp/$name.log
	work=$tmp/corpus-$name
	start=$SECONDS
	if [ ! -x "$bin" ]; then
		echo "FAIL $name: $bin is not built"
		fail=$((fail + 1))
		continue
	fi
	mkdir -p "$work" "$tmp/art-$name"
	cp "$dir/corpus/$name"/* "$work"/ 2>/dev/null
	read -r -a opts <<<"$(opts_for "$name")"
	if [ "$mode" = check ]; then
		inputs=()
		for f in "$dir/corpus/$name"/* "$dir/regressions/$name"/*; do
			[ -f "$f" ] && inputs+=("$f")
		done
		ok=1
		if [ ${#inputs[@]} -gt 0 ] &&
			! "$bin" "${opts[@]}" -artifact_prefix="$tmp/art-$name/" "${inputs[@]}" >"$log" 2>&1; then
			ok=0 what="replaying ${#inputs[@]} inputs"
		elif ! "$bin" "${opts[@]}" -seed=1 -runs="$(runs_for "$name")" \
			-artifact_prefix="$tmp/art-$name/" "$work" >>"$log" 2>&1; then
			ok=0 what="-seed=1 -runs=$(runs_for "$name")"
		fi
		if [ $ok = 1 ]; then
			echo "PASS $name: ${#inputs[@]} inputs replayed, $(runs_for "$name") runs (-seed=1), $((SECONDS - start))s"
			pass=$((pass + 1))
		else
			echo "FAIL $name: $what"
			grep -E 'check failed|ERROR|runtime error|SUMMARY|Test unit written|^    #[0-9]' "$log" | head -30
			for a in "$tmp/art-$name"/*; do
				[ -f "$a" ] && echo "  input: $(od -An -c -N 200 "$a" | tr -s ' ' | head -4)"
			done
			fail=$((fail + 1))
		fi
	else
		findings=$build/findings/$name
		mkdir -p "$findings"
		if "$bin" "${opts[@]}" -max_total_time="$secs" \
			-artifact_prefix="$findings/" "$work" >"$log" 2>&1; then
			echo "PASS $name: $(grep -oE 'Done [0-9]+ runs' "$log" | tail -1 | cut -d' ' -f2) runs in $((SECONDS - start))s, corpus $(ls "$work" | wc -l) inputs ($(ls "$dir/corpus/$name" | wc -l) committed)"
			pass=$((pass + 1))
		else
			echo "FAIL $name: see $findings/"
			grep -E 'check failed|ERROR|runtime error|SUMMARY|Test unit written|^    #[0-9]' "$log" | head -30
			cp "$log" "$findings/last.log"
			fail=$((fail + 1))
		fi
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
