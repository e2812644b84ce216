#!/usr/bin/env bash
# t001-basics: --help, help parse, --version, unknown commands, options and
# formats with "did you mean".
. "$SRC/tests/cli/lib.sh"

printf '203.0.113.9 - - [14/Nov/2023:22:13:20 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.4.0"\n' >access.log

expect_exit "--help exits 0" 0 "$LOGSHIP" --help
expect_match "--help lists parse" "$OUT" '^ +parse +[a-z]'
expect_match "--help lists patterns" "$OUT" '^ +patterns +[a-z]'
expect_eq "--help writes nothing on stderr" "" "$ERR"
top_help=$OUT
expect_exit "help exits 0" 0 "$LOGSHIP" help
expect_eq "help prints the same as --help" "$top_help" "$OUT"

# Every option of parse's table (cmd/parse.c) is listed on one line of its own,
# with a description.
names=$({ sed -n '/^static const struct ls_opt parse_opts/,/^};/p' "$SRC/cmd/parse.c"
	  sed -n '/^#define LS_COMMON_OPTS_\(PARSING\|OUTPUT\|REST\)/,/^$/p' "$SRC/cmd/common.h"; } |
	sed -n 's/^[[:space:]]*{"\([a-z0-9-]*\)".*/\1/p')
expect_eq "cmd/parse.c has an option table" yes "$([ "$(printf '%s\n' "$names" | wc -l)" -ge 20 ] && echo yes || echo "no ($names)")"
expect_exit "parse --help exits 0" 0 "$LOGSHIP" parse --help
parse_help=$OUT
for name in $names; do
	n=$(printf '%s\n' "$parse_help" | grep -cE -- "^ +(-[a-zA-Z], )?--$name( [A-Za-z|]+)? +[^ ]")
	expect_eq "parse --help lists --$name on one line" 1 "$n"
done
for short in f e o w c m v h; do
	expect_match "parse --help shows -$short" "$parse_help" "^ +-$short, --[a-z]"
done
# README sends readers to --help for --where's operators
for op in 'field=v' '!=' '~re' '>=' '<=' 'has:field' 'tag:NAME'; do
	expect_match "parse --help: --where lists $op" "$parse_help" "^ +-w, --where EXPR .*$op"
done
expect_match "parse --help: --where lists > and <" "$parse_help" "^ +-w, --where EXPR .* >, >=, <, <="
run "$LOGSHIP" ship --help
expect_match "ship --help: --where lists the operators" "$OUT" "^ +-w, --where EXPR .*field=v, !=, ~re, >, >=, <, <=, has:field, tag:NAME"
run "$LOGSHIP" tail --help
expect_match "tail --help: --where lists the operators" "$OUT" "^ +-w, --where EXPR .*field=v, !=, ~re, >, >=, <, <=, has:field, tag:NAME"
expect_exit "parse -h exits 0" 0 "$LOGSHIP" parse -h
expect_eq "parse -h prints the same as parse --help" "$parse_help" "$OUT"
expect_exit "help parse exits 0" 0 "$LOGSHIP" help parse
expect_eq "help parse prints the same as parse --help" "$parse_help" "$OUT"

version=$(sed -n 's/^VERSION *:*= *//p' "$SRC/Makefile")
expect_exit "--version exits 0" 0 "$LOGSHIP" --version
expect_eq "--version prints logship and the Makefile's VERSION" "logship $version" "$OUT"

expect_exit "no command: exit 2" 2 "$LOGSHIP"
expect_contains "no command: usage on stderr" "$ERR" "usage: logship"
expect_eq "no command: nothing on stdout" "" "$OUT"

expect_exit "unknown command: exit 2" 2 "$LOGSHIP" pasre access.log
expect_contains "unknown command: suggests parse" "$ERR" "unknown command 'pasre'; did you mean 'parse'?"
expect_eq "unknown command: nothing on stdout" "" "$OUT"
expect_exit "help for an unknown command: exit 2" 2 "$LOGSHIP" help parze
expect_contains "help for an unknown command suggests parse" "$ERR" "did you mean 'parse'?"

