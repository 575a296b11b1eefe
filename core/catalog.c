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

int catalog_add(const struct store *st, const char *name, struct err *e)
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
	r = store_fsync_dir(dir.s, e);
out:
	buf_free(&dir);
	buf_free(&p);
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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
	return catalog_add(rb->st, name, rb->e);
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
	if (store_mkdirs(dir.s, e) < 0) {
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

int catalog_list(const struct store *st, const char *last, size_t n,
		 struct store_list *out, int *more, struct err *e)
{
	struct buf dir = BUF_INIT, ready = BUF_INIT;
	struct store_list all = { 0 };
	struct dirent *de;
	size_t i;
	DIR *d;
	int r = -1;

	*more = 0;
	if (index_dir(st, &dir) < 0 ||
	    buf_addf(&ready, "%s/_berth/catalog.ready", st->root) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (access(ready.s, F_OK) < 0 && catalog_rebuild(st, e) < 0)
		goto out;
	d = opendir(dir.s);
	if (!d) {
		r = 0; /* no repository yet */
		goto out;
	}
	while ((de = readdir(d))) {
		char name[NAME_MAX + 1], *c;
		if (de->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%s", de->d_name);
		for (c = name; *c; c++)
			if (*c == '+')
				*c = '/';
		if (last && strcmp(name, last) <= 0)
			continue;
		if (store_list_add(&all, name) < 0) {
			closedir(d);
			err_sys(e, "out of memory");
			goto out;
		}
	}
	closedir(d);
	qsort(all.items, all.n, sizeof(char *), cmp_str);
	for (i = 0; i < all.n && i < n; i++)
		if (store_list_add(out, all.items[i]) < 0) {
			err_sys(e, "out of memory");
			goto out;
		}
	*more = all.n > n;
	r = 0;
out:
	store_list_free(&all);
	buf_free(&dir);
	buf_free(&ready);
	return r;
}
