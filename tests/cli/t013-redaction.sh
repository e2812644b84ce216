#!/usr/bin/env bash
# t013-redaction: passwords and tokens in URLs and query strings,
# Authorization values, AWS access keys, JWTs and card numbers are replaced by
# [REDACTED:<kind>] in the message and in fields, in every output format, and
# the event is tagged redacted; --no-redact keeps them.
. "$SRC/tests/cli/lib.sh"

JWT=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c
cat >secrets.log <<LOG
203.0.113.9 - - [14/Nov/2023:22:13:20 +0000] "GET /login?user=bob&password=hunter2secret&next=/ HTTP/1.1" 200 512 "-" "curl/8.4.0"
203.0.113.9 - - [14/Nov/2023:22:13:21 +0000] "GET /api/items?access_token=ya29tokenABCDEF123456&page=2 HTTP/1.1" 200 90 "-" "curl/8.4.0"
Nov 14 22:13:22 web1 app[42]: request headers: Authorization: Bearer abcdef1234567890tokenvalue
Nov 14 22:13:23 web1 app[42]: upstream Authorization: Basic dXNlcjpodW50ZXIycGFzcw==
Nov 14 22:13:24 web1 app[42]: using aws key AKIAIOSFODNN7EXAMPLE for s3
Nov 14 22:13:25 web1 app[42]: session cookie $JWT accepted
Nov 14 22:13:26 web1 shop[7]: payment card 4111 1111 1111 1111 charged
Nov 14 22:13:27 web1 shop[7]: payment card 5500-0055-5555-5559 declined
Nov 14 22:13:28 web1 shop[7]: amex 378282246310005 charged
login attempt passwd=s3cr3tpass api_key=AKxyz987secretkey secret=topsecretvalue42
LOG
printf 'Nov 14 22:13:29 web1 shop[7]: order 1234567812345678 shipped, GET /index.html?page=2\n' >benign.log
cat secrets.log benign.log >all.log
SECRETS="hunter2secret ya29tokenABCDEF123456 abcdef1234567890tokenvalue dXNlcjpodW50ZXIycGFzcw== AKIAIOSFODNN7EXAMPLE
	eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c
	4111~1111~1111~1111 5500-0055-5555-5559 378282246310005 s3cr3tpass AKxyz987secretkey topsecretvalue42"
# survivors FILE: the secrets found in FILE ("~" stands for a blank)
survivors() {
	local s found=""
	for s in $SECRETS; do
		grep -qF -- "${s//\~/ }" "$1" && found="$found ${s//\~/ }"
	done
	printf '%s' "${found# }"
}
n_secret_lines=$(wc -l <secrets.log)

expect_exit "json: exit 0" 0 "$LOGSHIP" parse all.log
expect_json_valid "json: valid" out
expect_eq "json: no secret survives" "" "$(survivors out)"
expect_eq "json: every line with a secret tagged redacted" "$n_secret_lines" "$(head -n "$n_secret_lines" out | grep -c '"tags":\[[^]]*"redacted"')"
expect_not_contains "json: the line without secrets is not tagged" "$(tail -1 out)" redacted
expect_contains "json: the line without secrets is kept as is" "$(tail -1 out)" "order 1234567812345678 shipped, GET /index.html?page=2"
expect_contains "json: replaced by [REDACTED:<kind>]" "$(nth 1 out)" "password=[REDACTED:"
expect_contains "json: the query string's other parameters stay" "$(nth 1 out)" "user=bob&password=[REDACTED:"
expect_contains "json: the request stays readable" "$(nth 2 out)" "&page=2"
expect_match "json: url.original redacted too" "$(json_get "$(nth 1 out)" url.original)" '^"/login\?user=bob&password=\[REDACTED:[a-z_]+\]&next=/"$'
expect_contains "json: Bearer kept, token replaced" "$(nth 3 out)" "Authorization: Bearer [REDACTED:"

