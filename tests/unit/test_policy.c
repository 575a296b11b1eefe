/* The policy section: its form and errors, and immutable tags as
 * manifest_push() and manifest_delete() enforce them. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "t.h"
#include "../../core/config.h"
#include "../../core/gc.h"
#include "../../core/manifest.h"
#include "../../core/policy.h"
#include "../../core/quota.h"

static int load(const char *yml, struct config *c, struct buf *w, struct err *e)
{
	buf_reset(w);
	return config_load(t_config_file(yml), NULL, c, w, e);
}

static int fails(const char *yml, const char *line, const char *msg)
{
	struct config c;
	struct buf w = BUF_INIT;
	struct err e = ERR_INIT;
	int ok = load(yml, &c, &w, &e) < 0 && strstr(e.msg, line) && strstr(e.msg, msg);

	if (!ok)
		fprintf(stderr, "policy: wanted %s %s, got: %s\n", line, msg, e.msg);
	buf_free(&w);
	return ok;
}

/* An image whose config blob is the given bytes, so each text is another
 * manifest. */
static int push_ap(struct store *st, const struct policy *pol, const char *repo,
		   const char *ref_s, const char *conf, const char *const *tags,
		   size_t ntags, struct strlist *applied, struct digest *out,
		   struct err *e)
{
	struct manifest_opts o = { pol, tags, ntags, applied };
	struct manifest_ref ref;
	struct manifest_info mi;
	struct digest c;
	char cs[DIGEST_STR_MAX];
	struct buf m = BUF_INIT;
	int r;

	digest_of(DIGEST_SHA256, conf, strlen(conf), &c);
	if (store_blob_put(st, &c, conf, strlen(conf), e) < 0 ||
	    store_link_add(st, repo, STORE_LAYER, &c, e) < 0)
		return -1;
	digest_format(&c, cs);
	buf_addf(&m, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
		 "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\","
		 "\"size\":%zu},\"layers\":[]}", MT_OCI_MANIFEST, cs, strlen(conf));
	if (!strncmp(ref_s, "sha256:", 7)) {
		digest_of(DIGEST_SHA256, m.s, m.len, &c);
		digest_format(&c, cs);
		ref_s = cs;
	}
	if (manifest_ref_parse(ref_s, &ref, e) < 0) {
		buf_free(&m);
		return -1;
	}
	r = manifest_push(st, repo, &ref, MT_OCI_MANIFEST, m.s, m.len, &o, &mi, e);
	if (out)
		*out = mi.digest;
	buf_free(&m);
	return r;
}

static int push(struct store *st, const struct policy *pol, const char *repo,
		const char *ref_s, const char *conf, const char *const *tags,
		size_t ntags, struct digest *out, struct err *e)
{
	return push_ap(st, pol, repo, ref_s, conf, tags, ntags, NULL, out, e);
}

static int names(struct store *st, const char *repo, const char *tag,
		 const struct digest *d)
{
	struct err e = ERR_INIT;
	struct digest got;

	return store_tag_get(st, repo, tag, &got, &e) > 0 && digest_equal(&got, d);
}

static int del_was(struct store *st, const struct policy *pol, const char *repo,
		   const char *ref_s, struct digest *removed, struct err *e)
{
	struct manifest_ref ref;

	if (manifest_ref_parse(ref_s, &ref, e) < 0)
		return -1;
	return manifest_delete(st, repo, &ref, pol, removed, e);
}

static int del(struct store *st, const struct policy *pol, const char *repo,
	       const char *ref_s, struct err *e)
{
	return del_was(st, pol, repo, ref_s, NULL, e);
}

static const char conf[] =
	"version: 0.1\n"
	"policy:\n"
	"  repository:\n"
	"    classes: [image]\n"
	"  immutable:\n"
	"    - repositories: \"prod/**\"\n"
	"      tags: [\"v*\", \"release-*\"]\n"
	"    - repositories: [\"*/base\", lib]\n"
	"      tags: stable\n";

