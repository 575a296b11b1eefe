/*
 * store_int: what store.c, store_tag.c, store_walk.c and store_put.c share and nobody
 * else sees: the one path builder, which refuses a store that was never
 * opened, and the layout's paths.
 */
#ifndef BERTH_STORE_INT_H
#define BERTH_STORE_INT_H

#include "store.h"

/* out = <root>/<fmt...> (out is reset first); -1 with e filled when the
 * store is not open or memory runs out. */
int store_path(const struct store *st, struct buf *out, struct err *e,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "_layers" or "_manifests/revisions". */
const char *store_link_area(enum store_link_kind kind);

/* blobs/<alg>/<xx>/<hex> and its data file. */
int store_blob_dir(const struct store *st, const struct digest *d,
		   struct buf *out, struct err *e);
int store_blob_data(const struct store *st, const struct digest *d,
		    struct buf *out, struct err *e);
/* Hard-links src in as the blob's data, durably, never replacing an
 * existing blob (which it touches instead); retries while a garbage
 * collection has the blob's directory moved aside. */
int store_blob_link(const struct store *st, const struct digest *d,
		    const char *src, struct err *e);
/* repositories/<name>/<area>/<alg>/<hex>: the directory of a link. */
int store_link_dir(const struct store *st, const char *name,
		   enum store_link_kind kind, const struct digest *d,
		   struct buf *out, struct err *e);
/* dir/link names d: 1, 0 absent, -1 (unreadable, or names another). */
int store_link_is(const char *dir, const struct digest *d, struct err *e);
/* Reads a link file: 1 with its digest in d, 0 absent, -1 unreadable or
 * damaged (its content is no digest). */
int store_link_read(const char *path, struct digest *d, struct err *e);
/* Writes dir/link naming d durably (touching it when it already does). */
int store_link_write(const char *dir, const struct digest *d, struct err *e);
/* repositories/<name>/_manifests/tags */
int store_tags_dir(const struct store *st, const char *name, struct buf *out,
		   struct err *e);

#endif
