/*
 * store_int: what store.c and store_walk.c share and nobody else sees:
 * the one path builder, which refuses a store that was never opened.
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

#endif