static void test_policy_parse(void)
{
	struct config c;
	struct buf w = BUF_INIT;
	struct err e = ERR_INIT;
	const char *d;

	CHECK(load(conf, &c, &w, &e) == 0);
	CHECK(w.s && strstr(w.s, ":3: policy.repository is not used"));
	CHECK(policy_immutable_count(c.policy) == 2);
	d = policy_immutable(c.policy, "prod/app", "v1");
	CHECK(d && !strcmp(d, "policy.immutable rule 1 (repositories prod/**; "
			   "tags v*, release-*)"));
	CHECK(policy_immutable(c.policy, "prod/a/b", "release-2"));
	CHECK(policy_immutable(c.policy, "prod", "v2"));
	CHECK(!policy_immutable(c.policy, "prod/app", "latest"));
	CHECK(!policy_immutable(c.policy, "dev/app", "v1"));
	CHECK(!policy_immutable(c.policy, "production/app", "v1"));
	d = policy_immutable(c.policy, "team/base", "stable");
	CHECK(d && strstr(d, "rule 2 (repositories */base, lib; tags stable)"));
	CHECK(policy_immutable(c.policy, "lib", "stable"));
	CHECK(!policy_immutable(c.policy, "lib", "stable2"));
	CHECK(!policy_immutable(NULL, "prod/app", "v1"));
	buf_reset(&w);
	CHECK(config_dump(&c, &w) == 0 && strstr(w.s, "policy.immutable: 2 rules"));
	config_free(&c);

	CHECK(load("version: 0.1\npolicy:\n", &c, &w, &e) == 0 && !c.policy);
	config_free(&c);

	CHECK(fails("policy:\n  immutable:\n    - repositories: \"Prod/**\"\n      tags: v1\n",
		    ":3:", "Prod/** can fit no name"));
	CHECK(fails("policy:\n  immutable:\n    - repositories: a\n      tags: \"v/1\"\n",
		    ":4:", "v/1 can fit no name"));
	CHECK(fails("policy:\n  immutable:\n    - repositories: a\n      tags: \"v**\"\n",
		    ":4:", "can fit no name"));
	CHECK(fails("policy:\n  immutable:\n    - repositories: a\n", ":3:",
		    "needs both repositories and tags"));
	CHECK(fails("policy:\n  immutable:\n    - repositories: a\n      tag: v1\n",
		    ":4:", "unknown or repeated key tag"));
	CHECK(fails("policy:\n  immutable:\n    - repositories: a\n      tags: []\n",
		    ":4:", "an empty list"));
	CHECK(fails("policy:\n  immutable:\n    - repositories: a\n      tags: [[v1]]\n",
		    ":4:", "a list of patterns holds strings"));
	CHECK(fails("policy:\n  immutable: {a: b}\n", ":2:", "expected a list"));
	CHECK(fails("policy:\n  immutable:\n    - v1\n", ":3:", "each entry is a mapping"));
	CHECK(fails("policy:\n  retain: 3\n", ":2:", "unknown or repeated key retain"));
	CHECK(fails("policy: [1]\n", ":1:", "expected a mapping"));
	buf_free(&w);
}

