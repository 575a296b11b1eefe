/*
 * fsretry: trying again after what a shared filesystem's client shows
 * late (see fsretry.h). Nothing here is a durability step; each function
 * only looks (stat, statx, a directory listing) and waits.
 */
#include "fsretry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "banned.h"

static int stale_pause(int *tries, int saved)
{
	if (*tries >= FSRETRY_STALE_TRIES)
		return 0;
	/* The first try again at once (the path walk looks the name up
	 * anew), then 1, 2, 4 ... 256 ms: a client cache that still holds
	 * another host's replaced file (FUSE's entry and attribute caches,
	 * GlusterFS's md-cache: 1 s each by default), or a tag moved again
	 * between the lookup and the open, gets a moment. */
	if (*tries)
		usleep(1000u << (*tries - 1 < 8 ? *tries - 1 : 8));
	(*tries)++;
	errno = saved;
	return 1;
}

/* 1 when the directory of path lists path's last component. Only a
 * small directory is read: every file Berth replaces by rename sits in
 * one that holds it and a few temp files (a link's, an upload's), while
 * absence in a large one (repositories/, a catalog index, the snapshot
 * directory) must stay cheap: a request for a repository that does not
 * exist must not read a directory of 100,000 names. */
#define LISTED_MAX 64
static int listed(const char *path)
{
	const char *slash = strrchr(path, '/');
	struct dirent *de;
	char dir[4096];
	int found = 0, n = 0;
	DIR *d;

	if (!slash || slash == path || (size_t)(slash - path) >= sizeof(dir))
		return 0;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = 0;
	d = opendir(dir);
	if (!d)
		return 0;
	while (!found && n++ < LISTED_MAX + 2 && (de = readdir(d)))
		found = !strcmp(de->d_name, slash + 1);
	closedir(d);
	return found;
}

/* stale_pause(), or, once the tries are spent, ESTALE: "could not
 * tell", for a caller that would otherwise read ENOENT as absence. */
static int again_or_estale(int *tries, int saved)
{
	if (stale_pause(tries, saved))
		return 1;
	errno = ESTALE;
	return 0;
}

int fsretry_stale(int *tries, const char *path)
{
	int saved = errno;

	if (saved == ESTALE)
		return stale_pause(tries, saved);
	if (saved != ENOENT || !listed(path))
		return 0;
	/* ENOENT for a name its directory lists: this client looked the
	 * name up before another host replaced the file, and the server
	 * answers for the old one. Never absence. */
	return again_or_estale(tries, saved);
}

int fsretry_stale_fd(int *tries, const char *path)
{
	int saved = errno;
	struct stat sb;

	if (saved != ESTALE && saved != ENOENT)
		return 0;
	/* The file was opened through a name whose cached lookup still
	 * names the old file: an open() by the same path would use that
	 * lookup again (FUSE keeps it for its entry timeout, GlusterFS's
	 * open-behind answers the open without asking the server). A
	 * stat() by path asks the server, meets ESTALE in the kernel's own
	 * path walk, and the kernel then looks the name up anew
	 * (LOOKUP_REVAL), which the next open uses. */
	(void)stat(path, &sb);
	return again_or_estale(tries, saved);
}

int fsretry_denied(int *tries, const char *path)
{
	int saved = errno;
	const char *slash = strrchr(path, '/');
	struct statx sx;
	char dir[4096];

	if ((saved != EACCES && saved != EPERM) || *tries >= FSRETRY_DENIED_TRIES)
		return 0;
	/* A GlusterFS brick makes a file or directory as root and gives it
	 * to its owner a moment later; a brick that looked it up in that
	 * moment (for another host's client) keeps root as its owner in its
	 * access-control translator until a later lookup, and refuses this
	 * process's write (its log: posix_acl_log_permit_denied, ctx uid 0,
	 * updated-fop LOOKUP). Asking for the attributes of the name and of
	 * its directory again, and waiting past the client's 1 s entry
	 * timeout so that the retried call looks the name up anew, ends
	 * it. */
	(void)statx(AT_FDCWD, path, AT_STATX_FORCE_SYNC | AT_SYMLINK_NOFOLLOW,
		    STATX_BASIC_STATS, &sx);
	if (slash && slash != path && (size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = 0;
		(void)statx(AT_FDCWD, dir, AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &sx);
	}
	if (*tries)
		usleep(5000u << (*tries < 4 ? 2 * (*tries - 1) : 6));
	(*tries)++;
	errno = saved;
	return 1;
}

int fsretry_fstat(int fd, struct stat *sb)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_FORCE_SYNC,
		  STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_INO |
		  STATX_SIZE | STATX_MTIME, &sx) < 0) {
		if (errno == ENOSYS || errno == EINVAL)
			return fstat(fd, sb);
		return -1;
	}
	memset(sb, 0, sizeof(*sb));
	sb->st_mode = sx.stx_mode;
	sb->st_nlink = sx.stx_nlink;
	sb->st_ino = sx.stx_ino;
	sb->st_size = (off_t)sx.stx_size;
	sb->st_mtim.tv_sec = sx.stx_mtime.tv_sec;
	sb->st_mtim.tv_nsec = sx.stx_mtime.tv_nsec;
	sb->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	return 0;
}

int fsretry_rename(int *tries, const char *path)
{
	int saved = errno;

	if (saved != EIO || *tries >= FSRETRY_DENIED_TRIES)
		return fsretry_denied(tries, path);
	/* A replica-2 GlusterFS volume that two clients rename onto one
	 * name at once can answer EIO (its replicas disagree for a moment)
	 * until the client's self-heal settles it: the same pauses. */
	if (*tries)
		usleep(5000u << (*tries < 4 ? 2 * (*tries - 1) : 6));
	(*tries)++;
	errno = saved;
	return 1;
}
