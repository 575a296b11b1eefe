/*
 * store: the on-disk registry, in exactly CNCF Distribution's layout, so a
 * data directory moves between registry:2 and Berth unchanged.
 *
 *   <root>/docker/registry/v2/blobs/<alg>/<2 hex>/<hex>/data
 *   <root>/docker/registry/v2/repositories/<name>/
 *       _layers/<alg>/<hex>/link                  "alg:hex" of a blob
 *       _manifests/revisions/<alg>/<hex>/link     "alg:hex" of a manifest
 *       _manifests/tags/<tag>/current/link        what the tag points at
 *       _manifests/tags/<tag>/index/<alg>/<hex>/link   every value it had
 *       _uploads/<id>/{data,startedat,berthstate} an upload in progress
 *
 * Contract: nothing is ever written in place. A file appears under its name
 * only complete and durable: it is written to a temp file in the target's
 * own directory, fsync'd, then renamed (links) or hard-linked (blobs, so an
 * existing blob is never replaced), and the directory is fsync'd. New
 * directories are fsync'd into their parents. A blob is durable before any
 * link names it, a manifest before any tag. So a crash at any point leaves
 * at worst a stray ".tmp-*" file, never a short blob or an empty link, and
 * concurrent writers of the same content on any number of hosts converge.
 * Callers pass only validated names, tags and digests (see name.h, digest.h).
 */
#ifndef BERTH_STORE_H
#define BERTH_STORE_H

#include <sys/types.h>
#include "buf.h"
#include "digest.h"
#include "err.h"

struct store {
	char *root;    /* <rootdirectory>/docker/registry/v2 */
	char *rootdir; /* the rootdirectory itself */
};

enum store_link_kind { STORE_LAYER, STORE_REVISION };

/* Opens (creating if needed) the store under rootdirectory. */
int store_open(struct store *st, const char *rootdirectory, struct err *e);
void store_close(struct store *st);

/* <root>/blobs/<alg>/<xx>/<hex>/data, and the same relative to rootdir
 * (what a web server's internal location serves). */
int store_blob_path(const struct store *st, const struct digest *d,
		    struct buf *out);
int store_blob_relpath(const struct digest *d, struct buf *out);
int store_repo_path(const struct store *st, const char *name, struct buf *out);

/* Size of the blob's data; ERR_BLOB_UNKNOWN when absent. */
int store_blob_stat(const struct store *st, const struct digest *d,
		    off_t *size, struct err *e);
/* Reads a whole blob of at most max bytes (manifests). */
int store_blob_read(const struct store *st, const struct digest *d,
		    size_t max, struct buf *out, struct err *e);
/* Stores data (which must hash to d) as a blob. */
int store_blob_put(const struct store *st, const struct digest *d,
		   const void *data, size_t len, struct err *e);
/* Sets the blob's mtime to now (see store_link_touch); -1 when absent. */
int store_blob_touch(const struct store *st, const struct digest *d);
/* Hard-links the complete, fsync'd file at path in as blob d. */
int store_blob_adopt(const struct store *st, const struct digest *d,
		     const char *path, struct err *e);

/* 1 when the repository links digest d (and the blob exists), else 0. */
int store_link_exists(const struct store *st, const char *name,
		      enum store_link_kind kind, const struct digest *d);
/* store_link_exists() for a writer about to depend on the link: the link
 * and the blob are touched first, so that `berth gc` (which spares what
 * was touched within its grace period, and re-checks just before it
 * removes) cannot take them away under the writer. */
int store_link_touch(const struct store *st, const char *name,
		     enum store_link_kind kind, const struct digest *d);
int store_link_add(const struct store *st, const char *name,
		   enum store_link_kind kind, const struct digest *d,
		   struct err *e);

/* Removes the repository's link to d (the blob itself stays for GC);
 * ERR_BLOB_UNKNOWN / ERR_MANIFEST_UNKNOWN when there is none. */
int store_link_remove(const struct store *st, const char *name,
		      enum store_link_kind kind, const struct digest *d,
		      struct err *e);

/* The manifest a tag points at; ERR_MANIFEST_UNKNOWN when none. */
int store_tag_get(const struct store *st, const char *name, const char *tag,
		  struct digest *d, struct err *e);
int store_tag_set(const struct store *st, const char *name, const char *tag,
		  const struct digest *d, struct err *e);

/* Removes a tag: its directory is renamed away first (one atomic step
 * that readers see), then deleted. ERR_MANIFEST_UNKNOWN when absent. */
int store_tag_remove(const struct store *st, const char *name, const char *tag,
		     struct err *e);

/* 1 when name is a repository (it has _manifests or _layers), else 0. */
int store_repo_exists(const struct store *st, const char *name);

struct store_list {
	char **items;
	size_t n, cap;
};
void store_list_free(struct store_list *l);
/* Appends a copy of s; -1 when out of memory. */
int store_list_add(struct store_list *l, const char *s);
/* Sorts in strcmp order. */
void store_list_sort(struct store_list *l);
/* The repository's tags in strcmp order; ERR_NAME_UNKNOWN when the
 * repository does not exist. */
int store_tags(const struct store *st, const char *name,
	       struct store_list *out, struct err *e);

/* Calls fn for every repository in the store (a directory holding
 * _manifests, _layers or _uploads), names in no particular order. A
 * non-zero return from fn stops the walk and is returned. */
int store_walk_repos(const struct store *st,
		     int (*fn)(void *ctx, const char *name), void *ctx,
		     struct err *e);
/* The digests ("alg:hex") the repository links, of one kind. */
int store_links(const struct store *st, const char *name,
		enum store_link_kind kind, struct store_list *out,
		struct err *e);

/* --- file primitives, shared with upload.c --- */

/* mkdir -p, fsync'ing each parent that gained an entry. */
int store_mkdirs(const char *path, struct err *e);
int store_fsync_dir(const char *dir, struct err *e);
/* Atomically replaces dir/name with data (temp, fsync, rename, fsync). */
int store_write_file(const char *dir, const char *name, const void *data,
		     size_t len, struct err *e);
/* Reads a file of at most max bytes. ERR_NOT_FOUND when it is missing. */
int store_read_file(const char *path, size_t max, struct buf *out,
		    struct err *e);
/* write(2) until all of data is written (EINTR and short writes). */
int store_write_all(int fd, const void *data, size_t len);
/* rm -rf of a directory tree (uploads); missing is not an error. */
int store_remove_tree(const char *path, struct err *e);

#endif
