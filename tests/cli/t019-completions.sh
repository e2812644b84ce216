#!/usr/bin/env bash
# t019-completions: completions/logship.bash, _logship and logship.fish are
# what `logship completion SHELL` prints from the option tables; loaded in
# bash, zsh and fish they complete subcommands, options, option values,
# format and pattern names (asked of `logship patterns list --names`) and
# files; each command's --help, completions and the man page name the same
# options.
. "$SRC/tests/cli/lib.sh"

# the completions run "logship" as typed
mkdir bin && ln -s "$LOGSHIP" bin/logship
PATH=$T/bin:$PATH
export PATH

# ---- generated from the tables, committed, hidden ------------------------
for shell in bash zsh fish; do
	case $shell in
	bash) file=logship.bash ;;
	zsh) file=_logship ;;
	fish) file=logship.fish ;;
	esac
	expect_exit "completion $shell: exit 0" 0 "$LOGSHIP" completion $shell
	if cmp -s "$T/out" "$SRC/completions/$file"; then
		pass
	else
		fail "completions/$file is the output of 'logship completion $shell' (run make completions)" \
			"no difference" "$(diff "$SRC/completions/$file" "$T/out" 2>&1 | head -20)"
	fi
done
expect_exit "completion without a shell: exit 2" 2 "$LOGSHIP" completion
expect_exit "completion tcsh: exit 2" 2 "$LOGSHIP" completion tcsh
expect_contains "completion tcsh: names the shells" "$ERR" "unknown shell 'tcsh' (bash, zsh, fish)"
run "$LOGSHIP" --help
expect_not_contains "completion is hidden from --help" "$OUT" "completion"
check "bash: the script parses" bash -n "$SRC/completions/logship.bash"

# ---- patterns list --names ------------------------------------------------
mkdir mine
cat >mine/site.pattern <<'PAT'
rule site.door
  name: Door opened
  match: DOOR OPEN by %{USER:user.name}
  level: low

rule ssh.failed_password
  name: Overrides the built-in one
  match: NOPE %{USER:user.name}
  level: low
PAT
expect_exit "list --names: exit 0" 0 "$LOGSHIP" patterns list --names
names=$OUT
expect_eq "list --names: one line per table row" \
	"$("$LOGSHIP" patterns list | tail -n +2 | wc -l)" "$(printf '%s\n' "$names" | wc -l)"
expect_match "list --names: bare names" "$names" '^ssh\.failed_password$'
expect_match "list --names: thresholds too" "$names" '^auth\.brute_force$'
expect_exit "list --names --kind format: exit 0" 0 "$LOGSHIP" patterns list --names --kind format
expect_match "--kind format: nginx" "$OUT" '^nginx$'
expect_match "--kind format: nginx-error" "$OUT" '^nginx-error$'
expect_not_contains "--kind format: no rules" "$OUT" "ssh.failed_password"
expect_exit "list --kind rule (table): exit 0" 0 "$LOGSHIP" patterns list --kind rule
expect_eq "list --kind rule: only rules" "" "$(tail -n +2 out | grep -v '^rule ')"
expect_exit "list --kind bogus: exit 2" 2 "$LOGSHIP" patterns list --kind bogus
expect_contains "list --kind bogus: says which" "$ERR" "unknown kind 'bogus' (format, rule, threshold)"
expect_exit "list --names --patterns: exit 0" 0 "$LOGSHIP" patterns list --names --patterns mine
expect_match "--patterns: the user's rule is listed" "$OUT" '^site\.door$'
expect_eq "--patterns: an overridden name is listed once" 1 "$(grep -c '^ssh\.failed_password$' out)"

# ---- bash -----------------------------------------------------------------
mkdir -p files/sub && : >files/access.log && : >files/app.log

