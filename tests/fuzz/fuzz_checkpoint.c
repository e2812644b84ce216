/* fuzz_checkpoint.c - the checkpoint/state file loader
 * (shipper/checkpoint.c, ls_checkpoint_read: read-only, as `logship
 * status` loads a state file).
 *
 * Input: the body of a state file. Each input is loaded twice: as it is
 * (almost always refused by the checksum, which tests the framing), and
 * with a correct "checksum" line appended (a final "\n" added first when
 * missing), so the record parser is reached.
 *
 * Asserts: a refused file gives LS_EDAMAGED with a message naming it, and
 * opened as a pipeline's state (ls_checkpoint_open) it is moved aside with
 * one warning and the state starts empty; a loaded one loads the same
 * there, has entries with distinct (dev, ino), fp_len <= 1024 and paths;
 * and it round-trips: the same entries and cursor, put into a fresh
 * state and saved (ls_checkpoint_open/put/save), load back equal. */
#include "fuzz_util.h"

#include <inttypes.h>
#include <xxhash.h>

#include "../../shipper/checkpoint.h"

static char path[512], dir[512];
static struct ls_buf body;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s", fuzz_tmpdir_get());
	snprintf(path, sizeof(path), "%s/in.state", dir);
	ls_buf_init(&body, 0);
	return 0;
}

static void same_entry(const struct ls_ckpt_entry *a, const struct ls_ckpt_entry *b, size_t i)
{
	FUZZ_CHECK(a->dev == b->dev && a->ino == b->ino && a->fingerprint == b->fingerprint &&
		   a->fp_len == b->fp_len && a->offset == b->offset && a->size == b->size &&
		   a->last_read_ms == b->last_read_ms && a->gone_since_ms == b->gone_since_ms,
		   "entry %zu: numbers differ after a save and load", i);
	FUZZ_CHECK(strcmp(a->path, b->path) == 0, "entry %zu: path '%s' came back as '%s'", i,
		   a->path, b->path);
}

/* Saves cp's entries and cursor into a fresh state and loads them back. */
static void round_trip(const struct ls_checkpoint *cp)
{
	struct ls_checkpoint *w = NULL, *r = NULL;
	struct ls_error err = { 0, "" };
	char saved[600];
	const char *c1, *c2;

	snprintf(saved, sizeof(saved), "%s/rt.state", dir);
	unlink(saved);
	FUZZ_CHECK(ls_checkpoint_open(&w, dir, "rt", NULL, NULL, &err) == 0, "open: %s", err.msg);
	FUZZ_CHECK(ls_checkpoint_count(w) == 0, "a fresh state has entries");
	for (size_t i = 0; i < ls_checkpoint_count(cp); i++)
		FUZZ_CHECK(ls_checkpoint_put(w, ls_checkpoint_get(cp, i)) == 0, "put %zu", i);
	if (ls_checkpoint_cursor(cp))
		FUZZ_CHECK(ls_checkpoint_set_cursor(w, ls_checkpoint_cursor(cp)) == 0, "cursor");
	FUZZ_CHECK(ls_checkpoint_save(w, &err) == 0, "save: %s", err.msg);
	ls_checkpoint_free(w);
	if (ls_checkpoint_count(cp) == 0 && !ls_checkpoint_cursor(cp))
		return; /* nothing changed: nothing was written */
	FUZZ_CHECK(ls_checkpoint_read(&r, saved, &err) == 0, "reload: %s", err.msg);
	FUZZ_CHECK(ls_checkpoint_count(r) == ls_checkpoint_count(cp), "%zu entries, then %zu",
		   ls_checkpoint_count(cp), ls_checkpoint_count(r));
	for (size_t i = 0; i < ls_checkpoint_count(cp); i++)
		same_entry(ls_checkpoint_get(cp, i), ls_checkpoint_get(r, i), i);
	c1 = ls_checkpoint_cursor(cp);
	c2 = ls_checkpoint_cursor(r);
	FUZZ_CHECK((!c1 && !c2) || (c1 && c2 && strcmp(c1, c2) == 0), "cursor '%s' came back as '%s'",
		   c1 ? c1 : "(none)", c2 ? c2 : "(none)");
	ls_checkpoint_free(r);
}