static void test_policy_immutable(void)
{
	struct config c;
	struct buf w = BUF_INIT;
	struct err e = ERR_INIT;
	struct store st;
	struct digest d1, d2, d3;
	const struct policy *pol;
	static const char *const two[] = { "v2", "latest", "v2" };
	static const char *const bad[] = { "ok", "-no" };

	CHECK(load(conf, &c, &w, &e) == 0);
	pol = c.policy;
	CHECK(store_open(&st, t_tmpdir(), &e) == 0);

	/* A first push creates the tag; the identical one again succeeds. */
	CHECK(push(&st, pol, "prod/app", "v1", "one", NULL, 0, &d1, &e) == 0);
	CHECK(names(&st, "prod/app", "v1", &d1));
	CHECK(push(&st, pol, "prod/app", "v1", "one", NULL, 0, &d1, &e) == 0);
	/* Moving it is refused, naming the rule and what it names. */
	CHECK(push(&st, pol, "prod/app", "v1", "two", NULL, 0, &d2, &e) < 0 &&
	      e.code == ERR_DENIED && strstr(e.msg, "policy.immutable rule 1") &&
	      strstr(e.msg, "tag v1 of prod/app is immutable"));
	CHECK(names(&st, "prod/app", "v1", &d1));
	/* A mutable tag moves as always. */
	CHECK(push(&st, pol, "prod/app", "latest", "one", NULL, 0, NULL, &e) == 0);
	CHECK(push(&st, pol, "prod/app", "latest", "two", NULL, 0, &d2, &e) == 0);
	CHECK(names(&st, "prod/app", "latest", &d2));
	/* Without the policy nothing is immutable. */
	CHECK(push(&st, NULL, "dev/app", "v1", "one", NULL, 0, NULL, &e) == 0);
	CHECK(push(&st, NULL, "dev/app", "v1", "two", NULL, 0, NULL, &e) == 0);

	/* Several tags by digest, each once. */
	CHECK(push(&st, pol, "prod/app", "sha256:", "three", two, 3, &d3, &e) == 0);
	CHECK(names(&st, "prod/app", "v2", &d3) && names(&st, "prod/app", "latest", &d3));
	CHECK(push(&st, pol, "prod/app", "sha256:", "three", two, 3, &d3, &e) == 0);
	/* What a push applied, each tag once, for OCI-Tag and the events. */
	{
		struct strlist ap = STRLIST_INIT;
		CHECK(push_ap(&st, pol, "prod/app", "sha256:", "three", two, 3, &ap, NULL, &e) == 0 &&
		      ap.n == 2 && !strcmp(ap.items[0], "v2") && !strcmp(ap.items[1], "latest"));
		CHECK(push_ap(&st, pol, "prod/app", "v1", "one", NULL, 0, &ap, NULL, &e) == 0 &&
		      ap.n == 1 && !strcmp(ap.items[0], "v1"));
		CHECK(push_ap(&st, pol, "prod/app", "sha256:", "one", NULL, 0, &ap, NULL, &e) == 0 &&
		      ap.n == 0);
		strlist_free(&ap);
	}
	/* One immutable tag of the set naming another manifest refuses the
	 * whole push before anything is stored. */
	{
		static const char *const mix[] = { "newtag", "v1" };
		CHECK(push(&st, pol, "prod/app", "sha256:", "four", mix, 2, NULL, &e) < 0 &&
		      e.code == ERR_DENIED && strstr(e.msg, "tag v1"));
		CHECK(!names(&st, "prod/app", "newtag", &d3));
	}
	/* Tag parameters need a digest reference, and valid tags. */
	CHECK(push(&st, pol, "prod/app", "x", "three", two, 1, NULL, &e) < 0 &&
	      e.code == ERR_TAG_INVALID);
	CHECK(push(&st, pol, "prod/app", "sha256:", "three", bad, 2, NULL, &e) < 0 &&
	      e.code == ERR_TAG_INVALID);

	/* DELETE of an immutable tag, or of a manifest one names: refused,
	 * nothing removed (not even the manifest's mutable tags). */
	CHECK(del(&st, pol, "prod/app", "v1", &e) < 0 && e.code == ERR_DENIED &&
	      strstr(e.msg, "rule 1"));
	CHECK(names(&st, "prod/app", "v1", &d1));
	{
		char ds[DIGEST_STR_MAX];
		digest_format(&d3, ds);
		CHECK(del(&st, pol, "prod/app", ds, &e) < 0 && e.code == ERR_DENIED &&
		      strstr(e.msg, "tag v2"));
		CHECK(names(&st, "prod/app", "latest", &d3) && names(&st, "prod/app", "v2", &d3));
		CHECK(store_link_exists(&st, "prod/app", STORE_REVISION, &d3, &e) == 1);
		/* A mutable tag still goes; an immutable tag that does not
		 * exist is simply unknown. */
		{
			struct digest was;
			CHECK(del_was(&st, pol, "prod/app", "latest", &was, &e) == 0 &&
			      digest_equal(&was, &d3));
		}
		CHECK(del(&st, pol, "prod/app", "v9", &e) < 0 && e.code == ERR_MANIFEST_UNKNOWN);
		/* The manifest of no immutable tag deletes as before. */
		digest_format(&d2, ds);
		CHECK(del(&st, pol, "prod/app", ds, &e) == 0);
	}
	/* Without the policy, the same store's tags delete. */
	CHECK(del(&st, NULL, "prod/app", "v1", &e) == 0);

	/* Creating an immutable tag is exclusive at the store too. */
	CHECK(store_tag_set_new(&st, "prod/app", "v7", &d1, &e) == 1);
	CHECK(store_tag_set_new(&st, "prod/app", "v7", &d1, &e) == 1);
	CHECK(store_tag_set_new(&st, "prod/app", "v7", &d3, &e) == 0);
	CHECK(names(&st, "prod/app", "v7", &d1));
	store_close(&st);
	config_free(&c);
	buf_free(&w);
}


