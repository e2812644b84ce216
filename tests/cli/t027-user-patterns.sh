#!/usr/bin/env bash
# t027-user-patterns: user pattern and rule files that are broken, hostile
# or odd: every problem names its file and line, `patterns test` exits 2 on
# a broken entry (1 only on a mismatch), nothing crashes or hangs.
. "$SRC/tests/cli/lib.sh"

# A good entry to test a file with.
good() {
	printf 'format %s\n  dataset: site.%s\n  match: ^%s (?<message>.*)$\n  example: %s hello\n  expect: message=hello\n' \
		"$1" "$1" "$1" "$1"
}

# ---- syntax errors: file:line, exit 2 -----------------------------------
{ good site.one; printf '  this is no property\n'; } >syntax.pattern
expect_exit "syntax error: exit 2" 2 "$LOGSHIP" patterns test syntax.pattern
expect_contains "syntax error: file and line" "$ERR" "syntax.pattern:6: expected 'key: value'"
expect_contains "syntax error: said to be an error" "$ERR" "logship patterns: 1 broken entry or file (see above)"
expect_contains "syntax error: its entry is not loaded" "$OUT" \
	"FAIL format site.one (syntax.pattern:1): not loaded (see the warning above)"

{ good site.two; printf '  matchh: x\n'; } >unknown.pattern
expect_exit "unknown property: exit 2" 2 "$LOGSHIP" patterns test unknown.pattern
expect_contains "unknown property: file, line and key" "$ERR" "unknown.pattern:6: site.two: unknown property 'matchh'"
expect_contains "unknown property: the entry is not tested as if it loaded" "$OUT" \
	"FAIL format site.two (unknown.pattern:1): not loaded (see the warning above)"

# a syntax error costs its entry, not the entries after it
{ printf 'format site.bad\n  oops\n  match: x\nwidget w\n  match: y\n'; good site.three; } >recover.pattern
expect_exit "syntax errors: exit 2" 2 "$LOGSHIP" patterns test recover.pattern
expect_contains "syntax errors: the first said" "$ERR" "recover.pattern:2: expected 'key: value'"
expect_contains "syntax errors: the second said" "$ERR" "recover.pattern:4: unknown entry kind 'widget'"
expect_contains "syntax errors: the entry after them is tested" "$OUT" "1 passed"
expect_contains "syntax errors: counted" "$ERR" "logship patterns: 2 broken entries or files (see above)"
run "$LOGSHIP" patterns --patterns . list --kind format
expect_match "syntax errors: list marks the broken entry" "$OUT" 'recover\.pattern:1 \(broken: not loaded\)$'

printf 'rule site.nomatch\n  name: No match\n  level: low\n' >nomatch.pattern
expect_exit "rule without match: exit 2" 2 "$LOGSHIP" patterns test nomatch.pattern
expect_contains "rule without match: said" "$ERR" "nomatch.pattern:1: rule site.nomatch: has no 'match:'"

printf 'format site.x y\n  match: a\n' >blank.pattern
expect_exit "a name with a blank: exit 2" 2 "$LOGSHIP" patterns test blank.pattern
expect_contains "a name with a blank: said" "$ERR" "blank.pattern:1: format name 'site.x y' holds a blank"

# ---- regex errors: file, the match: line and the offset the user typed ----
printf 'format site.re\n  dataset: x\n  match: ^%%{IP:source.ip} (?<message>a(b$\n' >re.pattern
expect_exit "bad format regex: exit 2" 2 "$LOGSHIP" patterns test re.pattern
expect_contains "bad format regex: offset in the user's text" "$ERR" \
	"re.pattern:3: format site.re: match: regex error at offset 32: missing closing parenthesis"
printf 'rule site.re\n  name: n\n  level: low\n  literal: foo\n  match: foo(?<x>[a-\n' >rule-re.pattern
expect_exit "bad rule regex: exit 2" 2 "$LOGSHIP" patterns test rule-re.pattern
expect_contains "bad rule regex: file:line and offset" "$ERR" \
	"rule-re.pattern:5: rule site.re: match: regex error at offset 11: missing terminating ]"
printf 'grok SITEBAD\n  match: (a\nrule site.usesbad\n  name: n\n  level: low\n  match: x %%{SITEBAD}\n' >grok.pattern
expect_exit "bad grok macro: exit 2" 2 "$LOGSHIP" patterns test grok.pattern
expect_contains "bad grok macro: named at its own line" "$ERR" \
	"grok.pattern:1: grok SITEBAD: match: regex error at offset 2: missing closing parenthesis"
