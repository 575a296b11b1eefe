/*
 * catalog: marker files, one per repository, in one directory. Reading a
 * page is a readdir and a sort of the names after `last`: with 100,000
 * repositories that is a few megabytes of directory entries, well within
 * the time budget, and it needs no lock and no rewrite of shared files,
 * which a sorted index on a shared filesystem would.
 */
#include "catalog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

static int index_dir(const struct store *st, struct buf *out)
{
	return buf_addf(out, "%s/_berth/catalog", st->root);
}

/* '/' cannot be in a file name; '+' cannot be in a repository name. */
static int marker_path(const struct store *st, const char *name, struct buf *out)
{
	const char *p;

	if (index_dir(st, out) < 0 || buf_addch(out, '/') < 0)
		return -1;
	for (p = name; *p; p++)
		if (buf_addch(out, *p == '/' ? '+' : *p) < 0)
			return -1;
	return 0;
}

/* sync: fsync the index directory (a rebuild does it once at the end). */
static int marker_add(const struct store *st, const char *name, int sync,
		      struct err *e)
{
	struct buf dir = BUF_INIT, p = BUF_INIT;
	int fd, r = -1;

	if (index_dir(st, &dir) < 0 || marker_path(st, name, &p) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (access(p.s, F_OK) == 0) {
		r = 0;
		goto out;
	}
	if (store_mkdirs(dir.s, e) < 0)
		goto out;
	/* An empty file made whole by its creation: nothing to tear. */
	fd = open(p.s, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_sys(e, "create %s", p.s);
		goto out;
	}
	close(fd);
	r = sync ? store_fsync_dir(dir.s, e) : 0;
out:
	buf_free(&dir);
	buf_free(&p);
	return r;
}

int catalog_add(const struct store *st, const char *name, struct err *e)
{
	return marker_add(st, name, 1, e);
}

/* A cache file: temp and rename (readers never see half of it), but no
 * fsync; a reader checks it and rebuilds it when it is not whole. */
static int write_cache(const char *dir, const char *name, const char *data,
		       size_t len, struct err *e)
{
	struct buf tmp = BUF_INIT, dst = BUF_INIT;
	int fd, r = -1;

	if (buf_addf(&tmp, "%s/.tmp-%s-XXXXXX", dir, name) < 0 ||
	    buf_addf(&dst, "%s/%s", dir, name) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	fd = mkostemp(tmp.s, O_CLOEXEC);
	if (fd < 0) {
		err_sys(e, "create %s", tmp.s);
		goto out;
	}
	if (fchmod(fd, 0644) < 0 || store_write_all(fd, data, len) < 0) {
		err_sys(e, "write %s", tmp.s);
		close(fd);
		unlink(tmp.s);
		goto out;
	}
	close(fd);
	if (rename(tmp.s, dst.s) < 0) {
		err_sys(e, "rename %s", dst.s);
		unlink(tmp.s);
		goto out;
	}
	r = 0;
out:
	buf_free(&tmp);
	buf_free(&dst);
	return r;
}

/* 1 when the repository still has a manifest revision or a tag. */
static int has_content(const struct store *st, const char *name)
{
	struct buf p = BUF_INIT;
	struct store_list tags = { 0 };
	struct err e = ERR_INIT;
	const char *algs[] = { "sha256", "sha512" };
	int found = 0;
	size_t i;

	for (i = 0; i < 2 && !found; i++) {
		DIR *d;
		struct dirent *de;

		buf_reset(&p);
		if (buf_addf(&p, "%s/repositories/%s/_manifests/revisions/%s",
			     st->root, name, algs[i]) < 0)
			return 1; /* when in doubt, keep it listed */
		d = opendir(p.s);
		if (!d)
			continue;
		while (!found && (de = readdir(d))) {
			struct stat sb;
			struct buf l = BUF_INIT;
			if (de->d_name[0] == '.')
				continue;
			if (buf_addf(&l, "%s/link", de->d_name) == 0 &&
			    fstatat(dirfd(d), l.s, &sb, 0) == 0)
				found = 1;
			buf_free(&l);
		}
		closedir(d);
	}
	buf_free(&p);
	if (!found && store_tags(st, name, &tags, &e) == 0 && tags.n)
		found = 1;
	store_list_free(&tags);
	return found;
}

int catalog_drop_if_empty(const struct store *st, const char *name,
			  struct err *e)
{
	struct buf p = BUF_INIT;
	int r = 0;

	if (has_content(st, name))
		return 0;
	if (marker_path(st, name, &p) < 0)
		return err_sys(e, "out of memory");
	if (unlink(p.s) < 0 && errno != ENOENT)
		r = err_sys(e, "unlink %s", p.s);
	buf_free(&p);
	/* A manifest PUT may have landed between the check and the unlink;
	 * its own catalog_add may have run before the unlink too. */
	if (r == 0 && has_content(st, name))
		r = catalog_add(st, name, e);
	return r;
}

struct rebuild {
	const struct store *st;
	struct err *e;
	long n;
};

static int rebuild_one(void *ctx, const char *name)
{
	struct rebuild *rb = ctx;

	if (!has_content(rb->st, name))
		return 0;
	rb->n++;
	return marker_add(rb->st, name, 0, rb->e);
}

long catalog_rebuild(const struct store *st, struct err *e)
{
	struct buf dir = BUF_INIT, p = BUF_INIT;
	struct rebuild rb = { st, e, 0 };
	struct dirent *de;
	DIR *d;

	if (store_walk_repos(st, rebuild_one, &rb, e) < 0)
		return -1;
	/* Unlist what no longer has content (deleted by another registry). */
	if (index_dir(st, &dir) < 0)
		return err_sys(e, "out of memory");
	d = opendir(dir.s);
	if (d) {
		while ((de = readdir(d))) {
			char *c;
			if (de->d_name[0] == '.')
				continue;
			buf_reset(&p);
			if (buf_adds(&p, de->d_name) < 0)
				break;
			for (c = p.s; *c; c++)
				if (*c == '+')
					*c = '/';
			if (!has_content(st, p.s))
				unlinkat(dirfd(d), de->d_name, 0);
		}
		closedir(d);
	}
	buf_free(&p);
	/* dir is <root>/_berth/catalog; the stamp goes beside it. */
	if (store_mkdirs(dir.s, e) < 0 || store_fsync_dir(dir.s, e) < 0) {
		buf_free(&dir);
		return -1;
	}
	*strrchr(dir.s, '/') = 0;
	if (store_write_file(dir.s, "catalog.ready", "1\n", 2, e) < 0) {
		buf_free(&dir);
		return -1;
	}
	buf_free(&dir);
	return rb.n;
}

/* The sorted snapshot: "berth-catalog 1 <sec>.<nsec> <count>\n" and the
 * names, one per line. <sec>.<nsec> is the index directory's mtime when the
 * snapshot was taken; creating or removing a marker changes it, so a
 * reader can tell a stale snapshot with one stat. The snapshot is a cache:
 * written without fsync, checked (count of lines) when read, rebuilt by
 * whichever reader finds it stale or damaged. */
static int snapshot_read(const char *path, const struct stat *dir,
			 struct buf *out)
{
	struct err ignore = ERR_INIT;
	long long sec, nsec;
	size_t count, lines = 0;
	char *p, *nl;

	if (store_read_file(path, 256u << 20, out, &ignore) < 0)
		return -1;
	long long built;

	if (sscanf(out->s, "berth-catalog 1 %lld.%lld %zu %lld\n", &sec, &nsec,
		   &count, &built) != 4 ||
	    sec != (long long)dir->st_mtim.tv_sec || nsec != (long long)dir->st_mtim.tv_nsec)
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
			  const struct stat *dsb, struct buf *out, struct err *e)
{
	struct store_list all = { 0 };
	struct buf tmpdir = BUF_INIT;
	struct dirent *de;
	struct err ignore = ERR_INIT;
	size_t i;
	DIR *d = opendir(dir);
	int r = -1;

	(void)st;
	if (!d)
		return err_sys(e, "opendir %s", dir);
	while ((de = readdir(d))) {
		char *c;
		if (de->d_name[0] == '.')
			continue;
		if (store_list_add(&all, de->d_name) < 0) {
			closedir(d);
			err_sys(e, "out of memory");
			goto out;
		}
		for (c = all.items[all.n - 1]; *c; c++)
			if (*c == '+')
				*c = '/';
	}
	closedir(d);
	store_list_sort(&all);
	buf_reset(out);
	if (buf_addf(out, "berth-catalog 1 %lld.%09lld %zu %lld\n",
		     (long long)dsb->st_mtim.tv_sec, (long long)dsb->st_mtim.tv_nsec,
		     all.n, (long long)time(NULL)) < 0) {
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
	if (buf_adds(&tmpdir, dir) == 0) {
		*strrchr(tmpdir.s, '/') = 0;
		write_cache(tmpdir.s, "catalog.sorted", out->s, out->len, &ignore);
	}
	r = 0;
out:
	store_list_free(&all);
	buf_free(&tmpdir);
	return r;
}

int catalog_list(const struct store *st, const char *last, size_t n,
		 struct store_list *out, int *more, struct err *e)
{
	struct buf dir = BUF_INIT, ready = BUF_INIT, snap = BUF_INIT, sp = BUF_INIT;
	struct stat dsb;
	size_t lo, hi, count = 0;
	char *p, *end;
	int r = -1;

	*more = 0;
	if (index_dir(st, &dir) < 0 ||
	    buf_addf(&ready, "%s/_berth/catalog.ready", st->root) < 0 ||
	    buf_addf(&sp, "%s/_berth/catalog.sorted", st->root) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (access(ready.s, F_OK) < 0 && catalog_rebuild(st, e) < 0)
		goto out;
	if (stat(dir.s, &dsb) < 0) {
		r = 0; /* no repository yet */
		goto out;
	}
	if (snapshot_read(sp.s, &dsb, &snap) < 0 &&
	    snapshot_build(st, dir.s, &dsb, &snap, e) < 0)
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
		if (store_list_add(out, p) < 0) {
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