/* ---- retention ---- */

/* Sets when tag was pushed (its current link's mtime), age seconds ago. */
static void pushed_ago(const char *root, const char *repo, const char *tag,
		       long age)
{
	char p[512];
	struct timespec ts[2];

	snprintf(p, sizeof(p), "%s/docker/registry/v2/repositories/%s/_manifests/"
		 "tags/%s/current/link", root, repo, tag);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - age;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
}

static void revision_ago(const char *root, const char *repo,
			 const struct digest *d, long age)
{
	char p[512];
	struct timespec ts[2];

	snprintf(p, sizeof(p), "%s/docker/registry/v2/repositories/%s/_manifests/"
		 "revisions/sha256/%s/link", root, repo, d->hex);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - age;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
}

static void collect_line(void *ctx, const char *line)
{
	buf_addf(ctx, "%s\n", line);
}

static const char retconf[] =
	"version: 0.1\n"
	"policy:\n"
	"  immutable:\n"
	"    - repositories: \"ci/**\"\n"
	"      tags: \"v*\"\n"
	"  retention:\n"
	"    interval: 24h\n"
	"    rules:\n"
	"      - repositories: \"ci/**\"\n"
	"        keepnewest: 3\n"
	"        keeptags: [latest]\n"
	"        untaggedolderthan: 48h\n"
	"      - repositories: old/**\n"
	"        olderthan: 240h\n";

