/* glob.c - path patterns (`*`, `?`, `[...]`, `\` escapes, `**`), exclude
 * patterns, and the directory walk that finds what a set of patterns names.
 *
 * Matching works in two levels. A path and a pattern are cut into components
 * at `/`; one component is matched against one pattern component by an
 * iterative matcher that remembers only its last `*` (a later `*` can absorb
 * whatever an earlier one would have), so `a*a*a*b` costs O(len^2) at worst,
 * never exponential time. Whole paths are matched the same way one level up:
 * `**` is the "star" over components and only the last one seen is retried.
 *
 * The walk starts at each include pattern's literal base directory and
 * descends only into directories the pattern may still match below
 * (pat_wants_dir). Where the next pattern component is literal it is looked
 * up with one stat() instead of reading the directory. State is one PATH_MAX
 * buffer, one open DIR per level and the (dev, ino) of the directories on the
 * current path, which stops symlink loops; symlinked directories count
 * towards a limit of LS_GLOB_MAX_LINKS per path. When several include
 * patterns are scanned, paths already reported are kept in a hash set for the
 * scan so that each is reported once. */
#include "glob.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LS_GLOB_MAX_LINKS 8

enum comp_kind {
	COMP_LITERAL,   /* no wildcard: names exactly one entry */
	COMP_WILD,      /* `*`, `?` or `[...]` within the component */
	COMP_STARSTAR   /* `**`: any number of components */
};

struct glob_comp {
	size_t off, len;        /* within the pattern's text */
	enum comp_kind kind;
};

struct glob_pat {
	char *text;             /* normalised: no `//`, no trailing `/` */
	struct glob_comp *comps;
	int ncomp;
	int base_ncomp;         /* leading literal components forming the base */
	char *base;             /* the base unescaped, as spelt; "" for an implied "." */
};

struct glob_exclude {
	char *text;
	int has_slash;          /* whole-path match; else the base name */
	int prunes_dirs;        /* ends in `**`: all below a matching dir is out */
};

struct ls_globset {
	struct glob_pat *inc;
	int ninc;
	struct glob_exclude *exc;
	int nexc;
};

/* ---- one component ---------------------------------------------------- */

/* Scans a bracket expression; p points just after the `[`. Returns the
 * position after the closing `]` and sets *hit to whether c is in the class,
 * or NULL when the class is not closed before pend. */
static const char *class_scan(const char *p, const char *pend, unsigned char c,
			      int *hit)
{
	int negated = 0, in_class = 0, first = 1;
	unsigned char lo, hi;

	if (p < pend && (*p == '!' || *p == '^')) {
		negated = 1;
		p++;
	}
	while (p < pend) {
		/* a `]` first in the class is a member, not the end */
		if (*p == ']' && !first) {
			*hit = in_class != negated;
			return p + 1;
		}
		first = 0;
		if (*p == '\\' && p + 1 < pend)
			p++;
		lo = (unsigned char)*p++;
		hi = lo;
		if (p + 1 < pend && *p == '-' && p[1] != ']') {
			p++;
			if (*p == '\\' && p + 1 < pend)
				p++;
			hi = (unsigned char)*p++;
		}
		if (lo <= c && c <= hi)
			in_class = 1;
	}
	return NULL;
}

/* Matches the name [s, send) against the pattern component [p, pend).
 * An unterminated `[` matches itself (ls_globset_new refuses it). */
static int comp_match(const char *p, const char *pend, const char *s,
		      const char *send)
{
	const char *star_p = NULL, *star_s = NULL, *after;
	unsigned char c;
	int hit;

	while (s < send) {
		if (p < pend) {
			c = (unsigned char)*p;
			if (c == '*') {
				while (p < pend && *p == '*')
					p++;
				star_p = p;
				star_s = s;
				continue;
			}
			if (c == '?') {
				p++;
				s++;
				continue;
			}
			if (c == '[') {
				after = class_scan(p + 1, pend, (unsigned char)*s, &hit);
				if (after && hit) {
					p = after;
					s++;
					continue;
				}
				if (after)
					goto retry;
			} else if (c == '\\' && p + 1 < pend) {
				c = (unsigned char)*++p;
			}
			if (c == (unsigned char)*s) {
				p++;
				s++;
				continue;
			}
		}
retry:
		/* let the last `*` take one more character and try again */
		if (!star_p)
			return 0;
		p = star_p;
		s = ++star_s;
	}
	while (p < pend && *p == '*')
		p++;
	return p == pend;
}

