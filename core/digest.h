/*
 * digest: content digests ("sha256:<64 hex>", "sha512:<128 hex>") and the
 * resumable hashing of uploads.
 *
 * Contract: digest_parse() accepts only the canonical forms the spec lists
 * (lowercase hex of the exact length); anything else is DIGEST_INVALID, so a
 * parsed digest is always safe to put in a path. A digest_hasher can be
 * saved to a short text and loaded again by another process on another
 * host of the same or different endianness: this is how an upload moves
 * between workers without re-reading data.
 */
#ifndef BERTH_DIGEST_H
#define BERTH_DIGEST_H

#include <stddef.h>
#include "buf.h"
#include "err.h"

enum digest_alg { DIGEST_SHA256 = 1, DIGEST_SHA512 = 2 };

#define DIGEST_HEX_MAX 128
#define DIGEST_STR_MAX (7 + DIGEST_HEX_MAX + 1)

struct digest {
	enum digest_alg alg;
	char hex[DIGEST_HEX_MAX + 1];
};

/* 0 when s is a canonical digest, -1 (ERR_DIGEST_INVALID) otherwise. */
int digest_parse(const char *s, struct digest *d, struct err *e);
/* "sha256" or "sha512". */
const char *digest_alg_name(enum digest_alg alg);
/* Writes "alg:hex" into out (DIGEST_STR_MAX bytes). */
void digest_format(const struct digest *d, char out[DIGEST_STR_MAX]);
int digest_equal(const struct digest *a, const struct digest *b);
/* The digest of a buffer in memory. */
void digest_of(enum digest_alg alg, const void *data, size_t len,
	       struct digest *out);

/* Opaque so that callers never touch OpenSSL's deprecated types. */
struct digest_hasher;

/* algs: a mask of DIGEST_SHA256 | DIGEST_SHA512. NULL when out of memory. */
struct digest_hasher *digest_hasher_new(unsigned algs);
void digest_hasher_free(struct digest_hasher *h);
unsigned digest_hasher_algs(const struct digest_hasher *h);
void digest_hasher_update(struct digest_hasher *h, const void *data, size_t len);
/* Finishes alg (which must be in the mask) into out; the hasher is spent
 * for that algorithm afterwards. */
int digest_hasher_final(struct digest_hasher *h, enum digest_alg alg,
			struct digest *out, struct err *e);
/* Appends a portable text form of the state to out. */
int digest_hasher_save(const struct digest_hasher *h, struct buf *out);
/* Rebuilds a hasher from digest_hasher_save()'s text; NULL (with e set)
 * when the text is damaged. */
struct digest_hasher *digest_hasher_load(const char *text, struct err *e);

#endif
