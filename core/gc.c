/*
 * gc: mark and sweep over the store, as described in gc.h. The mark is a
 * walk (walk.h) whose error policy is "stop": gc removes nothing unless
 * it could read everything that might keep it. The mark set is a hash set
 * of digests in memory: one string per distinct blob, so a store of a
 * million blobs needs tens of megabytes, once, in the CLI.
 */
#include "gc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "events.h"
#include "fsutil.h"
#include "policy.h"
#include "referrers.h"
#include "retention.h"
#include "refs.h"
#include "walk.h"
#include "banned.h"

/* ---- a set of strings ---- */

struct set {
	char **slot;
	size_t cap, n;
};

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211u;
	return h;
}

static int set_has(const struct set *t, const char *s)
{
	size_t i;

	if (!t->cap)
		return 0;
	for (i = hash(s) & (t->cap - 1); t->slot[i]; i = (i + 1) & (t->cap - 1))
		if (!strcmp(t->slot[i], s))
			return 1;
	return 0;
}

/* 1 added, 0 already there, -1 out of memory. */
static int set_add(struct set *t, const char *s)
{
	size_t i;

	if (set_has(t, s))
		return 0;
	if (2 * (t->n + 1) > t->cap) {
		struct set g = { NULL, t->cap ? t->cap * 2 : 1024, 0 };
		g.slot = calloc(g.cap, sizeof(char *));
		if (!g.slot)
			return -1;
		for (i = 0; i < t->cap; i++)
			if (t->slot[i]) {
				size_t j = hash(t->slot[i]) & (g.cap - 1);
				while (g.slot[j])
					j = (j + 1) & (g.cap - 1);
				g.slot[j] = t->slot[i];
				g.n++;
			}
		free(t->slot);
		*t = g;
	}
	for (i = hash(s) & (t->cap - 1); t->slot[i]; i = (i + 1) & (t->cap - 1))
		;
	if (!(t->slot[i] = strdup(s)))
		return -1;
	t->n++;
	return 1;
}

static void set_free(struct set *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->slot[i]);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

/* ---- the run ---- */

struct run {
	const struct store *st;
	const struct gc_opts *o;
	struct gc_stats *stats;
	struct err *e;
	time_t now;
	struct set marked;   /* blob digests in use */
	struct set kept;     /* "repo@digest" of kept manifests */
	struct set dropped;  /* "repo:tag" retention removed (or would) */
	struct strlist repos;
	const char *repo;    /* of the iteration under way */
	double age;          /* its untagged manifests go past this; < 0 never */
	int removed;         /* a manifest of it went */
};

/* How old an untagged manifest of repo must be to go: the grace period
 * with --delete-untagged, a retention rule's untaggedolderthan (never
 * less than the grace period), else never (-1). */
static double untagged_age(const struct run *g, const char *repo)
{
	const struct policy_retention *r;

	if (g->o->delete_untagged)
		return g->o->grace;
	r = g->o->retention ? policy_retention(g->o->retention, repo) : NULL;
	if (r && r->untagged_older_than >= 0)
		return r->untagged_older_than > g->o->grace ?
			r->untagged_older_than : g->o->grace;
	return -1;
}