static int warnings;

static void count_warning(void *ctx, const char *msg)
{
	(void)ctx;
	FUZZ_CHECK(strstr(msg, "ck.state") && strstr(msg, "corrupt-"),
		   "warning names neither file: %s", msg);
	warnings++;
}

/* Opens the same bytes as the state of a pipeline (ls_checkpoint_open):
 * a file the read-only load refused must be moved aside with a warning and
 * the state start empty; one it loaded must load the same. */
static void open_rw(const void *data, size_t size, int damaged, size_t count)
{
	char state[600];
	struct ls_checkpoint *cp = NULL;
	struct ls_error err = { 0, "" };
	DIR *d;
	struct dirent *de;
	int moved = 0;

	snprintf(state, sizeof(state), "%s/ck.state", dir);
	fuzz_write_file(state, data, size);
	warnings = 0;
	FUZZ_CHECK(ls_checkpoint_open(&cp, dir, "ck", count_warning, NULL, &err) == 0,
		   "open: %s", err.msg);
	FUZZ_CHECK(warnings == damaged, "%d warnings for a %s file", warnings,
		   damaged ? "damaged" : "good");
	FUZZ_CHECK(ls_checkpoint_count(cp) == (damaged ? 0 : count), "%zu entries, not %zu",
		   ls_checkpoint_count(cp), damaged ? 0 : count);
	ls_checkpoint_free(cp);
	/* the damaged file is kept aside, never removed: find it, then clean up */
	d = opendir(dir);
	FUZZ_CHECK(d != NULL, "opendir");
	while ((de = readdir(d)) != NULL) {
		char p[900];
		if (strncmp(de->d_name, "ck.state.corrupt-", 17) != 0)
			continue;
		moved++;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	FUZZ_CHECK(moved == damaged, "%d files moved aside for a %s file", moved,
		   damaged ? "damaged" : "good");
	FUZZ_CHECK(damaged ? access(state, F_OK) != 0 : access(state, F_OK) == 0,
		   "the state file is %s", damaged ? "still there" : "gone");
	unlink(state);
}

static void load(const void *data, size_t size)
{
	struct ls_checkpoint *cp = NULL;
	struct ls_error err = { 0, "" };
	int rc;

	fuzz_write_file(path, data, size);
	rc = ls_checkpoint_read(&cp, path, &err);
	if (rc < 0) {
		FUZZ_CHECK(!cp, "a failed read returned a state");
		FUZZ_CHECK(rc == LS_EDAMAGED || rc == LS_ENOMEM, "read returned %d: %s", rc, err.msg);
		FUZZ_CHECK(strstr(err.msg, path) != NULL, "message does not name the file: %s",
			   err.msg);
		if (rc == LS_EDAMAGED)
			open_rw(data, size, 1, 0);
		return;
	}
	open_rw(data, size, 0, ls_checkpoint_count(cp));
	FUZZ_CHECK(cp != NULL, "no state");
	for (size_t i = 0; i < ls_checkpoint_count(cp); i++) {
		const struct ls_ckpt_entry *e = ls_checkpoint_get(cp, i);
		FUZZ_CHECK(e && e->path && e->fp_len <= 1024, "entry %zu", i);
		FUZZ_CHECK(ls_checkpoint_find(cp, e->dev, e->ino) == e, "entry %zu not found", i);
	}
	round_trip(cp);
	ls_checkpoint_free(cp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sum[40];

	load(data, size);
	body.len = 0;
	ls_buf_append(&body, data, size);
	if (size == 0 || data[size - 1] != '\n')
		ls_buf_putc(&body, '\n');
	snprintf(sum, sizeof(sum), "checksum %016" PRIx64 "\n",
		 (uint64_t)XXH64(body.data, body.len, 0));
	ls_buf_puts(&body, sum);
	load(body.data, body.len);
	return 0;
}