expect_exit "parse --formt: exit 2" 2 "$LOGSHIP" parse --formt nginx access.log
expect_contains "parse --formt suggests --format" "$ERR" "unknown option '--formt'; did you mean '--format'?"
expect_eq "parse --formt: nothing on stdout" "" "$OUT"
expect_exit "parse --wehre=x=1: exit 2" 2 "$LOGSHIP" parse --wehre=x=1 access.log
expect_contains "parse --wehre=x=1 suggests --where" "$ERR" "did you mean '--where'?"
expect_exit "parse -Z: exit 2" 2 "$LOGSHIP" parse -Z access.log
expect_contains "parse -Z names the option" "$ERR" "'-Z'"
expect_exit "parse -f without its argument: exit 2" 2 "$LOGSHIP" parse -f
expect_contains "parse -f without its argument says so" "$ERR" "needs an argument"
expect_exit "parse -o xml: exit 2" 2 "$LOGSHIP" parse -o xml access.log
expect_contains "parse -o xml names xml" "$ERR" "'xml'"
expect_exit "parse -m abc: exit 2" 2 "$LOGSHIP" parse -m abc access.log
expect_exit "parse --color=sometimes: exit 2" 2 "$LOGSHIP" parse --color=sometimes access.log


# what getopt refuses, in logship's words
expect_exit "parse --count=5: exit 2" 2 "$LOGSHIP" parse --count=5 access.log
expect_eq "parse --count=5: --count takes no argument" \
	"logship parse: option '--count' takes no argument" "$ERR"
expect_exit "parse --cou=5: exit 2" 2 "$LOGSHIP" parse --cou=5 access.log
expect_eq "parse --cou=5: the option's whole name and the word typed" \
	"logship parse: option '--count' takes no argument (in '--cou=5')" "$ERR"
expect_exit "parse --stats=yes: exit 2" 2 "$LOGSHIP" parse --stats=yes access.log
expect_eq "parse --stats=yes: an option without a letter" \
	"logship parse: option '--stats' takes no argument" "$ERR"
expect_exit "status --help=1: exit 2" 2 "$LOGSHIP" status --help=1
expect_eq "status --help=1: --help takes no argument" \
	"logship status: option '--help' takes no argument" "$ERR"
expect_exit "parse --max: exit 2" 2 "$LOGSHIP" parse --max 3 access.log
expect_eq "parse --max: the options it begins" \
	"logship parse: ambiguous option '--max'; did you mean '--max-count' or '--max-line'?" "$ERR"
expect_exit "parse --max=3: exit 2" 2 "$LOGSHIP" parse --max=3 access.log
expect_eq "parse --max=3: the options it begins, without the value" \
	"logship parse: ambiguous option '--max'; did you mean '--max-count' or '--max-line'?" "$ERR"
expect_exit "parse --max-c 1 (a unique beginning): exit 0" 0 "$LOGSHIP" parse --max-c 1 access.log
expect_exit "tail --journ: exit 2" 2 "$LOGSHIP" tail --journ
expect_eq "tail --journ: the four options it begins" \
	"logship tail: ambiguous option '--journ'; did you mean '--journal', '--journal-unit', '--journal-match' or '--journal-directory'?" "$ERR"
expect_exit "ship --m: exit 2" 2 "$LOGSHIP" ship --m x
expect_match "ship --m: six shown, the rest counted" "$ERR" \
	"^logship ship: ambiguous option '--m'; did you mean '--[a-z-]+', '--[a-z-]+', '--[a-z-]+', '--[a-z-]+', '--[a-z-]+', '--[a-z-]+' or [0-9]+ more\\?$"
expect_exit "parse --foo: exit 2" 2 "$LOGSHIP" parse --foo access.log
expect_eq "parse --foo: no far-fetched guess (--tz)" \
	"logship parse: unknown option '--foo' (see 'logship help parse')" "$ERR"
expect_exit "parse -cf: exit 2" 2 "$LOGSHIP" parse -cf
expect_eq "parse -cf: names -f, not the bundle" \
	"logship parse: option '-f' needs an argument (NAME)" "$ERR"
expect_exit "parse --format: exit 2" 2 "$LOGSHIP" parse --format
expect_eq "parse --format without its argument" \
	"logship parse: option '--format' needs an argument (NAME)" "$ERR"
