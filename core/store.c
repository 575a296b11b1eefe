/*
 * store: Distribution's filesystem layout with crash-safe writes.
 * See store.h for the layout and the durability contract. Everything here
 * is plain POSIX file operations that NFS and CephFS honour across hosts:
 * rename() to replace a link, link() to create a blob only if absent, and
 * fsync() of files and directories to order them on disk.
 */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "banned.h"

int store_open(struct store *st, const char *rootdirectory, struct err *e)
{
	struct buf b = BUF_INIT;

	st->root = st->rootdir = NULL;
	if (!rootdirectory || rootdirectory[0] != '/')
		return err_set(e, ERR_INTERNAL,
			       "storage root must be an absolute path");
	if (buf_addf(&b, "%s/docker/registry/v2", rootdirectory) < 0)
		return err_sys(e, "out of memory");
	if (store_mkdirs(b.s, e) < 0) {
		buf_free(&b);
		return -1;
	}
	st->rootdir = strdup(rootdirectory);
	st->root = buf_detach(&b, NULL);
	if (!st->rootdir || !st->root) {
		store_close(st);
		return err_sys(e, "out of memory");
	}
	return 0;
}

void store_close(struct store *st)
{
	free(st->root);
	free(st->rootdir);
	st->root = st->rootdir = NULL;
}

int store_blob_relpath(const struct digest *d, struct buf *out)
{
	return buf_addf(out, "docker/registry/v2/blobs/%s/%.2s/%s/data",
			digest_alg_name(d->alg), d->hex, d->hex);
}

int store_blob_path(const struct store *st, const struct digest *d,
		    struct buf *out)
{
	return buf_addf(out, "%s/blobs/%s/%.2s/%s/data", st->root,
			digest_alg_name(d->alg), d->hex, d->hex);
}

int store_repo_path(const struct store *st, const char *name, struct buf *out)
{
	return buf_addf(out, "%s/repositories/%s", st->root, name);
}

/* ---- file primitives ---- */

int store_fsync_dir(const char *dir, struct err *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return err_sys(e, "open %s", dir);
	/* Some filesystems (and NFS) refuse fsync on a directory with EINVAL
	 * and order metadata themselves; that is not a failure. */
	if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS) {
		err_sys(e, "fsync %s", dir);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int store_mkdirs(const char *path, struct err *e)
{
	struct buf b = BUF_INIT;
	struct stat sb;
	char *p;
	int r = -1;

	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	if (buf_adds(&b, path) < 0)
		return err_sys(e, "out of memory");
	for (p = b.s + 1;; p++) {
		if (*p != '/' && *p != 0)
			continue;
		char saved = *p;
		*p = 0;
		if (mkdir(b.s, 0755) == 0) {
			/* Make the new entry durable in its parent. */
			char *slash = strrchr(b.s, '/');
			if (slash && slash != b.s) {
				*slash = 0;
				if (store_fsync_dir(b.s, e) < 0)
					goto out;
				*slash = '/';
			}
		} else if (errno != EEXIST) {
			err_sys(e, "mkdir %s", b.s);
			goto out;
		}
		*p = saved;
		if (!saved)
			break;
	}
	r = 0;
out:
	buf_free(&b);
	return r;
}

int store_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes data to a new durable temp file in dir; its path goes in tmp. */
static int write_temp(const char *dir, const char *name, const void *data,
		      size_t len, struct buf *tmp, struct err *e)
{
	int fd;

	if (buf_addf(tmp, "%s/.tmp-%s-XXXXXX", dir, name) < 0)
		return err_sys(e, "out of memory");
	fd = mkostemp(tmp->s, O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "create temp file in %s", dir);
	if (fchmod(fd, 0644) < 0 || store_write_all(fd, data, len) < 0 ||
	    fsync(fd) < 0) {
		err_sys(e, "write %s", tmp->s);
		close(fd);
		unlink(tmp->s);
		return -1;
	}
	if (close(fd) < 0) {
		err_sys(e, "close %s", tmp->s);
		unlink(tmp->s);
		return -1;
	}
	return 0;
}

int store_write_file(const char *dir, const char *name, const void *data,
		     size_t len, struct err *e)
{
	struct buf tmp = BUF_INIT, dst = BUF_INIT;
	int r = -1;

	if (store_mkdirs(dir, e) < 0)
		return -1;
	if (write_temp(dir, name, data, len, &tmp, e) < 0)
		goto out;
	if (buf_addf(&dst, "%s/%s", dir, name) < 0) {
		err_sys(e, "out of memory");
		unlink(tmp.s);
		goto out;
	}
	if (rename(tmp.s, dst.s) < 0) {
		err_sys(e, "rename %s", dst.s);
		unlink(tmp.s);
		goto out;
	}
	r = store_fsync_dir(dir, e);
out:
	buf_free(&tmp);
	buf_free(&dst);
	return r;
}

int store_read_file(const char *path, size_t max, struct buf *out,
		    struct err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	ssize_t n;

	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return err_set(e, ERR_NOT_FOUND, "not found");
		return err_sys(e, "open %s", path);
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return err_set(e, ERR_NOT_FOUND, "not found");
	}
	if ((size_t)sb.st_size > max) {
		close(fd);
		return err_set(e, ERR_TOO_LARGE, "file too large");
	}
	if (buf_grow(out, (size_t)sb.st_size) < 0) {
		close(fd);
		return err_sys(e, "out of memory");
	}
	for (;;) {
		if (buf_grow(out, 4096) < 0) {
			close(fd);
			return err_sys(e, "out of memory");
		}
		n = read(fd, out->s + out->len, out->cap - out->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_sys(e, "read %s", path);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->s[out->len] = 0;
		if (out->len > max) {
			close(fd);
			return err_set(e, ERR_TOO_LARGE, "file too large");
		}
	}
	close(fd);
	return 0;
}

static int remove_at(int parent, const char *name)
{
	int fd, r = 0;
	DIR *d;
	struct dirent *de;

	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (remove_at(dirfd(d), de->d_name) < 0)
			r = -1;
	}
	closedir(d);
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -1;
	return r;
}

