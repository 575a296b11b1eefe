/*
 * manifest: checking, storing and fetching image manifests and indexes,
 * and the tags of a repository.
 *
 * Accepted: OCI image manifest and index, Docker schema2 manifest and
 * manifest list, with artifactType, subject, the empty config and
 * non-distributable layers that carry urls. Docker schema1 is refused.
 *
 * Contract: manifest_put() stores nothing unless the body is a valid
 * manifest (refs.h, REFS_STRICT) whose references (config and layers, or
 * child manifests) are linked in this repository, and whose digest matches
 * a digest reference. The stored bytes are exactly the bytes received. The
 * media type served back is read from the manifest itself (its mediaType,
 * or its shape when it has none), as registry:2 does, so no extra state is
 * kept on disk and a registry:2 store is served the same way. A store that
 * cannot be read answers ERR_INTERNAL, never "unknown".
 */
#ifndef BERTH_MANIFEST_H
#define BERTH_MANIFEST_H

#include <stddef.h>
#include "buf.h"
#include "digest.h"
#include "err.h"
#include "refs.h"
#include "store.h"

struct policy;

/* The largest manifest Berth accepts on push. */
#define MANIFEST_MAX (4u << 20)

/* A manifest reference: a tag or a digest. */
struct manifest_ref {
	int is_digest;
	struct digest digest;
	char tag[129];
};

/* TAG_INVALID / DIGEST_INVALID for a bad reference. */
int manifest_ref_parse(const char *s, struct manifest_ref *ref, struct err *e);

struct manifest_info {
	struct digest digest;
	char media_type[256];
	int has_subject;
	struct digest subject;
};

/* The most tags one push may apply. */
#define MANIFEST_TAGS_MAX 100u

struct manifest_opts {
	const struct policy *policy;  /* its immutable rules; NULL: none */
	const char *const *tags;      /* more tags to apply (a digest
				       * reference only: TAG_INVALID else) */
	size_t ntags;
	struct strlist *applied;      /* NULL, or (emptied first) gets the
				       * tags a successful push applied,
				       * each once, in request order */
};

/* media_type: the type the client declared, without parameters ("" when
 * it declared none). manifest_put() is manifest_push() with no options.
 *
 * Immutable tags (policy.h): a push whose tag, or one of o->tags, is
 * covered by a rule and already names another manifest answers
 * ERR_DENIED naming the rule, before anything is stored; pushing the
 * manifest it names again succeeds. Such a tag is created exclusively
 * (store_tag_set_new), so of two pushes racing to create it one gets
 * ERR_DENIED. The manifest's own bytes are charged to the repository's
 * quota (quota.h) before it is stored: ERR_DENIED when they do not fit. */
int manifest_put(const struct store *st, const char *name,
		 const struct manifest_ref *ref, const char *media_type,
		 const char *body, size_t len, struct manifest_info *out,
		 struct err *e);
int manifest_push(const struct store *st, const char *name,
		  const struct manifest_ref *ref, const char *media_type,
		  const char *body, size_t len, const struct manifest_opts *o,
		  struct manifest_info *out, struct err *e);
/* Resolves ref in the repository; body gets the stored bytes (may be
 * NULL for HEAD, which still reads them to learn the media type). */
int manifest_get(const struct store *st, const char *name,
		 const struct manifest_ref *ref, struct buf *body,
		 struct manifest_info *out, struct err *e);
/* DELETE of a manifest: by tag removes that tag alone; by digest removes
 * every tag pointing at it, then the manifest from the repository (the
 * bytes stay for GC). ERR_MANIFEST_UNKNOWN when there is nothing to do.
 * ERR_DENIED, with nothing removed, for an immutable tag of pol or a
 * digest that one names. removed (may be NULL) gets the manifest the
 * deleted tag named, or the digest deleted; removed->alg is 0 when a
 * removed tag's link could not be read. */
int manifest_delete(const struct store *st, const char *name,
		    const struct manifest_ref *ref, const struct policy *pol,
		    struct digest *removed, struct err *e);
/* A page of the repository's tags in strcmp order: up to n (all when n
 * < 0) after last (NULL: from the start); *more tells whether tags follow.
 * ERR_NAME_UNKNOWN when the repository does not exist. */
int manifest_tags(const struct store *st, const char *name, const char *last,
		  long n, struct strlist *out, int *more, struct err *e);

#endif
