/*
 * walk: see walk.h. The repositories are listed first (one walk of
 * repositories/), then visited one by one, so a callback may change a
 * repository without disturbing the listing.
 */
#include "walk.h"

#include <string.h>

#include "banned.h"

struct visit {
	const struct walk_ops *ops;
	const char *repo;
	enum store_link_kind kind;
	int cb_failed;   /* the -1 came from the callback, not the store */
};

static int add_repo(void *ctx, const char *name)
{
	return strlist_add(ctx, name) < 0 ? 1 : 0; /* 1: out of memory */
}

static int visit_link(void *ctx, const struct digest *d)
{
	struct visit *v = ctx;
	int r = v->ops->link ? v->ops->link(v->ops->ctx, v->repo, v->kind, d) : 0;

	if (r < 0)
		v->cb_failed = 1;
	return r;
}

/* An error of the store: the policy's caller decides. */
static int failed(const struct walk_ops *ops, struct err *e)
{
	return ops->fail(ops->ctx, e) < 0 ? -1 : 0;
}

static int walk_repo(const struct store *st, const struct walk_ops *ops,
		     const char *repo, struct err *e)
{
	static const enum store_link_kind kinds[] = { STORE_LAYER, STORE_REVISION };
	struct strlist tags = STRLIST_INIT;
	struct visit v = { ops, repo, STORE_LAYER, 0 };
	size_t i;
	int r = 0, got;

	if (ops->repo && ops->repo(ops->ctx, repo) < 0)
		return -1;
	got = store_tags(st, repo, &tags, e);
	if (got < 0 && failed(ops, e) < 0)
		r = -1;
	for (i = 0; got > 0 && r == 0 && i < tags.n; i++) {
		struct digest d;
		int t = store_tag_get(st, repo, tags.items[i], &d, e);
		if (t < 0)
			r = failed(ops, e);
		else if (ops->tag)
			r = ops->tag(ops->ctx, repo, tags.items[i], t > 0 ? &d : NULL);
	}
	strlist_free(&tags);
	for (i = 0; r == 0 && i < 2; i++) {
		v.kind = kinds[i];
		/* The callback's -1 (its e filled) ends the walk; the
		 * store's own errors go through the policy. */
		if (store_each_link(st, repo, kinds[i], visit_link, &v, e) < 0)
			r = v.cb_failed ? -1 : failed(ops, e);
	}
	return r;
}

int walk_repos(const struct store *st, const struct walk_ops *ops,
	       struct err *e)
{
	struct strlist repos = STRLIST_INIT;
	size_t i;
	int r;

	r = store_each_repo(st, add_repo, &repos, e);
	if (r > 0 || r < 0) {
		if (r > 0)
			err_sys(e, "out of memory");
		strlist_free(&repos);
		return -1;
	}
	strlist_sort(&repos);
	for (i = 0; i < repos.n && r == 0; i++)
		r = walk_repo(st, ops, repos.items[i], e);
	strlist_free(&repos);
	return r;
}
