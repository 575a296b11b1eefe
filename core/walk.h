/*
 * walk: the one traversal of a store's repositories that gc and fsck
 * share, and the error policy that goes with it.
 *
 * For each repository (in name order): ops->repo, then each tag with the
 * manifest it points at (d NULL for a tag without a current link: a
 * delete that another registry left half done), then each layer link, then
 * each manifest revision link.
 *
 * Error policy. Only "absent" (the item itself does not exist: ENOENT or
 * ENOTDIR) means there is nothing there. Everything else (EIO, ESTALE,
 * EMFILE, a directory where a file should be, a damaged link, a manifest
 * that cannot be parsed) is handed to ops->fail with e naming the file and
 * the error: gc answers -1 and the walk stops before anything is removed;
 * fsck reports a problem it will not repair and answers 0 to go on. A
 * callback's own -1 stops the walk too. The list of repositories itself
 * failing always stops the walk.
 */
#ifndef BERTH_WALK_H
#define BERTH_WALK_H

#include "err.h"
#include "store.h"

struct walk_ops {
	void *ctx;
	int (*repo)(void *ctx, const char *repo);
	int (*tag)(void *ctx, const char *repo, const char *tag,
		   const struct digest *d);
	int (*link)(void *ctx, const char *repo, enum store_link_kind kind,
		    const struct digest *d);
	int (*fail)(void *ctx, const struct err *e);
};

int walk_repos(const struct store *st, const struct walk_ops *ops,
	       struct err *e);

#endif
