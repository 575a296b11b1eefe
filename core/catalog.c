/*
 * catalog: marker files, one per repository, in one directory of Berth's
 * own (store_berth_path "catalog"), which this module alone reads and
 * writes. Adding or removing a marker needs no lock and no rewrite of a
 * shared file, which a sorted index on a shared filesystem would; pages
 * come from the sorted snapshot described in catalog.h.
 */
#include "catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "snapshot.h"
#include "banned.h"

static int index_dir(const struct store *st, struct buf *out, struct err *e)
{
	return store_berth_path(st, "catalog", out, e);
}

/* '/' cannot be in a file name; '+' cannot be in a repository name. */
static int marker_path(const struct store *st, const char *name,
		       struct buf *out, struct err *e)
{
	const char *p;

	if (index_dir(st, out, e) < 0)
		return -1;
	if (buf_addch(out, '/') < 0)
		return err_sys(e, "out of memory");
	for (p = name; *p; p++)
		if (buf_addch(out, *p == '/' ? '+' : *p) < 0)
			return err_sys(e, "out of memory");
	return 0;
}

/* sync: fsync the index directory (a rebuild does it once at the end). */
static int marker_add(const struct store *st, const char *name, int sync,
		      struct err *e)
{
	struct buf dir = BUF_INIT, p = BUF_INIT;
	int r = -1;

	if (index_dir(st, &dir, e) < 0 || marker_path(st, name, &p, e) < 0)
		goto out;
	r = fs_stat_file(p.s, NULL, NULL, e);
	if (r != 0) {
		r = r > 0 ? 0 : -1;
		goto out;
	}
	r = -1;
	if (fs_stamp(dir.s, strrchr(p.s, '/') + 1, e) < 0)
		goto out;
	r = sync ? fs_fsync_dir(dir.s, e) : 0;
out:
	buf_free(&dir);
	buf_free(&p);
	return r;
}

int catalog_add(const struct store *st, const char *name, struct err *e)
{
	return marker_add(st, name, 1, e);
}

int catalog_drop_if_empty(const struct store *st, const char *name,
			  struct err *e)
{
	struct buf p = BUF_INIT;
	int r;

	/* When in doubt (-1), the repository stays listed. */
	r = store_repo_has_content(st, name, e);
	if (r != 0)
		return r > 0 ? 0 : -1;
	if (marker_path(st, name, &p, e) < 0 || fs_unlink(p.s, e) < 0) {
		buf_free(&p);
		return -1;
	}
	buf_free(&p);
	/* A manifest PUT may have landed between the check and the unlink;
	 * its own catalog_add may have run before the unlink too. */
	r = store_repo_has_content(st, name, e);
	if (r < 0)
		return -1;
	return r > 0 ? catalog_add(st, name, e) : 0;
}

struct rebuild {
	const struct store *st;
	struct err *e;
	long n;
};

static int rebuild_one(void *ctx, const char *name)
{
	struct rebuild *rb = ctx;
	int r = store_repo_has_content(rb->st, name, rb->e);

	if (r <= 0)
		return r;
	rb->n++;
	return marker_add(rb->st, name, 0, rb->e);
}

long catalog_rebuild(const struct store *st, struct err *e)
{
	struct buf dir = BUF_INIT, p = BUF_INIT, ready = BUF_INIT;
	struct strlist names = STRLIST_INIT;
	struct rebuild rb = { st, e, 0 };
	long r = -1;
	size_t i;

	if (store_each_repo(st, rebuild_one, &rb, e) < 0 ||
	    index_dir(st, &dir, e) < 0 || fs_mkdirs(dir.s, e) < 0 ||
	    fs_list(dir.s, FS_LIST_NODOT, &names, e) < 0)
		goto out;
	/* Unlist what no longer has content (deleted by another registry). */
	for (i = 0; i < names.n; i++) {
		char *c;
		int has;

		for (c = names.items[i]; *c; c++)
			if (*c == '+')
				*c = '/';
		has = store_repo_has_content(st, names.items[i], e);
		if (has < 0)
			goto out;
		if (!has && (marker_path(st, names.items[i], &p, e) < 0 ||
			     fs_unlink(p.s, e) < 0))
			goto out;
	}
	if (fs_fsync_dir(dir.s, e) < 0 || store_berth_path(st, "", &ready, e) < 0 ||
	    fs_write_file(ready.s, "catalog.ready", "1\n", 2, FS_DURABLE, e) < 0)
		goto out;
	r = rb.n;
out:
	strlist_free(&names);
	buf_free(&dir);
	buf_free(&p);
	buf_free(&ready);
	return r;
}

/* The markers' names, '+' turned back into '/'. */
static int list_markers(void *ctx, const char *dir, struct strlist *out,
			struct err *e)
{
	size_t i, from = out->n;
	int r;

	(void)ctx;
	r = fs_list(dir, FS_LIST_NODOT, out, e);
	for (i = from; r > 0 && i < out->n; i++) {
		char *c;
		for (c = out->items[i]; *c; c++)
			if (*c == '+')
				*c = '/';
	}
	return r;
}

int catalog_list(const struct store *st, const char *last, size_t n,
		 struct strlist *out, int *more, struct err *e)
{
	struct buf dir = BUF_INIT, ready = BUF_INIT, sp = BUF_INIT;
	int r = -1, have;

	*more = 0;
	if (index_dir(st, &dir, e) < 0 ||
	    store_berth_path(st, "catalog.ready", &ready, e) < 0 ||
	    store_berth_path(st, "catalog.sorted", &sp, e) < 0)
		goto out;
	have = fs_stat_file(ready.s, NULL, NULL, e);
	if (have < 0 || (have == 0 && catalog_rebuild(st, e) < 0))
		goto out;
	/* The snapshot lives beside the index directory, not in it:
	 * writing it must not change the mtime it records. */
	r = snapshot_page(dir.s, sp.s, list_markers, NULL, last, n, out, more, e);
	if (r > 0)
		r = 0; /* absent: no repository yet */
out:
	buf_free(&dir);
	buf_free(&ready);
	buf_free(&sp);
	return r;
}
