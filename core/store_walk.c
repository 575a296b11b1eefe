/*
 * store_walk: the iterations over the layout (store.h): repositories,
 * links, blobs, upload sessions, referrers and crash leftovers, with the
 * accessors of upload sessions and referrers beside their walks. Each lists
 * one directory at a time with fs_list(), so an unreadable directory is an
 * error of the walk, never a directory without entries: gc builds on
 * these, and a repository it could not list would otherwise look like one
 * whose blobs nobody needs.
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "banned.h"

static const enum digest_alg algs[] = { DIGEST_SHA256, DIGEST_SHA512 };
#define NALGS (sizeof(algs) / sizeof(algs[0]))

/* A directory entry "hex" under an <alg> directory: 0 with d set, -1 when
 * it is no digest (a stray, or a leftover of ours). */
static int entry_digest(enum digest_alg alg, const char *hex, struct digest *d)
{
	struct buf s = BUF_INIT;
	struct err ignore = ERR_INIT;
	int r = -1;

	if (buf_addf(&s, "%s:%s", digest_alg_name(alg), hex) == 0)
		r = digest_parse(s.s, d, &ignore);
	buf_free(&s);
	return r;
}

/* ---- repositories ---- */

/* Walks repositories/<rel>; see store_each_repo(). */
static int walk_repos(const struct store *st, struct buf *rel, int depth,
		      int (*fn)(void *, const char *), void *ctx, struct err *e)
{
	struct buf p = BUF_INIT;
	struct strlist names = STRLIST_INIT;
	size_t keep = rel->len, i;
	int is_repo = 0, r;

	/* A name has at most 255 characters: no repository is deeper. */
	if (depth > 128)
		return 0;
	r = store_path(st, &p, e, "repositories%s%s", rel->len ? "/" : "", rel->s);
	if (r == 0)
		r = fs_list(p.s, FS_LIST_NODOT | FS_LIST_DIRS, &names, e);
	buf_free(&p);
	if (r <= 0)
		goto out; /* absent (removed meanwhile): no repository there */
	r = 0;
	for (i = 0; i < names.n && r == 0; i++) {
		const char *n = names.items[i];
		if (n[0] == '_') {
			if (!strcmp(n, "_manifests") || !strcmp(n, "_layers") ||
			    !strcmp(n, "_uploads"))
				is_repo = 1;
			continue;
		}
		if ((rel->len && buf_addch(rel, '/') < 0) || buf_adds(rel, n) < 0) {
			r = err_sys(e, "out of memory");
			break;
		}
		r = walk_repos(st, rel, depth + 1, fn, ctx, e);
		buf_truncate(rel, keep);
	}
	if (r == 0 && is_repo && rel->len)
		r = fn(ctx, rel->s);
out:
	strlist_free(&names);
	return r;
}

int store_each_repo(const struct store *st,
		    int (*fn)(void *ctx, const char *name), void *ctx,
		    struct err *e)
{
	struct buf rel = BUF_INIT;
	int r = walk_repos(st, &rel, 0, fn, ctx, e);

	buf_free(&rel);
	return r;
}

/* ---- links ---- */

int store_each_link(const struct store *st, const char *name,
		    enum store_link_kind kind,
		    int (*fn)(void *ctx, const struct digest *d), void *ctx,
		    struct err *e)
{
	struct buf p = BUF_INIT;
	struct strlist names = STRLIST_INIT;
	size_t a, i;
	int r = 0;