printf 'rule site.nomacro\n  name: n\n  level: low\n  match: foo %%{NOSUCHMACRO:x}\n' >macro.pattern
expect_exit "unknown grok macro: exit 2" 2 "$LOGSHIP" patterns test macro.pattern
expect_contains "unknown grok macro: said" "$ERR" "macro.pattern:4: rule site.nomacro: unknown grok macro %{NOSUCHMACRO}"
# macros that each use another several times: refused, not "out of memory"
{
	printf 'grok SITEA\n  match: %%{IP}%%{IP}%%{IP}%%{IP}%%{IP}%%{IP}%%{IP}%%{IP}\n'
	printf 'grok SITEB\n  match: %%{SITEA}%%{SITEA}%%{SITEA}%%{SITEA}%%{SITEA}%%{SITEA}%%{SITEA}%%{SITEA}\n'
	printf 'grok SITEC\n  match: %%{SITEB}%%{SITEB}%%{SITEB}%%{SITEB}%%{SITEB}%%{SITEB}%%{SITEB}%%{SITEB}\n'
	printf 'grok SITED\n  match: %%{SITEC}%%{SITEC}%%{SITEC}%%{SITEC}%%{SITEC}%%{SITEC}%%{SITEC}%%{SITEC}\n'
	printf 'rule site.bomb\n  name: n\n  level: low\n  match: %%{SITED}\n'
} >bomb.pattern
good site.after >>bomb.pattern
expect_exit "macro bomb: exit 2" 2 "$LOGSHIP" patterns test bomb.pattern
expect_contains "macro bomb: file and line" "$ERR" "bomb.pattern:12: rule site.bomb: match: larger than 1 MiB"
expect_contains "macro bomb: the rest still tested" "$OUT" "1 passed"
expect_not_contains "macro bomb: not out of memory" "$ERR" "out of memory"

# ---- a failing example: exit 1 with the difference ----------------------
printf 'format site.ex\n  dataset: site.ex\n  match: ^EX (?<message>.*)$\n  example: EX hello\n  expect: message=bye\n' >ex.pattern
expect_exit "failing expect: exit 1" 1 "$LOGSHIP" patterns test ex.pattern
expect_contains "failing expect: the difference" "$OUT" "field message: expected 'bye', got 'hello'"
expect_contains "failing expect: file and line" "$OUT" "ex.pattern:4"

# ---- encodings and odd bytes ----------------------------------------------
good site.crlf | sed 's/$/\r/' >crlf.pattern
expect_exit "CRLF: exit 0" 0 "$LOGSHIP" patterns test crlf.pattern
expect_contains "CRLF: the example passes" "$OUT" "1 passed, 0 failed"
{ printf '\357\273\277'; good site.bom; } >bom.pattern
expect_exit "BOM: exit 0" 0 "$LOGSHIP" patterns test bom.pattern
expect_eq "BOM: no warning" "" "$ERR"
{ good site.nul; printf '  description: a\000b\n'; } >nul.pattern
expect_exit "NUL byte: exit 2" 2 "$LOGSHIP" patterns test nul.pattern
expect_contains "NUL byte: line and column" "$ERR" "nul.pattern:6: NUL byte at column 17"
{ good site.long; printf '  description: '; head -c 10000000 /dev/zero | tr '\0' a; printf '\n'; } >long.pattern
expect_exit "10 MB line: exit 2" 2 "$LOGSHIP" patterns test long.pattern
expect_contains "10 MB line: file and line" "$ERR" "long.pattern:6: line longer than 65536 bytes"
expect_not_contains "10 MB line: not out of memory" "$ERR" "out of memory"
: >empty.pattern
expect_exit "empty file: exit 2" 2 "$LOGSHIP" patterns test empty.pattern
expect_eq "empty file: said" "logship patterns: empty.pattern: no format or rule to test in it" "$ERR"
expect_exit "missing file: exit 2" 2 "$LOGSHIP" patterns test missing.pattern
expect_eq "missing file: said" "logship patterns: missing.pattern: No such file or directory" "$ERR"

