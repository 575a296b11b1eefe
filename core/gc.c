/*
 * gc: mark and sweep over the store, as described in gc.h. The mark set is
 * a hash set of digests in memory: one string per distinct blob, so a
 * store of a million blobs needs tens of megabytes, once, in the CLI.
 */
#include "gc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "catalog.h"
#include "manifest.h"
#include "referrers.h"
#include "banned.h"

/* ---- a set of strings ---- */

struct set {
	char **slot;
	size_t cap, n;
};

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211u;
	return h;
}

static int set_has(const struct set *t, const char *s)
{
	size_t i;

	if (!t->cap)
		return 0;
	for (i = hash(s) & (t->cap - 1); t->slot[i]; i = (i + 1) & (t->cap - 1))
		if (!strcmp(t->slot[i], s))
			return 1;
	return 0;
}

/* 1 added, 0 already there, -1 out of memory. */
static int set_add(struct set *t, const char *s)
{
	size_t i;

	if (set_has(t, s))
		return 0;
	if (2 * (t->n + 1) > t->cap) {
		struct set g = { NULL, t->cap ? t->cap * 2 : 1024, 0 };
		g.slot = calloc(g.cap, sizeof(char *));
		if (!g.slot)
			return -1;
		for (i = 0; i < t->cap; i++)
			if (t->slot[i]) {
				size_t j = hash(t->slot[i]) & (g.cap - 1);
				while (g.slot[j])
					j = (j + 1) & (g.cap - 1);
				g.slot[j] = t->slot[i];
				g.n++;
			}
		free(t->slot);
		*t = g;
	}
	for (i = hash(s) & (t->cap - 1); t->slot[i]; i = (i + 1) & (t->cap - 1))
		;
	if (!(t->slot[i] = strdup(s)))
		return -1;
	t->n++;
	return 1;
}

static void set_free(struct set *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->slot[i]);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

/* ---- the run ---- */

struct run {
	const struct store *st;
	const struct gc_opts *o;
	struct gc_stats *stats;
	struct err *e;
	time_t now;
	struct set marked;   /* blob digests in use */
	struct set kept;     /* "repo@digest" of kept manifests */
	struct store_list repos;
};