	for (a = 0; a < NALGS && r == 0; a++) {
		strlist_free(&names);
		r = store_path(st, &p, e, "repositories/%s/%s/%s", name,
			       store_link_area(kind), digest_alg_name(algs[a]));
		if (r == 0)
			r = fs_list(p.s, FS_LIST_NODOT, &names, e);
		if (r <= 0)
			continue;
		r = 0;
		for (i = 0; i < names.n && r == 0; i++) {
			struct buf lp = BUF_INIT;
			struct digest d;
			int there;

			if (entry_digest(algs[a], names.items[i], &d) < 0)
				continue;
			if (buf_addf(&lp, "%s/%s/link", p.s, names.items[i]) < 0) {
				r = err_sys(e, "out of memory");
				break;
			}
			/* A directory without its link is what a delete
			 * (ours interrupted, or registry:2's) leaves. */
			there = fs_stat_file(lp.s, NULL, NULL, e);
			buf_free(&lp);
			if (there < 0)
				r = -1;
			else if (there > 0)
				r = fn(ctx, &d);
		}
	}
	strlist_free(&names);
	buf_free(&p);
	return r;
}

/* ---- blobs ---- */

int store_each_blob(const struct store *st,
		    int (*fn)(void *ctx, const struct digest *d, const char *stray),
		    void *ctx, struct err *e)
{
	struct buf p = BUF_INIT, rel = BUF_INIT;
	struct strlist tops = STRLIST_INIT, names = STRLIST_INIT;
	size_t a, t, i;
	int r = 0;

	for (a = 0; a < NALGS && r == 0; a++) {
		const char *alg = digest_alg_name(algs[a]);

		strlist_free(&tops);
		r = store_path(st, &p, e, "blobs/%s", alg);
		if (r == 0)
			r = fs_list(p.s, FS_LIST_NODOT | FS_LIST_DIRS, &tops, e);
		if (r <= 0)
			continue;
		r = 0;
		for (t = 0; t < tops.n && r == 0; t++) {
			strlist_free(&names);
			r = store_path(st, &p, e, "blobs/%s/%s", alg, tops.items[t]);
			if (r == 0)
				r = fs_list(p.s, FS_LIST_NODOT, &names, e);
			if (r <= 0)
				continue;
			r = 0;
			for (i = 0; i < names.n && r == 0; i++) {
				struct digest d;
				const char *h = names.items[i];

				if (entry_digest(algs[a], h, &d) == 0 &&
				    !strncmp(h, tops.items[t], 2) && !tops.items[t][2]) {
					r = fn(ctx, &d, NULL);
					continue;
				}
				buf_reset(&rel);
				if (buf_addf(&rel, "blobs/%s/%s/%s", alg, tops.items[t], h) < 0)
					r = err_sys(e, "out of memory");
				else
					r = fn(ctx, NULL, rel.s);
			}
		}
	}
	strlist_free(&tops);
	strlist_free(&names);
	buf_free(&p);
	buf_free(&rel);
	return r;
}

/* ---- upload sessions ---- */

int store_upload_path(const struct store *st, const char *name, const char *id,
		      const char *file, struct buf *out, struct err *e)
{
	if (!id)
		return store_path(st, out, e, "repositories/%s/_uploads", name);
	if (!file)
		return store_path(st, out, e, "repositories/%s/_uploads/%s", name, id);
	return store_path(st, out, e, "repositories/%s/_uploads/%s/%s", name, id,
			  file);
}

