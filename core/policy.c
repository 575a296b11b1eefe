/*
 * policy: the rules of policy.h, parsed from the libyaml document. Each
 * immutable rule keeps its patterns and a description written once at
 * parse time, so a refusal names the rule without formatting anything on
 * the request path.
 */
#include "policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "digest.h"
#include "strlist.h"
#include "ynode.h"
#include "banned.h"

struct immutable {
	struct strlist repos, tags;
	char *desc;
};

struct retention {
	struct policy_retention pub;
	struct strlist repos, keeptags;
};

struct quota {
	struct policy_quota pub;
	struct strlist repos;
};

struct policy {
	struct immutable *imm;
	size_t nimm;
	struct retention *ret;
	size_t nret;
	double ret_interval;
	struct quota *quo;
	size_t nquo;
};

struct parse {
	yaml_document_t *doc;
	const char *file;
	struct policy *p;
	struct buf *warn;
	struct err *e;
};

static int fail(struct parse *x, const yaml_node_t *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct parse *x, const yaml_node_t *at, const char *fmt, ...)
{
	char m[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	return ynode_fail(x->e, x->file, "policy", at, "%s", m);
}

/* A tag glob: what a tag may hold, plus single stars. */
static int tag_glob_ok(const char *g)
{
	const char *c;

	if (!*g || strlen(g) > 128 || strstr(g, "**"))
		return 0;
	for (c = g; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' ||
		      *c == '-' || *c == '*'))
			return 0;
	return 1;
}

/* One string or a list of them, each checked by ok(), into out. */
static int patterns(struct parse *x, yaml_node_t *v, const char *key,
		    int (*ok)(const char *), struct strlist *out)
{
	yaml_node_item_t *it;
	const char *s = ynode_scalar(v);

	if (s) {
		if (!ok(s))
			return fail(x, v, "%s: %s can fit no name", key, s);
		return strlist_add(out, s) < 0 ? err_sys(x->e, "out of memory") : 0;
	}
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(x, v, "%s: expected a pattern or a list of patterns", key);
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *n = ynode_get(x->doc, *it);
		if (patterns(x, n, key, ok, out) < 0)
			return -1;
		if (n->type != YAML_SCALAR_NODE)
			return fail(x, n, "%s: a list of patterns holds strings", key);
	}
	if (!out->n)
		return fail(x, v, "%s: an empty list", key);
	return 0;
}

/* arr (n rules of size bytes) grown by one zeroed rule at its end; NULL,
 * arr untouched, when memory runs out (x->e says so). */
static void *add_rule(struct parse *x, void *arr, size_t n, size_t size)
{
	char *a = realloc(arr, (n + 1) * size);

	if (!a) {
		err_sys(x->e, "out of memory");
		return NULL;
	}
	memset(a + n * size, 0, size);
	return a;
}

static int describe(struct parse *x, struct immutable *r, size_t num)
{
	struct buf d = BUF_INIT;
	size_t i;
	int rc = buf_addf(&d, "policy.immutable rule %zu (repositories ", num);

	for (i = 0; i < r->repos.n; i++)
		rc |= buf_addf(&d, "%s%s", i ? ", " : "", r->repos.items[i]);
	rc |= buf_adds(&d, "; tags ");
	for (i = 0; i < r->tags.n; i++)
		rc |= buf_addf(&d, "%s%s", i ? ", " : "", r->tags.items[i]);
	rc |= buf_adds(&d, ")");
	if (rc < 0) {
		buf_free(&d);
		return err_sys(x->e, "out of memory");
	}
	r->desc = buf_detach(&d, NULL);
	return r->desc ? 0 : err_sys(x->e, "out of memory");
}

static int parse_immutable_rule(struct parse *x, yaml_node_t *map)
{
	struct immutable *r, *arr;
	yaml_node_pair_t *pr;

	if (map->type != YAML_MAPPING_NODE)
		return fail(x, map, "immutable: each entry is a mapping with "
			    "repositories and tags");
	if (!(arr = add_rule(x, x->p->imm, x->p->nimm, sizeof(*arr))))
		return -1;
	x->p->imm = arr;
	r = &arr[x->p->nimm++];
	for (pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = ynode_get(x->doc, pr->key), *v = ynode_get(x->doc, pr->value);
		const char *key = ynode_scalar(k);
		int rc;

		if (key && !strcmp(key, "repositories") && !r->repos.n)
			rc = patterns(x, v, key, access_pattern_ok, &r->repos);
		else if (key && !strcmp(key, "tags") && !r->tags.n)
			rc = patterns(x, v, key, tag_glob_ok, &r->tags);
		else
			rc = fail(x, k, "immutable: unknown or repeated key %s "
				  "(repositories, tags)", key ? key : "");
		if (rc < 0)
			return -1;
	}
	if (!r->repos.n || !r->tags.n)
		return fail(x, map, "immutable: an entry needs both repositories and tags");
	return describe(x, r, x->p->nimm);
}

