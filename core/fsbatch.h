/*
 * fsbatch: fsyncs that may run at the same time. A durable update is a
 * chain of steps: the bytes, then the names that point at them, then the
 * names that point at those. Each step's fsyncs depend only on earlier
 * steps, never on each other, so they are collected in a batch and issued
 * together; the step is over when all of them are. On Linux they go out as
 * one io_submit of IOCB_CMD_FSYNC requests, which the kernel runs in
 * parallel; where that is not available (io_setup fails: ENOSYS, the
 * system's aio-max-nr reached) they run one after another, with the same
 * answer. On this project's test disk four such steps take ~2.5 ms where
 * the same fsyncs one by one take ~3.6 ms (docs/performance.md).
 *
 * Contract: fs_batch_add*() never lose an entry: a full batch is synced
 * there and then (syncing early is always allowed: nothing in a batch has
 * to wait for anything else in it). fs_batch_sync() returns 0 when every
 * entry is durable, -1 with e naming the first that failed; either way the
 * batch is empty and reusable afterwards. fs_batch_clear() drops the
 * entries without syncing them (error paths).
 */
#ifndef BERTH_FSBATCH_H
#define BERTH_FSBATCH_H

#include <stddef.h>
#include "err.h"

#define FS_BATCH_MAX 16

struct fs_batch {
	int fd[FS_BATCH_MAX];
	char *path[FS_BATCH_MAX]; /* for errors, and to add a path once */
	size_t n;
};

#define FS_BATCH_INIT { { 0 }, { NULL }, 0 }

/* Adds the file or directory at path (opened read-only); a path already
 * in the batch is not added again. */
int fs_batch_add(struct fs_batch *b, const char *path, struct err *e);
/* Adds an open file; the batch owns fd from now on (closes it), also when
 * this fails. */
int fs_batch_add_fd(struct fs_batch *b, int fd, const char *path,
		    struct err *e);
int fs_batch_sync(struct fs_batch *b, struct err *e);
void fs_batch_clear(struct fs_batch *b);

#endif
