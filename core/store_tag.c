/*
 * store_tag: the tags of store.h. A tag is a directory,
 * repositories/<name>/_manifests/tags/<tag>, holding current/link (what it
 * names) and index/<alg>/<hex>/link (every value it had). A new tag's
 * directory is built whole under a temp name and renamed into place, so a
 * listing never meets a tag without its current link; that rename is
 * also what makes store_tag_set_new() exclusive: rename() of a directory
 * onto an existing non-empty one fails on every host of a shared store,
 * so of two writers creating one tag exactly one wins.
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "fsretry.h"
#include "fsutil.h"
#include "snapshot.h"
#include "banned.h"

int store_tags_dir(const struct store *st, const char *name, struct buf *out,
		    struct err *e)
{
	return store_path(st, out, e, "repositories/%s/_manifests/tags", name);
}

/* What a conditional remove wants of the tag it moved aside: that it
 * still names d and was last written before `before`. */
static int still_old(const char *gone, const struct digest *d, time_t before,
		     struct err *e)
{
	struct buf p = BUF_INIT;
	struct digest cur;
	struct timespec mt;
	int r;

	if (buf_addf(&p, "%s/current/link", gone) < 0) {
		buf_free(&p);
		return err_sys(e, "out of memory");
	}
	r = store_link_read(p.s, &cur, e);
	if (r > 0)
		r = digest_equal(&cur, d) ? fs_stat_file(p.s, NULL, &mt, e) : 0;
	buf_free(&p);
	if (r <= 0)
		return r;
	return mt.tv_sec < before;
}

/* Removes tags/<tag>; with d, only while it names d and is older than
 * before (see store.h). */
static int tag_remove(const struct store *st, const char *name, const char *tag,
		      const struct digest *d, time_t before, struct digest *was,
		      struct err *e)
{
	struct buf dir = BUF_INIT, gone = BUF_INIT, parent = BUF_INIT;
	struct err ie = ERR_INIT;
	unsigned char rnd[8];
	int r = -1, ok;

	if (store_tags_dir(st, name, &parent, e) < 0)
		goto out;
	if (buf_addf(&dir, "%s/%s", parent.s, tag) < 0) {
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
		r = errno == ENOENT || errno == ENOTDIR ? 0 :
			err_sys(e, "rename %s", dir.s);
		goto out;
	}
	/* Moved aside, the tag is out of every writer's way: what it holds
	 * now is final. One that a push re-pointed or re-wrote just before
	 * goes back; if a push made a new tag meanwhile, that one stands. */
	if (d && (ok = still_old(gone.s, d, before, e)) <= 0) {
		if (ok == 0 && rename(gone.s, dir.s) < 0 &&
		    errno != EEXIST && errno != ENOTEMPTY) {
			err_sys(e, "rename %s back to %s", gone.s, dir.s);
			goto out;
		}
		if (ok < 0) {
			/* Unreadable: put back as it was, and say so. */
			rename(gone.s, dir.s);
			goto out;
		}
		fs_remove_tree(gone.s, &ie);
		r = 0;
		goto out;
	}
	if (was) {
		struct buf link = BUF_INIT;
		struct err le = ERR_INIT;

		was->alg = 0;
		if (buf_addf(&link, "%s/current/link", gone.s) == 0 &&
		    store_link_read(link.s, was, &le) <= 0)
			was->alg = 0;
		buf_free(&link);
	}
	if (fs_fsync_dir(parent.s, e) < 0)
		goto out;
	/* The tag is gone once renamed; what is left is only space, and
	 * `berth gc` sweeps a .deleted-* that this fails to remove. */
	fs_remove_tree(gone.s, &ie);
	r = 1;
out:
	buf_free(&dir);
	buf_free(&gone);
	buf_free(&parent);
	return r;
}

int store_tag_remove(const struct store *st, const char *name, const char *tag,
		     struct digest *was, struct err *e)
{
	return tag_remove(st, name, tag, NULL, 0, was, e);
}

int store_tag_remove_if(const struct store *st, const char *name,
			const char *tag, const struct digest *d, time_t before,
			struct err *e)
{
	return tag_remove(st, name, tag, d, before, NULL, e);
}

int store_tag_time(const struct store *st, const char *name, const char *tag,
		   time_t *when, struct err *e)
{
	struct buf p = BUF_INIT;
	struct timespec mt;
	int r = -1;

	if (store_path(st, &p, e, "repositories/%s/_manifests/tags/%s/current/link",
		       name, tag) == 0)
		r = fs_stat_file(p.s, NULL, &mt, e);
	if (r > 0)
		*when = mt.tv_sec;
	buf_free(&p);
	return r;
}

int store_tag_get(const struct store *st, const char *name, const char *tag,
		  struct digest *d, struct err *e)
{
	struct buf p = BUF_INIT;
	int r = -1;

