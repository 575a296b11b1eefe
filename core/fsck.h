/*
 * fsck: checking a store, for `berth fsck`.
 *
 * Checks that every blob hashes to its name, every link (layer, revision,
 * tag) names an existing blob, and every manifest the repositories link
 * parses and has its references (config and layers, or child manifests)
 * in its repository. With repair, a blob that does not match its name is
 * moved to <root>/_berth/quarantine/ (never deleted), a link to a missing
 * blob is removed (a tag with it), and the catalog index is rebuilt.
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

int fsck_run(const struct store *st, int repair,
	     void (*say)(void *ctx, const char *line), void *ctx,
	     struct fsck_stats *stats, struct err *e);

#endif