for o in logfmt tsv pretty; do
	expect_exit "$o: exit 0" 0 "$LOGSHIP" parse -o "$o" all.log
	expect_eq "$o: no secret survives" "" "$(survivors out)"
	expect_contains "$o: the line without secrets is kept" "$OUT" "order 1234567812345678 shipped"
done
expect_exit "pretty --color=always: exit 0" 0 "$LOGSHIP" parse -o pretty --color=always all.log
expect_eq "pretty --color=always: no secret survives" "" "$(survivors out)"
expect_exit "tsv --fields message,url.original: exit 0" 0 "$LOGSHIP" parse -o tsv --fields message,url.original,tags all.log
expect_eq "tsv --fields message,url.original: no secret survives" "" "$(survivors out)"
expect_eq "tsv: tags column says redacted" "$n_secret_lines" "$(sed 1d out | grep -c 'redacted$')"
expect_exit "logfmt --fields: exit 0" 0 "$LOGSHIP" parse -o logfmt --fields message,url.original all.log
expect_eq "logfmt --fields: no secret survives" "" "$(survivors out)"
expect_exit "-w tag:redacted: exit 0" 0 "$LOGSHIP" parse -c -w tag:redacted all.log
expect_eq "-w tag:redacted counts the lines with secrets" "$n_secret_lines" "$OUT"
run sh -c "\"$LOGSHIP\" parse <all.log"
expect_eq "stdin: no secret survives" "" "$(survivors out)"
gzip -c all.log >all.log.gz
expect_exit ".gz: exit 0" 0 "$LOGSHIP" parse all.log.gz
expect_eq ".gz: no secret survives" "" "$(survivors out)"

# a password in a URL's user info
printf 'fetch https://deploy:hunter2url@git.example.com/repo.git failed\n' >url.log
expect_exit "a password in a URL: exit 0" 0 "$LOGSHIP" parse url.log
expect_not_contains "a password in a URL: redacted" "$OUT" hunter2url
expect_contains "a password in a URL: tagged redacted" "$(json_get "$OUT" tags)" '"redacted"'
expect_contains "a password in a URL: the host stays" "$OUT" "@git.example.com/repo.git"

# fields captured by -e are redacted too
expect_exit "-e capturing a password: exit 0" 0 "$LOGSHIP" parse -e '(?:password|passwd)=(?<pw>[^&\s]+)' all.log
expect_eq "-e capturing a password: no secret survives" "" "$(survivors out)"
expect_exit "-e capturing an Authorization value: exit 0" 0 "$LOGSHIP" parse -e 'Authorization: (?<auth>.*)$' all.log
expect_eq "-e capturing an Authorization value: no secret survives" "" "$(survivors out)"
expect_exit "-e capturing a card number: exit 0" 0 "$LOGSHIP" parse -e 'card (?<card>[0-9 -]+[0-9])' -o tsv --fields card all.log
expect_eq "-e capturing a card number: no secret survives" "" "$(survivors out)"
expect_exit "-e capturing a key: exit 0" 0 "$LOGSHIP" parse -e 'aws key (?<key>\S+)' -o logfmt all.log
expect_eq "-e capturing a key: no secret survives" "" "$(survivors out)"

# --no-redact keeps everything
expect_exit "--no-redact: exit 0" 0 "$LOGSHIP" parse --no-redact all.log
expect_eq "--no-redact: every secret kept" "$(echo $SECRETS | tr '~' ' ')" "$(survivors out)"
expect_not_contains "--no-redact: no redacted tag" "$OUT" '"redacted"'
expect_not_contains "--no-redact: no [REDACTED:" "$OUT" '[REDACTED:'
expect_exit "--no-redact -o tsv: exit 0" 0 "$LOGSHIP" parse --no-redact -o tsv --fields message all.log
expect_eq "--no-redact -o tsv: an access log's message is the original line" "$(head -2 secrets.log)" "$(sed -n 2,3p out)"
expect_exit "--no-tag keeps redaction: exit 0" 0 "$LOGSHIP" parse --no-tag all.log
expect_eq "--no-tag keeps redaction: no secret survives" "" "$(survivors out)"

finish
