/*
 * store_put: a manifest PUT's writes (the manifest blob, the revision
 * link, the tag's index and current links) in four steps, each made
 * durable as a whole before the next begins, instead of one fsync after
 * another:
 *
 *   1. bytes: the manifest in a temp file (_berth/tmp), each link in a
 *      temp file beside its final name, every new directory; fsync of each
 *      temp file and of each directory that gained an entry.
 *   2. the blob: link() of the bytes to blobs/.../data; fsync of its
 *      directory.
 *   3. the revision link and the tag's index link renamed into place, and
 *      for a new tag its whole directory built under a temp name; fsync of
 *      their directories and files.
 *   4. the tag: current/link renamed into place, or the new tag's
 *      directory renamed into tags/; fsync of that directory.
 *
 * The order is the store's rule (store.h): bytes before the blob's name,
 * the blob before the revision link, the revision before the tag. Within a
 * step nothing depends on anything else, so its fsyncs go out together
 * (fsbatch.h). A crash between steps leaves what a crash between the
 * fsyncs of store_blob_put(), store_link_add() and store_tag_set() left:
 * stray ".tmp-*" files (swept by gc), empty directories, or everything
 * done up to a step, never a name before what it names is durable.
 *
 * An upload's blob (store_upload_put) takes three of those steps: the
 * data file, the blob's new directory and the layer link in a temp file
 * (1), the blob (2), the layer link renamed into place (3); where the
 * blob is already there its data is not even synced.
 *
 * Races are resolved as those functions resolve them, by doing the step
 * again their way: when a rename meets a directory that a garbage
 * collection moved aside for a moment, or a tag that another PUT created
 * or a DELETE removed meanwhile, the rest is done by store_blob_link(),
 * store_link_add() or store_tag_set().
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsbatch.h"
#include "fsutil.h"
#include "banned.h"

struct put {
	const struct store *st;
	const char *name, *tag;
	const struct digest *d;
	enum store_link_kind kind;      /* what rdir links: revision or layer */
	int src_fd;                     /* an upload's data file, or -1 */
	char link[DIGEST_STR_MAX]; /* a link file's content */
	struct fs_batch b;
	struct buf btmp, bdir, bdata;   /* the blob */
	struct buf rdir, rtmp;          /* the revision (or layer) link */
	struct buf tags, tdir;          /* tags/ and tags/<tag> */
	struct buf idir, itmp;          /* the tag's index link */
	struct buf cdir, ctmp;          /* the tag's current link */
	struct buf newtag;              /* a new tag's temp directory */
	int have_blob, have_rev, tag_there, have_index, have_current;
};

/* 1 when dir/link already names d and was touched (a running gc must see
 * it in use), 0 when it must be written, -1. */
static int same_link(const char *dir, const struct digest *d, struct err *e)
{
	struct err ie = ERR_INIT;
	struct buf p = BUF_INIT;
	int r = 0;

	/* A link that cannot be read is simply replaced. */
	if (store_link_is(dir, d, &ie) > 0) {
		if (buf_addf(&p, "%s/link", dir) < 0)
			return err_sys(e, "out of memory");
		r = fs_touch(p.s, e);
		buf_free(&p);
	}
	return r;
}

