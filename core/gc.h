/*
 * gc: garbage collection and upload purging, for `berth gc` and the
 * supervisor's purge timer.
 *
 * Retention first, when asked (retention.h): the tags its rules remove.
 * Mark: every manifest a tag points at (and, without delete_untagged or a
 * retention rule's untaggedolderthan, every manifest a repository links), the children of a kept index and the
 * referrers of a kept manifest, recursively; their config and layer blobs.
 * Sweep: blobs nothing marked, untagged manifests that nothing kept
 * references (with delete_untagged), layer links whose blob is gone,
 * upload sessions older than the purge age, and temp files left by
 * crashes.
 *
 * Contract, and why it is safe while the registry serves pushes: nothing
 * whose file was modified or touched within the grace period is removed.
 * Writers touch every blob and link they start to depend on (store.h), and
 * just before removing anything the collector renames it aside, looks at
 * its time again and puts it back if it was touched meanwhile; a writer
 * that finds it gone at that instant links it again (blobs) or fails its
 * request cleanly (a manifest whose blob vanished is MANIFEST_BLOB_UNKNOWN,
 * never stored). With dry_run nothing is changed and everything that would
 * be removed is reported.
 *
 * Never on doubt: the mark walks the store with walk.h's policy. Any error
 * other than an item's absence (a tagged manifest or the child of a kept
 * index that cannot be read or parsed, a tag link that cannot be read, a
 * directory that cannot be listed) ends gc_run() with -1 before anything
 * is removed, e naming the file and the error. A sweep that meets such an
 * error stops there too: a layer link is removed only when its blob is
 * absent, never because looking at the blob failed.
 */
#ifndef BERTH_GC_H
#define BERTH_GC_H

#include "err.h"
#include "store.h"

struct policy;

struct gc_opts {
	int dry_run;
	int delete_untagged;
	/* policy.retention: its tag rules first (retention.h), then its
	 * untaggedolderthan for the manifests of the repositories it covers. */
	const struct policy *retention;
	int purge_uploads;      /* also purge old upload sessions */
	int collect;            /* mark and sweep (0: only purge uploads) */
	double grace;           /* seconds */
	double upload_age;      /* seconds */
	/* Called with one line per removal ("blob sha256:... 1234 bytes"). */
	void (*say)(void *ctx, const char *line);
	void *ctx;
	/* Each removal of a tag, manifest or blob is also a "delete" event
	 * by actor (events.h); NULL: none. */
	struct events *events;
	const char *actor;
};

struct gc_stats {
	long tags, blobs, manifests, links, uploads, temps;
	long long bytes;
};

int gc_run(const struct store *st, const struct gc_opts *o,
	   struct gc_stats *stats, struct err *e);

/* policy.retention.interval's timer, as gc_purge_due() with its own stamp
 * (_berth/retention.stamp). */
int gc_retention_due(const struct store *st, double interval, struct err *e);

/* storage.maintenance.uploadpurging's timer, kept in the store
 * (_berth/purge.stamp holds when the last purge began) so that the pools
 * of several hosts, and processes that mod_fcgid runs without a
 * supervisor, share one interval: 1 when a purge is due (the stamp was
 * touched: the caller purges), 0 when not, -1. */
int gc_purge_due(const struct store *st, double interval, struct err *e);

#endif
