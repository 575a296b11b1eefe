/*
 * fsutil: plain POSIX file operations that NFS, CephFS and GlusterFS
 * honour across hosts (rename to replace, link to create only if absent,
 * fsync of files and directories to order them on disk), each answering
 * "there", "absent" or "error" as fsutil.h defines.
 */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banned.h"

#define HASH_CHUNK (1 << 20)

/* 0 for absence, else -1 with e filled from errno. Absent is ENOENT, or
 * ENOTDIR for a path that does not exist because a directory on its way
 * is a file; a path that exists with the wrong type (a file where a
 * directory should be) is no absence but damage. */
static int absent_or_fail(struct err *e, const char *what, const char *path)
{
	struct stat sb;
	int saved = errno;

	if (saved == ENOENT)
		return 0;
	if (saved == ENOTDIR && lstat(path, &sb) < 0 &&
	    (errno == ENOENT || errno == ENOTDIR))
		return 0;
	errno = saved;
	return err_sys(e, "%s %s", what, path);
}

int fs_fsync_dir(const char *dir, struct err *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return err_sys(e, "open %s", dir);
	/* Some filesystems (and NFS) refuse fsync on a directory with EINVAL
	 * and order metadata themselves; that is not a failure. */
	if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS) {
		err_sys(e, "fsync %s", dir);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* mkdir of one directory whose parent exists, fsync'ing the parent when
 * it gained the entry; one a racer made is fine if it is a directory. */
/* Creates dir; when it was created, its parent (which gained the entry)
 * goes into b. An existing directory is fine, anything else is not. */
static int mkdir_one(char *dir, struct fs_batch *b, struct err *e)
{
	struct stat sb;
	char *slash;
	int r, dt = 0, m, st;

	while ((m = mkdir(dir, 0755)) < 0 && fsretry_denied(&dt, dir))
		;
	if (m < 0) {
		if (errno != EEXIST)
			return err_sys(e, "mkdir %s", dir);
		/* Made by a racer, perhaps on another host: a FUSE client
		 * that has just looked the name up as absent keeps saying so
		 * until its entry timeout (1 s for GlusterFS), although the
		 * server has the name: mkdir's EEXIST proves it. So ENOENT
		 * here is waited out, with fsretry.h's pauses. */
		for (st = 0; stat(dir, &sb) < 0; st++) {
			if ((errno != ENOENT && errno != ESTALE) || st >= FSRETRY_STALE_TRIES)
				return err_sys(e, "mkdir %s (it exists, but cannot be "
					       "looked at)", dir);
			if (st)
				usleep(1000u << (st - 1 < 8 ? st - 1 : 8));
		}
		if (!S_ISDIR(sb.st_mode)) {
			errno = ENOTDIR;
			return err_sys(e, "mkdir %s", dir);
		}
		return 0;
	}
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	r = fs_batch_add(b, dir, e);
	*slash = '/';
	return r;
}

/* Bottom-up: find the deepest directory that exists (one stat when only
 * the leaf is new, the common case), then create what is missing below
 * it. Top-down mkdir of every component cost two syscalls per component
 * on every call. */
int fs_mkdirs_into(const char *path, struct fs_batch *batch, struct err *e)
{
	struct buf b = BUF_INIT;
	struct stat sb;
	char *p, *end;
	int r = -1;

	if (!path || path[0] != '/') {
		errno = 0;
		return err_sys(e, "refusing to create relative path %s",
			       path ? path : "(none)");
	}
	if (buf_adds(&b, path) < 0)
		return err_sys(e, "out of memory");
	while (b.len > 1 && b.s[b.len - 1] == '/')
		b.s[--b.len] = 0;
	end = b.s + b.len;
	/* Up: cut the path at its last slash until what is left exists. */
	for (;;) {
		if (stat(b.s, &sb) == 0) {
			if (!S_ISDIR(sb.st_mode)) {
				errno = ENOTDIR;
				err_sys(e, "mkdir %s", b.s);
				goto out;
			}
			break;
		}
		if (errno != ENOENT) {
			err_sys(e, "mkdir %s", b.s);
			goto out;
		}
		p = strrchr(b.s, '/');
		*p = 0;
		if (p == b.s)
			break; /* "/x" is missing: the root is what exists */
	}
	/* Down: each cut is a component to create. */
	for (p = b.s + strlen(b.s); p < end; p += strlen(p)) {
		*p = '/';
		if (mkdir_one(b.s, batch, e) < 0)
			goto out;
	}
	r = 0;
out:
	buf_free(&b);
	return r;
}

int fs_mkdirs(const char *path, struct err *e)
{
	struct fs_batch b = FS_BATCH_INIT;

	/* The new directories' entries are independent of each other (a
	 * crash before all are durable leaves at worst an unreachable empty
	 * directory), so their fsyncs go out together. */
	if (fs_mkdirs_into(path, &b, e) < 0) {
		fs_batch_clear(&b);
		return -1;
	}
	return fs_batch_sync(&b, e);
}

void fs_write_behind(int fd, off_t *next, off_t end)
{
	while (end - *next >= FS_WB_WINDOW) {
#ifdef SYNC_FILE_RANGE_WRITE
		/* Linux; elsewhere the final fdatasync does all the work. */
		(void)sync_file_range(fd, *next, FS_WB_WINDOW, SYNC_FILE_RANGE_WRITE);
		if (*next >= FS_WB_WINDOW)
			(void)sync_file_range(fd, *next - FS_WB_WINDOW, FS_WB_WINDOW,
					      SYNC_FILE_RANGE_WAIT_BEFORE |
					      SYNC_FILE_RANGE_WRITE |
					      SYNC_FILE_RANGE_WAIT_AFTER);
#else
		(void)fd;
#endif
		*next += FS_WB_WINDOW;
	}
}

int fs_write_all(int fd, const void *data, size_t len)
{
	return fs_pwrite_all(fd, data, len, -1);
}

int fs_pwrite_all(int fd, const void *data, size_t len, off_t off)
{
	const char *p = data;

	while (len) {
		ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

/* A new temp file dir/.tmp-<prefix>-XXXXXX holding data, still open:
 * its fd, or -1 (nothing left behind). */
static int temp_written(const char *dir, const char *prefix, const void *data,
			size_t len, struct buf *tmp, struct err *e)
{
	size_t start = tmp->len;
	int fd, dt = 0, st = 0;

again:
	buf_truncate(tmp, start);
	if (buf_addf(tmp, "%s/.tmp-%s-XXXXXX", dir, prefix) < 0)
		return err_sys(e, "out of memory");
	fd = mkostemp(tmp->s, O_CLOEXEC);
	if (fd < 0 && fsretry_denied(&dt, dir))
		goto again;
	/* ENOENT for a directory another host has just made: this client's
	 * lookup of it went stale (fsretry.h); asked of the directory. */
	if (fd < 0 && (errno == ENOENT || errno == ESTALE) && fsretry_stale(&st, dir))
		goto again;
	if (fd < 0)
		return err_sys(e, "create temp file in %s", dir);
	if (fchmod(fd, 0644) < 0 || fs_write_all(fd, data, len) < 0) {
		err_sys(e, "write %s", tmp->s);
		close(fd);
		unlink(tmp->s);
		return -1;
	}
	return fd;
}

int fs_write_temp(const char *dir, const char *prefix, const void *data,
		  size_t len, enum fs_sync sync, struct buf *tmp, struct err *e)
{
	int fd = temp_written(dir, prefix, data, len, tmp, e);

	if (fd < 0)
		return -1;
	if (sync == FS_DURABLE && fsync(fd) < 0) {
		err_sys(e, "fsync %s", tmp->s);
		close(fd);
		unlink(tmp->s);
		return -1;
	}
	if (close(fd) < 0) {
		err_sys(e, "close %s", tmp->s);
		unlink(tmp->s);
		return -1;
	}
	return 0;
}

int fs_write_temp_into(const char *dir, const char *prefix, const void *data,
		       size_t len, struct fs_batch *b, struct buf *tmp,
		       struct err *e)
{
	int fd = temp_written(dir, prefix, data, len, tmp, e);

	if (fd < 0)
		return -1;
	if (fs_batch_add_fd(b, fd, tmp->s, e) < 0) {
		unlink(tmp->s);
		return -1;
	}
	return 0;
}

/* One try of fs_write_file(); errno tells why it failed. */
static int write_file_once(const char *dir, const char *name, const void *data,
			   size_t len, enum fs_sync sync, struct err *e)
{
	struct buf tmp = BUF_INIT, dst = BUF_INIT;
	int r = -1, dt = 0;

	if (fs_mkdirs(dir, e) < 0)
		return -1;
	if (fs_write_temp(dir, name, data, len, sync, &tmp, e) < 0)
		goto out;
	if (buf_addf(&dst, "%s/%s", dir, name) < 0) {
		err_sys(e, "out of memory");
		unlink(tmp.s);
		goto out;
	}
	while ((r = rename(tmp.s, dst.s)) < 0 && fsretry_rename(&dt, dst.s))
		;
	if (r < 0) {
		err_sys(e, "rename %s", dst.s);
		unlink(tmp.s);
		goto out;
	}
	r = sync == FS_DURABLE ? fs_fsync_dir(dir, e) : 0;
out:
	buf_free(&tmp);
	buf_free(&dst);
	return r;
}

int fs_write_file(const char *dir, const char *name, const void *data,
		  size_t len, enum fs_sync sync, struct err *e)
{
	int tries;

	/* A directory that vanishes under the write (ENOENT) was moved
	 * aside for a moment by a garbage collection looking at its time,
	 * which puts back what was just written: make it and write again. */
	for (tries = 0;; tries++) {
		if (write_file_once(dir, name, data, len, sync, e) == 0)
			return 0;
		if (errno != ENOENT || tries >= 5)
			return -1;
		usleep(1000u * (unsigned)(tries + 1));
	}
}

int fs_read_file(const char *path, size_t max, struct buf *out, struct err *e)
{
	struct stat sb;
	ssize_t n;
	size_t start = out->len;
	int fd, tries = 0;

again:
	buf_truncate(out, start);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (fsretry_stale(&tries, path))
			goto again;
		return absent_or_fail(e, "open", path);
	}
	/* Fresh attributes: another host may have written the file, and a
	 * network filesystem's cached size would end the read early. */
	if (fsretry_fstat(fd, &sb) < 0) {
		if (fsretry_stale_fd(&tries, path)) {
			close(fd);
			goto again;
		}
		err_sys(e, "stat %s", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
		return err_sys(e, "read %s (not a regular file)", path);
	}
	if ((size_t)sb.st_size > max) {
		close(fd);
		err_set(e, ERR_TOO_LARGE, "file too large");
		snprintf(e->detail, sizeof(e->detail), "%s is %lld bytes, over the limit of %zu",
			 path, (long long)sb.st_size, max);
		return -1;
	}
	if (buf_grow(out, (size_t)sb.st_size) < 0) {
		close(fd);
		return err_sys(e, "out of memory");
	}
	for (;;) {
		size_t room;

		if (buf_grow(out, 4096) < 0) {
			close(fd);
			return err_sys(e, "out of memory");
		}
		room = out->cap - out->len - 1;
		n = read(fd, out->s + out->len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (fsretry_stale_fd(&tries, path)) {
				close(fd);
				goto again;
			}
			err_sys(e, "read %s", path);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->s[out->len] = 0;
		if (out->len - start > max) {
			close(fd);
			err_set(e, ERR_TOO_LARGE, "file too large");
			snprintf(e->detail, sizeof(e->detail), "%s grew over the limit of %zu",
				 path, max);
			return -1;
		}
		/* All the size fstat gave, and less than there was room for:
		 * the end of a regular file (no read of 0 bytes to see it;
		 * that read is one system call of five on the hot path). */
		if ((size_t)n < room && out->len - start >= (size_t)sb.st_size)
			break;
	}
	close(fd);
	return 1;
}

int fs_stat_file(const char *path, off_t *size, struct timespec *mtime,
		 struct err *e)
{
	struct stat sb;
	int tries = 0;

	while (stat(path, &sb) < 0)
		if (!fsretry_stale(&tries, path))
			return absent_or_fail(e, "stat", path);
	if (!S_ISREG(sb.st_mode)) {
		errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
		return err_sys(e, "stat %s (not a regular file)", path);
	}
	if (size)
		*size = sb.st_size;
	if (mtime)
		*mtime = sb.st_mtim;
	return 1;
}

int fs_stat_dir(const char *path, struct timespec *mtime, struct err *e)
{
	struct stat sb;
	int tries = 0;

	while (stat(path, &sb) < 0)
		if (!fsretry_stale(&tries, path))
			return absent_or_fail(e, "stat", path);
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		return err_sys(e, "stat %s (not a directory)", path);
	}
	if (mtime)
		*mtime = sb.st_mtim;
	return 1;
}

int fs_touch(const char *path, struct err *e)
{
	int tries = 0, dt = 0;

	while (utimensat(AT_FDCWD, path, NULL, 0) < 0)
		if (!fsretry_stale(&tries, path) && !fsretry_denied(&dt, path))
			return absent_or_fail(e, "touch", path);
	return 1;
}

int fs_stamp(const char *dir, const char *name, struct err *e)
{
	struct buf p = BUF_INIT;
	int fd, r = -1;

	if (fs_mkdirs(dir, e) < 0)
		return -1;
	if (buf_addf(&p, "%s/%s", dir, name) < 0)
		return err_sys(e, "out of memory");
	fd = open(p.s, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_sys(e, "create %s", p.s);
	} else {
		if (futimens(fd, NULL) < 0)
			err_sys(e, "touch %s", p.s);
		else
			r = 0;
		close(fd);
	}
	buf_free(&p);
	return r;
}

int fs_unlink(const char *path, struct err *e)
{
	int tries = 0;

	while (unlink(path) < 0)
		if (!fsretry_stale(&tries, path))
			return absent_or_fail(e, "unlink", path);
	return 1;
}

int fs_list(const char *dir, unsigned flags, struct strlist *out,
	    struct err *e)
{
	struct dirent *de;
	size_t start = out->n;
	int tries = 0;
	DIR *d;

again:
	d = opendir(dir);
	if (!d) {
		if (fsretry_stale(&tries, dir))
			goto again;
		return absent_or_fail(e, "opendir", dir);
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno && fsretry_stale_fd(&tries, dir)) {
				closedir(d);
				strlist_truncate(out, start);
				goto again;
			}
			if (errno) {
				err_sys(e, "readdir %s", dir);
				closedir(d);
				return -1;
			}
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((flags & FS_LIST_NODOT) && de->d_name[0] == '.')
			continue;
		if ((flags & FS_LIST_DIRS) && de->d_type != DT_DIR &&
		    de->d_type != DT_UNKNOWN)
			continue;
		if (strlist_add(out, de->d_name) < 0) {
			closedir(d);
			return err_sys(e, "out of memory");
		}
	}
	closedir(d);
	return 1;
}

static int remove_at(int parent, const char *name)
{
	int fd, r = 0;
	DIR *d;
	struct dirent *de;

	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (remove_at(dirfd(d), de->d_name) < 0)
			r = -1;
	}
	closedir(d);
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -1;
	return r;
}

int fs_remove_tree(const char *path, struct err *e)
{
	if (remove_at(AT_FDCWD, path) < 0)
		return err_sys(e, "remove %s", path);
	return 0;
}

int fs_recent(const char *path, double grace, time_t now)
{
	struct stat sb;
	int tries = 0;

	while (stat(path, &sb) < 0)
		if (!fsretry_stale(&tries, path))
			return errno != ENOENT && errno != ENOTDIR;
	return difftime(now, sb.st_mtime) < grace;
}

/* 1 when path exists, 0 absent; an error reads as "exists" (keep it). */
static int present(const char *path)
{
	struct stat sb;
	int tries = 0;

	while (stat(path, &sb) < 0)
		if (!fsretry_stale(&tries, path))
			return errno != ENOENT && errno != ENOTDIR;
	return 1;
}

/* The tests' way to widen the moments a writer can race a collector (as
 * git has GIT_TEST_*): BERTH_TEST_ASIDE_HOLD_US microseconds between the
 * first look at an item and its move aside, and before one found in use
 * is put back, so writers meet the race every few requests instead of
 * every few thousand. Unset, this is one getenv per process. */
static void hold_aside(void)
{
	static long us = -1;

	if (us < 0) {
		const char *v = getenv("BERTH_TEST_ASIDE_HOLD_US");
		us = v ? strtol(v, NULL, 10) : 0;
		if (us < 0 || us > 1000000)
			us = 0;
	}
	if (us)
		usleep((useconds_t)us);
}

/* Links every file of aside into dir (one already there is the same
 * content: both are named by a digest), fsyncs dir, removes aside. */
static int merge_into(const char *aside, const char *dir, struct err *e)
{
	struct strlist names = STRLIST_INIT;
	struct buf a = BUF_INIT, b = BUF_INIT;
	size_t i;
	int r = fs_list(aside, FS_LIST_NODOT, &names, e);

	if (r <= 0)
		return r < 0 ? -1 : 0; /* gone meanwhile: nothing to merge */
	r = 0;
	for (i = 0; i < names.n && r == 0; i++) {
		buf_reset(&a);
		buf_reset(&b);
		if (buf_addf(&a, "%s/%s", aside, names.items[i]) < 0 ||
		    buf_addf(&b, "%s/%s", dir, names.items[i]) < 0)
			r = err_sys(e, "out of memory");
		else if (link(a.s, b.s) < 0 && errno != EEXIST)
			r = err_sys(e, "link back %s", b.s);
	}
	if (r == 0 && fs_fsync_dir(dir, e) == 0)
		r = fs_remove_tree(aside, e);
	else
		r = -1;
	strlist_free(&names);
	buf_free(&a);
	buf_free(&b);
	return r;
}

int fs_put_back(const char *dir, const char *name, struct err *e)
{
	struct buf from = BUF_INIT, to = BUF_INIT;
	int r = -1, tries;

	if (buf_addf(&from, "%s/%s", dir, name) < 0 ||
	    buf_addf(&to, "%s/.gc-%s", dir, name) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	for (tries = 0; tries < 5; tries++) {
		if (rename(to.s, from.s) == 0) {
			r = fs_fsync_dir(dir, e);
			goto out;
		}
		if (errno == ENOENT) {
			r = 0; /* put back by another collector */
			goto out;
		}
		if (errno != ENOTEMPTY && errno != EEXIST) {
			err_sys(e, "rename back %s", to.s);
			goto out;
		}
		/* A writer made the directory anew meanwhile: what was aside
		 * goes into it. Should the writer's directory vanish too
		 * (another collector moving it aside), rename again. */
		r = merge_into(to.s, from.s, e);
		if (r == 0 || errno != ENOENT)
			goto out;
	}
	err_sys(e, "rename back %s", to.s);
out:
	buf_free(&from);
	buf_free(&to);
	return r;
}

int fs_remove_aside(const char *dir, const char *name, const char *check,
		    double grace, time_t now, int dry_run, struct err *e)
{
	struct buf from = BUF_INIT, to = BUF_INIT, chk = BUF_INIT, here = BUF_INIT;
	int r = -1;

	if (buf_addf(&from, "%s/%s", dir, name) < 0 ||
	    buf_addf(&to, "%s/.gc-%s", dir, name) < 0 ||
	    buf_addf(&here, "%s/%s", from.s, check) < 0 ||
	    buf_addf(&chk, "%s/%s", to.s, check) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	/* What is in use is left where it is: moved aside, even for a
	 * moment, it is absent to every reader (a pull's 404, a manifest
	 * PUT's unknown blob). Only what looks idle is moved, to look again
	 * where no writer can touch it unseen. */
	if (fs_recent(here.s, grace, now) ||
	    (!present(here.s) && fs_recent(from.s, grace, now))) {
		r = 0;
		goto out;
	}
	if (dry_run) {
		r = 1;
		goto out;
	}
	hold_aside();
	if (rename(from.s, to.s) < 0) {
		r = errno == ENOENT ? 0 : err_sys(e, "rename %s", from.s);
		goto out;
	}
	/* Touched while we looked, or still being written (nothing to check
	 * yet, but a writer's temp file just appeared in it): a writer
	 * depends on it. */
	if (fs_recent(chk.s, grace, now) ||
	    (!present(chk.s) && fs_recent(to.s, grace, now))) {
		hold_aside();
		r = fs_put_back(dir, name, e);
		goto out;
	}
	r = fs_remove_tree(to.s, e) < 0 ? -1 : 1;
out:
	buf_free(&from);
	buf_free(&to);
	buf_free(&chk);
	buf_free(&here);
	return r;
}

int fs_hash_file(const char *path, enum digest_alg alg, struct digest *out,
		 struct err *e)
{
	struct digest_hasher *h = NULL;
	char *chunk = NULL;
	int fd, r = -1, tries = 0;
	struct stat sb;
	ssize_t n;

	while ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		if (!fsretry_stale(&tries, path))
			return absent_or_fail(e, "open", path);
	if (fstat(fd, &sb) < 0) {
		err_sys(e, "stat %s", path);
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
		err_sys(e, "read %s (not a regular file)", path);
		goto out;
	}
	h = digest_hasher_new(alg);
	chunk = malloc(HASH_CHUNK);
	if (!h || !chunk) {
		err_sys(e, "out of memory");
		goto out;
	}
	for (;;) {
		n = read(fd, chunk, HASH_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_sys(e, "read %s", path);
			goto out;
		}
		if (n == 0)
			break;
		digest_hasher_update(h, chunk, (size_t)n);
	}
	if (digest_hasher_final(h, alg, out, e) == 0)
		r = 1;
out:
	close(fd);
	free(chunk);
	digest_hasher_free(h);
	return r;
}