static int positive_duration(struct parse *x, yaml_node_t *v, const char *key,
			     double *out)
{
	const char *s = ynode_scalar(v);

	if (!s || ynode_duration(s, out) < 0 || *out <= 0)
		return fail(x, v, "retention: %s: expected a duration such as 168h", key);
	return 0;
}

static int parse_retention_rule(struct parse *x, yaml_node_t *map)
{
	struct retention *r, *arr;
	yaml_node_pair_t *pr;
	int seen_keep = 0, seen_old = 0, seen_untagged = 0;

	if (map->type != YAML_MAPPING_NODE)
		return fail(x, map, "retention: each rule is a mapping with "
			    "repositories and what to keep or remove");
	if (!(arr = add_rule(x, x->p->ret, x->p->nret, sizeof(*arr))))
		return -1;
	x->p->ret = arr;
	r = &arr[x->p->nret++];
	r->pub.keep_newest = -1;
	r->pub.older_than = -1;
	r->pub.untagged_older_than = -1;
	r->pub.num = x->p->nret;
	for (pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = ynode_get(x->doc, pr->key), *v = ynode_get(x->doc, pr->value);
		const char *key = ynode_scalar(k), *val = ynode_scalar(v);
		int rc;

		if (key && !strcmp(key, "repositories") && !r->repos.n) {
			rc = patterns(x, v, key, access_pattern_ok, &r->repos);
		} else if (key && !strcmp(key, "keeptags") && !r->keeptags.n) {
			rc = patterns(x, v, key, tag_glob_ok, &r->keeptags);
		} else if (key && !strcmp(key, "keepnewest") && !seen_keep++) {
			char *end = NULL;
			long n = val && *val >= '0' && *val <= '9' ? strtol(val, &end, 10) : -1;
			rc = n < 1 || n > 1000000 || *end ?
				fail(x, v, "retention: keepnewest: expected a number of tags, "
				     "at least 1") : 0;
			r->pub.keep_newest = n;
		} else if (key && !strcmp(key, "olderthan") && !seen_old++) {
			rc = positive_duration(x, v, key, &r->pub.older_than);
		} else if (key && !strcmp(key, "untaggedolderthan") && !seen_untagged++) {
			rc = positive_duration(x, v, key, &r->pub.untagged_older_than);
		} else {
			rc = fail(x, k, "retention: unknown or repeated key %s (repositories, "
				  "keepnewest, keeptags, olderthan, untaggedolderthan)",
				  key ? key : "");
		}
		if (rc < 0)
			return -1;
	}
	if (!r->repos.n)
		return fail(x, map, "retention: a rule needs repositories");
	if (r->pub.keep_newest < 0 && r->pub.older_than < 0 &&
	    r->pub.untagged_older_than < 0)
		return fail(x, map, "retention: a rule that removes nothing (give "
			    "keepnewest, olderthan or untaggedolderthan)");
	return 0;
}

/* The three rule lists (immutable, retention rules, quota) are each a
 * sequence of mappings, one rule per item, parsed by rule(). */
static int each_rule(struct parse *x, yaml_node_t *v, const char *where,
		     const char *noun, int (*rule)(struct parse *, yaml_node_t *))
{
	yaml_node_item_t *it;

	if (v->type != YAML_SEQUENCE_NODE)
		return fail(x, v, "%s: expected a list of %s", where, noun);
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++)
		if (rule(x, ynode_get(x->doc, *it)) < 0)
			return -1;
	return 0;
}

