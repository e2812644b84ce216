#!/usr/bin/env bash
# faults.sh - the fault-injection suite (out of memory, disk full, I/O
# errors, EINTR, signals, valgrind) as part of `make test`: see
# tests/faults/run.sh, which ends with "N passed, N failed".
exec bash "$(dirname "$0")/../faults/run.sh" "$@"
