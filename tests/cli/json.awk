# json.awk - a small JSON reader for the CLI tests (jq is not installed).
# Each input line must be one JSON object. Modes (-v mode=...):
#   flat     prints "path<TAB>raw-value" for every value (objects and arrays
#            too, except the root); paths are dotted keys, arrays as name[i]
#   get      (-v field=PATH) prints the raw value of PATH on each line, or
#            nothing when it is absent
#   validate prints "line N: reason" for every invalid line; exit status 1
#            when any line is invalid
# Raw values are the JSON text as written: "abc" keeps its quotes and escapes,
# numbers stay bare, so a test can tell 404 from "404".
function fail(m) { if (bad == "") bad = m " at byte " p; return 0 }
function ws() { while (p <= n && index(" \t\r\n", substr(s, p, 1))) p++ }
function emit(path, v) {
	if (path == "") return
	if (mode == "flat") print path "\t" v
	else if (mode == "get" && path == field && !found) { found = 1; got = v }
}
function str(   t) {
	t = substr(s, p)
	if (!match(t, re_str)) return fail("bad string")
	tok = substr(t, 1, RLENGTH)
	p += RLENGTH
	return 1
}
function value(path,   c, t) {
	ws()
	if (p > n) return fail("unexpected end")
	c = substr(s, p, 1)
	if (c == "{") return object(path)
	if (c == "[") return array(path)
	if (c == "\"") {
		if (!str()) return 0
		emit(path, tok)
		return 1
	}
	t = substr(s, p, 80)
	if (match(t, /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/) ||
	    match(t, /^(true|false|null)/)) {
		emit(path, substr(t, 1, RLENGTH))
		p += RLENGTH
		return 1
	}
	return fail("bad value")
}
function object(path,   start, key, sub_path, nkeys) {
	start = p
	p++
	ws()
	if (substr(s, p, 1) == "}") { p++; emit(path, substr(s, start, p - start)); return 1 }
	for (;;) {
		ws()
		if (substr(s, p, 1) != "\"") return fail("expected a key")
		if (!str()) return 0
		key = substr(tok, 2, length(tok) - 2)
		ws()
		if (substr(s, p, 1) != ":") return fail("expected ':'")
		p++
		sub_path = path == "" ? key : path "." key
		if (!value(sub_path)) return 0
		ws()
		c = substr(s, p, 1)
		p++
		if (c == "}") break
		if (c != ",") { p--; return fail("expected ',' or '}'") }
	}
	emit(path, substr(s, start, p - start))
	return 1
}
function array(path,   start, i, c) {
	start = p
	p++
	ws()
	if (substr(s, p, 1) == "]") { p++; emit(path, substr(s, start, p - start)); return 1 }
	for (i = 0; ; i++) {
		if (!value(path "[" i "]")) return 0
		ws()
		c = substr(s, p, 1)
		p++
		if (c == "]") break
		if (c != ",") { p--; return fail("expected ',' or ']'") }
	}
	emit(path, substr(s, start, p - start))
	return 1
}
BEGIN {
	hex = "[0-9a-fA-F]"
	re_str = "^\"([^\"\\\\\001-\037]|\\\\([\"\\\\/bfnrt]|u" hex hex hex hex "))*\""
	status = 0
}
{
	s = $0; n = length(s); p = 1; bad = ""; found = 0; got = ""
	if (substr(s, 1, 1) != "{") fail("not an object")
	else if (value("")) { ws(); if (p <= n) fail("trailing text") }
	if (mode == "validate" && bad != "") { print "line " NR ": " bad; status = 1 }
	if (mode == "get" && found) print got
}
END { exit status }
