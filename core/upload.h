/*
 * upload: blob upload sessions that any worker on any host can continue.
 *
 * A session is a directory _uploads/<id>/ in the repository holding the
 * bytes received so far (data), when it began (startedat, as registry:2
 * writes it), and berthstate: the offset and the saved hash state at the
 * end of the last request that completed. The state file is authoritative:
 * bytes past its offset (from a request that died) are cut off when the
 * session is next opened, so a request either happens whole or not at all.
 * While a request works on a session it holds an open-file-description
 * lock on the data file (honoured by NFSv4 and CephFS across hosts); a second request
 * on the same session meanwhile gets ERR_BUSY instead of interleaving.
 *
 * Contract: upload_start/upload_open give a session that the caller must
 * upload_close(); upload_commit() and upload_cancel() end the session on
 * disk but the handle must still be closed. The digest is computed as the
 * bytes arrive; completion never re-reads the data for sha256 (or for
 * sha512 when it was asked for at the start).
 */
#ifndef BERTH_UPLOAD_H
#define BERTH_UPLOAD_H

#include <sys/types.h>
#include "digest.h"
#include "err.h"
#include "store.h"

struct upload;
struct policy;

/* Reads up to len bytes of request body: >0 bytes read, 0 at the end of
 * the body, -1 when the client went away. */
typedef long (*upload_read_fn)(void *ctx, char *buf, size_t len);

/* algs: digest algorithms to compute as data streams (DIGEST_SHA256 is
 * always included). */
int upload_start(const struct store *st, const char *name, unsigned algs,
		 struct upload **out, struct err *e);
/* ERR_BLOB_UPLOAD_UNKNOWN for an id this repository does not have. */
int upload_open(const struct store *st, const char *name, const char *id,
		struct upload **out, struct err *e);
void upload_close(struct upload *u);

const char *upload_id(const struct upload *u);
off_t upload_offset(const struct upload *u);

/* Appends the body: exactly expect bytes, or to its end when expect < 0.
 * ERR_SIZE_INVALID when the body is shorter than expect. Nothing is
 * durable until upload_save() or upload_commit(). On failure (client gone,
 * disk full) the bytes of this request are cut off again at once and the
 * handle can only be closed; the session on disk is as it was before the
 * request. */
int upload_append(struct upload *u, upload_read_fn rd, void *ctx,
		  long long expect, struct err *e);
/* Makes what was appended durable and resumable by another worker. */
int upload_save(struct upload *u, struct err *e);
/* Checks the data against want; when it matches, the blob is charged to
 * pol's quota of the repository (quota.h; pol may be NULL), enters the
 * store, is linked into the repository and the session is removed. On a
 * mismatch (ERR_DIGEST_INVALID) the session is removed and nothing enters
 * the store; when the blob does not fit the quota, ERR_DENIED and nothing
 * is stored. */
int upload_commit(struct upload *u, const struct digest *want,
		  const struct policy *pol, struct err *e);
/* Removes the session. */
int upload_cancel(struct upload *u, struct err *e);

/* Links blob d from repository from into name when from links it: 1 when
 * mounted, 0 when from does not have it. pol (may be NULL): the blob is
 * charged to name's quota first (ERR_DENIED when it does not fit). */
int upload_mount(const struct store *st, const char *name, const char *from,
		 const struct digest *d, const struct policy *pol, struct err *e);
/* A mount without from: d is linked into name from the first repository
 * of the catalog (in its order) that may(ctx, repo) allows and that
 * links d: 1 mounted, 0 none found, -1. At most UPLOAD_MOUNT_SCAN
 * repositories are looked at, so the cost of a mount stays bounded in a
 * large store; not finding one is never an error, since the client then
 * uploads the blob. A repository that cannot be read is passed over. */
#define UPLOAD_MOUNT_SCAN 1000
int upload_mount_any(const struct store *st, const char *name,
		     const struct digest *d,
		     int (*may)(void *ctx, const char *repo), void *ctx,
		     const struct policy *pol, struct err *e);

/* What POST answers in OCI-Chunk-Min-Length: below a mebibyte a chunk
 * costs more in its request (a lock, a state save) than in its bytes.
 * Smaller chunks are still accepted: clients that never read the header
 * must keep working, and a last chunk is short anyway. */
#define UPLOAD_CHUNK_MIN (1u << 20)

#endif
