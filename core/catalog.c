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

/* The sorted snapshot: "berth-catalog 1 <sec>.<nsec> <count> <built>\n"
 * and the names, one per line. <sec>.<nsec> is the index directory's
 * mtime when the snapshot was taken; creating or removing a marker
 * changes it, so a reader can tell a stale snapshot with one stat. The
 * snapshot is a cache: written without fsync, checked (count of lines)
 * when read, rebuilt by whichever reader finds it stale or damaged. */
static int snapshot_read(const char *path, const struct timespec *dir,
			 struct buf *out)
{
	struct err ignore = ERR_INIT;
	long long sec, nsec, built;
	size_t count, lines = 0;
	char *p, *nl;

	/* A cache: whatever is wrong with it (absent, unreadable,
	 * damaged), the answer is to rebuild it from the markers. */
	if (fs_read_file(path, 256u << 20, out, &ignore) <= 0)
		return -1;
	if (sscanf(out->s, "berth-catalog 1 %lld.%lld %zu %lld\n", &sec, &nsec,
		   &count, &built) != 4 ||
	    sec != (long long)dir->tv_sec || nsec != (long long)dir->tv_nsec)
		return -1;
	/* Directory times tick coarsely (a few ms on ext4, more on NFS): a
	 * marker added in the same tick as the snapshot's would not change
	 * the mtime. Only a snapshot taken well after the last change is
	 * trusted; until then every reader lists the directory itself. */
	if (built - sec < 2)
		return -1;
	nl = strchr(out->s, '\n');
	if (!nl)
		return -1;
	for (p = nl + 1; (nl = memchr(p, '\n', (size_t)(out->s + out->len - p))); p = nl + 1)
		lines++;
	return lines == count && p == out->s + out->len ? 0 : -1;
}

static int snapshot_build(const struct store *st, const char *dir,
			  const struct timespec *mt, struct buf *out,
			  struct err *e)
{
	struct strlist all = STRLIST_INIT;
	struct buf where = BUF_INIT;
	struct err ignore = ERR_INIT;
	size_t i;
	int r = -1;

	if (fs_list(dir, FS_LIST_NODOT, &all, e) < 0)
		goto out;
	for (i = 0; i < all.n; i++) {
		char *c;
		for (c = all.items[i]; *c; c++)
			if (*c == '+')
				*c = '/';
	}
	strlist_sort(&all);
	buf_reset(out);
	if (buf_addf(out, "berth-catalog 1 %lld.%09lld %zu %lld\n",
		     (long long)mt->tv_sec, (long long)mt->tv_nsec, all.n,
		     (long long)time(NULL)) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	for (i = 0; i < all.n; i++)
		if (buf_addf(out, "%s\n", all.items[i]) < 0) {
			err_sys(e, "out of memory");
			goto out;
		}
	/* Beside the index directory, not in it: writing it must not
	 * change the mtime it records. Failing to save it only costs the
	 * next reader a rebuild. */
	if (store_berth_path(st, "", &where, e) < 0)
		goto out;
	fs_write_file(where.s, "catalog.sorted", out->s, out->len, FS_CACHE, &ignore);
	r = 0;
out:
	strlist_free(&all);
	buf_free(&where);
	return r;
}

int catalog_list(const struct store *st, const char *last, size_t n,
		 struct strlist *out, int *more, struct err *e)
{
	struct buf dir = BUF_INIT, ready = BUF_INIT, snap = BUF_INIT, sp = BUF_INIT;
	struct timespec mt;
	size_t lo, hi, count = 0;
	char *p, *end;
	int r = -1, have;

	*more = 0;
	if (index_dir(st, &dir, e) < 0 ||
	    store_berth_path(st, "catalog.ready", &ready, e) < 0 ||
	    store_berth_path(st, "catalog.sorted", &sp, e) < 0)
		goto out;
	have = fs_stat_file(ready.s, NULL, NULL, e);
	if (have < 0 || (have == 0 && catalog_rebuild(st, e) < 0))
		goto out;
	have = fs_stat_dir(dir.s, &mt, e);
	if (have <= 0) {
		r = have; /* 0: no repository yet */
		goto out;
	}
	if (snapshot_read(sp.s, &mt, &snap) < 0 &&
	    snapshot_build(st, dir.s, &mt, &snap, e) < 0)
		goto out;
	/* Binary search for the first line after last. */
	p = strchr(snap.s, '\n') + 1;
	end = snap.s + snap.len;
	if (last) {
		lo = (size_t)(p - snap.s);
		hi = snap.len;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2, ls = mid, le;
			while (ls > lo && snap.s[ls - 1] != '\n')
				ls--;
			le = ls;
			while (snap.s[le] != '\n')
				le++;
			snap.s[le] = 0;
			if (strcmp(snap.s + ls, last) <= 0)
				lo = le + 1;
			else
				hi = ls;
			snap.s[le] = '\n';
		}
		p = snap.s + lo;
	}
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (count == n) {
			*more = 1;
			break;
		}
		*nl = 0;
		if (strlist_add(out, p) < 0) {
			err_sys(e, "out of memory");
			goto out;
		}
		count++;
		p = nl + 1;
	}
	r = 0;
out:
	buf_free(&dir);
	buf_free(&ready);
	buf_free(&snap);
	buf_free(&sp);
	return r;
}
