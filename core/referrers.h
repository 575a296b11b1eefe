/*
 * referrers: the index behind GET /v2/<name>/referrers/<digest>.
 *
 *   repositories/<name>/_referrers/<alg>/<subject hex>/<alg>-<hex>
 *
 * holds, for each manifest of the repository whose `subject` is that
 * digest, its descriptor (mediaType, digest, size, artifactType,
 * annotations) as JSON. It is written by manifest PUT and removed by
 * manifest DELETE, each entry with one atomic file operation, so listing
 * never scans manifests. registry:2 ignores the directory ('_' names are
 * not repositories to it).
 *
 * Contract: referrers_list() returns an OCI image index of the entries
 * whose manifest the repository still links (an entry left by a crash or
 * by another registry's delete is skipped), optionally only those of one
 * artifactType; an unknown subject gives an empty index. An entry or a
 * link that cannot be read fails the listing (ERR_INTERNAL) rather than
 * leave a referrer out. The files are the store's (store_referrer_*).
 */
#ifndef BERTH_REFERRERS_H
#define BERTH_REFERRERS_H

#include <jansson.h>
#include "digest.h"
#include "err.h"
#include "store.h"

/* desc: the referrer's descriptor (borrowed). */
int referrers_add(const struct store *st, const char *name,
		  const struct digest *subject, const struct digest *referrer,
		  json_t *desc, struct err *e);
/* Removes manifest d of the repository from its subject's referrers, if
 * it has a subject (reads the manifest to learn it: one that cannot be
 * read is an error, one that is absent was never indexed). */
int referrers_remove_of(const struct store *st, const char *name,
			const struct digest *d, struct err *e);
/* A new reference to an image index in *out. */
int referrers_list(const struct store *st, const char *name,
		   const struct digest *subject, const char *artifact_type,
		   json_t **out, struct err *e);

#endif
