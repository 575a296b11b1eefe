/*
 * fsck: a full read of the store; see fsck.h. Blobs are hashed with the
 * same streaming hasher as uploads, 1 MiB at a time.
 */
#include "fsck.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "catalog.h"
#include "manifest.h"
#include "banned.h"

struct ck {
	const struct store *st;
	int repair;
	void (*say)(void *, const char *);
	void *ctx;
	struct fsck_stats *s;
	struct err *e;
	struct store_list repos;
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

static int hash_file(const char *path, enum digest_alg alg, struct digest *out)
{
	struct digest_hasher *h = digest_hasher_new(alg);
	struct err ignore = ERR_INIT;
	char *chunk = malloc(1 << 20);
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = -1;
	ssize_t n;

	if (!h || !chunk || fd < 0)
		goto out;
	while ((n = read(fd, chunk, 1 << 20)) > 0)
		digest_hasher_update(h, chunk, (size_t)n);
	if (n == 0)
		r = digest_hasher_final(h, alg, out, &ignore);
out:
	if (fd >= 0)
		close(fd);
	free(chunk);
	digest_hasher_free(h);
	return r;
}

static int quarantine(struct ck *c, const char *blobdir, const struct digest *d)
{
	struct buf q = BUF_INIT, to = BUF_INIT;
	int r = -1;

	if (buf_addf(&q, "%s/_berth/quarantine", c->st->root) < 0 ||
	    buf_addf(&to, "%s/%s-%s-%ld", q.s, digest_alg_name(d->alg), d->hex,
		     (long)time(NULL)) < 0) {
		err_sys(c->e, "out of memory");
		goto out;
	}
	if (store_mkdirs(q.s, c->e) < 0)
		goto out;
	if (rename(blobdir, to.s) < 0) {
		err_sys(c->e, "rename %s", blobdir);
		goto out;
	}
	say(c, "  quarantined in %s", to.s);
	r = 0;
out:
	buf_free(&q);
	buf_free(&to);
	return r;
}

static int check_blobs(struct ck *c)
{
	static const char *algs[] = { "sha256", "sha512" };
	size_t a;

	for (a = 0; a < 2; a++) {
		struct buf top = BUF_INIT;
		struct dirent *x, *h;
		DIR *dx, *dh;

		if (buf_addf(&top, "%s/blobs/%s", c->st->root, algs[a]) < 0)
			return err_sys(c->e, "out of memory");
		dx = opendir(top.s);
		while (dx && (x = readdir(dx))) {
			struct buf sub = BUF_INIT;
			if (x->d_name[0] == '.' || buf_addf(&sub, "%s/%s", top.s, x->d_name) < 0)
				continue;
			dh = opendir(sub.s);
			while (dh && (h = readdir(dh))) {
				struct buf ds = BUF_INIT, dir = BUF_INIT, data = BUF_INIT;
				struct digest want, got;
				struct err ignore = ERR_INIT;

				if (h->d_name[0] == '.')
					continue;
				c->s->blobs++;
				if (buf_addf(&ds, "%s:%s", algs[a], h->d_name) < 0 ||
				    buf_addf(&dir, "%s/%s", sub.s, h->d_name) < 0 ||
				    buf_addf(&data, "%s/data", dir.s) < 0)
					break;
				if (digest_parse(ds.s, &want, &ignore) < 0) {
					say(c, "stray directory in blobs: %s", dir.s);
					c->s->problems++;
				} else if (hash_file(data.s, want.alg, &got) < 0 ||
					   !digest_equal(&got, &want)) {
					say(c, "blob %s: content does not match its digest (or is unreadable)", ds.s);
					c->s->problems++;
					if (c->repair && quarantine(c, dir.s, &want) == 0)
						c->s->repaired++;
				}
				buf_free(&ds);
				buf_free(&dir);
				buf_free(&data);
			}
			if (dh)
				closedir(dh);
			buf_free(&sub);
		}
		if (dx)
			closedir(dx);
		buf_free(&top);
	}
	return 0;
}

static int check_manifest(struct ck *c, const char *repo, const struct digest *d)
{
	struct buf body = BUF_INIT;
	struct err ignore = ERR_INIT;
	char ds[DIGEST_STR_MAX];
	json_t *root, *x;
	size_t i;

	digest_format(d, ds);
	c->s->manifests++;
	if (store_blob_read(c->st, d, 64u << 20, &body, &ignore) < 0) {
		buf_free(&body);
		return 0; /* reported as a dangling link */
	}
	root = json_loadb(body.s, body.len, 0, NULL);
	buf_free(&body);
	if (!json_is_object(root)) {
		say(c, "manifest %s@%s does not parse", repo, ds);
		c->s->problems++;
		json_decref(root);
		return 0;
	}
#define REF(desc, kind, what) do { \
		struct digest rd; \
		const char *s_ = json_string_value(json_object_get(desc, "digest")); \
		json_t *u_ = json_object_get(desc, "urls"); \
		if (!s_ || digest_parse(s_, &rd, &ignore) < 0) { \
			say(c, "manifest %s@%s has a bad %s descriptor", repo, ds, what); \
			c->s->problems++; \
		} else if (!(json_is_array(u_) && json_array_size(u_)) && \
			   !store_link_exists(c->st, repo, kind, &rd)) { \
			say(c, "manifest %s@%s: %s %s missing from the repository", repo, ds, what, s_); \
			c->s->problems++; \
		} \
	} while (0)
	if ((x = json_object_get(root, "config")))
		REF(x, STORE_LAYER, "config");
	json_array_foreach(json_object_get(root, "layers"), i, x)
		REF(x, STORE_LAYER, "layer");
	json_array_foreach(json_object_get(root, "manifests"), i, x)
		REF(x, STORE_REVISION, "child manifest");
#undef REF
	json_decref(root);
	return 0;
}