int store_upload_remove(const struct store *st, const char *name,
			const char *id, struct err *e)
{
	struct buf p = BUF_INIT, gone = BUF_INIT;
	int r = -1;

	if (store_upload_path(st, name, id, NULL, &p, e) < 0 ||
	    store_upload_path(st, name, NULL, NULL, &gone, e) < 0)
		goto out;
	if (buf_addf(&gone, "/.deleted-%s-%ld", id, (long)getpid()) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	/* Out of sight in one step first: a purger killed halfway through
	 * the removal must not leave a session without its startedat, whose
	 * directory (just changed) would then look new for a whole purge
	 * age. What is left under the .deleted- name, gc sweeps. */
	if (rename(p.s, gone.s) < 0) {
		r = errno == ENOENT ? 0 : err_sys(e, "rename %s", p.s);
		goto out;
	}
	r = fs_remove_tree(gone.s, e);
out:
	buf_free(&p);
	buf_free(&gone);
	return r;
}


int store_each_upload(const struct store *st, const char *name,
		      int (*fn)(void *ctx, const char *id), void *ctx,
		      struct err *e)
{
	struct buf p = BUF_INIT;
	struct strlist ids = STRLIST_INIT;
	size_t i;
	int r = store_upload_path(st, name, NULL, NULL, &p, e);

	if (r == 0)
		r = fs_list(p.s, FS_LIST_NODOT | FS_LIST_DIRS, &ids, e);
	if (r > 0) {
		r = 0;
		for (i = 0; i < ids.n && r == 0; i++)
			r = fn(ctx, ids.items[i]);
	}
	strlist_free(&ids);
	buf_free(&p);
	return r;
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

int store_upload_started(const struct store *st, const char *name,
			 const char *id, time_t *when, struct err *e)
{
	struct buf p = BUF_INIT, t = BUF_INIT;
	struct timespec mt;
	int r = store_upload_path(st, name, id, STORE_UPLOAD_STARTED, &p, e);

	if (r == 0)
		r = fs_read_file(p.s, 256, &t, e);
	if (r > 0 && parse_time(t.s, when) == 0)
		goto out;
	if (r < 0 && e->code != ERR_TOO_LARGE)
		goto out;
	/* No readable start (absent, or not registry:2's format): go by
	 * the session directory. */
	r = store_upload_path(st, name, id, NULL, &p, e);
	if (r == 0)
		r = fs_stat_dir(p.s, &mt, e);
	if (r > 0)
		*when = mt.tv_sec;
out:
	buf_free(&p);
	buf_free(&t);
	return r;
}

/* ---- referrers ---- */

static int referrer_dir(const struct store *st, const char *name,
			const struct digest *subject, struct buf *out,
			struct err *e)
{
	return store_path(st, out, e, "repositories/%s/_referrers/%s/%s", name,
			  digest_alg_name(subject->alg), subject->hex);
}

static int referrer_file(const struct store *st, const char *name,
			 const struct digest *subject,
			 const struct digest *referrer, struct buf *out,
			 struct err *e)
{
	return store_path(st, out, e, "repositories/%s/_referrers/%s/%s/%s-%s",
			  name, digest_alg_name(subject->alg), subject->hex,
			  digest_alg_name(referrer->alg), referrer->hex);
}

int store_referrer_put(const struct store *st, const char *name,
		       const struct digest *subject, const struct digest *referrer,
		       const void *data, size_t len, struct err *e)
{
	struct buf dir = BUF_INIT, file = BUF_INIT;
	int r = -1;

	if (referrer_dir(st, name, subject, &dir, e) < 0)
		goto out;
	if (buf_addf(&file, "%s-%s", digest_alg_name(referrer->alg),
		     referrer->hex) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	r = fs_write_file(dir.s, file.s, data, len, FS_DURABLE, e);
out:
	buf_free(&dir);
	buf_free(&file);
	return r;
}

int store_referrer_remove(const struct store *st, const char *name,
			  const struct digest *subject,
			  const struct digest *referrer, struct err *e)
{
	struct buf p = BUF_INIT;
	int r = -1;

	if (referrer_file(st, name, subject, referrer, &p, e) == 0)
		r = fs_unlink(p.s, e);
	buf_free(&p);
	return r;
}

int store_referrer_read(const struct store *st, const char *name,
			const struct digest *subject,
			const struct digest *referrer, struct buf *out,
			struct err *e)
{
	struct buf p = BUF_INIT;
	int r = -1;

	if (referrer_file(st, name, subject, referrer, &p, e) == 0)
		r = fs_read_file(p.s, 1 << 20, out, e);
	if (r < 0 && e->code == ERR_TOO_LARGE) {
		errno = 0;
		err_sys(e, "damaged referrers entry %s (too large)", p.s);
	}
	buf_free(&p);
	return r;
}

int store_each_referrer(const struct store *st, const char *name,
			const struct digest *subject,
			int (*fn)(void *ctx, const struct digest *referrer),
			void *ctx, struct err *e)
{
	struct buf p = BUF_INIT;
	struct strlist names = STRLIST_INIT;
	size_t i;
	int r = store_path(st, &p, e, "repositories/%s/_referrers/%s/%s", name,
			   digest_alg_name(subject->alg), subject->hex);

	if (r == 0)
		r = fs_list(p.s, FS_LIST_NODOT, &names, e);
	if (r > 0) {
		r = 0;
		strlist_sort(&names);
		for (i = 0; i < names.n && r == 0; i++) {
			char *dash = strchr(names.items[i], '-');
			struct digest d;
			size_t a;

			if (!dash)
				continue;
			*dash = 0;
			for (a = 0; a < NALGS; a++)
				if (!strcmp(names.items[i], digest_alg_name(algs[a])) &&
				    entry_digest(algs[a], dash + 1, &d) == 0) {
					r = fn(ctx, &d);
					break;
				}
		}
	}
	strlist_free(&names);
	buf_free(&p);
	return r;
}

/* ---- crash leftovers ---- */

struct sweep {
	const struct store *st;
	double grace;
	time_t now;
	int dry_run;
	void (*say)(void *, const char *);
	void *ctx;
	long *count;
	int put_back_only; /* store_put_back_aside() */
	struct err *e;
};

static int leftover(const char *n)
{
	return !strncmp(n, ".tmp-", 5) || !strncmp(n, ".deleted-", 9);
}

static int sweep_dir(struct sweep *s, struct buf *path, int depth)
{
	struct strlist names = STRLIST_INIT;
	size_t keep = path->len, i;
	int r;

	if (depth > 300)
		return 0;
	r = fs_list(path->s, 0, &names, s->e);
	if (r <= 0)
		goto out;
	r = 0;
	for (i = 0; i < names.n && r == 0; i++) {
		const char *n = names.items[i];
		struct timespec mt;
		struct err ie = ERR_INIT;

		if (buf_addf(path, "/%s", n) < 0) {
			r = err_sys(s->e, "out of memory");
			break;
		}
		if (!strncmp(n, ".gc-", 4)) {
			/* Aside by a collector that died: only ever put back
			 * (store_put_back_aside), never removed. */
			if (s->put_back_only) {
				buf_truncate(path, keep);
				r = fs_put_back(path->s, n + 4, s->e);
			}
		} else if (!s->put_back_only && leftover(n)) {
			if (!fs_recent(path->s, s->grace, s->now)) {
				if (s->say)
					s->say(s->ctx, path->s + strlen(s->st->root) + 1);
				(*s->count)++;
				if (!s->dry_run)
					r = fs_remove_tree(path->s, s->e);
			}
		} else if (n[0] != '.' && fs_stat_dir(path->s, &mt, &ie) > 0) {
			r = sweep_dir(s, path, depth + 1);
		}
		buf_truncate(path, keep);
	}
out:
	strlist_free(&names);
	return r;
}

/* The walk of the whole store, from its root. */
static int sweep_root(struct sweep *s)
{
	struct buf p = BUF_INIT;
	int r = store_path(s->st, &p, s->e, "%s", "");

	if (r == 0) {
		buf_truncate(&p, p.len - 1); /* the root, without the '/' */
		r = sweep_dir(s, &p, 0);
	}
	buf_free(&p);
	return r;
}

int store_sweep_leftovers(const struct store *st, double grace, time_t now,
			  int dry_run, void (*say)(void *ctx, const char *rel),
			  void *ctx, long *count, struct err *e)
{
	struct sweep s = { st, grace, now, dry_run, say, ctx, count, 0, e };

	return sweep_root(&s);
}

int store_put_back_aside(const struct store *st, struct err *e)
{
	long count = 0;
	struct sweep s = { st, 0, 0, 0, NULL, NULL, &count, 1, e };

	return sweep_root(&s);
}
