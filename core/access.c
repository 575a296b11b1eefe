/*
 * access: the rules of access.h, parsed once from the libyaml document
 * at start-up; a check is a walk down a short list of patterns. Groups are
 * expanded into their members while parsing, so a check never looks a
 * group up.
 */
#include "access.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strlist.h"
#include "ynode.h"
#include "banned.h"

struct who {
	int any;            /* "*": any authenticated user */
	int anonymous;      /* "anonymous" */
	struct strlist users;
};

struct rule {
	char *match;
	struct who pull, push, del;
};

struct group {
	char *name;
	struct strlist members;
};

struct access {
	struct rule *rules;
	size_t nrules;
	struct group *groups;
	size_t ngroups;
};

struct parse {
	yaml_document_t *doc;
	const char *file;
	struct access *a;
	struct err *e;
};

static int fail(struct parse *p, yaml_node_t *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct parse *p, yaml_node_t *at, const char *fmt, ...)
{
	char m[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	return ynode_fail(p->e, p->file, "access", at, "%s", m);
}

#define scalar ynode_scalar

static yaml_node_t *node(struct parse *p, int id)
{
	return ynode_get(p->doc, id);
}

int access_match(const char *p, const char *s)
{
	for (;;) {
		if (p[0] == '*' && p[1] == '*') {
			/* zero components: the stars and their slash go */
			if (p[2] == '/' && access_match(p + 3, s))
				return 1;
			for (p += 2;; s++) {
				if (access_match(p, s))
					return 1;
				if (!*s)
					return 0;
			}
		}
		/* a trailing slash and two stars also fit nothing at all */
		if (p[0] == '/' && p[1] == '*' && p[2] == '*' &&
		    (p[3] == 0 || p[3] == '/') && access_match(p + 3, s))
			return 1;
		if (*p == '*') {
			for (p++;; s++) {
				if (access_match(p, s))
					return 1;
				if (!*s || *s == '/')
					return 0;
			}
		}
		if (!*p)
			return !*s;
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
}

/* A pattern that no valid repository name can fit is a mistake: refuse
 * it rather than leave a rule that silently never applies. */
int access_pattern_ok(const char *pat)
{
	const char *c;
	size_t len = strlen(pat);

	if (!len || pat[0] == '/' || pat[len - 1] == '/' || strstr(pat, "//") ||
	    strstr(pat, "***"))
		return 0;
	for (c = pat; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		      *c == '.' || *c == '_' || *c == '-' || *c == '/' || *c == '*'))
			return 0;
	return 1;
}

static const struct group *find_group(const struct access *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->ngroups; i++)
		if (!strcmp(a->groups[i].name, name))
			return &a->groups[i];
	return NULL;
}

static int add_principal(struct parse *p, struct who *w, yaml_node_t *n)
{
	const char *s = scalar(n);
	const struct group *g;
	size_t i;

	if (!s || !*s)
		return fail(p, n, "a principal must be a user, @group, * or anonymous");
	if (!strcmp(s, "*")) {
		w->any = 1;
		return 0;
	}
	if (!strcmp(s, "anonymous")) {
		w->anonymous = 1;
		return 0;
	}
	if (s[0] != '@')
		return strlist_add(&w->users, s) < 0 ? err_sys(p->e, "out of memory") : 0;
	g = find_group(p->a, s + 1);
	if (!g)
		return fail(p, n, "unknown group %s", s);
	for (i = 0; i < g->members.n; i++)
		if (strlist_add(&w->users, g->members.items[i]) < 0)
			return err_sys(p->e, "out of memory");
	return 0;
}

static int parse_who(struct parse *p, struct who *w, yaml_node_t *seq, const char *key)
{
	yaml_node_item_t *it;

	if (seq->type != YAML_SEQUENCE_NODE)
		return fail(p, seq, "%s: expected a list of principals", key);
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++)
		if (add_principal(p, w, node(p, *it)) < 0)
			return -1;
	return 0;
}

static int parse_groups(struct parse *p, yaml_node_t *map)
{
	yaml_node_pair_t *pr;
	yaml_node_item_t *it;

	if (map->type != YAML_MAPPING_NODE)
		return fail(p, map, "groups: expected a mapping of group names to lists of users");
	for (pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
		struct group *g, *arr;
		const char *name = scalar(k);

		if (!name || !*name || !v || v->type != YAML_SEQUENCE_NODE)
			return fail(p, k, "groups: each group is a name and a list of users");
		if (find_group(p->a, name))
			return fail(p, k, "group %s appears twice", name);
		arr = realloc(p->a->groups, (p->a->ngroups + 1) * sizeof(*arr));
		if (!arr)
			return err_sys(p->e, "out of memory");
		p->a->groups = arr;
		g = &arr[p->a->ngroups++];
		memset(g, 0, sizeof(*g));
		if (!(g->name = strdup(name)))
			return err_sys(p->e, "out of memory");
		for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			yaml_node_t *m = node(p, *it);
			const char *u = scalar(m);
			if (!u || !*u || u[0] == '@' || !strcmp(u, "*") || !strcmp(u, "anonymous"))
				return fail(p, m, "group %s: members are user names", name);
			if (strlist_add(&g->members, u) < 0)
				return err_sys(p->e, "out of memory");
		}
	}
	return 0;
}

