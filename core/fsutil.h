/*
 * fsutil: the file operations the store is built from, and nothing of
 * its layout. Every durable write is redis' and git's recipe: a temp file
 * in the target's own directory, fsync, rename (or link), fsync of the
 * directory, each step checked.
 *
 * Contract. Functions that look for something answer three ways:
 *   1  it is there (and was read, touched, listed...),
 *   0  it is absent: the call failed with ENOENT, or with ENOTDIR because
 *      a directory on its way is missing (is a file): the item does not
 *      exist,
 *  -1  anything else: EIO, ESTALE, EMFILE, EACCES, a directory where a
 *      file should be or a file where a directory should be, a file over
 *      its size limit. e is filled (detail
 *      names the path and the errno text).
 * "Absent" and "could not tell" are never merged: only the caller knows
 * whether absence is an error, and no caller may treat -1 as absence.
 *
 * What another host's client caches show late (ESTALE, ENOENT for a name
 * that is there, EACCES on a file being handed to its owner) is retried
 * by path as fsretry.h says; only then is it an error (-1), never
 * absence.
 * Paths must be absolute: fs_mkdirs() refuses a relative one, so a
 * store that was never opened cannot scatter directories into the
 * current directory.
 */
#ifndef BERTH_FSUTIL_H
#define BERTH_FSUTIL_H

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include "buf.h"
#include "digest.h"
#include "err.h"
#include "fsbatch.h"
#include "fsretry.h"
#include "strlist.h"

/* How a write is made: FS_DURABLE fsyncs the file and its directory;
 * FS_CACHE only renames into place (readers never see half a file, a
 * crash may lose it: for caches that are rebuilt when missing). */
enum fs_sync { FS_DURABLE, FS_CACHE };

/* mkdir -p of an absolute path, fsync'ing each parent that gained an
 * entry. A non-directory on the way is an error. */
int fs_mkdirs(const char *path, struct err *e);
/* The same, but each directory that gained an entry goes into b instead
 * of being fsync'd: the caller's next fs_batch_sync() makes the new
 * directories durable, together with the rest of its step. */
int fs_mkdirs_into(const char *path, struct fs_batch *b, struct err *e);
int fs_fsync_dir(const char *dir, struct err *e);
/* write(2) until all of data is written (EINTR and short writes). */
int fs_write_all(int fd, const void *data, size_t len);
/* The same at offset off (pwrite); off < 0: at the file offset (write). */
int fs_pwrite_all(int fd, const void *data, size_t len, off_t off);
/* A new temp file dir/.tmp-<prefix>-XXXXXX holding data (fsync'd with
 * FS_DURABLE); its path goes in tmp. */
int fs_write_temp(const char *dir, const char *prefix, const void *data,
		  size_t len, enum fs_sync sync, struct buf *tmp, struct err *e);
/* fs_write_temp() whose fsync is left to the batch (which owns the open
 * file from now on): durable after the caller's fs_batch_sync(). */
int fs_write_temp_into(const char *dir, const char *prefix, const void *data,
		       size_t len, struct fs_batch *b, struct buf *tmp,
		       struct err *e);
/* Atomically replaces dir/name with data (dir is created if needed). */
int fs_write_file(const char *dir, const char *name, const void *data,
		  size_t len, enum fs_sync sync, struct err *e);
/* Write-behind for a file being appended to (an upload): *next is the
 * first byte not yet handed to the disk, end the current size. Each full
 * FS_WB_WINDOW past *next is sent to writeback at once and the window
 * before it is waited for, so the disk writes while the body streams in,
 * at most two windows are dirty, and the final fdatasync has little left
 * to do (without this the kernel starts writing back only at the
 * fdatasync, or at its dirty limits: a GiB of pages flushed at the end).
 * Not a durability step (fdatasync is): errors are left to it. */
#define FS_WB_WINDOW (8 << 20)
void fs_write_behind(int fd, off_t *next, off_t end);
/* Reads a regular file of at most max bytes into out (appended):
 * 1, 0 absent, -1 (ERR_TOO_LARGE when it is larger than max). */
int fs_read_file(const char *path, size_t max, struct buf *out, struct err *e);
/* A regular file's size and mtime (either may be NULL): 1, 0, -1. */
int fs_stat_file(const char *path, off_t *size, struct timespec *mtime,
		 struct err *e);
/* A directory's mtime (may be NULL): 1, 0, -1 (not a directory). */
int fs_stat_dir(const char *path, struct timespec *mtime, struct err *e);
/* Sets the mtime to now: 1, 0 absent, -1. */
int fs_touch(const char *path, struct err *e);
/* Creates dir/name empty if it is missing (dir too) and sets its mtime
 * to now: a marker or a stamp, whole from its creation (nothing to tear,
 * so no temp file). */
int fs_stamp(const char *dir, const char *name, struct err *e);
/* unlink(2): 1 removed, 0 absent, -1. */
int fs_unlink(const char *path, struct err *e);

enum {
	FS_LIST_NODOT = 1,  /* leave out names beginning with '.' */
	FS_LIST_DIRS = 2,   /* only directories (by d_type when known) */
};
/* The names in directory dir (never "." or ".."), appended to out in
 * readdir order: 1, 0 when dir is absent, -1 (a readdir error too). */
int fs_list(const char *dir, unsigned flags, struct strlist *out,
	    struct err *e);
/* rm -rf; an absent path is not an error. */
int fs_remove_tree(const char *path, struct err *e);

/* 1 when path was modified within grace seconds of now, or its time
 * cannot be read (an unreadable item is never old enough to remove);
 * 0 when it is older or absent. */
int fs_recent(const char *path, double grace, time_t now);
/* Removes dir/name unless it is in use: check (a path relative to it,
 * e.g. "data") touched within grace seconds or, check being absent, the
 * directory itself recent (a writer is filling it). What is in use is not
 * moved at all; what looks idle is renamed to dir/.gc-<name>, looked at
 * again there (a writer may have touched it between the look and the
 * rename) and put back (fs_put_back) when it turns out in use. 1 removed
 * (with dry_run: would be), 0 kept or already gone, -1 error. */
int fs_remove_aside(const char *dir, const char *name, const char *check,
		    double grace, time_t now, int dry_run, struct err *e);
/* Puts dir/.gc-<name> back as dir/name; when a writer has made dir/name
 * anew meanwhile, links what it lacks into it and removes the aside copy
 * (both are named by the same digest). 0 (also when there is nothing to
 * put back), -1 when it stays aside. */
int fs_put_back(const char *dir, const char *name, struct err *e);
/* The digest (alg) of a file's bytes, read 1 MiB at a time: 1, 0, -1. */
int fs_hash_file(const char *path, enum digest_alg alg, struct digest *out,
		 struct err *e);

#endif