static void say(struct run *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(struct run *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vsay(g->o->say, g->o->ctx, fmt, ap);
	va_end(ap);
}

/* The event of a removal; one that cannot be written is said, and the
 * run goes on: what it records has happened already. */
static void removed(struct run *g, const char *repo, const struct digest *d,
		    long long size)
{
	struct events_target t = { NULL, d, size, repo, NULL };

	if (!g->o->dry_run)
		events_removal(g->o->events, &t, g->o->actor, g->o->say, g->o->ctx);
}

static int mark_digest(struct run *g, const struct digest *d)
{
	char s[DIGEST_STR_MAX];

	digest_format(d, s);
	if (set_add(&g->marked, s) < 0)
		return err_sys(g->e, "out of memory");
	return 0;
}

static int kept_key(const char *repo, const struct digest *d, struct buf *key)
{
	char ds[DIGEST_STR_MAX];

	digest_format(d, ds);
	return buf_addf(key, "%s@%s", repo, ds);
}

static int keep_manifest(struct run *g, const char *repo, const struct digest *d);

struct referrers_ctx {
	struct run *g;
	const char *repo;
};

static int keep_referrer(void *ctx, const struct digest *rd)
{
	struct referrers_ctx *c = ctx;

	return keep_manifest(c->g, c->repo, rd);
}

/* Keeps manifest d of repo, what it references, and its referrers. A
 * manifest whose blob is absent keeps nothing more (fsck reports the
 * dangling link); one that cannot be read or parsed stops the run. */
static int keep_manifest(struct run *g, const char *repo, const struct digest *d)
{
	struct buf key = BUF_INIT;
	struct referrers_ctx rc = { g, repo };
	struct refs m;
	size_t i;
	int added, r;

	if (kept_key(repo, d, &key) < 0) {
		buf_free(&key);
		return err_sys(g->e, "out of memory");
	}
	added = set_add(&g->kept, key.s);
	if (added <= 0) {
		buf_free(&key);
		return added < 0 ? err_sys(g->e, "out of memory") : 0;
	}
	if (mark_digest(g, d) < 0) {
		buf_free(&key);
		return -1;
	}
	r = refs_read(g->st, d, &m, g->e);
	if (r < 0) {
		char why[sizeof(g->e->detail)];
		snprintf(why, sizeof(why), "%s", g->e->detail);
		snprintf(g->e->detail, sizeof(g->e->detail),
			 "%.300s is in use, but %.680s; nothing was removed", key.s, why);
		buf_free(&key);
		return -1;
	}
	buf_free(&key);
	if (r > 0) {
		r = 0;
		if (m.has_config)
			r = mark_digest(g, &m.config.digest);
		for (i = 0; r == 0 && i < m.nlayers; i++)
			r = mark_digest(g, &m.layers[i].digest);
		for (i = 0; r == 0 && i < m.nchildren; i++)
			r = keep_manifest(g, repo, &m.children[i].digest);
		refs_free(&m);
		if (r < 0)
			return -1;
	}
	return store_each_referrer(g->st, repo, d, keep_referrer, &rc, g->e) < 0 ? -1 : 0;
}

static int mark_repo(void *ctx, const char *repo)
{
	struct run *g = ctx;

	return strlist_add(&g->repos, repo) < 0 ? err_sys(g->e, "out of memory") : 0;
}

/* g->dropped: whether it holds repo:tag (1, 0), or, with add, 0 once it
 * does; -1 out of memory. */
static int dropped(struct run *g, const char *repo, const char *tag, int add)
{
	struct buf key = BUF_INIT;
	int r;

	if (buf_addf(&key, "%s:%s", repo, tag) < 0)
		r = -1;
	else if (add)
		r = set_add(&g->dropped, key.s) < 0 ? -1 : 0;
	else
		r = set_has(&g->dropped, key.s);
	buf_free(&key);
	return r < 0 ? err_sys(g->e, "out of memory") : r;
}

static int mark_tag(void *ctx, const char *repo, const char *tag,
		    const struct digest *d)
{
	struct run *g = ctx;
	int gone = 0;

	if (!d)
		return 0;
	/* A tag retention removed keeps nothing, in a dry run too, so that
	 * the run reports what a real one would remove after it. */
	if (g->dropped.n && (gone = dropped(g, repo, tag, 0)) < 0)
		return -1;
	return gone ? 0 : keep_manifest(g, repo, d);
}

static int mark_revision(void *ctx, const char *repo, enum store_link_kind kind,
			 const struct digest *d)
{
	struct run *g = ctx;
	double age;

	if (kind != STORE_REVISION)
		return 0;
	/* Untagged manifests are roots unless asked otherwise; a recent one
	 * always is (a tag may be on its way). */
	age = untagged_age(g, repo);
	if (age < 0 || store_link_recent(g->st, repo, kind, d, age, g->now))
		return keep_manifest(g, repo, d);
	return 0;
}

/* The policy of the mark: whatever could not be read stops the run. */
static int mark_fail(void *ctx, const struct err *e)
{
	(void)ctx;
	(void)e;
	return -1;
}

static int retention_removed(void *ctx, const char *repo, const char *tag,
			     const struct digest *d)
{
	(void)d;
	return dropped(ctx, repo, tag, 1);
}

static int collect_repo(void *ctx, const char *name)
{
	struct strlist *l = ctx;

	return strlist_add(l, name) < 0 ? -1 : 0;
}

/* policy.retention's tags, before the mark sees them. Its own listing of
 * the repositories: the mark's walk must see the store as it is then, a
 * repository made meanwhile included. */
static int retention(struct run *g)
{
	struct retention_opts ro = { 0 };
	struct strlist repos = STRLIST_INIT;
	int r;

	if (!g->o->retention || !policy_retention_count(g->o->retention))
		return 0;
	ro.policy = g->o->retention;
	ro.grace = g->o->grace;
	ro.now = g->now;
	ro.dry_run = g->o->dry_run;
	ro.say = g->o->say;
	ro.ctx = g->o->ctx;
	ro.removed = retention_removed;
	ro.removed_ctx = g;
	ro.events = g->o->events;
	ro.actor = g->o->actor;
	r = store_each_repo(g->st, collect_repo, &repos, g->e);
	if (r == 0)
		r = retention_tags(g->st, &ro, &repos, &g->stats->tags, g->e);
	strlist_free(&repos);
	return r;
}

static int mark(struct run *g)
{
	struct walk_ops ops = { g, mark_repo, mark_tag, mark_revision, mark_fail };

	return walk_repos(g->st, &ops, g->e);
}

static int sweep_revision(void *ctx, const struct digest *d)
{
	struct run *g = ctx;
	struct buf key = BUF_INIT;
	int r, kept;

	if (kept_key(g->repo, d, &key) < 0) {
		buf_free(&key);
		return err_sys(g->e, "out of memory");
	}
	kept = set_has(&g->kept, key.s);
	r = kept ? 0 : store_link_remove_idle(g->st, g->repo, STORE_REVISION, d,
					      g->age, g->now, g->o->dry_run, g->e);
	if (r > 0) {
		say(g, "manifest %s", key.s);
		removed(g, g->repo, d, -1);
		g->stats->manifests++;
		g->removed = 1;
		r = g->o->dry_run ? 0 : referrers_remove_of(g->st, g->repo, d, g->e);
	}
	buf_free(&key);
	return r < 0 ? -1 : 0;
}

static int sweep_manifests(struct run *g)
{
	size_t i;

	for (i = 0; i < g->repos.n; i++) {
		g->repo = g->repos.items[i];
		g->removed = 0;
		if ((g->age = untagged_age(g, g->repo)) < 0)
			continue;
		if (store_each_link(g->st, g->repo, STORE_REVISION, sweep_revision,
				    g, g->e) < 0)
			return -1;
		if (g->removed && !g->o->dry_run &&
		    catalog_drop_if_empty(g->st, g->repo, g->e) < 0)
			return -1;
	}
	return 0;
}

static int sweep_blob(void *ctx, const struct digest *d, const char *stray)
{
	struct run *g = ctx;
	char ds[DIGEST_STR_MAX];
	struct err se = ERR_INIT;
	off_t size = 0;
	int r;

	if (!d)
		return 0; /* not a blob: fsck reports it */
	digest_format(d, ds);
	(void)stray;
	if (set_has(&g->marked, ds))
		return 0;
	/* The size is only for the report; it plays no part in the choice. */
	if (store_blob_stat(g->st, d, &size, &se) <= 0)
		size = 0;
	r = store_blob_remove_idle(g->st, d, g->o->grace, g->now, g->o->dry_run, g->e);
	if (r > 0) {
		say(g, "blob %s %lld bytes", ds, (long long)size);
		removed(g, NULL, d, (long long)size);
		g->stats->blobs++;
		g->stats->bytes += (long long)size;
	}
	return r < 0 ? -1 : 0;
}

/* A layer link goes only when its blob is absent (swept now, or long
 * ago); a blob that cannot be looked at stops the sweep. */
static int sweep_layer(void *ctx, const struct digest *d)
{
	struct run *g = ctx;
	char ds[DIGEST_STR_MAX];
	int r = store_blob_stat(g->st, d, NULL, g->e);

	if (r != 0)
		return r > 0 ? 0 : -1;
	r = store_link_remove_idle(g->st, g->repo, STORE_LAYER, d, g->o->grace,
				   g->now, g->o->dry_run, g->e);
	if (r > 0) {
		digest_format(d, ds);
		say(g, "layer link %s@%s", g->repo, ds);
		g->stats->links++;
	}
	return r < 0 ? -1 : 0;
}

static int sweep_links(struct run *g)
{
	size_t i;

	for (i = 0; i < g->repos.n; i++) {
		g->repo = g->repos.items[i];
		if (store_each_link(g->st, g->repo, STORE_LAYER, sweep_layer, g, g->e) < 0)
			return -1;
	}
	return 0;
}

static int purge_one(void *ctx, const char *id)
{
	struct run *g = ctx;
	time_t started;
	int r = store_upload_started(g->st, g->repo, id, &started, g->e);

	if (r <= 0)
		return r; /* gone meanwhile, or an error */
	if (difftime(g->now, started) <= g->o->upload_age)
		return 0;
	say(g, "upload %s/%s", g->repo, id);
	g->stats->uploads++;
	return g->o->dry_run ? 0 : store_upload_remove(g->st, g->repo, id, g->e);
}

static int purge_uploads(struct run *g)
{
	size_t i;

	for (i = 0; i < g->repos.n; i++) {
		g->repo = g->repos.items[i];
		if (store_each_upload(g->st, g->repo, purge_one, g, g->e) < 0)
			return -1;
	}
	return 0;
}

static void say_leftover(void *ctx, const char *rel)
{
	say(ctx, "leftover %s", rel);
}

static int list_repo(void *ctx, const char *name)
{
	return mark_repo(ctx, name);
}

int gc_run(const struct store *st, const struct gc_opts *o,
	   struct gc_stats *stats, struct err *e)
{
	struct run g;
	int r = -1;

	memset(stats, 0, sizeof(*stats));
	memset(&g, 0, sizeof(g));
	g.st = st;
	g.o = o;
	g.stats = stats;
	g.e = e;
	g.now = time(NULL);
	if (o->collect) {
		/* What a collector that died left aside first: a manifest
		 * away is one whose blobs nobody would mark. */
		if ((!o->dry_run && store_put_back_aside(st, e) < 0) ||
		    retention(&g) < 0 || mark(&g) < 0 || sweep_manifests(&g) < 0 ||
		    store_each_blob(st, sweep_blob, &g, e) < 0 || sweep_links(&g) < 0 ||
		    store_sweep_leftovers(st, o->grace, g.now, o->dry_run, say_leftover,
					  &g, &stats->temps, e) < 0)
			goto out;
	} else if (store_each_repo(st, list_repo, &g, e) < 0) {
		goto out;
	}
	if (o->purge_uploads && purge_uploads(&g) < 0)
		goto out;
	r = 0;
out:
	set_free(&g.marked);
	set_free(&g.kept);
	set_free(&g.dropped);
	strlist_free(&g.repos);
	return r;
}

static int due(const struct store *st, const char *stamp, double interval,
	       struct err *e)
{
	struct buf p = BUF_INIT, dir = BUF_INIT;
	struct timespec mt;
	int r = -1;

	if (store_berth_path(st, "", &dir, e) < 0 ||
	    store_berth_path(st, stamp, &p, e) < 0)
		goto out;
	r = fs_stat_file(p.s, NULL, &mt, e);
	if (r < 0 || (r > 0 && difftime(time(NULL), mt.tv_sec) < interval)) {
		r = r < 0 ? -1 : 0;
		goto out;
	}
	r = fs_stamp(dir.s, stamp, e) < 0 ? -1 : 1;
out:
	buf_free(&p);
	buf_free(&dir);
	return r;
}

int gc_purge_due(const struct store *st, double interval, struct err *e)
{
	return due(st, "purge.stamp", interval, e);
}

int gc_retention_due(const struct store *st, double interval, struct err *e)
{
	return due(st, "retention.stamp", interval, e);
}
