/*
 * retention: the tag half of policy.retention (policy.h), run by gc_run()
 * before its mark, so that the manifests of the tags it removes are then
 * untagged, and go when the repository's untaggedolderthan (or
 * --delete-untagged) says so, by gc's own sweep and its rules for indexes
 * and referrers.
 *
 * In each repository a rule covers, tags are ranked by push time, newest
 * first (store_tag_time). A tag stays when it is immutable, covered by the
 * rule's keeptags, among the rule's keepnewest of the others, no older
 * than olderthan, or written within the gc grace period; a rule with
 * neither keepnewest nor olderthan removes no tag. Each tag removed, or
 * that would be in a dry run, is said in one line with its digest, push
 * time and reasons, and passed to o->removed.
 *
 * Never on doubt, as gc: a tag that cannot be read stops the run before
 * that repository loses anything; a tag is removed with
 * store_tag_remove_if(), so one that a push re-points while retention
 * runs stays.
 */
#ifndef BERTH_RETENTION_H
#define BERTH_RETENTION_H

#include <time.h>
#include "digest.h"
#include "err.h"
#include "policy.h"
#include "store.h"

struct events;

struct retention_opts {
	const struct policy *policy;
	double grace;            /* seconds: nothing younger goes */
	time_t now;
	int dry_run;
	void (*say)(void *ctx, const char *line);
	void *ctx;
	/* Told of each tag removed (or, in a dry run, that would be). */
	int (*removed)(void *ctx, const char *repo, const char *tag,
		       const struct digest *d);
	void *removed_ctx;
	struct events *events;   /* each tag removed is a "delete" event */
	const char *actor;
};

/* repos: the repositories to look at. *count: the tags removed. */
int retention_tags(const struct store *st, const struct retention_opts *o,
		   const struct strlist *repos, long *count, struct err *e);

#endif