expect_exit "parse --form (a beginning) without its argument: exit 2" 2 "$LOGSHIP" parse --form
expect_eq "parse --form without its argument: the whole name" \
	"logship parse: option '--format' needs an argument (NAME)" "$ERR"
expect_exit "parse -f '': exit 2" 2 "$LOGSHIP" parse -f '' access.log
expect_eq "parse -f '': no format named" \
	"logship parse: --format: no name given (a format, or auto)" "$ERR"
expect_exit "unknown command pa: exit 2" 2 "$LOGSHIP" pa
expect_eq "unknown command pa: the commands it begins" \
	"logship: unknown command 'pa'; did you mean 'parse' or 'patterns'?" "$ERR"
printf 'max: 3\nto: -\n' >max.conf
expect_exit "config key max: exit 2" 2 "$LOGSHIP" ship --config max.conf access.log
expect_eq "config key max: the keys it begins" \
	"logship ship: max.conf:1: unknown key 'max'; did you mean 'max-inflight-bytes', 'max-retry-time', 'max-open' or 'max-line'?" "$ERR"
# --config as getopt takes it: a beginning (--conf) or --config=FILE is
# read too, not taken by getopt and then ignored
printf 'to: -\npath: access.log\nstate: st-conf\n' >ship.conf
expect_exit "ship --conf FILE --once: exit 0" 0 "$LOGSHIP" ship --conf ship.conf --once -q
expect_json_field "ship --conf FILE: the config's sink and path" "$OUT" event.dataset '"nginx.access"'
rm -rf st-conf
expect_exit "ship --config=FILE --once: exit 0" 0 "$LOGSHIP" ship --config=ship.conf --once -q
expect_eq "ship --config=FILE: one event" 1 "$(wc -l <out)"
expect_exit "ship --conf FILE --check: exit 0" 0 "$LOGSHIP" ship --conf ship.conf --check
expect_eq "ship --conf FILE --check: checked" "ship.conf: ok (1 inputs, sink file)" "$OUT"

# status takes its directory with --state only
mkdir st
expect_exit "status DIR: exit 2" 2 "$LOGSHIP" status st
expect_eq "status DIR: the argument refused, --state named" \
	"logship status: unexpected argument 'st' (give the directory with --state DIR)" "$ERR"
expect_exit "status --state DIR extra: exit 2" 2 "$LOGSHIP" status --state st extra
expect_exit "status --state DIR: exit 0" 0 "$LOGSHIP" status --state st

# a size that does not fit is refused, not wrapped round (to 0: -m 0)
expect_exit "parse -m 8796093022208G: exit 2" 2 "$LOGSHIP" parse -m 8796093022208G access.log
expect_eq "parse -m 8796093022208G: not a valid number" \
	"logship parse: --max-count: '8796093022208G' is not a valid number" "$ERR"
expect_exit "parse -m 99999999999999999999: exit 2" 2 "$LOGSHIP" parse -m 99999999999999999999 access.log
expect_exit "parse -m 2K: exit 0" 0 "$LOGSHIP" parse -m 2K access.log
expect_exit "parse --max-line 8796093022208G: exit 2" 2 "$LOGSHIP" parse --max-line 8796093022208G access.log

expect_exit "parse -f ngnix: exit 2" 2 "$LOGSHIP" parse -f ngnix access.log
expect_contains "parse -f ngnix suggests nginx" "$ERR" "unknown format 'ngnix'; did you mean 'nginx'?"
expect_eq "parse -f ngnix: nothing on stdout" "" "$OUT"
expect_exit "parse -f nosuchformatatall: exit 2" 2 "$LOGSHIP" parse -f nosuchformatatall access.log
expect_contains "parse -f nosuchformatatall names it" "$ERR" "unknown format 'nosuchformatatall'"
expect_not_contains "parse -f nosuchformatatall suggests nothing" "$ERR" "did you mean"

expect_exit "parse -f nginx on a good line: exit 0" 0 "$LOGSHIP" parse -f nginx access.log
expect_eq "parse -f nginx: one event" 1 "$(wc -l <out)"
expect_exit "parse -f NGINX (names in any case): exit 0" 0 "$LOGSHIP" parse -f NGINX access.log
expect_json_field "parse -f NGINX: parsed as nginx" "$OUT" event.dataset '"nginx.access"'

finish
