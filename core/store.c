/*
 * store: Distribution's filesystem layout with crash-safe writes; see
 * store.h for the layout, the durability contract and the three-way
 * answers. The walks over the layout (each repository, link, blob, upload,
 * referrer, leftover) are in store_walk.c, the tags in store_tag.c;
 * plain file operations are fsutil's.
 */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "fsprobe.h"
#include "fsretry.h"
#include "fsutil.h"
#include "banned.h"

#define LINK_MAX_BYTES 256

int store_path(const struct store *st, struct buf *out, struct err *e,
	       const char *fmt, ...)
{
	va_list ap;
	int r;

	buf_reset(out);
	if (!st || !st->root) {
		errno = 0;
		return err_sys(e, "the store was not opened");
	}
	if (buf_addf(out, "%s/", st->root) < 0)
		return err_sys(e, "out of memory");
	va_start(ap, fmt);
	r = buf_vaddf(out, fmt, ap);
	va_end(ap);
	return r < 0 ? err_sys(e, "out of memory") : 0;
}

const char *store_link_area(enum store_link_kind kind)
{
	return kind == STORE_LAYER ? "_layers" : "_manifests/revisions";
}

int store_open(struct store *st, const char *rootdirectory, struct err *e)
{
	struct buf b = BUF_INIT;

	st->root = st->rootdir = NULL;
	if (!rootdirectory || rootdirectory[0] != '/')
		return err_set(e, ERR_INTERNAL,
			       "storage root must be an absolute path");
	if (buf_addf(&b, "%s/docker/registry/v2", rootdirectory) < 0)
		return err_sys(e, "out of memory");
	if (fs_mkdirs(b.s, e) < 0) {
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

int store_check_fs(const struct store *st, char *type, size_t typelen,
		   struct err *e)
{
	struct buf dir = BUF_INIT;
	int r = -1;

	fsprobe_type(st->root, type, typelen);
	if (store_berth_path(st, "tmp", &dir, e) == 0 && fs_mkdirs(dir.s, e) == 0)
		r = fsprobe_run(dir.s, e);
	buf_free(&dir);
	return r;
}

void store_close(struct store *st)
{
	free(st->root);
	free(st->rootdir);
	st->root = st->rootdir = NULL;
}

int store_berth_path(const struct store *st, const char *sub, struct buf *out,
		     struct err *e)
{
	if (!*sub)
		return store_path(st, out, e, "_berth");
	return store_path(st, out, e, "_berth/%s", sub);
}

/* ---- blobs ---- */

int store_blob_dir(const struct store *st, const struct digest *d,
		    struct buf *out, struct err *e)
{
	return store_path(st, out, e, "blobs/%s/%.2s/%s",
			  digest_alg_name(d->alg), d->hex, d->hex);
}

int store_blob_data(const struct store *st, const struct digest *d,
		     struct buf *out, struct err *e)
{
	return store_path(st, out, e, "blobs/%s/%.2s/%s/data",
			  digest_alg_name(d->alg), d->hex, d->hex);
}

int store_blob_path(const struct store *st, const struct digest *d,
		    enum store_path_base base, struct buf *out, struct err *e)
{
	if (store_blob_data(st, d, out, e) < 0)
		return -1;
	if (base == STORE_PATH_FROM_ROOTDIR) {
		size_t skip = strlen(st->rootdir);
		while (out->s[skip] == '/')
			skip++;
		memmove(out->s, out->s + skip, out->len - skip + 1);
		out->len -= skip;
	}
	return 0;
}

int store_blob_stat(const struct store *st, const struct digest *d,
		    off_t *size, struct err *e)
{
	struct buf p = BUF_INIT;
	int r = -1;

	if (store_blob_data(st, d, &p, e) == 0)
		r = fs_stat_file(p.s, size, NULL, e);
	buf_free(&p);
	return r;
}

int store_blob_read(const struct store *st, const struct digest *d,
		    size_t max, struct buf *out, struct err *e)
{
	struct buf p = BUF_INIT;
	int r = -1;

	if (store_blob_data(st, d, &p, e) == 0)
		r = fs_read_file(p.s, max, out, e);
	buf_free(&p);
	return r;
}

int store_blob_touch(const struct store *st, const struct digest *d,
		     struct err *e)
{
	struct buf p = BUF_INIT;
	int r = -1;

	if (store_blob_data(st, d, &p, e) == 0)
		r = fs_touch(p.s, e);
	buf_free(&p);
	return r;
}

/* Links src in as the blob's data: never replaces an existing blob, but
 * touches it, so a garbage collection running now keeps it. Should the
 * collector take the directory away between our mkdir, link() and touch,
 * make it and link again. */
int store_blob_link(const struct store *st, const struct digest *d,
		     const char *src, struct err *e)
{
	struct buf dst = BUF_INIT, dir = BUF_INIT;
	int r = -1, tries, t, dt = 0;

	if (store_blob_dir(st, d, &dir, e) < 0 || store_blob_data(st, d, &dst, e) < 0)
		goto out;
	for (tries = 0;; tries++) {
		if (fs_mkdirs(dir.s, e) < 0)
			goto out;
		if (link(src, dst.s) < 0 && errno != EEXIST) {
			if (errno == ENOENT && tries < 5)
				continue;
			if (fsretry_denied(&dt, dst.s))
				continue;
			err_sys(e, "link %s", dst.s);
			goto out;
		}
		t = fs_touch(dst.s, e);
		if (t < 0)
			goto out;
		/* The directory may be away for a moment: gc moves a blob
		 * aside to look at its time, and puts back one we touched. */
		if (t > 0 && fs_fsync_dir(dir.s, e) == 0)
			break;
		if ((t > 0 && errno != ENOENT) || tries >= 5) {
			if (t == 0) {
				errno = ENOENT;
				err_sys(e, "blob %s keeps vanishing", dst.s);
			}
			goto out;
		}
		usleep(1000u * (unsigned)(tries + 1));
	}
	r = 0;
out:
	buf_free(&dst);
	buf_free(&dir);
	return r;
}

int store_blob_put(const struct store *st, const struct digest *d,
		   const void *data, size_t len, struct err *e)
{
	struct buf dir = BUF_INIT, tmp = BUF_INIT;
	int r = -1, t;

	t = store_blob_touch(st, d, e);
	if (t != 0)
		return t > 0 ? 0 : -1;
	/* The bytes are written outside the blob's own directory, which a
	 * garbage collection may move aside while it is still empty; the
	 * link into it is retried (blob_link). */
	if (store_berth_path(st, "tmp", &dir, e) < 0 || fs_mkdirs(dir.s, e) < 0 ||
	    fs_write_temp(dir.s, "blob", data, len, FS_DURABLE, &tmp, e) < 0)
		goto out;
	r = store_blob_link(st, d, tmp.s, e);
	unlink(tmp.s);
out:
	buf_free(&dir);
	buf_free(&tmp);
	return r;
}

int store_blob_open(const struct store *st, const struct digest *d,
		    struct store_blob_file *f, struct err *e)
{
	struct buf p = BUF_INIT;
	struct stat sb;
	int r = -1, tries = 0;

	f->fd = -1;
	f->size = 0;
	if (store_blob_data(st, d, &p, e) < 0)
		goto out;
	while ((f->fd = open(p.s, O_RDONLY | O_CLOEXEC)) < 0) {
		if (fsretry_stale(&tries, p.s))
			continue;
		r = errno == ENOENT || errno == ENOTDIR ? 0 :
			err_sys(e, "open %s", p.s);
		goto out;
	}
	if (fsretry_fstat(f->fd, &sb) < 0) {
		err_sys(e, "stat %s", p.s);
		store_blob_file_close(f);
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
		err_sys(e, "open %s (not a regular file)", p.s);
		store_blob_file_close(f);
		goto out;
	}
	f->size = sb.st_size;
	r = 1;
out:
	buf_free(&p);
	return r;
}

long store_blob_pread(const struct store_blob_file *f, void *buf, size_t len,
		      off_t off, struct err *e)
{
	for (;;) {
		ssize_t n = pread(f->fd, buf, len, off);
		if (n >= 0)
			return (long)n;
		if (errno != EINTR)
			return err_sys(e, "read blob");
	}
}

void store_blob_file_close(struct store_blob_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

int store_blob_hash(const struct store *st, const struct digest *d,
		    struct digest *got, struct err *e)
{
	struct buf p = BUF_INIT;
	int r = -1;

	if (store_blob_data(st, d, &p, e) == 0)
		r = fs_hash_file(p.s, d->alg, got, e);
	buf_free(&p);
	return r;
}

int store_blob_quarantine(const struct store *st, const struct digest *d,
			  struct buf *where, struct err *e)
{
	struct buf q = BUF_INIT, from = BUF_INIT;
	int r = -1;

	if (store_berth_path(st, "quarantine", &q, e) < 0 ||
	    store_blob_dir(st, d, &from, e) < 0 || fs_mkdirs(q.s, e) < 0)
		goto out;
	buf_reset(where);
	if (buf_addf(where, "_berth/quarantine/%s-%s-%ld", digest_alg_name(d->alg),
		     d->hex, (long)time(NULL)) < 0 ||
	    buf_addf(&q, "/%s", where->s + strlen("_berth/quarantine/")) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (rename(from.s, q.s) < 0) {
		err_sys(e, "rename %s", from.s);
		goto out;
	}
	r = 0;
out:
	buf_free(&q);
	buf_free(&from);
	return r;
}

int store_blob_remove_idle(const struct store *st, const struct digest *d,
			   double grace, time_t now, int dry_run, struct err *e)
{
	struct buf dir = BUF_INIT;
	int r = -1;

	if (store_path(st, &dir, e, "blobs/%s/%.2s", digest_alg_name(d->alg),
		       d->hex) == 0)
		r = fs_remove_aside(dir.s, d->hex, "data", grace, now, dry_run, e);
	buf_free(&dir);
	return r;
}

/* ---- links ---- */

int store_link_dir(const struct store *st, const char *name,
		    enum store_link_kind kind, const struct digest *d,
		    struct buf *out, struct err *e)
{
	return store_path(st, out, e, "repositories/%s/%s/%s/%s", name,
			  store_link_area(kind), digest_alg_name(d->alg), d->hex);
}

/* Reads a link file: 1 with its digest in d, 0 absent, -1 unreadable or
 * damaged (its content is no digest). */
int store_link_read(const char *path, struct digest *d, struct err *e)
{
	struct buf b = BUF_INIT;
	struct err pe = ERR_INIT;
	int r, tries = 0;

again:
	buf_reset(&b);
	r = fs_read_file(path, LINK_MAX_BYTES, &b, e);
	if (r > 0) {
		while (b.len && (b.s[b.len - 1] == '\n' || b.s[b.len - 1] == ' '))
			buf_truncate(&b, b.len - 1);
		if (digest_parse(b.s ? b.s : "", d, &pe) < 0) {
			/* Berth writes a link whole and renames it into place,
			 * so it is never empty or half written on disk; a
			 * GlusterFS client that raced another host's rename
			 * can still hand back the replaced file's (now empty)
			 * inode for a moment. Read again, as fsretry.h does
			 * for ESTALE, before calling the link damaged. */
			if (tries < FSRETRY_STALE_TRIES) {
				if (tries)
					usleep(1000u << (tries - 1 < 8 ? tries - 1 : 8));
				tries++;
				goto again;
			}
			errno = 0;
			r = err_sys(e, "damaged link %s (no digest in it)", path);
		}
	} else if (r < 0 && e->code == ERR_TOO_LARGE) {
		errno = 0;
		r = err_sys(e, "damaged link %s (too large)", path);
	}
	buf_free(&b);
	return r;
}

/* The link at dir/link names d: 1, 0 absent, -1. */
int store_link_is(const char *dir, const struct digest *d, struct err *e)
{
	struct buf p = BUF_INIT;
	struct digest got;
	int r = -1;

	if (buf_addf(&p, "%s/link", dir) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	r = store_link_read(p.s, &got, e);
	if (r > 0 && !digest_equal(&got, d)) {
		errno = 0;
		r = err_sys(e, "damaged link %s (names another digest)", p.s);
	}
out:
	buf_free(&p);
	return r;
}

int store_link_blob(const struct store *st, const char *name,
		    enum store_link_kind kind, const struct digest *d,
		    off_t *size, struct err *e)
{
	struct buf dir = BUF_INIT;
	int r = -1;

	if (store_link_dir(st, name, kind, d, &dir, e) == 0) {
		r = store_link_is(dir.s, d, e);
		if (r > 0)
			r = store_blob_stat(st, d, size, e);
	}
	buf_free(&dir);
	return r;
}

int store_link_exists(const struct store *st, const char *name,
		      enum store_link_kind kind, const struct digest *d,
		      struct err *e)
{
	return store_link_blob(st, name, kind, d, NULL, e);
}

int store_link_write(const char *dir, const struct digest *d, struct err *e)
{
	char s[DIGEST_STR_MAX];
	struct buf p = BUF_INIT;
	struct err ie = ERR_INIT;
	int same = 0;

	digest_format(d, s);
	/* Rewriting an identical link would only cost an fsync; touching it
	 * tells a running `berth gc` it is in use. A link that cannot be
	 * read is simply replaced. */
	if (buf_addf(&p, "%s/link", dir) < 0)
		return err_sys(e, "out of memory");
	if (store_link_is(dir, d, &ie) > 0) {
		same = fs_touch(p.s, e);
		if (same < 0) {
			buf_free(&p);
			return -1;
		}
	}
	buf_free(&p);
	if (same)
		return 0;
	return fs_write_file(dir, "link", s, strlen(s), FS_DURABLE, e);
}

int store_link_touch(const struct store *st, const char *name,
		     enum store_link_kind kind, const struct digest *d,
		     struct err *e)
{
	struct buf p = BUF_INIT;
	int r = -1;

	if (store_link_dir(st, name, kind, d, &p, e) < 0)
		goto out;
	if (buf_adds(&p, "/link") < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (fs_touch(p.s, e) < 0 || store_blob_touch(st, d, e) < 0)
		goto out;
	r = store_link_exists(st, name, kind, d, e);
out:
	buf_free(&p);
	return r;
}

int store_link_add(const struct store *st, const char *name,
		   enum store_link_kind kind, const struct digest *d,
		   struct err *e)
{
	struct buf dir = BUF_INIT;
	int r = -1;

	if (store_link_dir(st, name, kind, d, &dir, e) == 0)
		r = store_link_write(dir.s, d, e);
	buf_free(&dir);
	return r;
}

int store_link_remove(const struct store *st, const char *name,
		      enum store_link_kind kind, const struct digest *d,
		      struct err *e)
{
	struct buf dir = BUF_INIT, p = BUF_INIT;
	int r = -1;

	if (store_link_dir(st, name, kind, d, &dir, e) < 0)
		goto out;
	if (buf_addf(&p, "%s/link", dir.s) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	r = fs_unlink(p.s, e);
	if (r <= 0)
		goto out;
	/* The empty directory is registry:2's leftover too; removing it
	 * keeps listings short. Someone re-linking meanwhile keeps it. */
	rmdir(dir.s);
	*strrchr(dir.s, '/') = 0;
	if (fs_fsync_dir(dir.s, e) < 0)
		r = -1;
out:
	buf_free(&dir);
	buf_free(&p);
	return r;
}

int store_link_recent(const struct store *st, const char *name,
		      enum store_link_kind kind, const struct digest *d,
		      double grace, time_t now)
{
	struct buf p = BUF_INIT;
	struct err e = ERR_INIT;
	int r = 1; /* what cannot be looked at is kept */

	if (store_link_dir(st, name, kind, d, &p, &e) == 0 && buf_adds(&p, "/link") == 0)
		r = fs_recent(p.s, grace, now);
	buf_free(&p);
	return r;
}

int store_link_remove_idle(const struct store *st, const char *name,
			   enum store_link_kind kind, const struct digest *d,
			   double grace, time_t now, int dry_run, struct err *e)
{
	struct buf dir = BUF_INIT;
	int r = -1;

	if (store_path(st, &dir, e, "repositories/%s/%s/%s", name,
		       store_link_area(kind), digest_alg_name(d->alg)) == 0)
		r = fs_remove_aside(dir.s, d->hex, "link", grace, now, dry_run, e);
	buf_free(&dir);
	return r;
}

/* ---- repositories ---- */

int store_repo_exists(const struct store *st, const char *name, struct err *e)
{
	struct buf p = BUF_INIT;
	int r = -1;

	if (store_path(st, &p, e, "repositories/%s/_manifests", name) < 0)
		goto out;
	r = fs_stat_dir(p.s, NULL, e);
	if (r != 0)
		goto out;
	if (store_path(st, &p, e, "repositories/%s/_layers", name) < 0) {
		r = -1;
		goto out;
	}
	r = fs_stat_dir(p.s, NULL, e);
out:
	buf_free(&p);
	return r;
}

static int found_one(void *ctx, const struct digest *d)
{
	(void)ctx;
	(void)d;
	return 1;
}

int store_repo_has_content(const struct store *st, const char *name,
			   struct err *e)
{
	struct strlist tags = STRLIST_INIT;
	int r = store_each_link(st, name, STORE_REVISION, found_one, NULL, e);

	if (r != 0)
		return r;
	r = store_tags(st, name, &tags, e);
	if (r > 0)
		r = tags.n > 0;
	strlist_free(&tags);
	return r;
}