/* ---- components of a path --------------------------------------------- */

struct span {
	const char *start;
	size_t len;             /* 0: no component left */
	const char *end;        /* where the next component search starts */
};

static struct span next_comp(const char *s)
{
	struct span sp;

	while (*s == '/')
		s++;
	sp.start = s;
	while (*s && *s != '/')
		s++;
	sp.len = (size_t)(s - sp.start);
	sp.end = s;
	return sp;
}

static int is_starstar(struct span sp)
{
	return sp.len == 2 && sp.start[0] == '*' && sp.start[1] == '*';
}

/* "./a" and "a" name the same file: leading "./" are not compared. */
static const char *skip_dot_prefix(const char *s)
{
	while (s[0] == '.' && s[1] == '/') {
		s += 2;
		while (*s == '/')
			s++;
	}
	return s;
}

/* Puts pattern and path on the same footing: both absolute, or both relative
 * with their leading "./" skipped. A relative pattern whose first component
 * is `**` may also match an absolute path (the `**` takes its leading part).
 * Returns 0 when they can never match. */
static int align(const char **pattern, const char **path)
{
	int pat_abs = **pattern == '/', path_abs = **path == '/';

	if (!pat_abs)
		*pattern = skip_dot_prefix(*pattern);
	if (!path_abs)
		*path = skip_dot_prefix(*path);
	if (pat_abs == path_abs)
		return 1;
	return !pat_abs && is_starstar(next_comp(*pattern));
}

/* Matches a whole path against one pattern: see glob.h. */
int ls_glob_match(const char *pattern, const char *path)
{
	const char *pp = pattern, *sp = path;
	const char *star_pp = NULL, *star_sp = NULL;
	struct span pc, sc;

	if (!align(&pp, &sp))
		return 0;
	for (;;) {
		pc = next_comp(pp);
		sc = next_comp(sp);
		if (is_starstar(pc)) {
			/* `**` first matches no component at all */
			star_pp = pp = pc.end;
			star_sp = sp;
			continue;
		}
		if (pc.len && sc.len &&
		    comp_match(pc.start, pc.start + pc.len, sc.start, sc.start + sc.len)) {
			pp = pc.end;
			sp = sc.end;
			continue;
		}
		if (!pc.len && !sc.len)
			return 1;
		/* let the last `**` take one more component and try again */
		if (!star_pp)
			return 0;
		sc = next_comp(star_sp);
		if (!sc.len)
			return 0;
		star_sp = sp = sc.end;
		pp = star_pp;
	}
}

/* 1 when a path strictly below dir may match pattern. Before the first `**`
 * components pair one to one, so no backtracking is needed; reaching a `**`
 * with dir's components all matched means anything below dir may match. */
static int pat_wants_dir(const char *pattern, const char *dir)
{
	const char *pp = pattern, *sp = dir;
	struct span pc, sc;

	if (!align(&pp, &sp))
		return 0;
	if (strcmp(sp, ".") == 0)
		sp = "";
	for (;;) {
		pc = next_comp(pp);
		sc = next_comp(sp);
		if (is_starstar(pc))
			return 1;
		if (!sc.len)
			return pc.len != 0;
		if (!pc.len ||
		    !comp_match(pc.start, pc.start + pc.len, sc.start, sc.start + sc.len))
			return 0;
		pp = pc.end;
		sp = sc.end;
	}
}

/* ---- building a set --------------------------------------------------- */

/* A copy of pattern with runs of `/` made one and a trailing `/` dropped
 * (except for "/" itself). NULL when out of memory. */