/* Step 0: what is there already. */
static int look(struct put *p, struct err *e)
{
	int r;

	p->have_blob = store_blob_touch(p->st, p->d, e);
	if (p->have_blob < 0 ||
	    store_link_dir(p->st, p->name, p->kind, p->d, &p->rdir, e) < 0)
		return -1;
	p->have_rev = same_link(p->rdir.s, p->d, e);
	if (p->have_rev < 0)
		return -1;
	if (!p->tag)
		return 0;
	if (store_tags_dir(p->st, p->name, &p->tags, e) < 0)
		return -1;
	if (buf_addf(&p->tdir, "%s/%s", p->tags.s, p->tag) < 0 ||
	    buf_addf(&p->cdir, "%s/current", p->tdir.s) < 0)
		return err_sys(e, "out of memory");
	r = fs_stat_dir(p->tdir.s, NULL, e);
	if (r < 0)
		return -1;
	p->tag_there = r;
	if (!r)
		return 0;
	if (buf_addf(&p->idir, "%s/index/%s/%s", p->tdir.s,
		     digest_alg_name(p->d->alg), p->d->hex) < 0)
		return err_sys(e, "out of memory");
	/* The index entry first: a tag never points at what its index
	 * lacks (Distribution's GC and the tag history read it). */
	p->have_index = same_link(p->idir.s, p->d, e);
	if (p->have_index < 0)
		return -1;
	p->have_current = p->have_index ? same_link(p->cdir.s, p->d, e) : 0;
	return p->have_current < 0 ? -1 : 0;
}

/* A link file written whole under its final name inside a directory no
 * reader sees yet (a new tag's temp directory). */
