/*
 * fsck: checking a store, for `berth fsck`.
 *
 * Checks that every blob hashes to its name, every link (layer, revision,
 * tag) names an existing blob, every tag's manifest is linked in its
 * repository, and every manifest the repositories link parses and has its
 * references (config and layers, or child manifests) in its repository.
 *
 * It walks the store with walk.h's policy: what cannot be read (an I/O
 * error, a directory where a file should be, a damaged link, a manifest
 * that does not parse) is a problem that is reported and counted, and
 * never repaired, since nothing is known about it.
 *
 * With repair, only what is known to be wrong is changed: a blob whose
 * bytes hash to another digest is moved to _berth/quarantine/ (never
 * deleted); a link or tag whose blob is absent is removed; a tag whose
 * manifest is in the store but not linked gets its revision link back; a
 * tag without a current link is removed; the catalog index is rebuilt.
 * Manifests with missing references are reported only: what they need is
 * not in the store to be put back.
 */
#ifndef BERTH_FSCK_H
#define BERTH_FSCK_H

#include "err.h"
#include "store.h"

struct fsck_stats {
	long blobs, links, manifests;   /* checked */
	long problems, repaired;
};

/* -1 only when the check could not run (the repositories cannot be
 * listed, out of memory); problems found are counted in stats. */
int fsck_run(const struct store *st, int repair,
	     void (*say)(void *ctx, const char *line), void *ctx,
	     struct fsck_stats *stats, struct err *e);

#endif