# ---- directories: odd members warn and the rest load ----------------------
mkdir -p odd/sub.pattern
good site.ok >odd/ok.pattern
ln -s loop.pattern odd/loop.pattern
mkfifo odd/fifo.pattern
expect_exit "odd directory: list exit 0" 0 "$LOGSHIP" patterns --patterns odd list
expect_contains "odd directory: a subdirectory is said" "$ERR" "odd/sub.pattern: a directory, not a pattern file"
expect_contains "odd directory: a symlink loop is said" "$ERR" "odd/loop.pattern: Too many levels of symbolic links"
expect_contains "odd directory: a FIFO is said (no hang)" "$ERR" "odd/fifo.pattern: not a regular file"
expect_match "odd directory: the good file loads" "$OUT" '^format +site\.ok +site\.site\.ok'
expect_exit "odd directory: test exits 2" 2 "$LOGSHIP" patterns --patterns odd test site.ok
expect_exit "--patterns missing: exit 2" 2 "$LOGSHIP" patterns --patterns nowhere list
expect_eq "--patterns missing: said" "logship: pattern directory nowhere: No such file or directory" "$ERR"
expect_exit "--patterns missing (parse): exit 2" 2 "$LOGSHIP" parse --patterns nowhere /dev/null

# ---- test FILE: each entry once ------------------------------------------
mkdir once
good site.once >once/o.pattern
expect_exit "test FILE also in --patterns: exit 0" 0 "$LOGSHIP" patterns --patterns once test ./once/o.pattern
expect_eq "test FILE also in --patterns: tested once" "patterns: 1 entries, 1 examples: 1 passed, 0 failed" "$OUT"
# in a source tree, patterns/X.pattern is the file, not the built-in copy too
mkdir patterns
cp "$SRC/patterns/20-syslog.pattern" patterns/
expect_exit "test patterns/20-syslog.pattern: exit 0" 0 "$LOGSHIP" patterns test patterns/20-syslog.pattern
expect_match "test patterns/20-syslog.pattern: each entry once" "$OUT" '^patterns: 3 entries, '
long_home=$T/$(head -c 5000 /dev/zero | tr '\0' a)
run env XDG_CONFIG_HOME="$long_home" "$LOGSHIP" patterns list
expect_eq "a too long user directory: list exit 0" 0 "$RC"
expect_contains "a too long user directory: said, not cut" "$ERR" "is a path too long: not loaded"

# ---- two definitions of one name; overriding a built-in -------------------
mkdir dup
printf 'format site.dup\n  dataset: one\n  match: ^(?<message>.*)$\n' >dup/a.pattern
printf 'format site.dup\n  dataset: two\n  match: ^(?<message>.*)$\n' >dup/b.pattern
expect_exit "duplicate: show exit 0" 0 "$LOGSHIP" patterns --patterns dup show site.dup
expect_contains "duplicate: the later file wins" "$OUT" "dataset: two"
expect_contains "duplicate: show names what it overrides" "$OUT" "# overrides format site.dup at dup/a.pattern:1"
expect_contains "duplicate: a warning says which is used" "$ERR" \
	"dup/a.pattern:1: format site.dup is defined again at dup/b.pattern:1, which is the one used"
run "$LOGSHIP" patterns --patterns dup list
expect_match "duplicate: list marks the overridden one" "$OUT" 'dup/a\.pattern:1 \(overridden\)$'
expect_match "duplicate: list leaves the used one" "$OUT" 'dup/b\.pattern:1$'
mkdir -p "$XDG_CONFIG_HOME/logship/patterns"
printf 'format nginx\n  dataset: site.mine\n  match: ^(?<message>.*)$\n' >"$XDG_CONFIG_HOME/logship/patterns/n.pattern"
expect_exit "override built-in: show exit 0" 0 "$LOGSHIP" patterns show nginx
expect_contains "override built-in: shows the user's file" "$OUT" "# $XDG_CONFIG_HOME/logship/patterns/n.pattern:1"
expect_match "override built-in: names the built-in" "$OUT" '^# overrides format nginx at patterns/10-web\.pattern:[0-9]+$'
expect_eq "override built-in: no warning" "" "$ERR"
# a broken override leaves the built-in in use, and says so
printf 'format nginx\n  dataset: site.mine\n  match: ^(?<message>.*$\n' >"$XDG_CONFIG_HOME/logship/patterns/n.pattern"
expect_exit "broken override: show exit 0" 0 "$LOGSHIP" patterns show nginx
expect_contains "broken override: the built-in is used" "$OUT" "dataset: nginx.access"
expect_contains "broken override: said" "$ERR" "n.pattern:3: format nginx: match: regex error"
expect_exit "broken override: test exits 2" 2 "$LOGSHIP" patterns test nginx
run "$LOGSHIP" patterns list --names
expect_eq "broken override: listed once" 1 "$(printf '%s\n' "$OUT" | grep -c '^nginx$')"
rm -r "$XDG_CONFIG_HOME/logship"

finish
