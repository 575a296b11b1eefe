/*
 * retention: see retention.h. Per repository: read every tag (digest and
 * push time) before deciding anything, rank them, then remove.
 */
#include "retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "banned.h"

struct tagent {
	const char *tag;
	struct digest d;
	time_t when;
};

static int newest_first(const void *a, const void *b)
{
	const struct tagent *x = a, *y = b;

	if (x->when != y->when)
		return x->when > y->when ? -1 : 1;
	return strcmp(x->tag, y->tag);
}

/* "720h", "90m", "45s": a duration as config.yml would write it. */
static void fmt_duration(double s, char *out, size_t n)
{
	long v = (long)s;

	if (v >= 3600 && v % 3600 == 0)
		snprintf(out, n, "%ldh", v / 3600);
	else if (v >= 60 && v % 60 == 0)
		snprintf(out, n, "%ldm", v / 60);
	else
		snprintf(out, n, "%lds", v);
}

static void say(const struct retention_opts *o, const char *repo,
		const struct tagent *t, const struct policy_retention *r,
		int beyond, int old)
{
	char ds[DIGEST_STR_MAX], when[32], age[32], line[1024];
	struct tm tm;

	if (!o->say)
		return;
	digest_format(&t->d, ds);
	gmtime_r(&t->when, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fmt_duration(r->older_than, age, sizeof(age));
	/* The reasons, each said the way the rule was written. */
	if (beyond && old)
		snprintf(line, sizeof(line), "tag %s:%s %s pushed %s: beyond the newest "
			 "%ld and older than %s (policy.retention rule %zu)", repo,
			 t->tag, ds, when, r->keep_newest, age, r->num);
	else if (beyond)
		snprintf(line, sizeof(line), "tag %s:%s %s pushed %s: beyond the newest "
			 "%ld (policy.retention rule %zu)", repo, t->tag, ds, when,
			 r->keep_newest, r->num);
	else
		snprintf(line, sizeof(line), "tag %s:%s %s pushed %s: older than %s "
			 "(policy.retention rule %zu)", repo, t->tag, ds, when, age, r->num);
	o->say(o->ctx, line);
}

/* Reads every tag of repo: 0 with out and n set, -1. */
static int read_tags(const struct store *st, const char *repo,
		     const struct strlist *names, struct tagent **out, size_t *n,
		     struct err *e)
{
	struct tagent *v = calloc(names->n ? names->n : 1, sizeof(*v));
	size_t i;
	int r;

	*n = 0;
	if (!v)
		return err_sys(e, "out of memory");
	for (i = 0; i < names->n; i++) {
		struct tagent *t = &v[*n];
		t->tag = names->items[i];
		r = store_tag_get(st, repo, t->tag, &t->d, e);
		if (r > 0)
			r = store_tag_time(st, repo, t->tag, &t->when, e);
		if (r < 0) {
			free(v);
			return -1;
		}
		/* A tag without its current link (or gone meanwhile) names
		 * nothing: there is nothing to retain or remove. */
		if (r > 0)
			(*n)++;
	}
	*out = v;
	return 0;
}

static int repo_tags(const struct store *st, const struct retention_opts *o,
		     const char *repo, const struct policy_retention *rule,
		     long *count, struct err *e)
{
	struct strlist names = STRLIST_INIT;
	struct tagent *v = NULL;
	size_t n = 0, i;
	long rank = 0;
	int r = -1;

	if (store_tags(st, repo, &names, e) < 0 ||
	    read_tags(st, repo, &names, &v, &n, e) < 0)
		goto out;
	qsort(v, n, sizeof(*v), newest_first);
	for (i = 0; i < n; i++) {
		const struct tagent *t = &v[i];
		double age = difftime(o->now, t->when);
		int beyond, old, gone;

		if (policy_immutable(o->policy, repo, t->tag) ||
		    policy_retention_keeps(o->policy, rule, t->tag))
			continue;
		rank++;
		beyond = rule->keep_newest >= 0 && rank > rule->keep_newest;
		old = rule->older_than >= 0 && age > rule->older_than;
		/* Both limits, when both are given: only a tag outside each
		 * goes. */
		if (rule->keep_newest >= 0 && !beyond)
			continue;
		if (rule->older_than >= 0 && !old)
			continue;
		if (age <= o->grace)
			continue;
		if (o->dry_run) {
			gone = 1;
		} else {
			/* Only while it still names this manifest and is as
			 * old as it was when ranked. */
			gone = store_tag_remove_if(st, repo, t->tag, &t->d, t->when + 1, e);
			if (gone < 0)
				goto out;
		}
		if (!gone)
			continue;
		say(o, repo, t, rule, beyond, old);
		if (!o->dry_run) {
			struct events_target et = { NULL, &t->d, -1, repo, t->tag };
			events_removal(o->events, &et, o->actor, o->say, o->ctx);
		}
		(*count)++;
		if (o->removed && o->removed(o->removed_ctx, repo, t->tag, &t->d) < 0)
			goto out;
	}
	r = 0;
out:
	free(v);
	strlist_free(&names);
	return r;
}

int retention_tags(const struct store *st, const struct retention_opts *o,
		   const struct strlist *repos, long *count, struct err *e)
{
	const struct policy_retention *rule;
	size_t i;

	*count = 0;
	for (i = 0; i < repos->n; i++) {
		rule = policy_retention(o->policy, repos->items[i]);
		/* A rule only about untagged manifests (gc's own) reads no tag. */
		if (!rule || (rule->keep_newest < 0 && rule->older_than < 0))
			continue;
		if (repo_tags(st, o, repos->items[i], rule, count, e) < 0)
			return -1;
	}
	return 0;
}