static char *normalise(const char *pattern)
{
	size_t n = strlen(pattern), i, j = 0;
	char *out = malloc(n + 1);

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (pattern[i] == '/' && j > 0 && out[j - 1] == '/')
			continue;
		out[j++] = pattern[i];
	}
	if (j > 1 && out[j - 1] == '/')
		j--;
	out[j] = '\0';
	return out;
}

/* The kind of the component [p, p + len); -1 for an unterminated `[`, its
 * offset within the component in *bad_at. */
static int comp_kind(const char *p, size_t len, size_t *bad_at)
{
	const char *end = p + len, *q = p;
	int kind = COMP_LITERAL, hit;

	if (len == 2 && p[0] == '*' && p[1] == '*')
		return COMP_STARSTAR;
	while (q < end) {
		if (*q == '\\') {
			q += q + 1 < end ? 2 : 1;
		} else if (*q == '*' || *q == '?') {
			kind = COMP_WILD;
			q++;
		} else if (*q == '[') {
			const char *after = class_scan(q + 1, end, 0, &hit);

			if (!after) {
				*bad_at = (size_t)(q - p);
				return -1;
			}
			kind = COMP_WILD;
			q = after;
		} else {
			q++;
		}
	}
	return kind;
}

/* Copies the literal component [p, p + len) without its escapes to out;
 * returns the length written. */
static size_t unescape(const char *p, size_t len, char *out)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (p[i] == '\\' && i + 1 < len)
			i++;
		out[n++] = p[i];
	}
	return n;
}

/* Parses pattern into gp (zeroed by the caller, released by it on failure
 * too); what and number name the pattern in messages. */
static int pat_init(struct glob_pat *gp, const char *pattern, const char *what,
		    int number, struct ls_error *err)
{
	struct span sp;
	const char *s;
	size_t bad_at = 0, n = 0;
	int kind, i;

	if (!pattern || !*pattern)
		return ls_error_set(err, LS_EINVAL, "empty %s pattern (number %d)",
				    what, number);
	gp->text = normalise(pattern);
	if (!gp->text)
		return ls_error_set(err, LS_ENOMEM, "%s pattern '%s': out of memory",
				    what, pattern);
	for (s = gp->text; (sp = next_comp(s)).len; s = sp.end)
		gp->ncomp++;
	if (gp->ncomp == 0)
		return ls_error_set(err, LS_EINVAL, "%s pattern '%s' names no file",
				    what, pattern);
	gp->comps = calloc((size_t)gp->ncomp, sizeof(*gp->comps));
	/* the base can never be longer than the text it is spelt from */
	gp->base = malloc(strlen(gp->text) + 1);
	if (!gp->comps || !gp->base)
		return ls_error_set(err, LS_ENOMEM, "%s pattern '%s': out of memory",
				    what, pattern);
	for (i = 0, s = gp->text; (sp = next_comp(s)).len; s = sp.end, i++) {
		kind = comp_kind(sp.start, sp.len, &bad_at);
		if (kind < 0)
			return ls_error_set(err, LS_EINVAL,
					    "%s pattern '%s': unterminated '[' at offset %zu",
					    what, pattern,
					    (size_t)(sp.start - gp->text) + bad_at);
		gp->comps[i].off = (size_t)(sp.start - gp->text);
		gp->comps[i].len = sp.len;
		gp->comps[i].kind = (enum comp_kind)kind;
	}
	/* the base: leading literal components, the file name not counted */
	if (gp->text[0] == '/')
		gp->base[n++] = '/';
	for (i = 0; i < gp->ncomp - 1 && gp->comps[i].kind == COMP_LITERAL; i++) {
		if (n > 0 && gp->base[n - 1] != '/')
			gp->base[n++] = '/';
		n += unescape(gp->text + gp->comps[i].off, gp->comps[i].len,
			      gp->base + n);
	}
	gp->base[n] = '\0';
	gp->base_ncomp = i;
	return 0;
}

static void pat_release(struct glob_pat *gp)
{
	free(gp->text);
	free(gp->comps);
	free(gp->base);
}