static void test_policy_retention(void)
{
	struct config c;
	struct buf w = BUF_INIT, said = BUF_INIT;
	struct err e = ERR_INIT;
	struct store st;
	struct gc_opts o = { 0 };
	struct gc_stats s;
	struct digest d[8], dv, dl, dk;
	const char *root = t_tmpdir();
	struct strlist tags = STRLIST_INIT;
	char conf_s[32];
	int i;

	CHECK(load(retconf, &c, &w, &e) == 0);
	CHECK(policy_retention_count(c.policy) == 2);
	CHECK(policy_retention_interval(c.policy) == 86400);
	CHECK(policy_retention(c.policy, "ci/app")->keep_newest == 3);
	CHECK(policy_retention(c.policy, "old/x")->older_than == 240 * 3600);
	CHECK(!policy_retention(c.policy, "other"));
	CHECK(store_open(&st, root, &e) == 0);

	/* Six builds, an hour apart and all older than the grace period; a
	 * release (immutable) and latest (keeptags), both old. */
	for (i = 0; i < 6; i++) {
		char tag[32];
		snprintf(conf_s, sizeof(conf_s), "build %d", i);
		snprintf(tag, sizeof(tag), "b%d", i);
		CHECK(push(&st, c.policy, "ci/app", tag, conf_s, NULL, 0, &d[i], &e) == 0);
		pushed_ago(root, "ci/app", tag, 7200 + 3600L * (6 - i));
		revision_ago(root, "ci/app", &d[i], 7200 + 3600L * (6 - i));
	}
	CHECK(push(&st, c.policy, "ci/app", "v1", "release", NULL, 0, &dv, &e) == 0);
	pushed_ago(root, "ci/app", "v1", 99999);
	revision_ago(root, "ci/app", &dv, 99999);
	CHECK(push(&st, c.policy, "ci/app", "latest", "head", NULL, 0, &dl, &e) == 0);
	pushed_ago(root, "ci/app", "latest", 99999);
	revision_ago(root, "ci/app", &dl, 99999);
	/* A build pushed a moment ago: within the grace period. */
	CHECK(push(&st, c.policy, "ci/app", "b9", "fresh", NULL, 0, &dk, &e) == 0);

	o.collect = 1;
	o.grace = 3600;
	o.retention = c.policy;
	o.say = collect_line;
	o.ctx = &said;
	o.dry_run = 1;
	CHECK(gc_run(&st, &o, &s, &e) == 0);
	/* Newest three of the builds: b9 (fresh), b5, b4; b3..b0 go. */
	CHECK(s.tags == 4);
	CHECK(said.s && strstr(said.s, "tag ci/app:b3 ") &&
	      strstr(said.s, ": beyond the newest 3 (policy.retention rule 1)"));
	CHECK(said.s && !strstr(said.s, "ci/app:b4 ") && !strstr(said.s, "ci/app:v1 ") &&
	      !strstr(said.s, "ci/app:latest "));
	/* Their manifests are old enough (untaggedolderthan 48h)? No: hours
	 * old, so they stay untagged. */
	CHECK(s.manifests == 0);
	CHECK(store_tags(&st, "ci/app", &tags, &e) == 1 && tags.n == 9);
	strlist_free(&tags);

	o.dry_run = 0;
	buf_reset(&said);
	CHECK(gc_run(&st, &o, &s, &e) == 0 && s.tags == 4);
	CHECK(store_tags(&st, "ci/app", &tags, &e) == 1 && tags.n == 5);
	CHECK(!strcmp(tags.items[0], "b4") && !strcmp(tags.items[1], "b5") &&
	      !strcmp(tags.items[2], "b9") && !strcmp(tags.items[3], "latest") &&
	      !strcmp(tags.items[4], "v1"));
	strlist_free(&tags);
	/* A second run finds nothing more to do. */
	CHECK(gc_run(&st, &o, &s, &e) == 0 && s.tags == 0);

	/* Untagged manifests past untaggedolderthan go, with their blobs. */
	revision_ago(root, "ci/app", &d[0], 3 * 86400);
	CHECK(gc_run(&st, &o, &s, &e) == 0 && s.manifests == 1);
	CHECK(store_link_exists(&st, "ci/app", STORE_REVISION, &d[0], &e) == 0);
	CHECK(store_link_exists(&st, "ci/app", STORE_REVISION, &d[1], &e) == 1);

	/* A tag re-pointed after it was ranked stays (store_tag_remove_if). */
	CHECK(store_tag_remove_if(&st, "ci/app", "b4", &d[0], time(NULL), &e) == 0);
	CHECK(names(&st, "ci/app", "b4", &d[4]));
	CHECK(store_tag_remove_if(&st, "ci/app", "b4", &d[4], time(NULL) - 86400, &e) == 0);
	CHECK(names(&st, "ci/app", "b4", &d[4]));
	CHECK(store_tag_remove_if(&st, "ci/app", "b4", &d[4], time(NULL) + 1, &e) == 1);
	CHECK(store_tag_get(&st, "ci/app", "b4", &dv, &e) == 0);

	/* olderthan alone: only tags older than 240h go. */
	CHECK(push(&st, c.policy, "old/x", "a", "x1", NULL, 0, NULL, &e) == 0);
	CHECK(push(&st, c.policy, "old/x", "b", "x2", NULL, 0, NULL, &e) == 0);
	pushed_ago(root, "old/x", "a", 241 * 3600);
	pushed_ago(root, "old/x", "b", 239 * 3600);
	buf_reset(&said);
	CHECK(gc_run(&st, &o, &s, &e) == 0 && s.tags == 1);
	CHECK(said.s && strstr(said.s, "tag old/x:a ") &&
	      strstr(said.s, "older than 240h (policy.retention rule 2)"));
	/* Without the retention option, gc leaves tags alone. */
	o.retention = NULL;
	pushed_ago(root, "old/x", "b", 999 * 3600);
	CHECK(gc_run(&st, &o, &s, &e) == 0 && s.tags == 0);
	CHECK(store_tag_get(&st, "old/x", "b", &dv, &e) == 1);
	store_close(&st);
	config_free(&c);

	/* Mistakes in the section. */
	CHECK(fails("policy:\n  retention:\n    rules:\n      - repositories: a\n", ":4:",
		    "a rule that removes nothing"));
	CHECK(fails("policy:\n  retention:\n    rules:\n      - repositories: a\n"
		    "        keepnewest: 0\n", ":5:", "at least 1"));
	CHECK(fails("policy:\n  retention:\n    rules:\n      - repositories: a\n"
		    "        olderthan: soon\n", ":5:", "expected a duration"));
	CHECK(fails("policy:\n  retention:\n    rules:\n      - keepnewest: 2\n", ":4:",
		    "needs repositories"));
	CHECK(fails("policy:\n  retention:\n    every: 1h\n", ":3:", "unknown or repeated key every"));
	CHECK(fails("policy:\n  retention:\n    interval: -1h\n", ":3:", "expected a duration"));
	CHECK(fails("policy:\n  retention:\n    rules:\n      - repositories: a\n"
		    "        keepnewest: 2\n        keep: 3\n", ":6:", "unknown or repeated key keep"));
	buf_free(&w);
	buf_free(&said);
}