int store_remove_tree(const char *path, struct err *e)
{
	if (remove_at(AT_FDCWD, path) < 0)
		return err_sys(e, "remove %s", path);
	return 0;
}

/* ---- blobs ---- */

int store_blob_stat(const struct store *st, const struct digest *d,
		    off_t *size, struct err *e)
{
	struct buf p = BUF_INIT;
	struct stat sb;
	int r;

	if (store_blob_path(st, d, &p) < 0)
		return err_sys(e, "out of memory");
	r = stat(p.s, &sb);
	buf_free(&p);
	if (r < 0 || !S_ISREG(sb.st_mode)) {
		if (r < 0 && errno != ENOENT && errno != ENOTDIR)
			return err_sys(e, "stat blob");
		return err_set(e, ERR_BLOB_UNKNOWN, "blob unknown to registry");
	}
	if (size)
		*size = sb.st_size;
	return 0;
}

int store_blob_read(const struct store *st, const struct digest *d,
		    size_t max, struct buf *out, struct err *e)
{
	struct buf p = BUF_INIT;
	int r;

	if (store_blob_path(st, d, &p) < 0)
		return err_sys(e, "out of memory");
	r = store_read_file(p.s, max, out, e);
	buf_free(&p);
	if (r < 0 && e->code == ERR_NOT_FOUND)
		err_set(e, ERR_BLOB_UNKNOWN, "blob unknown to registry");
	return r;
}

/* Marks a file as just used: `berth gc` never removes what was touched
 * within its grace period. -1 (errno ENOENT) when it is gone. */
static int touch(const char *path)
{
	return utimensat(AT_FDCWD, path, NULL, 0);
}

static int blob_dir(const struct store *st, const struct digest *d,
		    struct buf *dir, struct err *e);

/* Links src in as the blob's data: never replaces an existing blob, but
 * touches it, so a garbage collection running now keeps it. Should the
 * collector take it away between our link() and the touch, link again. */