static int parse_retention(struct parse *x, yaml_node_t *n)
{
	yaml_node_pair_t *pr;
	int seen_rules = 0, seen_interval = 0;

	if (n->type != YAML_MAPPING_NODE)
		return fail(x, n, "retention: expected a mapping with rules (and interval)");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = ynode_get(x->doc, pr->key), *v = ynode_get(x->doc, pr->value);
		const char *key = ynode_scalar(k);

		if (key && !strcmp(key, "interval") && !seen_interval++) {
			if (positive_duration(x, v, key, &x->p->ret_interval) < 0)
				return -1;
		} else if (key && !strcmp(key, "rules") && !seen_rules++) {
			if (each_rule(x, v, "retention: rules", "rules",
				      parse_retention_rule) < 0)
				return -1;
		} else {
			return fail(x, k, "retention: unknown or repeated key %s "
				    "(rules, interval)", key ? key : "");
		}
	}
	return 0;
}

/* 10GiB, 500MB, 1048576: bytes, with decimal (KB, MB, GB, TB) or binary
 * (KiB, MiB, GiB, TiB) units. */
static int parse_size(const char *s, long long *out)
{
	static const struct { const char *u; long long m; } units[] = {
		{ "", 1 }, { "B", 1 }, { "KB", 1000LL }, { "MB", 1000LL * 1000 },
		{ "GB", 1000LL * 1000 * 1000 }, { "TB", 1000LL * 1000 * 1000 * 1000 },
		{ "KiB", 1LL << 10 }, { "MiB", 1LL << 20 }, { "GiB", 1LL << 30 },
		{ "TiB", 1LL << 40 },
	};
	char *end;
	double v;
	size_t i;

	if (!s || *s < '0' || *s > '9')
		return -1;
	v = strtod(s, &end);
	while (*end == ' ')
		end++;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].u)) {
			if (v <= 0 || v * (double)units[i].m > 9e18)
				return -1;
			*out = (long long)(v * (double)units[i].m);
			return *out > 0 ? 0 : -1;
		}
	return -1;
}

static int quota_describe(struct parse *x, struct quota *q)
{
	struct buf d = BUF_INIT;
	struct digest h;
	size_t i;
	int rc = buf_addf(&d, "policy.quota rule %zu (repositories ", q->pub.num);

	for (i = 0; i < q->repos.n; i++)
		rc |= buf_addf(&d, "%s%s", i ? ", " : "", q->repos.items[i]);
	rc |= buf_adds(&d, ")");
	if (rc < 0) {
		buf_free(&d);
		return err_sys(x->e, "out of memory");
	}
	/* The rule's accounting is kept under a name made of its patterns,
	 * not its position: reordering the rules keeps every count. */
	{
		struct buf pats = BUF_INIT;
		for (i = 0; i < q->repos.n; i++)
			rc |= buf_addf(&pats, "%s\n", q->repos.items[i]);
		if (rc < 0) {
			buf_free(&pats);
			buf_free(&d);
			return err_sys(x->e, "out of memory");
		}
		digest_of(DIGEST_SHA256, pats.s, pats.len, &h);
		buf_free(&pats);
	}
	snprintf(q->pub.key, sizeof(q->pub.key), "%.16s", h.hex);
	q->pub.desc = buf_detach(&d, NULL);
	return q->pub.desc ? 0 : err_sys(x->e, "out of memory");
}

static int parse_quota_rule(struct parse *x, yaml_node_t *map)
{
	struct quota *q, *arr;
	yaml_node_pair_t *pr;
	int seen_limit = 0;

	if (map->type != YAML_MAPPING_NODE)
		return fail(x, map, "quota: each rule is a mapping with repositories and limit");
	if (!(arr = add_rule(x, x->p->quo, x->p->nquo, sizeof(*arr))))
		return -1;
	x->p->quo = arr;
	q = &arr[x->p->nquo++];
	q->pub.num = x->p->nquo;
	for (pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = ynode_get(x->doc, pr->key), *v = ynode_get(x->doc, pr->value);
		const char *key = ynode_scalar(k);
		int rc;

		if (key && !strcmp(key, "repositories") && !q->repos.n)
			rc = patterns(x, v, key, access_pattern_ok, &q->repos);
		else if (key && !strcmp(key, "limit") && !seen_limit++)
			rc = parse_size(ynode_scalar(v), &q->pub.limit) < 0 ?
				fail(x, v, "quota: limit: expected a size such as 10GiB") : 0;
		else
			rc = fail(x, k, "quota: unknown or repeated key %s (repositories, limit)",
				  key ? key : "");
		if (rc < 0)
			return -1;
	}
	if (!q->repos.n || !seen_limit)
		return fail(x, map, "quota: a rule needs repositories and limit");
	return quota_describe(x, q);
}

