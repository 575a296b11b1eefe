/*
 * quota: the byte limits of policy.quota (policy.h). A rule's usage is the
 * size of the distinct blobs (layers, configs and manifests) that the
 * repositories it covers link, a blob shared by several of them counted
 * once. It is kept in the store, for every host:
 *
 *   _berth/quota/<key>/usage           bytes charged, as text; its lock
 *                                      (an OFD lock) serializes charges
 *   _berth/quota/<key>/blobs/<alg>-<hex>   a blob charged, holding its size
 *
 * (<key> is the rule's policy_quota.key.) A blob is charged before it is
 * linked into a covered repository (quota_charge), under the lock: already
 * charged (its marker exists) costs nothing; else the usage grows first,
 * durably, then the marker is written. A crash between the two counts the
 * blob twice, never zero times, so the usage may be above the truth
 * (conservative) but never below it: no push ever takes a rule over its
 * limit, from any number of hosts. Unlinking never lowers the usage at
 * once (a blob may still be linked by another repository of the rule);
 * quota_recount() does, from a walk of the store: `berth gc` after its
 * sweep and `berth fsck --repair` run it. A blob charged while the walk
 * ran (a marker less than a minute older than the walk) is kept.
 *
 * The first charge for a rule without a usage file counts the store
 * first, so a quota added to a registry that already holds images starts
 * from what they use.
 */
#ifndef BERTH_QUOTA_H
#define BERTH_QUOTA_H

#include "digest.h"
#include "err.h"
#include "policy.h"
#include "store.h"

/* Charges blob d (size bytes) to the rule covering repo, if any: 0 when
 * it fits (or is charged already, or no rule covers repo), -1 with
 * ERR_DENIED naming the rule, its limit and its usage when it would not,
 * ERR_BUSY when the usage stays locked for seconds, or another error. */
int quota_charge(const struct store *st, const struct policy *pol,
		 const char *repo, const struct digest *d, long long size,
		 struct err *e);
/* The bytes charged to q: 1, 0 when never counted (no usage file), -1. */
int quota_usage(const struct store *st, const struct policy_quota *q,
		long long *used, struct err *e);
/* Recounts every rule of pol from the store's links; *said gets a line
 * per rule whose usage changed. 0, -1. */
int quota_recount(const struct store *st, const struct policy *pol,
		  void (*say)(void *ctx, const char *line), void *ctx,
		  struct err *e);
/* "9.5 GiB" */
void quota_fmt_size(long long n, char *out, size_t len);

#endif