/* A link's target must exist; repair removes a dangling one. */
static void dangling(struct ck *c, const char *what, const char *dir)
{
	struct err ignore = ERR_INIT;

	say(c, "%s points at a missing blob", what);
	c->s->problems++;
	if (c->repair && store_remove_tree(dir, &ignore) == 0) {
		say(c, "  removed %s", dir);
		c->s->repaired++;
	}
}

static int check_repo(struct ck *c, const char *repo)
{
	static const enum store_link_kind kinds[] = { STORE_LAYER, STORE_REVISION };
	struct store_list tags = { 0 };
	struct err ignore = ERR_INIT;
	size_t k, i;

	for (k = 0; k < 2; k++) {
		struct store_list links = { 0 };
		if (store_links(c->st, repo, kinds[k], &links, c->e) < 0)
			return -1;
		for (i = 0; i < links.n; i++) {
			struct digest d;
			struct buf what = BUF_INIT, dir = BUF_INIT;
			c->s->links++;
			if (digest_parse(links.items[i], &d, &ignore) < 0)
				continue;
			buf_addf(&what, "%s link %s@%s", k ? "manifest" : "layer",
				 repo, links.items[i]);
			buf_addf(&dir, "%s/repositories/%s/%s/%s/%s", c->st->root, repo,
				 k ? "_manifests/revisions" : "_layers",
				 digest_alg_name(d.alg), d.hex);
			if (store_blob_stat(c->st, &d, NULL, &ignore) < 0)
				dangling(c, what.s, dir.s);
			else if (k == 1)
				check_manifest(c, repo, &d);
			buf_free(&what);
			buf_free(&dir);
		}
		store_list_free(&links);
	}
	if (store_tags(c->st, repo, &tags, &ignore) == 0)
		for (i = 0; i < tags.n; i++) {
			struct digest d;
			struct buf what = BUF_INIT, dir = BUF_INIT;
			c->s->links++;
			buf_addf(&what, "tag %s:%s", repo, tags.items[i]);
			buf_addf(&dir, "%s/repositories/%s/_manifests/tags/%s",
				 c->st->root, repo, tags.items[i]);
			if (store_tag_get(c->st, repo, tags.items[i], &d, &ignore) < 0) {
				/* Left by an interrupted delete of another
				 * registry: a tag with nothing to point at. */
				say(c, "%s has no current link", what.s);
				c->s->problems++;
				if (c->repair && store_remove_tree(dir.s, &ignore) == 0) {
					say(c, "  removed %s", dir.s);
					c->s->repaired++;
				}
			} else if (store_blob_stat(c->st, &d, NULL, &ignore) < 0) {
				dangling(c, what.s, dir.s);
			}
			buf_free(&what);
			buf_free(&dir);
		}
	store_list_free(&tags);
	return 0;
}

static int list_repo(void *ctx, const char *name)
{
	struct ck *c = ctx;

	return store_list_add(&c->repos, name) < 0 ? err_sys(c->e, "out of memory") : 0;
}

int fsck_run(const struct store *st, int repair,
	     void (*sayfn)(void *ctx, const char *line), void *ctx,
	     struct fsck_stats *stats, struct err *e)
{
	struct ck c = { st, repair, sayfn, ctx, stats, e, { 0 } };
	size_t i;
	int r = -1;

	memset(stats, 0, sizeof(*stats));
	if (check_blobs(&c) < 0 || store_walk_repos(st, list_repo, &c, e) < 0)
		goto out;
	for (i = 0; i < c.repos.n; i++)
		if (check_repo(&c, c.repos.items[i]) < 0)
			goto out;
	if (repair && catalog_rebuild(st, e) < 0)
		goto out;
	r = 0;
out:
	store_list_free(&c.repos);
	return r;
}
