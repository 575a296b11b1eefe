/*
 * fsprobe: does this filesystem do what the store relies on?
 *
 * Berth keeps every piece of state in files made by a handful of
 * operations (docs/design.md, "What Berth asks of a filesystem"):
 * O_CREAT|O_EXCL that fails with EEXIST, link() that makes a second name
 * for the same inode and fails with EEXIST when the name is taken,
 * rename() that replaces an existing file in one step and refuses to
 * replace a non-empty directory, fsync of files and directories, and
 * open-file-description locks that conflict. A filesystem that lacks one
 * (a FUSE filesystem without hard links, SMB without POSIX extensions,
 * a rename that fails on an existing name) would not fail loudly later:
 * it would let two writers replace each other's blobs or lose a tag. So
 * the worker pool runs this once at start-up, in a scratch directory of
 * the store, and refuses to start when any answer is wrong.
 *
 * What cannot be probed from one host is not claimed: that another
 * host's client sees a rename at once (NFS attribute and lookup caches),
 * or that locks are enforced across clients. Those are mount options,
 * documented in docs/design.md.
 *
 * Contract: fsprobe_run(dir) makes and removes a directory of its own in
 * dir (which must exist); 0 when every check passed, -1 with e->msg
 * saying which property is missing (for the operator: it names no path;
 * e->detail names the path and errno). fsprobe_type() names the
 * filesystem dir is on, for the start-up log line ("ext4", "nfs",
 * "fuse", ...; "unknown (0x...)" otherwise).
 */
#ifndef BERTH_FSPROBE_H
#define BERTH_FSPROBE_H

#include <stddef.h>
#include "err.h"

int fsprobe_run(const char *dir, struct err *e);
void fsprobe_type(const char *dir, char *out, size_t outlen);

#endif
