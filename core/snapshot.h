/*
 * snapshot: pages of a directory's names in strcmp order without reading
 * the whole directory per request. The names are kept, sorted, in a cache
 * file of their own; a page is a binary search in that file (mapped, so
 * only the pages of the file a search touches are read) and costs O(log N
 * + page) whatever the number of names. The catalog (repositories) and
 * the tags of a repository are listed this way.
 *
 * The cache file: a header line
 *   berth-snapshot 1 <sec>.<nsec> <count> <built> <bytes>
 * and the names, one per line, strictly increasing. <sec>.<nsec> is the
 * listed directory's mtime when the names were read; a name created or
 * removed in it changes that, so one stat of the directory tells a stale
 * snapshot. Directory times tick coarsely (a few ms on ext4, more on NFS):
 * a name added in the tick the snapshot was taken in would not change the
 * mtime, so a snapshot is trusted only when it was <built> 2 s or more
 * after that mtime; until then every reader lists the directory itself.
 *
 * Contract. The file is a cache: written by rename without fsync, never
 * the only copy of anything. Whatever is wrong with it (absent, stale,
 * unreadable, cut short or zeroed by a power cut: its size is in its
 * header, and every line a search or a page reads must be non-empty,
 * free of NUL bytes and in order) makes the reader list the directory and
 * write the file again; it never becomes an error or a wrong page. Errors
 * are those of listing the directory. Only the caller knows its layout: it
 * names the directory, the cache file and how to read the names.
 */
#ifndef BERTH_SNAPSHOT_H
#define BERTH_SNAPSHOT_H

#include <stddef.h>
#include <time.h>
#include "err.h"
#include "strlist.h"

/* Appends every name of the directory to out, in any order: 1, 0 when
 * the directory is absent, -1. */
typedef int (*snapshot_list_fn)(void *ctx, const char *dir,
				struct strlist *out, struct err *e);

/* Up to n names after last (NULL: from the start) appended to out; *more
 * tells whether names follow the page. 1, 0 when dir is absent, -1. */
int snapshot_page(const char *dir, const char *file, snapshot_list_fn list,
		  void *ctx, const char *last, size_t n, struct strlist *out,
		  int *more, struct err *e);

/* The same from a snapshot file's bytes already in memory (data, len),
 * for the listed directory's mtime mt: 1 paged, 0 the bytes are not a
 * usable snapshot (stale, damaged: out is then unchanged), -1 out of
 * memory. Exposed for the fuzzer; snapshot_page() is the API. */
int snapshot_page_mem(const char *data, size_t len, const struct timespec *mt,
		      const char *last, size_t n, struct strlist *out,
		      int *more);

#endif