static int blob_link(const struct store *st, const struct digest *d,
		     const char *src, struct err *e)
{
	struct buf dst = BUF_INIT, dir = BUF_INIT;
	char *slash;
	int r = -1, tries;

	if (store_blob_path(st, d, &dst) < 0)
		return err_sys(e, "out of memory");
	for (tries = 0;; tries++) {
		if (link(src, dst.s) < 0 && errno != EEXIST &&
		    !(errno == ENOENT && tries < 3)) {
			err_sys(e, "link %s", dst.s);
			goto out;
		}
		if (touch(dst.s) == 0)
			break;
		if (errno != ENOENT || tries >= 3) {
			err_sys(e, "touch %s", dst.s);
			goto out;
		}
		buf_reset(&dir);
		if (blob_dir(st, d, &dir, e) < 0)
			goto out;
	}
	slash = strrchr(dst.s, '/');
	*slash = 0;
	r = store_fsync_dir(dst.s, e);
out:
	buf_free(&dst);
	buf_free(&dir);
	return r;
}

int store_blob_touch(const struct store *st, const struct digest *d)
{
	struct buf p = BUF_INIT;
	int r = -1;

	if (store_blob_path(st, d, &p) == 0)
		r = touch(p.s);
	buf_free(&p);
	return r;
}

static int blob_dir(const struct store *st, const struct digest *d,
		    struct buf *dir, struct err *e)
{
	if (buf_addf(dir, "%s/blobs/%s/%.2s/%s", st->root,
		     digest_alg_name(d->alg), d->hex, d->hex) < 0)
		return err_sys(e, "out of memory");
	return store_mkdirs(dir->s, e);
}

int store_blob_put(const struct store *st, const struct digest *d,
		   const void *data, size_t len, struct err *e)
{
	struct buf dir = BUF_INIT, tmp = BUF_INIT;
	int r = -1;

	if (store_blob_touch(st, d) == 0)
		return 0;
	/* The bytes are written outside the blob's own directory, which a
	 * garbage collection may move aside while it is still empty; the
	 * link into it is retried (blob_link). */
	if (buf_addf(&dir, "%s/_berth/tmp", st->root) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (store_mkdirs(dir.s, e) < 0 ||
	    write_temp(dir.s, "blob", data, len, &tmp, e) < 0)
		goto out;
	buf_reset(&dir);
	if (blob_dir(st, d, &dir, e) == 0)
		r = blob_link(st, d, tmp.s, e);
	unlink(tmp.s);
out:
	buf_free(&dir);
	buf_free(&tmp);
	return r;
}

int store_blob_adopt(const struct store *st, const struct digest *d,
		     const char *path, struct err *e)
{
	struct buf dir = BUF_INIT;
	int r;

	r = blob_dir(st, d, &dir, e);
	buf_free(&dir);
	if (r < 0)
		return -1;
	return blob_link(st, d, path, e);
}

/* ---- links ---- */

static int link_dir(const struct store *st, const char *name,
		    enum store_link_kind kind, const struct digest *d,
		    struct buf *out)
{
	return buf_addf(out, "%s/repositories/%s/%s/%s/%s", st->root, name,
			kind == STORE_LAYER ? "_layers" : "_manifests/revisions",
			digest_alg_name(d->alg), d->hex);
}

/* Reads a link file into d: 0, or -1 when it is missing or damaged. */
static int link_read(const char *path, struct digest *d)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	int r = -1;

	if (store_read_file(path, 256, &b, &e) == 0) {
		while (b.len && (b.s[b.len - 1] == '\n' || b.s[b.len - 1] == ' '))
			buf_truncate(&b, b.len - 1);
		r = digest_parse(b.s, d, &e);
	}
	buf_free(&b);
	return r;
}

int store_link_exists(const struct store *st, const char *name,
		      enum store_link_kind kind, const struct digest *d)
{
	struct buf p = BUF_INIT;
	struct digest got;
	struct err e = ERR_INIT;
	int ok = 0;

	if (link_dir(st, name, kind, d, &p) == 0 && buf_adds(&p, "/link") == 0 &&
	    link_read(p.s, &got) == 0 && digest_equal(&got, d) &&
	    store_blob_stat(st, d, NULL, &e) == 0)
		ok = 1;
	buf_free(&p);
	return ok;
}

