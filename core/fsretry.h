/*
 * fsretry: what a shared filesystem's client shows late, and how the
 * store's file operations (fsutil.c, store.c, upload.c, ...) try again.
 *
 * On NFS, GlusterFS or CephFS a client that looked a name up before
 * another host replaced it by rename (a tag's current/link) or removed it
 * holds a handle to an inode that is gone: open, stat or read answer
 * ESTALE (GlusterFS's FUSE client also ENOENT) although the name names a
 * file, for as long as the client's caches keep the old lookup. A file
 * or directory another host has just made may show root as its owner
 * for a moment (a GlusterFS brick makes it as root and hands it over
 * after), and writes into it are refused with EACCES. Each of these is
 * tried again from the path a bounded number of times, with pauses that
 * outlast the caches' default timeouts; then it is an error, never
 * "absent" and never "denied" for good (docs/design.md, "What Berth asks
 * of a filesystem"). On a local filesystem none of them happens, and a
 * real ENOENT or EACCES costs one directory listing or about 1.4 s once.
 *
 * Contract: each *_again() is called right after a failed call, with
 * errno as that call left it and a counter the caller started at 0; 1
 * means "start again from the path", 0 "report it" (errno as below).
 */
#ifndef BERTH_FSRETRY_H
#define BERTH_FSRETRY_H

#include <sys/stat.h>

/* How often a reading function starts again from the path after ESTALE
 * (fsretry_stale): at once, then after pauses of 1, 2, 4 ... 256 ms,
 * about 1.5 s in all: longer than the 1 s that GlusterFS's client caches
 * (FUSE entry and attribute timeouts, md-cache) keep another host's
 * replaced file by default (tests/integration/gluster.sh moves a tag ~30
 * times a second from two hosts and reads it on both). */
#define FSRETRY_STALE_TRIES 14
/* After a failed call on path (open, stat, opendir, ...): 1 when it is
 * worth starting again from the path, with the pause taken and *tries
 * (start at 0) counted: errno ESTALE, or ENOENT while path's directory
 * still lists the name (a lookup this client cached before another host
 * replaced the file; only a directory of at most 64 entries is read, as
 * every one holding a file that Berth replaces is). Else 0, errno unchanged, except that ENOENT for a
 * listed name becomes ESTALE once the tries are spent: "could not tell",
 * never "absent". */
int fsretry_stale(int *tries, const char *path);
/* The same after a failed call on a file descriptor opened from path
 * (fstat, read, readdir), where ENOENT counts too: a local filesystem
 * never answers ENOENT for an open file, a FUSE client (GlusterFS) does
 * when another host removed or replaced the file since it was opened. */
int fsretry_stale_fd(int *tries, const char *path);
/* After a failed write (mkdir, create, link, rename, utimensat) on
 * path: 1 when errno is EACCES or EPERM and *tries is below
 * FSRETRY_DENIED_TRIES, with the attributes of path and its directory
 * asked for anew and a pause (0, 5, 20, 80, then 320 ms: about 1.4 s in
 * all, past a FUSE client's 1 s entry timeout): the refusal may come from
 * a root owner that a GlusterFS brick saw while another host's new file
 * or directory was still being handed to its owner. Else 0, errno
 * unchanged. */
#define FSRETRY_DENIED_TRIES 8
int fsretry_denied(int *tries, const char *path);
/* After a failed rename onto path: fsretry_denied(), and EIO as well,
 * with the same pauses (a replica-2 GlusterFS volume renamed onto from
 * two clients at once answers it until its self-heal settles). */
int fsretry_rename(int *tries, const char *path);
/* fstat() with attributes fetched from the server (statx
 * AT_STATX_FORCE_SYNC): the size of a file another host wrote, not the
 * one this client cached. The same as fstat() on a local filesystem. */
int fsretry_fstat(int fd, struct stat *sb);

#endif
