#!/usr/bin/env bash
# t014-patterns: `logship patterns list/show/test`, user pattern files that
# add, override or break, and the ATT&CK id check.
. "$SRC/tests/cli/lib.sh"

expect_exit "list: exit 0" 0 "$LOGSHIP" patterns list
expect_match "list names nginx with its dataset" "$OUT" '^format +nginx +nginx\.access +[0-9]+'
expect_match "list names an sshd rule" "$OUT" '^rule +ssh\.failed_password +sshd'
expect_match "list names the brute-force threshold" "$OUT" '^threshold +auth\.brute_force'
expect_eq "list: at least 18 formats" 1 "$([ "$(grep -c '^format ' out)" -ge 18 ] && echo 1)"
expect_exit "show: exit 0" 0 "$LOGSHIP" patterns show ssh.failed_password
expect_contains "show prints the definition" "$OUT" "rule ssh.failed_password"
expect_contains "show prints examples" "$OUT" "  example: "
expect_contains "show names the technique" "$OUT" "# technique T1110.001: Password Guessing"
expect_contains "show prints the prefilter" "$OUT" '# prefilter: "Failed password for"'
expect_exit "show unknown: exit 2" 2 "$LOGSHIP" patterns show ngnix
expect_contains "show unknown suggests" "$ERR" "did you mean 'nginx'?"
expect_exit "test one built-in: exit 0" 0 "$LOGSHIP" patterns test nginx
expect_match "test one built-in: counts" "$OUT" '^patterns: 1 entries, [0-9]+ examples: [0-9]+ passed, 0 failed$'
expect_exit "test unknown name: exit 2" 2 "$LOGSHIP" patterns test no.such.rule
# what a verb would ignore is refused
expect_exit "show without a name: exit 2" 2 "$LOGSHIP" patterns show
expect_eq "show without a name: says so" \
	"logship patterns: show needs a NAME (see 'logship patterns list')" "$ERR"
expect_exit "list with a name: exit 2" 2 "$LOGSHIP" patterns list nginx
expect_eq "list with a name: refused" "logship patterns: list: unexpected argument 'nginx'" "$ERR"
expect_exit "show with two names: exit 2" 2 "$LOGSHIP" patterns show nginx ssh.failed_password
expect_eq "show with two names: the second refused" \
	"logship patterns: show: unexpected argument 'ssh.failed_password'" "$ERR"
expect_exit "test with two names: exit 2" 2 "$LOGSHIP" patterns test nginx apache
expect_eq "test with two names: the second refused" "logship patterns: test: unexpected argument 'apache'" "$ERR"
expect_eq "test with two names: nothing on stdout" "" "$OUT"
expect_exit "--kind with show: exit 2" 2 "$LOGSHIP" patterns --kind rule show nginx
expect_eq "--kind with show: refused" "logship patterns: --kind is an option of list, not of show" "$ERR"
expect_exit "--names with test: exit 2" 2 "$LOGSHIP" patterns --names test nginx
expect_eq "--names with test: refused" "logship patterns: --names is an option of list, not of test" "$ERR"

# A user file with one good rule and one broken one: the broken one is
# reported with its file and line, the good one still tags events.
mkdir mine
cat >mine/site.pattern <<'PAT'
rule site.good
  name: Door opened
  literal: DOOR OPEN
  match: DOOR OPEN by %{USER:user.name} from %{IP:source.ip}
  level: low
  tags: site_door
  example: DOOR OPEN by alice from 192.0.2.7
  expect: user.name=alice
  expect: source.ip=192.0.2.7

rule site.broken
  name: Broken
  match: (unclosed
  level: low
PAT
printf 'DOOR OPEN by bob from 198.51.100.2\n' >door.log
expect_exit "broken rule file: parse still exits 0" 0 "$LOGSHIP" parse --patterns mine -o json door.log
expect_match "broken rule reported with file and line" "$ERR" 'mine/site\.pattern:13: .*missing closing parenthesis'
expect_json_field "the good rule still tags" "$OUT" rule.id '"site.good"'
expect_json_field "the good rule's field" "$OUT" user.name '"bob"'
expect_json_field "severity of the good rule" "$OUT" event.severity 2

# patterns test FILE: a failing example prints the field difference, exit 1.
cat >wrong.pattern <<'PAT'
rule site.wrong
  name: Wrong expectation
  literal: DOOR OPEN
  match: DOOR OPEN by %{USER:user.name}
  level: low
  example: DOOR OPEN by carol
  expect: user.name=dave
PAT
expect_exit "test FILE with a wrong expectation: exit 1" 1 "$LOGSHIP" patterns test wrong.pattern
expect_contains "the failure names expected and got" "$OUT" "field user.name: expected 'dave', got 'carol'"
expect_contains "the failure names file and line" "$OUT" "wrong.pattern:6"
expect_match "test FILE counts" "$OUT" '^patterns: 1 entries, 1 examples: 0 passed, 1 failed$'

# A user entry named like a built-in replaces it.
mkdir override
cat >override/nginx.pattern <<'PAT'
format nginx
  dataset: site.custom
  match: ^CUSTOM %{GREEDYDATA:message}$
PAT
printf 'CUSTOM hello\n' >custom.log
expect_exit "override: exit 0" 0 "$LOGSHIP" parse --patterns override -f nginx -o json custom.log
expect_json_field "override: the user's nginx format is used" "$OUT" event.dataset '"site.custom"'

# A technique id that is not in the ATT&CK list is refused.
mkdir badtech
cat >badtech/t.pattern <<'PAT'
rule site.badtech
  name: Bad technique
  match: BADTECH
  level: low
  technique: T9999.999
PAT
expect_exit "unknown technique: parse still runs" 1 "$LOGSHIP" parse --patterns badtech -w has:rule.id door.log
expect_contains "unknown technique reported" "$ERR" "T9999.999"

finish