static int write_link(const char *dir, const struct digest *d, struct err *e)
{
	char s[DIGEST_STR_MAX];
	struct buf p = BUF_INIT;
	struct digest got;
	int same;

	digest_format(d, s);
	/* Rewriting an identical link would only cost an fsync; touching it
	 * tells a running `berth gc` it is in use. */
	if (buf_addf(&p, "%s/link", dir) < 0)
		return err_sys(e, "out of memory");
	same = link_read(p.s, &got) == 0 && digest_equal(&got, d) &&
	       touch(p.s) == 0;
	buf_free(&p);
	if (same)
		return 0;
	return store_write_file(dir, "link", s, strlen(s), e);
}

int store_link_touch(const struct store *st, const char *name,
		     enum store_link_kind kind, const struct digest *d)
{
	struct buf p = BUF_INIT;

	if (link_dir(st, name, kind, d, &p) == 0 && buf_adds(&p, "/link") == 0)
		touch(p.s);
	buf_free(&p);
	store_blob_touch(st, d);
	return store_link_exists(st, name, kind, d);
}

int store_link_add(const struct store *st, const char *name,
		   enum store_link_kind kind, const struct digest *d,
		   struct err *e)
{
	struct buf dir = BUF_INIT;
	int r;

	if (link_dir(st, name, kind, d, &dir) < 0)
		return err_sys(e, "out of memory");
	r = write_link(dir.s, d, e);
	buf_free(&dir);
	return r;
}

int store_link_remove(const struct store *st, const char *name,
		      enum store_link_kind kind, const struct digest *d,
		      struct err *e)
{
	struct buf dir = BUF_INIT, p = BUF_INIT;
	int r = -1;

	if (link_dir(st, name, kind, d, &dir) < 0 ||
	    buf_addf(&p, "%s/link", dir.s) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (unlink(p.s) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			err_set(e, kind == STORE_LAYER ? ERR_BLOB_UNKNOWN :
				ERR_MANIFEST_UNKNOWN, "%s unknown to registry",
				kind == STORE_LAYER ? "blob" : "manifest");
		else
			err_sys(e, "unlink %s", p.s);
		goto out;
	}
	/* The empty directory is registry:2's leftover too; removing it
	 * keeps listings short. Someone re-linking meanwhile keeps it. */
	rmdir(dir.s);
	*strrchr(dir.s, '/') = 0;
	r = store_fsync_dir(dir.s, e);
out:
	buf_free(&dir);
	buf_free(&p);
	return r;
}

int store_tag_remove(const struct store *st, const char *name, const char *tag,
		     struct err *e)
{
	struct buf dir = BUF_INIT, gone = BUF_INIT, parent = BUF_INIT;
	unsigned char rnd[8];
	int r = -1;

	if (buf_addf(&parent, "%s/repositories/%s/_manifests/tags", st->root,
		     name) < 0 ||
	    buf_addf(&dir, "%s/%s", parent.s, tag) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		err_set(e, ERR_INTERNAL, "random number generator failed");
		goto out;
	}
	if (buf_addf(&gone, "%s/.deleted-%s-%02x%02x%02x%02x%02x%02x%02x%02x",
		     parent.s, tag, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
		     rnd[5], rnd[6], rnd[7]) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (rename(dir.s, gone.s) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			err_set(e, ERR_MANIFEST_UNKNOWN, "manifest unknown");
		else
			err_sys(e, "rename %s", dir.s);
		goto out;
	}
	if (store_fsync_dir(parent.s, e) < 0)
		goto out;
	/* The tag is gone once renamed; what is left is only space. */
	store_remove_tree(gone.s, e);
	r = 0;
out:
	buf_free(&dir);
	buf_free(&gone);
	buf_free(&parent);
	return r;
}

int store_tag_get(const struct store *st, const char *name, const char *tag,
		  struct digest *d, struct err *e)
{
	struct buf p = BUF_INIT;
	int r;