/* ---- quotas ---- */

static const char quotaconf[] =
	"version: 0.1\n"
	"policy:\n"
	"  quota:\n"
	"    - repositories: \"team-a/**\"\n"
	"      limit: 10500\n"
	"    - repositories: [\"team-b/**\", shared]\n"
	"      limit: 1MiB\n";

static void blob_of(struct store *st, const char *repo, int i, size_t size,
		    struct digest *d)
{
	char *b = malloc(size);
	struct err e = ERR_INIT;

	memset(b, 'a' + i % 26, size);
	snprintf(b, size, "blob %d", i);
	digest_of(DIGEST_SHA256, b, size, d);
	CHECK(store_blob_put(st, d, b, size, &e) == 0);
	(void)repo;
	free(b);
}

static void test_policy_quota(void)
{
	struct config c;
	struct buf w = BUF_INIT;
	struct err e = ERR_INIT;
	struct store st;
	const struct policy_quota *qa, *qb;
	struct digest d[40];
	long long used;
	int i, ok, k;

	CHECK(load(quotaconf, &c, &w, &e) == 0);
	qa = policy_quota(c.policy, "team-a/app");
	qb = policy_quota(c.policy, "shared");
	CHECK(qa && qa->limit == 10500 && qa->num == 1 && strlen(qa->key) == 16);
	CHECK(qb && qb->limit == 1 << 20 && qb == policy_quota(c.policy, "team-b/x/y"));
	CHECK(!policy_quota(c.policy, "team-c/app"));
	CHECK(store_open(&st, t_tmpdir(), &e) == 0);

	/* A repository already holding blobs when the rule comes: counted
	 * at the first charge. */
	blob_of(&st, "team-a/app", 0, 1000, &d[0]);
	CHECK(store_link_add(&st, "team-a/app", STORE_LAYER, &d[0], &e) == 0);
	CHECK(quota_usage(&st, qa, &used, &e) == 0);
	blob_of(&st, "team-a/app", 1, 1000, &d[1]);
	CHECK(quota_charge(&st, c.policy, "team-a/app", &d[1], 1000, &e) == 0);
	CHECK(quota_usage(&st, qa, &used, &e) == 1 && used == 2000);
	/* Charged once per rule, whichever of its repositories links it. */
	CHECK(quota_charge(&st, c.policy, "team-a/other", &d[1], 1000, &e) == 0);
	CHECK(quota_charge(&st, c.policy, "team-a/app", &d[0], 1000, &e) == 0);
	CHECK(quota_usage(&st, qa, &used, &e) == 1 && used == 2000);
	/* ...and once in each rule. */
	CHECK(quota_charge(&st, c.policy, "shared", &d[1], 1000, &e) == 0);
	CHECK(quota_usage(&st, qb, &used, &e) == 1 && used == 1000);
	/* Outside every rule: free. */
	CHECK(quota_charge(&st, c.policy, "team-c/app", &d[1], 99999999, &e) == 0);
	/* Over the limit: refused, saying the quota and the usage. */
	blob_of(&st, "team-a/app", 2, 9000, &d[2]);
	CHECK(quota_charge(&st, c.policy, "team-a/app", &d[2], 9000, &e) < 0 &&
	      e.code == ERR_DENIED && strstr(e.msg, "policy.quota rule 1 (repositories team-a/**)") &&
	      strstr(e.msg, "allows 10.3 KiB") && strstr(e.msg, "2.0 KiB is used") &&
	      strstr(e.msg, "needs 8.8 KiB"));
	CHECK(quota_usage(&st, qa, &used, &e) == 1 && used == 2000);

	/* A recount lowers it to what is linked, keeping recent charges. */
	CHECK(store_link_add(&st, "team-a/app", STORE_LAYER, &d[1], &e) == 0);
	CHECK(store_link_remove(&st, "team-a/app", STORE_LAYER, &d[0], &e) == 1);
	CHECK(quota_recount(&st, c.policy, NULL, NULL, &e) == 0);
	CHECK(quota_usage(&st, qa, &used, &e) == 1 && used == 2000);  /* d[0]: recent */
	{
		char p[600];
		struct timespec ts[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
		snprintf(p, sizeof(p), "%s/_berth/quota/%s/blobs/sha256-%s", st.root, qa->key,
			 d[0].hex);
		CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
	}
	CHECK(quota_recount(&st, c.policy, NULL, NULL, &e) == 0);
	CHECK(quota_usage(&st, qa, &used, &e) == 1 && used == 1000);

	/* Four processes charging 1000-byte blobs at once: never over. */
	for (i = 3; i < 39; i++)
		blob_of(&st, "team-a/app", i, 1000, &d[i]);
	for (k = 0; k < 4; k++)
		if (fork() == 0) {
			struct err ce = ERR_INIT;
			int n = 0;
			for (i = 3 + k; i < 39; i += 4)
				if (quota_charge(&st, c.policy, "team-a/app", &d[i], 1000, &ce) == 0)
					n++;
				else if (ce.code != ERR_DENIED)
					_exit(100);
			_exit(n);
		}
	ok = 1;
	{
		int total = 0;
		for (k = 0; k < 4; k++) {
			int status;
			wait(&status);
			ok &= WIFEXITED(status) && WEXITSTATUS(status) < 100;
			total += WEXITSTATUS(status);
		}
		/* 1000 used + 9 more fit in 10500. */
		CHECK(ok && total == 9);
	}
	CHECK(quota_usage(&st, qa, &used, &e) == 1 && used == 10000);

	CHECK(fails("policy:\n  quota:\n    - repositories: a\n", ":3:",
		    "needs repositories and limit"));
	CHECK(fails("policy:\n  quota:\n    - repositories: a\n      limit: 10 parsecs\n",
		    ":4:", "expected a size"));
	CHECK(fails("policy:\n  quota:\n    - repositories: a\n      limit: 0\n", ":4:",
		    "expected a size"));
	CHECK(fails("policy:\n  quota: {a: 1}\n", ":2:", "expected a list of rules"));
	store_close(&st);
	config_free(&c);
	buf_free(&w);
}

void test_policy(void)
{
	test_policy_parse();
	test_policy_immutable();
	test_policy_retention();
	test_policy_quota();
}
