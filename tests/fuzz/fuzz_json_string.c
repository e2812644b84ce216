/* fuzz_json_string.c - JSON string escaping (ls_json_string) and
 * ls_utf8_valid (parsers/json_out.c).
 *
 * Input: the bytes to encode. They are encoded three ways: into an empty
 * buffer, after text already in a buffer, and into a buffer whose cap is
 * too small (byte 0 sets how small).
 *
 * Asserts: the output is one valid JSON string; decoded, it gives back the
 * input when the input is valid UTF-8, and otherwise the input with each
 * invalid byte written as the text \xHH (uppercase hex), computed here by a
 * separate UTF-8 decoder; *invalid is set exactly when an invalid byte was
 * seen; ls_utf8_valid agrees with the reference; text before the string is
 * kept; a capped buffer gets the whole string or fails with LS_ENOMEM
 * within its cap. */
#include "fuzz_util.h"

#include "../../parsers/json_out.h"

static struct ls_buf out, decoded, expected;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ls_buf_init(&out, 0);
	ls_buf_init(&decoded, 0);
	ls_buf_init(&expected, 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *why;
	int valid = fuzz_utf8_valid(s, size), invalid = 0, rc;
	static const char prefix[] = "{\"k\":";
	struct ls_buf small;

	FUZZ_CHECK(ls_utf8_valid(s, size) == valid, "ls_utf8_valid says %d, reference %d",
		   !valid, valid);

	out.len = 0;
	FUZZ_CHECK(ls_json_string(&out, s, size, &invalid) == 0, "ls_json_string failed");
	FUZZ_CHECK(invalid == !valid, "*invalid %d for %s input", invalid,
		   valid ? "valid" : "invalid");
	FUZZ_CHECK(strlen(out.data) == out.len, "a NUL byte in the output");
	decoded.len = 0;
	why = fuzz_json_decode_string(out.data, out.len, &decoded);
	FUZZ_CHECK(!why, "not a JSON string (%s): %s", why, out.data);
	expected.len = 0;
	fuzz_utf8_expected(&expected, s, size);
	if (valid)
		FUZZ_CHECK(expected.len == size && fuzz_mem_eq(expected.data, s, size),
			   "reference changed valid UTF-8");
	FUZZ_CHECK(decoded.len == expected.len &&
			   fuzz_mem_eq(decoded.data, expected.data, decoded.len),
		   "decodes to %zu bytes, expected %zu: %s", decoded.len, expected.len, out.data);

	/* after other text, with invalid left alone when nothing is invalid */
	out.len = 0;
	ls_buf_puts(&out, prefix);
	invalid = 7;
	FUZZ_CHECK(ls_json_string(&out, s, size, &invalid) == 0, "ls_json_string failed");
	FUZZ_CHECK(invalid == (valid ? 7 : 1), "*invalid became %d", invalid);
	FUZZ_CHECK(memcmp(out.data, prefix, sizeof(prefix) - 1) == 0, "prefix overwritten");
	decoded.len = 0;
	why = fuzz_json_decode_string(out.data + sizeof(prefix) - 1, out.len - sizeof(prefix) + 1,
				      &decoded);
	FUZZ_CHECK(!why && decoded.len == expected.len &&
			   fuzz_mem_eq(decoded.data, expected.data, decoded.len),
		   "after a prefix: %s", why ? why : "different bytes");

	/* a capped buffer: either the whole string or nothing */
	ls_buf_init(&small, size > 0 ? 4 + data[0] % (2 * size + 8) : 4);
	ls_buf_puts(&small, "ab");
	rc = ls_json_string(&small, s, size, NULL);
	if (rc < 0) {
		FUZZ_CHECK(rc == LS_ENOMEM, "capped buffer: %d", rc);
		/* the string may be partly written: only the cap must hold */
		FUZZ_CHECK(small.len >= 2 && small.len <= small.max && fuzz_mem_eq(small.data, "ab", 2),
			   "a failed append broke the buffer (%zu bytes)", small.len);
	} else {
		FUZZ_CHECK(small.len == 2 + out.len - (sizeof(prefix) - 1) &&
				   fuzz_mem_eq(small.data + 2, out.data + sizeof(prefix) - 1, small.len - 2),
			   "capped buffer holds other bytes");
	}
	ls_buf_release(&small);
	return 0;
}