int policy_parse(yaml_document_t *doc, yaml_node_t *n, const char *file,
		 struct buf *warnings, struct policy **out, struct err *e)
{
	struct parse x = { doc, file, NULL, warnings, e };
	yaml_node_pair_t *pr;
	int seen_imm = 0, seen_ret = 0, seen_quota = 0;

	*out = NULL;
	if (n->type != YAML_MAPPING_NODE)
		return fail(&x, n, "expected a mapping");
	if (!(x.p = calloc(1, sizeof(*x.p))))
		return err_sys(e, "out of memory");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = ynode_get(doc, pr->key), *v = ynode_get(doc, pr->value);
		const char *key = ynode_scalar(k);

		if (key && !strcmp(key, "repository")) {
			if (buf_addf(warnings, "%s:%zu: policy.repository is not used: "
				     "Berth has no repository classes\n", file,
				     k->start_mark.line + 1) < 0) {
				err_sys(e, "out of memory");
				goto bad;
			}
		} else if (key && !strcmp(key, "immutable") && !seen_imm++) {
			if (each_rule(&x, v, "immutable", "entries",
				      parse_immutable_rule) < 0)
				goto bad;
		} else if (key && !strcmp(key, "retention") && !seen_ret++) {
			if (parse_retention(&x, v) < 0)
				goto bad;
		} else if (key && !strcmp(key, "quota") && !seen_quota++) {
			if (each_rule(&x, v, "quota", "rules", parse_quota_rule) < 0)
				goto bad;
		} else {
			fail(&x, k, "unknown or repeated key %s (immutable, retention, "
			     "quota, repository)", key ? key : "");
			goto bad;
		}
	}
	*out = x.p;
	return 0;
bad:
	policy_free(x.p);
	return -1;
}

void policy_free(struct policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nimm; i++) {
		strlist_free(&p->imm[i].repos);
		strlist_free(&p->imm[i].tags);
		free(p->imm[i].desc);
	}
	free(p->imm);
	for (i = 0; i < p->nret; i++) {
		strlist_free(&p->ret[i].repos);
		strlist_free(&p->ret[i].keeptags);
	}
	free(p->ret);
	for (i = 0; i < p->nquo; i++) {
		strlist_free(&p->quo[i].repos);
		free((char *)p->quo[i].pub.desc);
	}
	free(p->quo);
	free(p);
}

static int any_match(const struct strlist *pats, const char *s)
{
	size_t i;

	for (i = 0; i < pats->n; i++)
		if (access_match(pats->items[i], s))
			return 1;
	return 0;
}

const char *policy_immutable(const struct policy *p, const char *repo,
			     const char *tag)
{
	size_t i;

	if (!p)
		return NULL;
	for (i = 0; i < p->nimm; i++)
		if (any_match(&p->imm[i].repos, repo) && any_match(&p->imm[i].tags, tag))
			return p->imm[i].desc;
	return NULL;
}

size_t policy_immutable_count(const struct policy *p)
{
	return p ? p->nimm : 0;
}

const struct policy_retention *policy_retention(const struct policy *p,
						const char *repo)
{
	size_t i;

	if (!p)
		return NULL;
	for (i = 0; i < p->nret; i++)
		if (any_match(&p->ret[i].repos, repo))
			return &p->ret[i].pub;
	return NULL;
}

int policy_retention_keeps(const struct policy *p,
			   const struct policy_retention *r, const char *tag)
{
	const struct retention *full = &p->ret[r->num - 1];

	return any_match(&full->keeptags, tag);
}

size_t policy_retention_count(const struct policy *p)
{
	return p ? p->nret : 0;
}

double policy_retention_interval(const struct policy *p)
{
	return p ? p->ret_interval : 0;
}

const struct policy_quota *policy_quota(const struct policy *p, const char *repo)
{
	size_t i;

	if (!p)
		return NULL;
	for (i = 0; i < p->nquo; i++)
		if (any_match(&p->quo[i].repos, repo))
			return &p->quo[i].pub;
	return NULL;
}

size_t policy_quota_count(const struct policy *p)
{
	return p ? p->nquo : 0;
}

const struct policy_quota *policy_quota_at(const struct policy *p, size_t i)
{
	return p && i < p->nquo ? &p->quo[i].pub : NULL;
}