static void say(struct run *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(struct run *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vsay(g->o->say, g->o->ctx, fmt, ap);
	va_end(ap);
}

/* 1 when path was modified within the grace period (or cannot be read). */
static int recent(struct run *g, const char *path)
{
	struct stat sb;

	if (stat(path, &sb) < 0)
		return errno != ENOENT;
	return difftime(g->now, sb.st_mtime) < g->o->grace;
}

static int mark_digest(struct run *g, const struct digest *d)
{
	char s[DIGEST_STR_MAX];

	digest_format(d, s);
	if (set_add(&g->marked, s) < 0)
		return err_sys(g->e, "out of memory");
	return 0;
}

static int keep_manifest(struct run *g, const char *repo, const struct digest *d);

/* Marks what a descriptor array or object refers to. */
static int mark_desc(struct run *g, const char *repo, json_t *desc, int manifest)
{
	struct digest d;
	struct err ignore = ERR_INIT;
	const char *s = json_string_value(json_object_get(desc, "digest"));

	if (!s || digest_parse(s, &d, &ignore) < 0)
		return 0;
	return manifest ? keep_manifest(g, repo, &d) : mark_digest(g, &d);
}

static int keep_referrers(struct run *g, const char *repo, const struct digest *d)
{
	struct buf dir = BUF_INIT;
	struct store_list names = { 0 };
	struct dirent *de;
	DIR *dd;
	size_t i;
	int r = 0;

	if (buf_addf(&dir, "%s/repositories/%s/_referrers/%s/%s", g->st->root,
		     repo, digest_alg_name(d->alg), d->hex) < 0)
		return err_sys(g->e, "out of memory");
	dd = opendir(dir.s);
	buf_free(&dir);
	if (!dd)
		return 0;
	while ((de = readdir(dd)))
		if (de->d_name[0] != '.' && store_list_add(&names, de->d_name) < 0)
			r = err_sys(g->e, "out of memory");
	closedir(dd);
	for (i = 0; i < names.n && r == 0; i++) {
		struct digest rd;
		struct err ignore = ERR_INIT;
		char *dash = strchr(names.items[i], '-');
		if (!dash)
			continue;
		*dash = ':';
		if (digest_parse(names.items[i], &rd, &ignore) == 0)
			r = keep_manifest(g, repo, &rd);
	}
	store_list_free(&names);
	return r;
}

static int keep_manifest(struct run *g, const char *repo, const struct digest *d)
{
	char ds[DIGEST_STR_MAX];
	struct buf key = BUF_INIT, body = BUF_INIT;
	struct err ignore = ERR_INIT;
	json_t *root, *v, *x;
	size_t i;
	int added, r = 0;

	digest_format(d, ds);
	if (buf_addf(&key, "%s@%s", repo, ds) < 0)
		return err_sys(g->e, "out of memory");
	added = set_add(&g->kept, key.s);
	buf_free(&key);
	if (added < 0)
		return err_sys(g->e, "out of memory");
	if (!added)
		return 0;
	if (mark_digest(g, d) < 0)
		return -1;
	if (store_blob_read(g->st, d, 64u << 20, &body, &ignore) < 0) {
		buf_free(&body);
		return keep_referrers(g, repo, d);
	}
	root = json_loadb(body.s, body.len, 0, NULL);
	buf_free(&body);
	if (json_is_object(root)) {
		if ((v = json_object_get(root, "config")))
			r = mark_desc(g, repo, v, 0);
		json_array_foreach(json_object_get(root, "layers"), i, x)
			if (r == 0)
				r = mark_desc(g, repo, x, 0);
		json_array_foreach(json_object_get(root, "manifests"), i, x)
			if (r == 0)
				r = mark_desc(g, repo, x, 1);
		/* schema1 in an old registry:2 store: fsLayers[].blobSum */
		json_array_foreach(json_object_get(root, "fsLayers"), i, x) {
			struct digest bd;
			const char *s = json_string_value(json_object_get(x, "blobSum"));
			if (r == 0 && s && digest_parse(s, &bd, &ignore) == 0)
				r = mark_digest(g, &bd);
		}
	}
	json_decref(root);
	return r ? r : keep_referrers(g, repo, d);
}

static int list_repo(void *ctx, const char *name)
{
	struct run *g = ctx;

	if (store_list_add(&g->repos, name) < 0)
		return err_sys(g->e, "out of memory");
	return 0;
}

static int mark(struct run *g)
{
	size_t i, j;

	for (i = 0; i < g->repos.n; i++) {
		const char *repo = g->repos.items[i];
		struct store_list tags = { 0 }, revs = { 0 };
		struct err ignore = ERR_INIT;
		int r = 0;

		if (store_tags(g->st, repo, &tags, &ignore) == 0)
			for (j = 0; j < tags.n && r == 0; j++) {
				struct digest d;
				if (store_tag_get(g->st, repo, tags.items[j], &d, &ignore) == 0)
					r = keep_manifest(g, repo, &d);
			}
		if (r == 0 && store_links(g->st, repo, STORE_REVISION, &revs, g->e) < 0)
			r = -1;
		for (j = 0; j < revs.n && r == 0; j++) {
			struct digest d;
			struct buf p = BUF_INIT;
			if (digest_parse(revs.items[j], &d, &ignore) < 0)
				continue;
			/* Untagged manifests are roots unless asked otherwise;
			 * a recent one always is (a tag may be on its way). */
			if (buf_addf(&p, "%s/repositories/%s/_manifests/revisions/%s/%s/link",
				     g->st->root, repo, digest_alg_name(d.alg), d.hex) < 0)
				r = err_sys(g->e, "out of memory");
			else if (!g->o->delete_untagged || recent(g, p.s))
				r = keep_manifest(g, repo, &d);
			buf_free(&p);
		}
		store_list_free(&tags);
		store_list_free(&revs);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Renames dir/name aside, re-checks the time of check (a path relative to
 * the aside name), and removes it or puts it back. 1 removed (or would
 * be, in a dry run), 0 kept, -1 error. */
static int remove_aside(struct run *g, const char *dir, const char *name,
			const char *check)
{
	struct buf from = BUF_INIT, to = BUF_INIT, chk = BUF_INIT;
	int r = -1;

	if (buf_addf(&from, "%s/%s", dir, name) < 0 ||
	    buf_addf(&to, "%s/.gc-%s", dir, name) < 0 ||
	    buf_addf(&chk, "%s/%s", to.s, check) < 0) {
		err_sys(g->e, "out of memory");
		goto out;
	}
	if (g->o->dry_run) {
		buf_reset(&chk);
		r = buf_addf(&chk, "%s/%s", from.s, check) == 0 && !recent(g, chk.s) &&
		    !(access(chk.s, F_OK) < 0 && recent(g, from.s));
		goto out;
	}
	if (rename(from.s, to.s) < 0) {
		r = errno == ENOENT ? 0 : err_sys(g->e, "rename %s", from.s);
		goto out;
	}
	/* Touched while we looked, or still being written (no data yet,
	 * but a writer's temp file just appeared in it): a writer depends
	 * on it. */
	if (recent(g, chk.s) || (access(chk.s, F_OK) < 0 && recent(g, to.s))) {
		if (rename(to.s, from.s) < 0 && errno != ENOTEMPTY && errno != EEXIST)
			err_sys(g->e, "rename back %s", to.s);
		r = 0;
		goto out;
	}
	r = store_remove_tree(to.s, g->e) < 0 ? -1 : 1;
out:
	buf_free(&from);
	buf_free(&to);
	buf_free(&chk);
	return r;
}

static int sweep_manifests(struct run *g)
{
	size_t i, j;

	if (!g->o->delete_untagged)
		return 0;
	for (i = 0; i < g->repos.n; i++) {
		const char *repo = g->repos.items[i];
		struct store_list revs = { 0 };
		struct err ignore = ERR_INIT;
		int removed = 0;

		if (store_links(g->st, repo, STORE_REVISION, &revs, g->e) < 0)
			return -1;
		for (j = 0; j < revs.n; j++) {
			struct buf key = BUF_INIT, dir = BUF_INIT;
			struct digest d;
			int r = 0;

			if (digest_parse(revs.items[j], &d, &ignore) < 0)
				continue;
			if (buf_addf(&key, "%s@%s", repo, revs.items[j]) < 0 ||
			    buf_addf(&dir, "%s/repositories/%s/_manifests/revisions/%s",
				     g->st->root, repo, digest_alg_name(d.alg)) < 0) {
				buf_free(&key);
				buf_free(&dir);
				store_list_free(&revs);
				return err_sys(g->e, "out of memory");
			}
			if (!set_has(&g->kept, key.s)) {
				r = remove_aside(g, dir.s, d.hex, "link");
				if (r > 0) {
					say(g, "manifest %s", key.s);
					g->stats->manifests++;
					removed = 1;
					if (!g->o->dry_run)
						r = referrers_remove_of(g->st, repo, &d, g->e);
				}
			}
			buf_free(&key);
			buf_free(&dir);
			if (r < 0) {
				store_list_free(&revs);
				return -1;
			}
		}
		store_list_free(&revs);
		if (removed && !g->o->dry_run &&
		    catalog_drop_if_empty(g->st, repo, g->e) < 0)
			return -1;
	}
	return 0;
}

static int sweep_blobs(struct run *g)
{
	static const char *algs[] = { "sha256", "sha512" };
	size_t a;

	for (a = 0; a < 2; a++) {
		struct buf top = BUF_INIT;
		struct dirent *x;
		DIR *dx;

		if (buf_addf(&top, "%s/blobs/%s", g->st->root, algs[a]) < 0)
			return err_sys(g->e, "out of memory");
		dx = opendir(top.s);
		while (dx && (x = readdir(dx))) {
			struct buf sub = BUF_INIT;
			struct dirent *h;
			DIR *dh;

			if (x->d_name[0] == '.')
				continue;
			if (buf_addf(&sub, "%s/%s", top.s, x->d_name) < 0)
				break;
			dh = opendir(sub.s);
			while (dh && (h = readdir(dh))) {
				struct buf ds = BUF_INIT, data = BUF_INIT;
				struct digest d;
				struct err ignore = ERR_INIT;
				struct stat sb;
				long long size = 0;
				int r;

				if (h->d_name[0] == '.')
					continue;
				if (buf_addf(&ds, "%s:%s", algs[a], h->d_name) < 0 ||
				    digest_parse(ds.s, &d, &ignore) < 0 ||
				    set_has(&g->marked, ds.s)) {
					buf_free(&ds);
					continue;
				}
				if (buf_addf(&data, "%s/%s/data", sub.s, h->d_name) == 0 &&
				    stat(data.s, &sb) == 0)
					size = (long long)sb.st_size;
				r = remove_aside(g, sub.s, h->d_name, "data");
				if (r > 0) {
					say(g, "blob %s %lld bytes", ds.s, size);
					g->stats->blobs++;
					g->stats->bytes += size;
				}
				buf_free(&ds);
				buf_free(&data);
				if (r < 0) {
					closedir(dh);
					closedir(dx);
					buf_free(&sub);
					buf_free(&top);
					return -1;
				}
			}
			if (dh)
				closedir(dh);
			buf_free(&sub);
		}
		if (dx)
			closedir(dx);
		buf_free(&top);
	}
	return 0;
}

/* Layer links whose blob is gone (swept now, or long ago). */
static int sweep_links(struct run *g)
{
	size_t i, j;

	for (i = 0; i < g->repos.n; i++) {
		const char *repo = g->repos.items[i];
		struct store_list links = { 0 };
		struct err ignore = ERR_INIT;

		if (store_links(g->st, repo, STORE_LAYER, &links, g->e) < 0)
			return -1;
		for (j = 0; j < links.n; j++) {
			struct digest d;
			struct buf dir = BUF_INIT;
			int r;

			/* In a dry run no blob went, so no link dangles now. */
			if (g->o->dry_run ||
			    digest_parse(links.items[j], &d, &ignore) < 0 ||
			    store_blob_stat(g->st, &d, NULL, &ignore) == 0)
				continue;
			if (buf_addf(&dir, "%s/repositories/%s/_layers/%s", g->st->root,
				     repo, digest_alg_name(d.alg)) < 0) {
				store_list_free(&links);
				return err_sys(g->e, "out of memory");
			}
			r = remove_aside(g, dir.s, d.hex, "link");
			buf_free(&dir);
			if (r > 0) {
				say(g, "layer link %s@%s", repo, links.items[j]);
				g->stats->links++;
			}
			if (r < 0) {
				store_list_free(&links);
				return -1;
			}
		}
		store_list_free(&links);
	}
	return 0;
}

/* registry:2 writes startedat as RFC 3339 ("2006-01-02T15:04:05Z07:00",
 * maybe with fractional seconds). */
static int parse_time(const char *s, time_t *out)
{
	struct tm tm;
	const char *p;
	int sign, hh, mm;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	*out = timegm(&tm);
	if (*p == 'Z' || *p == 'z')
		return 0;
	if ((*p != '+' && *p != '-') || sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
		return -1;
	sign = *p == '+' ? 1 : -1;
	*out -= sign * (hh * 3600 + mm * 60);
	return 0;
}

static int purge_uploads(struct run *g)
{
	size_t i;

	for (i = 0; i < g->repos.n; i++) {
		struct buf dir = BUF_INIT;
		struct dirent *de;
		DIR *d;

		if (buf_addf(&dir, "%s/repositories/%s/_uploads", g->st->root,
			     g->repos.items[i]) < 0)
			return err_sys(g->e, "out of memory");
		d = opendir(dir.s);
		while (d && (de = readdir(d))) {
			struct buf p = BUF_INIT, t = BUF_INIT;
			struct err ignore = ERR_INIT;
			struct stat sb;
			time_t started = 0;

			if (de->d_name[0] == '.')
				continue;
			if (buf_addf(&p, "%s/%s/startedat", dir.s, de->d_name) < 0)
				break;
			if (store_read_file(p.s, 256, &t, &ignore) < 0 ||
			    parse_time(t.s, &started) < 0) {
				/* No readable start: go by the directory. */
				buf_reset(&p);
				if (buf_addf(&p, "%s/%s", dir.s, de->d_name) == 0 &&
				    stat(p.s, &sb) == 0)
					started = sb.st_mtime;
			}
			if (started && difftime(g->now, started) > g->o->upload_age) {
				say(g, "upload %s/%s", g->repos.items[i], de->d_name);
				g->stats->uploads++;
				if (!g->o->dry_run) {
					buf_reset(&p);
					if (buf_addf(&p, "%s/%s", dir.s, de->d_name) == 0)
						store_remove_tree(p.s, &ignore);
				}
			}
			buf_free(&p);
			buf_free(&t);
		}
		if (d)
			closedir(d);
		buf_free(&dir);
	}
	return 0;
}

/* .tmp-* (a write that died), .deleted-* (a tag delete that died) and
 * .gc-* (a collection that died) anywhere below dir. */
static int sweep_temps(struct run *g, const char *dir, int depth)
{
	struct dirent *de;
	DIR *d;

	if (depth > 200 || !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d))) {
		struct buf p = BUF_INIT;
		struct err ignore = ERR_INIT;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (buf_addf(&p, "%s/%s", dir, de->d_name) < 0)
			break;
		if (!strncmp(de->d_name, ".tmp-", 5) ||
		    !strncmp(de->d_name, ".deleted-", 9) ||
		    !strncmp(de->d_name, ".gc-", 4)) {
			if (!recent(g, p.s)) {
				say(g, "leftover %s", p.s + strlen(g->st->root) + 1);
				g->stats->temps++;
				if (!g->o->dry_run)
					store_remove_tree(p.s, &ignore);
			}
		} else if (de->d_type == DT_DIR) {
			sweep_temps(g, p.s, depth + 1);
		}
		buf_free(&p);
	}
	closedir(d);
	return 0;
}

int gc_run(const struct store *st, const struct gc_opts *o,
	   struct gc_stats *stats, struct err *e)
{
	struct run g;
	int r = -1;

	memset(stats, 0, sizeof(*stats));
	memset(&g, 0, sizeof(g));
	g.st = st;
	g.o = o;
	g.stats = stats;
	g.e = e;
	g.now = time(NULL);
	if (store_walk_repos(st, list_repo, &g, e) < 0)
		goto out;
	if (o->collect) {
		if (mark(&g) < 0 || sweep_manifests(&g) < 0 || sweep_blobs(&g) < 0 ||
		    sweep_links(&g) < 0)
			goto out;
		sweep_temps(&g, st->root, 0);
	}
	if (o->purge_uploads && purge_uploads(&g) < 0)
		goto out;
	r = 0;
out:
	set_free(&g.marked);
	set_free(&g.kept);
	store_list_free(&g.repos);
	return r;
}
