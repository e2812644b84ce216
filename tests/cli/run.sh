#!/usr/bin/env bash
# run.sh - runs every tests/cli/tNNN-*.sh in order, each in a fresh temp dir
# with a fixed environment, and ends with one line "N passed, N failed"
# (N = checks). Exits non-zero when any check failed. An argument runs only
# the scripts whose name contains it: bash tests/cli/run.sh t008
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
LOGSHIP=${LOGSHIP:-$SRC/logship}
case $LOGSHIP in /*) ;; *) LOGSHIP=$PWD/$LOGSHIP ;; esac
if [ ! -x "$LOGSHIP" ]; then
	echo "run.sh: $LOGSHIP not built (run make)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
passed=0
failed=0
for script in "$SRC"/tests/cli/t[0-9][0-9][0-9]-*.sh; do
	[ -n "${1:-}" ] && case $(basename "$script") in *"$1"*) ;; *) continue ;; esac
	T=$(mktemp -d)
	mkdir -p "$T/home" "$T/config" "$T/data" "$T/state" "$T/cache"
	(
		cd "$T" &&
		unset NO_COLOR &&
		env LOGSHIP_NOW=2023-11-15T00:00:00Z TZ=UTC LC_ALL=C \
		    HOME="$T/home" XDG_CONFIG_HOME="$T/config" XDG_DATA_HOME="$T/data" \
		    XDG_STATE_HOME="$T/state" XDG_CACHE_HOME="$T/cache" \
		    T="$T" LOGSHIP="$LOGSHIP" SRC="$SRC" LS_RESULT="$T/.result" \
		    bash "$script"
	)
	rc=$?
	p=0 f=0 finished=0
	[ -s "$T/.result" ] && read -r p f finished <"$T/.result"
	if [ "$finished" != 1 ]; then
		echo "FAIL $(basename "$script" .sh): the script stopped before its end (exit $rc)"
		f=$((f + 1))
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	chmod -R u+rwX "$T" 2>/dev/null
	rm -rf "$T"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