	if (store_path(st, &p, e, "repositories/%s/_manifests/tags/%s/current/link",
		       name, tag) == 0)
		r = store_link_read(p.s, d, e);
	buf_free(&p);
	return r;
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
	if (store_link_write(dir.s, d, e) < 0)
		goto out;
	buf_reset(&dir);
	if (buf_addf(&dir, "%s/%s/current", base, tag) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	r = store_link_write(dir.s, d, e);
out:
	buf_free(&dir);
	return r;
}

/* In exclusive mode a tag that exists is left alone unless it already
 * names d: 1 it names d, 0 it names another manifest. */
static int tag_keep(const char *tags, const char *tag, const struct digest *d,
		    struct err *e)
{
	struct buf p = BUF_INIT;
	struct digest cur;
	int r;

	if (buf_addf(&p, "%s/%s/current/link", tags, tag) < 0) {
		buf_free(&p);
		return err_sys(e, "out of memory");
	}
	r = store_link_read(p.s, &cur, e);
	buf_free(&p);
	if (r < 0)
		return -1;
	/* A directory without its current link is no tag Berth made (a
	 * registry:2 delete leaves the index behind): it is written. */
	if (r == 0 || digest_equal(&cur, d))
		return write_tag_links(tags, tag, d, e) < 0 ? -1 : 1;
	return 0;
}

static int tag_set(const struct store *st, const char *name, const char *tag,
		   const struct digest *d, int exclusive, struct err *e)
{
	struct buf tags = BUF_INIT, tmp = BUF_INIT, dst = BUF_INIT;
	struct err ie = ERR_INIT;
	int r = -1, there, rr, dt = 0;

	if (store_tags_dir(st, name, &tags, e) < 0)
		goto out;
	if (buf_addf(&dst, "%s/%s", tags.s, tag) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	there = fs_stat_dir(dst.s, NULL, e);
	if (there < 0)
		goto out;
	if (there) {
		r = exclusive ? tag_keep(tags.s, tag, d, e) :
			write_tag_links(tags.s, tag, d, e);
		goto out;
	}
	/* A new tag appears whole: built under a temp name, then renamed
	 * into place, so a listing never meets a tag without its current
	 * link. Losing the race to a concurrent creator just means writing
	 * into the tag it made. */
	if (fs_mkdirs(tags.s, e) < 0)
		goto out;
	if (buf_addf(&tmp, "%s/.tmp-tag-XXXXXX", tags.s) < 0) {
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
	while ((rr = rename(tmp.s, dst.s)) < 0 && fsretry_denied(&dt, dst.s))
		;
	if (rr == 0) {
		r = fs_fsync_dir(tags.s, e) < 0 ? -1 : 1;
		goto out;
	}
	if (errno != EEXIST && errno != ENOTEMPTY) {
		r = err_sys(e, "rename %s", dst.s);
		goto cleanup;
	}
	r = exclusive ? tag_keep(tags.s, tag, d, e) :
		write_tag_links(tags.s, tag, d, e);
cleanup:
	/* Only a temp directory of ours; gc sweeps it if this fails. */
	fs_remove_tree(tmp.s, &ie);
out:
	buf_free(&tags);
	buf_free(&tmp);
	buf_free(&dst);
	return r;
}

int store_tag_set(const struct store *st, const char *name, const char *tag,
		  const struct digest *d, struct err *e)
{
	return tag_set(st, name, tag, d, 0, e) < 0 ? -1 : 0;
}

int store_tag_set_new(const struct store *st, const char *name,
		      const char *tag, const struct digest *d, struct err *e)
{
	return tag_set(st, name, tag, d, 1, e);
}

int store_tags(const struct store *st, const char *name, struct strlist *out,
	       struct err *e)
{
	struct buf p = BUF_INIT;
	int r = -1;

	if (store_tags_dir(st, name, &p, e) < 0)
		goto out;
	/* Berth creates a tag directory whole (see store_tag_set), so the
	 * directory is the tag, as registry:2 also reads it: one readdir,
	 * no stat per tag. */
	r = fs_list(p.s, FS_LIST_NODOT | FS_LIST_DIRS, out, e);
	if (r == 0)
		r = store_repo_exists(st, name, e);
	if (r > 0)
		strlist_sort(out);
out:
	buf_free(&p);
	return r;
}

static int list_tags(void *ctx, const char *dir, struct strlist *out,
		     struct err *e)
{
	(void)ctx;
	return fs_list(dir, FS_LIST_NODOT | FS_LIST_DIRS, out, e);
}

int store_tags_page(const struct store *st, const char *name, const char *last,
		    size_t n, struct strlist *out, int *more, struct err *e)
{
	struct buf dir = BUF_INIT, snap = BUF_INIT;
	const char *c;
	int r = -1;

	*more = 0;
	if (store_tags_dir(st, name, &dir, e) < 0 ||
	    store_berth_path(st, "tags/", &snap, e) < 0)
		goto out;
	/* One snapshot per repository, '/' written as '+' (which a
	 * repository name cannot hold), outside registry:2's tree. */
	for (c = name; *c; c++)
		if (buf_addch(&snap, *c == '/' ? '+' : *c) < 0) {
			err_sys(e, "out of memory");
			goto out;
		}
	r = snapshot_page(dir.s, snap.s, list_tags, NULL, last, n, out, more, e);
	if (r == 0)
		r = store_repo_exists(st, name, e);
out:
	buf_free(&dir);
	buf_free(&snap);
	return r;
}