static int parse_rule(struct parse *p, yaml_node_t *map)
{
	yaml_node_pair_t *pr;
	struct rule *r, *arr;

	if (map->type != YAML_MAPPING_NODE)
		return fail(p, map, "repositories: each entry is a mapping with match, pull, push, delete");
	arr = realloc(p->a->rules, (p->a->nrules + 1) * sizeof(*arr));
	if (!arr)
		return err_sys(p->e, "out of memory");
	p->a->rules = arr;
	r = &arr[p->a->nrules++];
	memset(r, 0, sizeof(*r));
	for (pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
		const char *key = scalar(k);
		int rc;

		if (!key || !v)
			return fail(p, k, "repositories: keys must be plain names");
		if (!strcmp(key, "match")) {
			const char *pat = scalar(v);
			if (r->match)
				return fail(p, k, "match appears twice");
			if (!pat || !access_pattern_ok(pat))
				return fail(p, v, "pattern %s cannot match a repository name",
					    pat ? pat : "(not a string)");
			if (!(r->match = strdup(pat)))
				return err_sys(p->e, "out of memory");
			continue;
		}
		if (!strcmp(key, "pull"))
			rc = parse_who(p, &r->pull, v, key);
		else if (!strcmp(key, "push"))
			rc = parse_who(p, &r->push, v, key);
		else if (!strcmp(key, "delete"))
			rc = parse_who(p, &r->del, v, key);
		else
			rc = fail(p, k, "unknown key %s (match, pull, push, delete)", key);
		if (rc < 0)
			return -1;
	}
	if (!r->match)
		return fail(p, map, "an entry without match");
	return 0;
}

int access_parse(yaml_document_t *doc, yaml_node_t *n, const char *file,
		 struct access **out, struct err *e)
{
	struct parse p = { doc, file, NULL, e };
	yaml_node_pair_t *pr;
	yaml_node_t *groups = NULL, *repos = NULL;
	yaml_node_item_t *it;

	*out = NULL;
	if (n->type != YAML_MAPPING_NODE)
		return err_set(e, ERR_INTERNAL, "%s:%zu: access: expected a mapping",
			       file, n->start_mark.line + 1);
	p.a = calloc(1, sizeof(*p.a));
	if (!p.a)
		return err_sys(e, "out of memory");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(&p, pr->key);
		const char *key = scalar(k);
		if (key && !strcmp(key, "groups") && !groups)
			groups = node(&p, pr->value);
		else if (key && !strcmp(key, "repositories") && !repos)
			repos = node(&p, pr->value);
		else {
			fail(&p, k, "unknown or repeated key %s (groups, repositories)",
			     key ? key : "");
			goto bad;
		}
	}
	/* Groups first, wherever they stand: rules name them. */
	if (groups && parse_groups(&p, groups) < 0)
		goto bad;
	if (repos) {
		if (repos->type != YAML_SEQUENCE_NODE) {
			fail(&p, repos, "repositories: expected a list of entries");
			goto bad;
		}
		for (it = repos->data.sequence.items.start; it < repos->data.sequence.items.top; it++)
			if (parse_rule(&p, node(&p, *it)) < 0)
				goto bad;
	}
	*out = p.a;
	return 0;
bad:
	access_free(p.a);
	return -1;
}

static void who_free(struct who *w)
{
	strlist_free(&w->users);
}

void access_free(struct access *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->nrules; i++) {
		free(a->rules[i].match);
		who_free(&a->rules[i].pull);
		who_free(&a->rules[i].push);
		who_free(&a->rules[i].del);
	}
	for (i = 0; i < a->ngroups; i++) {
		free(a->groups[i].name);
		strlist_free(&a->groups[i].members);
	}
	free(a->rules);
	free(a->groups);
	free(a);
}

static int has(const struct who *w, const char *user)
{
	size_t i;

	if (!user)
		return w->anonymous;
	if (w->any)
		return 1;
	for (i = 0; i < w->users.n; i++)
		if (!strcmp(w->users.items[i], user))
			return 1;
	return 0;
}

int access_allows(const struct access *a, const char *user, const char *repo,
		  enum access_right right)
{
	size_t i;

	if (!a)
		return 1;
	for (i = 0; i < a->nrules; i++) {
		const struct rule *r = &a->rules[i];
		if (!access_match(r->match, repo))
			continue;
		/* The first entry that fits decides, granting or not. */
		switch (right) {
		case ACCESS_PULL:
			return has(&r->pull, user) || has(&r->push, user);
		case ACCESS_PUSH:
			return has(&r->push, user);
		default:
			return has(&r->del, user);
		}
	}
	return 0;
}

int access_anonymous_welcome(const struct access *a)
{
	size_t i;

	if (!a)
		return 0;
	for (i = 0; i < a->nrules; i++)
		if (a->rules[i].pull.anonymous || a->rules[i].push.anonymous ||
		    a->rules[i].del.anonymous)
			return 1;
	return 0;
}

void access_counts(const struct access *a, size_t *rules, size_t *groups)
{
	*rules = a ? a->nrules : 0;
	*groups = a ? a->ngroups : 0;
}