# bash_complete WORD...: what the bash completion offers for the last WORD
# (sorted, on one line), COMP_WORDS and COMP_CWORD set as bash sets them.
# Runs under set -u, as lib.sh does: the script must not trip on it.
bash_complete() {
	(
		. "$SRC/completions/logship.bash" || exit 1
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMPREPLY=()
		_logship
		[ ${#COMPREPLY[@]} = 0 ] || printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | paste -sd ' ' -
	)
}
expect_contains "bash: registered for logship" "$(. "$SRC/completions/logship.bash"; complete -p logship)" "-F _logship"
expect_eq "bash: logship pa" "parse patterns" "$(bash_complete logship pa)"
expect_eq "bash: logship parse -f ng" "nginx nginx-error" "$(bash_complete logship parse -f ng)"
expect_eq "bash: logship parse --ou" "--output" "$(bash_complete logship parse --ou)"
expect_eq "bash: logship tail --col" "--color" "$(bash_complete logship tail --col)"
expect_eq "bash: logship parse -o ''" "json logfmt pretty tsv" "$(bash_complete logship parse -o '')"
expect_eq "bash: --format=ng (= a word break)" "nginx nginx-error" "$(bash_complete logship parse --format = ng)"
expect_eq "bash: --format=ng (one word)" "--format=nginx --format=nginx-error" "$(bash_complete logship parse --format=ng)"
expect_eq "bash: tail --format with auto" "auto" "$(bash_complete logship tail --format au)"
expect_eq "bash: logship --v" "--version" "$(bash_complete logship --v)"
expect_eq "bash: logship help st" "status" "$(bash_complete logship help st)"
expect_eq "bash: patterns verbs" "list show test" "$(bash_complete logship patterns '')"
expect_eq "bash: patterns show ssh.failed_p" "ssh.failed_password ssh.failed_publickey" \
	"$(bash_complete logship patterns show ssh.failed_p)"
expect_eq "bash: patterns show with --patterns DIR" "site.door" \
	"$(bash_complete logship patterns --patterns mine show site.)"
expect_eq "bash: patterns list takes no name" "" "$(bash_complete logship patterns list ngi)"
expect_eq "bash: ship --compress" "gzip none zstd" "$(bash_complete logship ship --compress '')"
expect_eq "bash: ship --start-at" "beginning end" "$(bash_complete logship ship --start-at '')"
expect_eq "bash: parse operands are files" "files/access.log files/app.log" "$(bash_complete logship parse files/a)"
expect_eq "bash: after an option's argument, files" "files/access.log files/app.log" \
	"$(bash_complete logship parse -f nginx files/a)"
expect_eq "bash: --patterns takes a directory" "files/sub" "$(bash_complete logship parse --patterns files/)"
expect_eq "bash: ship --auth-file takes a file" "files/app.log" "$(bash_complete logship ship --auth-file files/ap)"
expect_eq "bash: patterns test NAME or FILE" "files/access.log files/app.log" \
	"$(bash_complete logship patterns test files/a)"
expect_eq "bash: after --, no options" "" "$(bash_complete logship parse -- --ou)"
expect_eq "bash: status has no operands" "" "$(bash_complete logship status '')"

# The values offered are values the commands take.
for v in $(bash_complete logship parse -o ''); do
	expect_exit "parse -o $v (offered) is accepted" 1 "$LOGSHIP" parse -o "$v" /dev/null
done
for v in $(bash_complete logship parse --color ''); do
	expect_exit "parse --color $v (offered) is accepted" 1 "$LOGSHIP" parse --color "$v" /dev/null
done
for v in $(bash_complete logship parse --fail-on ''); do
	expect_exit "parse --fail-on $v (offered) is accepted" 0 "$LOGSHIP" parse --fail-on "$v" /dev/null
done
for v in $(bash_complete logship parse --summary ''); do
	expect_exit "parse --summary $v (offered) is accepted" 1 "$LOGSHIP" parse --summary "$v" /dev/null
done
for v in $(bash_complete logship patterns list --kind ''); do
	expect_exit "patterns list --kind $v (offered) is accepted" 0 "$LOGSHIP" patterns list --kind "$v"
done
printf 'hello\n' >ship.log
for v in $(bash_complete logship ship --compress ''); do
	expect_exit "ship --compress $v (offered) is accepted" 0 "$LOGSHIP" ship --once \
		--to "file://$T/sink-$v.out" --state "st-$v" --compress "$v" ship.log
done
for v in $(bash_complete logship ship --start-at ''); do
	expect_exit "ship --start-at $v (offered) is accepted" 0 "$LOGSHIP" ship --once \
		--to "file://$T/sink-at-$v.out" --state "st-at-$v" --start-at "$v" ship.log
done
for v in $(bash_complete logship parse -f ''); do
	expect_exit "parse -f $v (offered) is accepted" 1 "$LOGSHIP" parse -f "$v" /dev/null
done

# ---- zsh ------------------------------------------------------------------
# capture.zsh FUNCDIR OUTFILE LINE: writes to OUTFILE every match zsh adds
# when TAB is pressed after LINE. An interactive `zsh -f` runs in a pseudo
# terminal (zpty) with compinit loading FUNCDIR; a compadd wrapper appends
# the matches it adds to OUTFILE, and the TAB widget touches OUTFILE.done.
cat >capture.zsh <<'ZSH'
zmodload zsh/zpty || exit 3
fdir=$1 out=$2 buf=$3
rm -f $out $out.ready $out.done
# waits (10 s at most) for the file $1, reading what the shell prints
await() {
	local i chunk
	for i in {1..200}; do
		while zpty -rt capture chunk 2>/dev/null; do :; done
		[[ -e $1 ]] && return 0
		sleep 0.05
	done
	return 1
}
cat >$out.rc <<SETUP
PS1= PROMPT= RPROMPT=
LISTMAX=100000
unsetopt auto_list list_ambiguous beep
fpath=(${(q)fdir} \$fpath)
autoload -U compinit && compinit -u -D
compadd() {
	local -a o a d ignored found
	zparseopts -E -a ignored O:=o A:=a D:=d P: S: p: s: i: I: W: d: J: V: X: x: r: R: F: M+: E:
	if (( \$#o + \$#a + \$#d )); then
		builtin compadd "\$@"
		return
	fi
	builtin compadd -O found "\$@"
	(( ! \$#found )) || print -rl -- \$found >>${(q)out}
	builtin compadd "\$@"
}
capture-widget() { zle complete-word; : >${(q)out}.done }
zle -N capture-widget
bindkey '^I' capture-widget
: >${(q)out}.ready
SETUP
: >$out
zpty capture zsh -f -i || exit 3
zpty -w capture "source ${(q)out}.rc"
await $out.ready || { print -u2 "capture.zsh: the shell did not start"; exit 4 }
zpty -w -n capture "$buf"$'\t'
await $out.done || { print -u2 "capture.zsh: no completion for '$buf'"; exit 5 }
zpty -d capture
exit 0
ZSH

# zsh_complete LINE: what the zsh completion offers at the end of LINE
# (sorted, unique, on one line).
zsh_complete() {
	zsh -f capture.zsh "$SRC/completions" "$T/zsh.matches" "$1" >/dev/null 2>"$T/zsh.err" ||
		{ echo "(capture failed: $(cat "$T/zsh.err"))"; return; }
	LC_ALL=C sort -u "$T/zsh.matches" | paste -sd ' ' -
}

if command -v zsh >/dev/null; then
	expect_eq "zsh: logship pa" "parse patterns" "$(zsh_complete 'logship pa')"
	expect_eq "zsh: logship parse -f ng" "nginx nginx-error" "$(zsh_complete 'logship parse -f ng')"
	expect_eq "zsh: logship parse --ou" "--output" "$(zsh_complete 'logship parse --ou')"
	expect_eq "zsh: logship tail --col" "--color" "$(zsh_complete 'logship tail --col')"
	expect_eq "zsh: logship parse -o " "json logfmt pretty tsv" "$(zsh_complete 'logship parse -o ')"
	expect_eq "zsh: --format=ng" "nginx nginx-error" "$(zsh_complete 'logship parse --format=ng')"
	expect_eq "zsh: logship help st" "status" "$(zsh_complete 'logship help st')"
	expect_eq "zsh: patterns verbs" "list show test" "$(zsh_complete 'logship patterns ')"
	expect_eq "zsh: patterns show ssh.failed_p" "ssh.failed_password ssh.failed_publickey" \
		"$(zsh_complete 'logship patterns show ssh.failed_p')"
	expect_eq "zsh: patterns show with --patterns DIR" "site.door" \
		"$(zsh_complete 'logship patterns --patterns mine show site.')"
	expect_eq "zsh: ship --compress" "gzip none zstd" "$(zsh_complete 'logship ship --compress ')"
	expect_eq "zsh: parse operands are files" "access.log app.log" "$(zsh_complete 'logship parse files/a')"
	expect_eq "zsh: --patterns takes a directory" "sub" "$(zsh_complete 'logship parse --patterns files/')"
	expect_eq "zsh: patterns test NAME or FILE" "nginx nginx-error" "$(zsh_complete 'logship patterns test ngi')"
else
	echo "t019: zsh is not installed: its checks are skipped (make deps installs it)" >&2
fi

# ---- fish -----------------------------------------------------------------
# fish_complete LINE: what fish offers at the end of LINE (sorted, on one
# line), logship.fish autoloaded from completions/ as when installed.
fish_complete() {
	LS_LINE=$1 fish -N -c "set -g fish_complete_path '$SRC/completions'; complete -C\"\$LS_LINE\"" \
		2>"$T/fish.err" | cut -f1 | LC_ALL=C sort -u | paste -sd ' ' -
}

if command -v fish >/dev/null; then
	expect_eq "fish: logship pa" "parse patterns" "$(fish_complete 'logship pa')"
	expect_eq "fish: logship parse -f ng" "nginx nginx-error" "$(fish_complete 'logship parse -f ng')"
	expect_eq "fish: logship parse --ou" "--output" "$(fish_complete 'logship parse --ou')"
	expect_eq "fish: logship tail --col" "--color" "$(fish_complete 'logship tail --col')"
	expect_eq "fish: logship parse -o " "json logfmt pretty tsv" "$(fish_complete 'logship parse -o ')"
	expect_eq "fish: --format=ng" "--format=nginx --format=nginx-error" "$(fish_complete 'logship parse --format=ng')"
	expect_eq "fish: logship help st" "status" "$(fish_complete 'logship help st')"
	expect_eq "fish: patterns verbs" "list show test" "$(fish_complete 'logship patterns ')"
	expect_eq "fish: patterns show ssh.failed_p" "ssh.failed_password ssh.failed_publickey" \
		"$(fish_complete 'logship patterns show ssh.failed_p')"
	expect_eq "fish: patterns show with --patterns DIR" "site.door" \
		"$(fish_complete 'logship patterns --patterns mine show site.')"
	expect_eq "fish: patterns list takes no name" "" "$(fish_complete 'logship patterns list ngi')"
	expect_eq "fish: ship --compress" "gzip none zstd" "$(fish_complete 'logship ship --compress ')"
	expect_eq "fish: parse operands are files" "files/access.log files/app.log" \
		"$(fish_complete 'logship parse files/a')"
	expect_eq "fish: after an option's argument, files" "files/access.log files/app.log" \
		"$(fish_complete 'logship parse -f nginx files/a')"
	expect_eq "fish: status takes no files" "" "$(fish_complete 'logship status files/a')"
	expect_eq "fish: no error" "" "$(cat "$T/fish.err")"
else
	echo "t019: fish is not installed: its checks are skipped (make deps installs it)" >&2
fi

# ---- help, completions and man page name the same options ------------------
LAST_CMD=
subs=$("$LOGSHIP" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')
expect_eq "the listed commands" "parse tail ship status patterns" "$(echo $subs)"
for sub in $subs; do
	# the option column of --help: "  -f, --format NAME" or "      --patterns DIR"
	help_opts=$("$LOGSHIP" "$sub" --help | sed -nE 's/^  (-[a-zA-Z], |    )--([a-z0-9-]+).*/--\2/p' | LC_ALL=C sort | paste -sd ' ' -)
	expect_eq "$sub --help lists options" 1 "$([ -n "$help_opts" ] && echo 1)"
	bash_opts=$(. "$SRC/completions/logship.bash"; _logship_options "$sub"; printf '%s\n' $_logship_kind | LC_ALL=C sort | paste -sd ' ' -)
	expect_eq "bash completes the options of $sub --help" "$help_opts" "$bash_opts"
	if command -v zsh >/dev/null; then
		expect_eq "zsh completes the options of $sub --help" "$help_opts" "$(zsh_complete "logship $sub --")"
	fi
	if command -v fish >/dev/null; then
		expect_eq "fish completes the options of $sub --help" "$help_opts" "$(fish_complete "logship $sub --")"
	fi
	missing=
	for opt in $help_opts; do
		# the man page writes --max-line as \-\-max\-line
		re=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
		grep -Eq -- "$re(\$|[^a-z0-9\\\\]|\\\\[^-])" "$SRC/docs/logship.1" || missing="$missing $opt"
	done
	expect_eq "docs/logship.1 documents every option of $sub" "" "${missing# }"
done

finish