	if (buf_addf(&p, "%s/repositories/%s/_manifests/tags/%s/current/link",
		     st->root, name, tag) < 0)
		return err_sys(e, "out of memory");
	r = link_read(p.s, d);
	buf_free(&p);
	if (r < 0)
		return err_set(e, ERR_MANIFEST_UNKNOWN, "manifest unknown");
	return 0;
}

/* Writes a tag's index and current links under base/<tag>. */
static int write_tag_links(const char *base, const char *tag,
			   const struct digest *d, struct err *e)
{
	struct buf dir = BUF_INIT;
	int r = -1;

	/* The index entry first: Distribution's GC and tag history read it,
	 * and a tag must never point at something its index lacks. */
	if (buf_addf(&dir, "%s/%s/index/%s/%s", base, tag,
		     digest_alg_name(d->alg), d->hex) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (write_link(dir.s, d, e) < 0)
		goto out;
	buf_reset(&dir);
	if (buf_addf(&dir, "%s/%s/current", base, tag) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	r = write_link(dir.s, d, e);
out:
	buf_free(&dir);
	return r;
}

int store_tag_set(const struct store *st, const char *name, const char *tag,
		  const struct digest *d, struct err *e)
{
	struct buf tags = BUF_INIT, tmp = BUF_INIT, dst = BUF_INIT;
	struct err ignore = ERR_INIT;
	struct stat sb;
	int r = -1;

	if (buf_addf(&tags, "%s/repositories/%s/_manifests/tags", st->root, name) < 0 ||
	    buf_addf(&dst, "%s/%s", tags.s, tag) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (stat(dst.s, &sb) == 0) {
		r = write_tag_links(tags.s, tag, d, e);
		goto out;
	}
	/* A new tag appears whole: built under a temp name, then renamed
	 * into place, so a listing never meets a tag without its current
	 * link. Losing the race to a concurrent creator just means writing
	 * into the tag it made. */
	if (store_mkdirs(tags.s, e) < 0 ||
	    buf_addf(&tmp, "%s/.tmp-tag-XXXXXX", tags.s) < 0) {
		if (!e->code)
			err_sys(e, "out of memory");
		goto out;
	}
	if (!mkdtemp(tmp.s)) {
		err_sys(e, "mkdtemp in %s", tags.s);
		goto out;
	}
	{
		char *leaf = strrchr(tmp.s, '/') + 1;
		*(leaf - 1) = 0;
		r = write_tag_links(tmp.s, leaf, d, e);
		*(leaf - 1) = '/';
	}
	if (r < 0)
		goto cleanup;
	if (rename(tmp.s, dst.s) == 0) {
		r = store_fsync_dir(tags.s, e);
		goto out;
	}
	if (errno != EEXIST && errno != ENOTEMPTY) {
		r = err_sys(e, "rename %s", dst.s);
		goto cleanup;
	}
	r = write_tag_links(tags.s, tag, d, e);
cleanup:
	store_remove_tree(tmp.s, &ignore);
out:
	buf_free(&tags);
	buf_free(&tmp);
	buf_free(&dst);
	return r;
}

int store_repo_exists(const struct store *st, const char *name)
{
	struct buf p = BUF_INIT;
	struct stat sb;
	int ok = 0;

	if (buf_addf(&p, "%s/repositories/%s/_manifests", st->root, name) == 0 &&
	    stat(p.s, &sb) == 0 && S_ISDIR(sb.st_mode))
		ok = 1;
	buf_reset(&p);
	if (!ok && buf_addf(&p, "%s/repositories/%s/_layers", st->root, name) == 0 &&
	    stat(p.s, &sb) == 0 && S_ISDIR(sb.st_mode))
		ok = 1;
	buf_free(&p);
	return ok;
}

void store_list_free(struct store_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}

int store_list_add(struct store_list *l, const char *s)
{
	char *c;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		char **p = realloc(l->items, cap * sizeof(*p));
		if (!p)
			return -1;
		l->items = p;
		l->cap = cap;
	}
	c = strdup(s);
	if (!c)
		return -1;
	l->items[l->n++] = c;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void store_list_sort(struct store_list *l)
{
	/* qsort's pointer must not be NULL, even for no items. */
	if (l->n > 1)
		qsort(l->items, l->n, sizeof(char *), cmp_str);
}

int store_tags(const struct store *st, const char *name,
	       struct store_list *out, struct err *e)
{
	struct buf p = BUF_INIT;
	struct dirent *de;
	DIR *d;
	int r = -1;

	if (buf_addf(&p, "%s/repositories/%s/_manifests/tags", st->root, name) < 0)
		return err_sys(e, "out of memory");
	d = opendir(p.s);
	if (!d) {
		if (errno != ENOENT && errno != ENOTDIR) {
			err_sys(e, "opendir %s", p.s);
		} else if (store_repo_exists(st, name)) {
			r = 0;
		} else {
			err_set(e, ERR_NAME_UNKNOWN,
				"repository name not known to registry");
		}
		buf_free(&p);
		return r;
	}
	/* Berth creates a tag directory whole (see store_tag_set), so the
	 * directory is the tag, as registry:2 also reads it: one readdir,
	 * no stat per tag. */
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		if (store_list_add(out, de->d_name) < 0) {
			err_sys(e, "out of memory");
			goto out;
		}
	}
	store_list_sort(out);
	r = 0;
out:
	closedir(d);
	buf_free(&p);
	return r;
}

/* Walks repositories/<rel>; see store_walk_repos(). */
static int walk_repos(const struct store *st, struct buf *rel, int depth,
		      int (*fn)(void *, const char *), void *ctx, struct err *e)
{
	struct buf p = BUF_INIT;
	struct dirent *de;
	size_t keep = rel->len;
	int is_repo = 0, r = 0;
	DIR *d;

	if (depth > 128)
		return 0;
	if (buf_addf(&p, "%s/repositories%s%s", st->root, rel->len ? "/" : "",
		     rel->s) < 0)
		return err_sys(e, "out of memory");
	d = opendir(p.s);
	buf_free(&p);
	if (!d)
		return 0;
	while (r == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_name[0] == '_') {
			if (!strcmp(de->d_name, "_manifests") ||
			    !strcmp(de->d_name, "_layers") ||
			    !strcmp(de->d_name, "_uploads"))
				is_repo = 1;
			continue;
		}
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if ((rel->len && buf_addch(rel, '/') < 0) ||
		    buf_adds(rel, de->d_name) < 0) {
			r = err_sys(e, "out of memory");
			break;
		}
		r = walk_repos(st, rel, depth + 1, fn, ctx, e);
		buf_truncate(rel, keep);
	}
	closedir(d);
	if (r == 0 && is_repo && rel->len)
		r = fn(ctx, rel->s);
	return r;
}

int store_walk_repos(const struct store *st,
		     int (*fn)(void *ctx, const char *name), void *ctx,
		     struct err *e)
{
	struct buf rel = BUF_INIT;
	int r = walk_repos(st, &rel, 0, fn, ctx, e);

	buf_free(&rel);
	return r;
}

int store_links(const struct store *st, const char *name,
		enum store_link_kind kind, struct store_list *out,
		struct err *e)
{
	static const char *algs[] = { "sha256", "sha512" };
	struct buf p = BUF_INIT;
	size_t i;
	int r = 0;

	for (i = 0; i < 2 && r == 0; i++) {
		struct dirent *de;
		DIR *d;

		buf_reset(&p);
		if (buf_addf(&p, "%s/repositories/%s/%s/%s", st->root, name,
			     kind == STORE_LAYER ? "_layers" : "_manifests/revisions",
			     algs[i]) < 0)
			return err_sys(e, "out of memory");
		d = opendir(p.s);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			struct buf s = BUF_INIT;
			struct digest dg;
			struct err ignore = ERR_INIT;
			struct stat sb;

			if (de->d_name[0] == '.')
				continue;
			if (buf_addf(&s, "%s/link", de->d_name) < 0 ||
			    fstatat(dirfd(d), s.s, &sb, 0) < 0) {
				buf_free(&s);
				continue;
			}
			buf_reset(&s);
			if (buf_addf(&s, "%s:%s", algs[i], de->d_name) == 0 &&
			    digest_parse(s.s, &dg, &ignore) == 0 &&
			    store_list_add(out, s.s) < 0)
				r = err_sys(e, "out of memory");
			buf_free(&s);
		}
		closedir(d);
	}
	buf_free(&p);
	return r;
}