static int link_in_new(struct put *p, const char *dir, struct err *e)
{
	struct buf tmp = BUF_INIT, dst = BUF_INIT;
	int r = -1, dt = 0;

	if (fs_mkdirs_into(dir, &p->b, e) < 0 ||
	    fs_write_temp_into(dir, "link", p->link, strlen(p->link), &p->b, &tmp, e) < 0)
		goto out;
	if (buf_addf(&dst, "%s/link", dir) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	while (rename(tmp.s, dst.s) < 0) {
		if (fsretry_denied(&dt, dst.s))
			continue;
		err_sys(e, "rename %s", dst.s);
		goto out;
	}
	r = fs_batch_add(&p->b, dir, e);
out:
	buf_free(&tmp);
	buf_free(&dst);
	return r;
}

/* The blob's bytes under a name of their own, into the batch: the
 * upload's data file as it is (btmp then names the caller's file), or
 * body in a temp file in _berth/tmp/. */
static int blob_source(struct put *p, const void *body, size_t len,
		       struct err *e)
{
	struct buf tmpdir = BUF_INIT;
	int fd, r = -1;

	if (p->src_fd >= 0) {
		fd = dup(p->src_fd);
		if (fd < 0)
			return err_sys(e, "dup %s", p->btmp.s);
		return fs_batch_add_fd(&p->b, fd, p->btmp.s, e);
	}
	if (store_berth_path(p->st, "tmp", &tmpdir, e) == 0 &&
	    fs_mkdirs_into(tmpdir.s, &p->b, e) == 0 &&
	    fs_write_temp_into(tmpdir.s, "blob", body, len, &p->b, &p->btmp, e) == 0)
		r = 0;
	buf_free(&tmpdir);
	return r;
}

/* Step 1: every byte, in temp names. */
static int write_bytes(struct put *p, const void *body, size_t len,
		       struct err *e)
{
	int r = -1;

	if (!p->have_blob &&
	    (blob_source(p, body, len, e) < 0 ||
	     store_blob_dir(p->st, p->d, &p->bdir, e) < 0 ||
	     store_blob_data(p->st, p->d, &p->bdata, e) < 0 ||
	     fs_mkdirs_into(p->bdir.s, &p->b, e) < 0))
		goto out;
	if (!p->have_rev &&
	    (fs_mkdirs_into(p->rdir.s, &p->b, e) < 0 ||
	     fs_write_temp_into(p->rdir.s, "link", p->link, strlen(p->link), &p->b,
				&p->rtmp, e) < 0))
		goto out;
	if (p->tag && p->tag_there) {
		if (!p->have_index &&
		    (fs_mkdirs_into(p->idir.s, &p->b, e) < 0 ||
		     fs_write_temp_into(p->idir.s, "link", p->link, strlen(p->link),
					&p->b, &p->itmp, e) < 0))
			goto out;
		if (!p->have_current &&
		    (fs_mkdirs_into(p->cdir.s, &p->b, e) < 0 ||
		     fs_write_temp_into(p->cdir.s, "link", p->link, strlen(p->link),
					&p->b, &p->ctmp, e) < 0))
			goto out;
	}
	r = fs_batch_sync(&p->b, e);
out:
	return r;
}

/* Renames the temp file tmp to dir/link and puts dir in the batch. 0,
 * 1 when the temp file or the directory vanished (moved aside by gc, or
 * the tag removed), so the step must be done the slow way, -1. */
static int rename_link(struct put *p, struct buf *tmp, const char *dir,
		       struct err *e)
{
	struct buf dst = BUF_INIT;
	int r, dt = 0;

	if (buf_addf(&dst, "%s/link", dir) < 0)
		return err_sys(e, "out of memory");
	while ((r = rename(tmp->s, dst.s)) < 0 && fsretry_rename(&dt, dst.s))
		;
	if (r < 0)
		r = errno == ENOENT ? 1 : err_sys(e, "rename %s", dst.s);
	else
		r = fs_batch_add(&p->b, dir, e);
	if (r != 0)
		unlink(tmp->s);
	buf_reset(tmp); /* renamed or gone: nothing to clean up */
	buf_free(&dst);
	return r;
}

/* Step 2: the blob. */
static int name_blob(struct put *p, struct err *e)
{
	int t, l, dt = 0;

	if (p->have_blob)
		return 0;
	while ((l = link(p->btmp.s, p->bdata.s)) < 0 && errno != EEXIST &&
	       fsretry_denied(&dt, p->bdata.s))
		;
	if (l == 0 || errno == EEXIST) {
		/* An existing blob is never replaced, only touched. */
		t = fs_touch(p->bdata.s, e);
		if (t < 0)
			return -1;
		/* The blob is not referenced by a revision link yet, so a
		 * gc sweeping now moves its directory aside to look at its
		 * time, also between the touch and the open of the directory
		 * for its fsync (ENOENT): a 500 seen once in gc-asan. */
		if (t > 0) {
			if (fs_batch_add(&p->b, p->bdir.s, e) == 0)
				return fs_batch_sync(&p->b, e);
			if (errno != ENOENT)
				return -1;
		}
	} else if (errno != ENOENT) {
		return err_sys(e, "link %s", p->bdata.s);
	}
	/* The directory was moved aside by a gc looking at its time. */
	return store_blob_link(p->st, p->d, p->btmp.s, e);
}

/* A new tag appears whole: built under a temp name and renamed into place
 * in step 4, so a listing never meets a tag without its current link. It
 * is built in step 3, once the manifest's blob and revision link are
 * there, so not even a temp tag names what does not exist yet (a crash
 * leaves at worst a complete `.tmp-tag-*`, swept by gc). */
static int build_new_tag(struct put *p, struct err *e)
{
	struct buf sub = BUF_INIT;
	int r = -1;

	if (fs_mkdirs_into(p->tags.s, &p->b, e) < 0)
		goto out;
	if (buf_addf(&p->newtag, "%s/.tmp-tag-XXXXXX", p->tags.s) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (!mkdtemp(p->newtag.s)) {
		err_sys(e, "mkdtemp in %s", p->tags.s);
		buf_reset(&p->newtag);
		goto out;
	}
	if (buf_addf(&sub, "%s/index/%s/%s", p->newtag.s,
		     digest_alg_name(p->d->alg), p->d->hex) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (link_in_new(p, sub.s, e) < 0)
		goto out;
	buf_reset(&sub);
	if (buf_addf(&sub, "%s/current", p->newtag.s) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	r = link_in_new(p, sub.s, e);
out:
	buf_free(&sub);
	return r;
}

/* Steps 3 and 4: the links. */
static int name_links(struct put *p, struct err *e)
{
	int slow_rev = 0, slow_tag = 0, r;

	if (!p->have_rev) {
		r = rename_link(p, &p->rtmp, p->rdir.s, e);
		if (r < 0)
			return -1;
		slow_rev = r;
	}
	if (p->tag && p->tag_there && !p->have_index) {
		r = rename_link(p, &p->itmp, p->idir.s, e);
		if (r < 0)
			return -1;
		slow_tag = r;
	}
	if (slow_rev && (fs_batch_sync(&p->b, e) < 0 ||
			 store_link_add(p->st, p->name, p->kind, p->d, e) < 0))
		return -1;
	if (p->tag && !p->tag_there && build_new_tag(p, e) < 0)
		return -1;
	if (fs_batch_sync(&p->b, e) < 0)
		return -1;
	if (!p->tag)
		return 0;
	if (p->tag_there) {
		if (!slow_tag && !p->have_current) {
			r = rename_link(p, &p->ctmp, p->cdir.s, e);
			if (r < 0)
				return -1;
			slow_tag = r;
		}
	} else if (rename(p->newtag.s, p->tdir.s) == 0) {
		buf_reset(&p->newtag);
		if (fs_batch_add(&p->b, p->tags.s, e) < 0)
			return -1;
	} else if (errno == EEXIST || errno == ENOTEMPTY || errno == ENOENT) {
		slow_tag = 1; /* created (or its parent removed) meanwhile */
	} else {
		return err_sys(e, "rename %s", p->tdir.s);
	}
	if (fs_batch_sync(&p->b, e) < 0)
		return -1;
	return slow_tag ? store_tag_set(p->st, p->name, p->tag, p->d, e) : 0;
}

/* The steps in order, then the temp files and directories of ours that
 * were not renamed (an upload's data file is the caller's: kept). */
static int put_run(struct put *p, const void *body, size_t len,
		   struct err *e)
{
	struct buf *temps[] = { &p->rtmp, &p->itmp, &p->ctmp };
	struct buf *all[] = { &p->btmp, &p->bdir, &p->bdata, &p->rdir, &p->rtmp,
			      &p->tags, &p->tdir, &p->idir, &p->itmp, &p->cdir,
			      &p->ctmp, &p->newtag };
	struct err ie = ERR_INIT;
	size_t i;
	int r = -1;

	digest_format(p->d, p->link);
	if (look(p, e) == 0 && write_bytes(p, body, len, e) == 0 &&
	    name_blob(p, e) == 0 && name_links(p, e) == 0)
		r = 0;
	fs_batch_clear(&p->b);
	if (p->src_fd < 0 && p->btmp.len)
		unlink(p->btmp.s);
	for (i = 0; i < sizeof(temps) / sizeof(temps[0]); i++)
		if (temps[i]->len)
			unlink(temps[i]->s);
	if (p->newtag.len)
		fs_remove_tree(p->newtag.s, &ie);
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		buf_free(all[i]);
	return r;
}

static void put_init(struct put *p, const struct store *st, const char *name,
		     const struct digest *d, enum store_link_kind kind, int src_fd)
{
	memset(p, 0, sizeof(*p));
	p->st = st;
	p->name = name;
	p->d = d;
	p->kind = kind;
	p->src_fd = src_fd;
}

int store_manifest_put(const struct store *st, const char *name,
		       const struct digest *d, const void *body, size_t len,
		       const char *tag, struct err *e)
{
	struct put p;

	put_init(&p, st, name, d, STORE_REVISION, -1);
	p.tag = tag;
	return put_run(&p, body, len, e);
}

int store_upload_put(const struct store *st, const char *name,
		     const struct digest *d, const char *data, int fd,
		     struct err *e)
{
	struct put p;

	put_init(&p, st, name, d, STORE_LAYER, fd);
	if (buf_adds(&p.btmp, data) < 0)
		return err_sys(e, "out of memory");
	return put_run(&p, NULL, 0, e);
}
