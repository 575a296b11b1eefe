/*
 * catalog: the list of repositories for GET /v2/_catalog, kept as an index
 * so a page costs one directory read, not a walk of the whole store.
 *
 *   <root>/_berth/catalog/<name with '/' as '+'>   one empty file per repository
 *   <root>/_berth/catalog.ready                    the index is complete
 *   <root>/_berth/catalog.sorted                   a sorted snapshot (a cache)
 *
 * (<root> is .../docker/registry/v2; registry:2 ignores this directory.)
 *
 * Contract: a repository is listed from the moment a manifest PUT has
 * linked its first manifest, and stops being listed when a DELETE leaves
 * it with no manifest and no tag. Markers are created and removed with
 * single atomic file operations, and a remover re-checks the repository
 * after removing the marker and puts it back if a manifest arrived
 * meanwhile, so concurrent writers on any host leave the index right.
 * A page is a binary search in the sorted snapshot (snapshot.h), which
 * any reader rebuilds when the index directory's mtime says it is stale (a
 * marker was added or removed since), so 100,000 repositories cost one
 * readdir per change, not per request, and a page reads only the lines it
 * needs.
 * Reading the markers or the repositories fails the listing; it is never
 * taken for an empty catalog, and a repository whose content cannot be
 * checked stays listed.
 * When catalog.ready is missing (a store written by registry:2, or one
 * older than the index) the first listing rebuilds the index by walking
 * repositories/ once. catalog_rebuild() is also what `berth fsck --repair`
 * runs after another registry wrote to the store.
 */
#ifndef BERTH_CATALOG_H
#define BERTH_CATALOG_H

#include <stddef.h>
#include "err.h"
#include "store.h"

/* Makes sure name is listed. */
int catalog_add(const struct store *st, const char *name, struct err *e);
/* Unlists name if it has no manifest and no tag left. */
int catalog_drop_if_empty(const struct store *st, const char *name,
			  struct err *e);
/* Up to n names after last (NULL: from the start) in strcmp order; *more
 * tells whether names follow the page. */
int catalog_list(const struct store *st, const char *last, size_t n,
		 struct strlist *out, int *more, struct err *e);
/* Rebuilds the index from repositories/; returns the number listed. */
long catalog_rebuild(const struct store *st, struct err *e);

#endif