static int exclude_init(struct glob_exclude *ge, const char *pattern, int number,
			struct ls_error *err)
{
	struct glob_pat parsed;
	int rc;

	/* parsing validates it the way include patterns are validated */
	memset(&parsed, 0, sizeof(parsed));
	rc = pat_init(&parsed, pattern, "exclude", number, err);
	if (rc < 0)
		goto out;
	ge->has_slash = strchr(parsed.text, '/') != NULL;
	ge->prunes_dirs = ge->has_slash &&
			  parsed.comps[parsed.ncomp - 1].kind == COMP_STARSTAR;
	ge->text = parsed.text;
	parsed.text = NULL;
out:
	pat_release(&parsed);
	return rc;
}

/* Builds a set from include and exclude patterns: see glob.h. */
int ls_globset_new(struct ls_globset **out, const char *const *include, int ninclude,
		   const char *const *exclude, int nexclude, struct ls_error *err)
{
	struct ls_globset *g;
	int i, rc = 0;

	*out = NULL;
	if (ninclude < 1 || !include)
		return ls_error_set(err, LS_EINVAL, "no include pattern");
	if (nexclude < 0 || (nexclude > 0 && !exclude))
		return ls_error_set(err, LS_EINVAL, "bad exclude pattern list");
	g = calloc(1, sizeof(*g));
	if (!g)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	g->inc = calloc((size_t)ninclude, sizeof(*g->inc));
	g->exc = calloc((size_t)(nexclude ? nexclude : 1), sizeof(*g->exc));
	if (!g->inc || !g->exc) {
		rc = ls_error_set(err, LS_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < ninclude; i++) {
		g->ninc++;
		rc = pat_init(&g->inc[i], include[i], "include", i + 1, err);
		if (rc < 0)
			goto out;
	}
	for (i = 0; i < nexclude; i++) {
		g->nexc++;
		rc = exclude_init(&g->exc[i], exclude[i], i + 1, err);
		if (rc < 0)
			goto out;
	}
	*out = g;
	g = NULL;
out:
	ls_globset_free(g);
	return rc;
}

void ls_globset_free(struct ls_globset *g)
{
	int i;

	if (!g)
		return;
	for (i = 0; i < g->ninc; i++)
		pat_release(&g->inc[i]);
	for (i = 0; i < g->nexc; i++)
		free(g->exc[i].text);
	free(g->inc);
	free(g->exc);
	free(g);
}

/* ---- queries ---------------------------------------------------------- */

static int excluded(const struct ls_globset *g, const char *path)
{
	const char *name = strrchr(path, '/');
	int i;

	name = name ? name + 1 : path;
	for (i = 0; i < g->nexc; i++) {
		const char *ex = g->exc[i].text;

		if (g->exc[i].has_slash ? ls_glob_match(ex, path)
					: comp_match(ex, ex + strlen(ex), name,
						     name + strlen(name)))
			return 1;
	}
	return 0;
}

/* 1 when every path below dir is excluded (an exclude ending in `/` `**`
 * matches dir), so dir need not be read or watched. */
static int dir_excluded(const struct ls_globset *g, const char *dir)
{
	int i;

	for (i = 0; i < g->nexc; i++)
		if (g->exc[i].prunes_dirs && ls_glob_match(g->exc[i].text, dir))
			return 1;
	return 0;
}

/* 1 when path matches an include pattern and no exclude: see glob.h. */
int ls_globset_match(const struct ls_globset *g, const char *path)
{
	int i;

	for (i = 0; i < g->ninc; i++)
		if (ls_glob_match(g->inc[i].text, path))
			return !excluded(g, path);
	return 0;
}

/* 1 when dir may hold a matching path at some depth: see glob.h. */
int ls_globset_wants_dir(const struct ls_globset *g, const char *dir)
{
	int i;

	if (dir_excluded(g, dir))
		return 0;
	for (i = 0; i < g->ninc; i++)
		if (pat_wants_dir(g->inc[i].text, dir))
			return 1;
	return 0;
}

/* The literal base directory of pattern i: see glob.h. */
const char *ls_globset_base(const struct ls_globset *g, int i, char *buf, size_t n)
{
	const char *base = g->inc[i].base;
	size_t len;

	if (!*base)
		base = ".";
	if (n == 0)
		return buf;
	len = strlen(base);
	if (len >= n)
		len = n - 1;
	memcpy(buf, base, len);
	buf[len] = '\0';
	return buf;
}

int ls_globset_count(const struct ls_globset *g)
{
	return g->ninc;
}

/* Include pattern i as normalised: see glob.h. */
const char *ls_globset_pattern(const struct ls_globset *g, int i)
{
	return g->inc[i].text;
}

/* The path pattern i names when it has no wildcard: see glob.h. */
const char *ls_globset_literal(const struct ls_globset *g, int i, char *buf, size_t n)
{
	const struct glob_pat *gp = &g->inc[i];
	size_t len = 0;

	for (int c = 0; c < gp->ncomp; c++)
		if (gp->comps[c].kind != COMP_LITERAL)
			return NULL;
	/* unescaping never makes the text longer */
	if (n <= strlen(gp->text))
		return NULL;
	if (gp->text[0] == '/')
		buf[len++] = '/';
	for (int c = 0; c < gp->ncomp; c++) {
		if (len > 0 && buf[len - 1] != '/')
			buf[len++] = '/';
		len += unescape(gp->text + gp->comps[c].off, gp->comps[c].len, buf + len);
	}
	buf[len] = '\0';
	return buf;
}

/* ---- paths seen during one scan --------------------------------------- */

/* An open-addressing hash set of strings kept one after another in one
 * arena; slots hold arena offset + 1 (0: empty). */
struct pathset {
	size_t *slots;
	size_t nslots, used;
	char *arena;
	size_t arena_len, arena_cap;
};

static uint64_t hash_path(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

static int pathset_grow(struct pathset *ps)
{
	size_t nslots = ps->nslots ? 2 * ps->nslots : 64, i, j;
	size_t *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return LS_ENOMEM;
	for (i = 0; i < ps->nslots; i++) {
		if (!ps->slots[i])
			continue;
		j = hash_path(ps->arena + ps->slots[i] - 1) & (nslots - 1);
		while (slots[j])
			j = (j + 1) & (nslots - 1);
		slots[j] = ps->slots[i];
	}
	free(ps->slots);
	ps->slots = slots;
	ps->nslots = nslots;
	return 0;
}

/* Adds path (its leading "./" ignored); 1 when added, 0 when it was there
 * already, LS_ENOMEM. */
static int pathset_add(struct pathset *ps, const char *path)
{
	const char *key = path[0] == '/' ? path : skip_dot_prefix(path);
	size_t len = strlen(key) + 1, i;
	char *arena;

	if (2 * (ps->used + 1) > ps->nslots && pathset_grow(ps) < 0)
		return LS_ENOMEM;
	for (i = hash_path(key) & (ps->nslots - 1); ps->slots[i];
	     i = (i + 1) & (ps->nslots - 1))
		if (strcmp(ps->arena + ps->slots[i] - 1, key) == 0)
			return 0;
	if (ps->arena_len + len > ps->arena_cap) {
		size_t cap = 2 * (ps->arena_len + len) + 4096;

		arena = realloc(ps->arena, cap);
		if (!arena)
			return LS_ENOMEM;
		ps->arena = arena;
		ps->arena_cap = cap;
	}
	memcpy(ps->arena + ps->arena_len, key, len);
	ps->slots[i] = ps->arena_len + 1;
	ps->arena_len += len;
	ps->used++;
	return 1;
}

static void pathset_release(struct pathset *ps)
{
	free(ps->slots);
	free(ps->arena);
	memset(ps, 0, sizeof(*ps));
}

/* ---- the walk --------------------------------------------------------- */

struct dir_id {
	dev_t dev;
	ino_t ino;
};

struct walk {
	const struct ls_globset *g;
	const struct glob_pat *pat;     /* the include pattern being walked */
	ls_glob_file_fn file_fn;
	ls_glob_dir_fn dir_fn;
	void *ctx;
	struct ls_error *err;
	char path[PATH_MAX];            /* as spelt; "" for an implied "." */
	size_t len;
	struct dir_id *ids;             /* directories on the current path */
	size_t nids, ids_cap;
	int links;                      /* symlinked directories on the path */
	int dedupe;                     /* several patterns: remember paths */
	struct pathset files, dirs;
};

static const char *walk_path(const struct walk *w)
{
	return w->len ? w->path : ".";
}

static int file_wanted(const struct walk *w)
{
	return ls_glob_match(w->pat->text, w->path) && !excluded(w->g, w->path);
}

static int dir_wanted(const struct walk *w)
{
	return pat_wants_dir(w->pat->text, walk_path(w)) &&
	       !dir_excluded(w->g, walk_path(w));
}

static int report_file(struct walk *w, const struct stat *st)
{
	int rc = 1;

	if (w->dedupe) {
		rc = pathset_add(&w->files, w->path);
		if (rc < 0)
			return ls_error_set(w->err, rc, "%s: out of memory", w->path);
	}
	return rc && w->file_fn ? w->file_fn(w->ctx, w->path, st) : 0;
}

static int report_dir(struct walk *w)
{
	int rc = 1;

	if (!w->dir_fn)
		return 0;
	if (w->dedupe) {
		rc = pathset_add(&w->dirs, walk_path(w));
		if (rc < 0)
			return ls_error_set(w->err, rc, "%s: out of memory",
					    walk_path(w));
	}
	return rc ? w->dir_fn(w->ctx, walk_path(w)) : 0;
}

static int walk_dir(struct walk *w, int pos);

/* Enters the directory at w->path (st: its stat, symlinks followed): reports
 * it for watching and walks it, unless it is already on the current path (a
 * symlink loop) or one symlink too many deep. Neither check applies to a
 * directory the pattern spells out (spelt): "logs/(*)/../x.log" goes back up
 * on purpose, and the pattern's length bounds such steps. pos: see
 * walk_dir. */
static int enter_dir(struct walk *w, const struct stat *st, int is_link, int spelt,
		     int pos)
{
	struct dir_id *ids;
	size_t i;
	int rc;

	if (!spelt && is_link && w->links >= LS_GLOB_MAX_LINKS)
		return 0;
	for (i = 0; i < w->nids && !spelt; i++)
		if (w->ids[i].dev == st->st_dev && w->ids[i].ino == st->st_ino)
			return 0;
	if (w->nids == w->ids_cap) {
		size_t cap = w->ids_cap ? 2 * w->ids_cap : 16;

		ids = realloc(w->ids, cap * sizeof(*ids));
		if (!ids)
			return ls_error_set(w->err, LS_ENOMEM, "%s: out of memory",
					    walk_path(w));
		w->ids = ids;
		w->ids_cap = cap;
	}
	w->ids[w->nids].dev = st->st_dev;
	w->ids[w->nids].ino = st->st_ino;
	w->nids++;
	w->links += is_link;
	rc = report_dir(w);
	if (rc >= 0)
		rc = walk_dir(w, pos);
	w->links -= is_link;
	w->nids--;
	return rc;
}

/* Considers the entry name of the directory at w->path; type is its d_type
 * (DT_UNKNOWN when not known); spelt when a literal pattern component names
 * it. pos: see walk_dir. */
static int visit(struct walk *w, const char *name, unsigned char type, int spelt,
		 int pos)
{
	size_t saved = w->len, name_len = strlen(name);
	struct stat st;
	int have_st = 0, is_link = 0, rc = 0;

	if (w->len && w->path[w->len - 1] != '/')
		w->path[w->len++] = '/';
	if (w->len + name_len >= sizeof(w->path))
		goto out;
	memcpy(w->path + w->len, name, name_len + 1);
	w->len += name_len;

	if (type == DT_UNKNOWN) {
		if (lstat(w->path, &st) < 0)
			goto out;
		have_st = 1;
		type = S_ISLNK(st.st_mode) ? DT_LNK : S_ISDIR(st.st_mode) ? DT_DIR
			: S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
	}
	if (type == DT_LNK) {
		/* follow only links whose name could matter */
		if (!file_wanted(w) && !dir_wanted(w))
			goto out;
		if (stat(w->path, &st) < 0)
			goto out;
		have_st = 1;
		is_link = 1;
		type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG
			: DT_UNKNOWN;
	}
	if (type == DT_DIR) {
		if (!dir_wanted(w))
			goto out;
		if (!have_st && stat(w->path, &st) < 0)
			goto out;
		if (S_ISDIR(st.st_mode))
			rc = enter_dir(w, &st, is_link, spelt, pos);
	} else if (type == DT_REG) {
		if (!file_wanted(w))
			goto out;
		if (!have_st && stat(w->path, &st) < 0)
			goto out;
		if (S_ISREG(st.st_mode))
			rc = report_file(w, &st);
	}
out:
	w->len = saved;
	w->path[saved] = '\0';
	return rc;
}

/* Walks the directory at w->path. pos is the index of the pattern component
 * its entries are matched by, or -1 once a `**` makes that unknown: a
 * literal component is looked up directly instead of reading the directory
 * (which also finds entries of a directory that may be searched but not
 * listed, and "." or ".." spelt in the pattern). */
static int walk_dir(struct walk *w, int pos)
{
	const struct glob_comp *comp = NULL;
	char name[NAME_MAX + 1];
	struct dirent *e;
	DIR *d;
	int rc = 0, child_pos = -1;

	if (pos >= 0 && pos < w->pat->ncomp) {
		comp = &w->pat->comps[pos];
		if (comp->kind != COMP_STARSTAR)
			child_pos = pos + 1;
	}
	if (comp && comp->kind == COMP_LITERAL) {
		if (comp->len >= sizeof(name))
			return 0;
		name[unescape(w->pat->text + comp->off, comp->len, name)] = '\0';
		return visit(w, name, DT_UNKNOWN, 1, child_pos);
	}
	d = opendir(walk_path(w));
	if (!d) {
		/* out of descriptors or memory is ours to report; a directory
		 * that vanished or may not be read is skipped */
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
			return ls_error_set(w->err, errno == ENOMEM ? LS_ENOMEM : LS_EIO,
					    "%s: %s", walk_path(w), strerror(errno));
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && (e->d_name[1] == '\0' ||
		    (e->d_name[1] == '.' && e->d_name[2] == '\0')))
			continue;
		rc = visit(w, e->d_name, e->d_type, 0, child_pos);
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}

/* Walks the tree below one include pattern's base directory. */
static int walk_pattern(struct walk *w, const struct glob_pat *pat)
{
	size_t len = strlen(pat->base);
	struct stat st;

	w->pat = pat;
	if (len >= sizeof(w->path))
		return 0;
	memcpy(w->path, pat->base, len + 1);
	w->len = len;
	if (stat(walk_path(w), &st) < 0 || !S_ISDIR(st.st_mode) || !dir_wanted(w))
		return 0;
	return enter_dir(w, &st, 0, 1, pat->base_ncomp);
}

/* Reports the files and directories the set names now: see glob.h. */
int ls_globset_scan(const struct ls_globset *g, ls_glob_file_fn file_fn,
		    ls_glob_dir_fn dir_fn, void *ctx, struct ls_error *err)
{
	struct walk *w = calloc(1, sizeof(*w));
	int i, rc = 0;

	if (!w)
		return ls_error_set(err, LS_ENOMEM, "out of memory");
	w->g = g;
	w->file_fn = file_fn;
	w->dir_fn = dir_fn;
	w->ctx = ctx;
	w->err = err;
	w->dedupe = g->ninc > 1;
	for (i = 0; i < g->ninc && rc >= 0; i++)
		rc = walk_pattern(w, &g->inc[i]);
	pathset_release(&w->files);
	pathset_release(&w->dirs);
	free(w->ids);
	free(w);
	return rc < 0 ? rc : 0;
}
