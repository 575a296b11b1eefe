/*
 * fsck: a full read of the store; see fsck.h. Blobs are hashed with the
 * same streaming hasher as uploads, 1 MiB at a time (fsutil).
 */
#include "fsck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "refs.h"
#include "walk.h"
#include "banned.h"

struct ck {
	const struct store *st;
	int repair;
	void (*say)(void *, const char *);
	void *ctx;
	struct fsck_stats *s;
	struct err *e;
};

static void say(struct ck *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(struct ck *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vsay(c->say, c->ctx, fmt, ap);
	va_end(ap);
}

/* Something could not be read: a problem, never a reason to repair. */
static void unreadable(struct ck *c, const char *what, const struct err *e)
{
	say(c, "%s cannot be read (%s): left as it is",
	    what, e->detail[0] ? e->detail : e->msg);
	c->s->problems++;
}

static int ck_fail(void *ctx, const struct err *e)
{
	unreadable(ctx, "an item of the store", e);
	return 0;
}

static void repaired(struct ck *c, int r, const char *how)
{
	struct err *e = c->e;

	if (r < 0)
		say(c, "  could not repair (%s): %s", how, e->detail[0] ? e->detail : e->msg);
	else {
		say(c, "  %s", how);
		c->s->repaired++;
	}
}

static int check_blob(void *ctx, const struct digest *want, const char *stray)
{
	struct ck *c = ctx;
	struct digest got;
	struct err e = ERR_INIT;
	struct buf where = BUF_INIT;
	char ds[DIGEST_STR_MAX];
	int r;

	c->s->blobs++;
	if (!want) {
		say(c, "stray entry in blobs: %s", stray);
		c->s->problems++;
		return 0;
	}
	digest_format(want, ds);
	r = store_blob_hash(c->st, want, &got, &e);
	if (r < 0) {
		char what[DIGEST_STR_MAX + 8];
		snprintf(what, sizeof(what), "blob %s", ds);
		unreadable(c, what, &e);
		return 0;
	}
	/* r == 0: a directory without data, left by a write that died or
	 * being filled now; nothing links to it that a link check misses. */
	if (r == 0 || digest_equal(&got, want))
		return 0;
	say(c, "blob %s: content does not match its digest", ds);
	c->s->problems++;
	if (c->repair) {
		r = store_blob_quarantine(c->st, want, &where, c->e);
		if (r == 0) {
			say(c, "  quarantined in %s", where.s);
			c->s->repaired++;
		} else {
			repaired(c, r, "quarantine");
		}
	}
	buf_free(&where);
	return 0;
}

/* The repository must link what manifest m references. */
static void check_refs(struct ck *c, const char *repo, const char *ds,
		       enum store_link_kind kind, const struct refs_desc *d,
		       const char *what)
{
	char rs[DIGEST_STR_MAX];
	struct err e = ERR_INIT;
	int r;

	if (d->foreign && kind == STORE_LAYER)
		return;
	digest_format(&d->digest, rs);
	r = store_link_exists(c->st, repo, kind, &d->digest, &e);
	if (r > 0)
		return;
	if (r < 0) {
		char w[512];
		snprintf(w, sizeof(w), "%s %s of manifest %s@%s", what, rs, repo, ds);
		unreadable(c, w, &e);
		return;
	}
	say(c, "manifest %s@%s: %s %s missing from the repository", repo, ds, what, rs);
	c->s->problems++;
}

static void check_manifest(struct ck *c, const char *repo, const struct digest *d)
{
	char ds[DIGEST_STR_MAX];
	struct err e = ERR_INIT;
	struct refs m;
	size_t i;
	int r;

	digest_format(d, ds);
	c->s->manifests++;
	r = refs_read(c->st, d, &m, &e);
	if (r <= 0) {
		if (r < 0) {
			char w[512];
			snprintf(w, sizeof(w), "manifest %s@%s", repo, ds);
			unreadable(c, w, &e);
		}
		return; /* absent: reported as a dangling link */
	}
	if (m.has_config)
		check_refs(c, repo, ds, STORE_LAYER, &m.config, "config");
	for (i = 0; i < m.nlayers; i++)
		check_refs(c, repo, ds, STORE_LAYER, &m.layers[i], "layer");
	for (i = 0; i < m.nchildren; i++)
		check_refs(c, repo, ds, STORE_REVISION, &m.children[i], "child manifest");
	refs_free(&m);
}

static int check_tag(void *ctx, const char *repo, const char *tag,
		     const struct digest *d)
{
	struct ck *c = ctx;
	struct err e = ERR_INIT;
	char ds[DIGEST_STR_MAX];
	int r;

	c->s->links++;
	if (!d) {
		/* Left by an interrupted delete of another registry: a tag
		 * with nothing to point at. */
		say(c, "tag %s:%s has no current link", repo, tag);
		c->s->problems++;
		if (c->repair)
			repaired(c, store_tag_remove(c->st, repo, tag, NULL, c->e) < 0 ? -1 : 0,
				 "removed the tag");
		return 0;
	}
	digest_format(d, ds);
	r = store_blob_stat(c->st, d, NULL, &e);
	if (r < 0) {
		char w[512];
		snprintf(w, sizeof(w), "manifest %s of tag %s:%s", ds, repo, tag);
		unreadable(c, w, &e);
		return 0;
	}
	if (r == 0) {
		say(c, "tag %s:%s points at a missing blob %s", repo, tag, ds);
		c->s->problems++;
		if (c->repair)
			repaired(c, store_tag_remove(c->st, repo, tag, NULL, c->e) < 0 ? -1 : 0,
				 "removed the tag");
		return 0;
	}
	r = store_link_exists(c->st, repo, STORE_REVISION, d, &e);
	if (r < 0) {
		char w[512];
		snprintf(w, sizeof(w), "revision link %s of tag %s:%s", ds, repo, tag);
		unreadable(c, w, &e);
	} else if (r == 0) {
		say(c, "tag %s:%s points at %s, which the repository does not link",
		    repo, tag, ds);
		c->s->problems++;
		if (c->repair)
			repaired(c, store_link_add(c->st, repo, STORE_REVISION, d, c->e),
				 "linked the manifest again");
	}
	return 0;
}

static int check_link(void *ctx, const char *repo, enum store_link_kind kind,
		      const struct digest *d)
{
	struct ck *c = ctx;
	struct err e = ERR_INIT;
	char ds[DIGEST_STR_MAX], w[512];
	const char *what = kind == STORE_LAYER ? "layer" : "manifest";
	int r;

	c->s->links++;
	digest_format(d, ds);
	snprintf(w, sizeof(w), "%s link %s@%s", what, repo, ds);
	r = store_link_exists(c->st, repo, kind, d, &e);
	if (r < 0) {
		unreadable(c, w, &e);
		return 0;
	}
	if (r > 0) {
		if (kind == STORE_REVISION)
			check_manifest(c, repo, d);
		return 0;
	}
	/* Absent: the link went meanwhile, or its blob is missing. Only
	 * the second is repaired, and only once known for sure. */
	r = store_blob_stat(c->st, d, NULL, &e);
	if (r < 0) {
		unreadable(c, w, &e);
		return 0;
	}
	if (r > 0)
		return 0;
	say(c, "%s points at a missing blob", w);
	c->s->problems++;
	if (c->repair)
		repaired(c, store_link_remove(c->st, repo, kind, d, c->e) < 0 ? -1 : 0,
			 "removed the link");
	return 0;
}

int fsck_run(const struct store *st, int repair,
	     void (*sayfn)(void *ctx, const char *line), void *ctx,
	     struct fsck_stats *stats, struct err *e)
{
	struct ck c = { st, repair, sayfn, ctx, stats, e };
	struct walk_ops ops = { &c, NULL, check_tag, check_link, ck_fail };
	struct err be = ERR_INIT;

	memset(stats, 0, sizeof(*stats));
	if (store_each_blob(st, check_blob, &c, &be) < 0)
		unreadable(&c, "the blob store", &be);
	if (walk_repos(st, &ops, e) < 0)
		return -1;
	if (repair && catalog_rebuild(st, e) < 0)
		return -1;
	return 0;
}
