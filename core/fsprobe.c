/*
 * fsprobe: the start-up check of the store's filesystem (see fsprobe.h).
 *
 * Each check is the smallest use of one property, in a directory
 * .tmp-probe-<random> of its own, so probes of several workers and hosts
 * at once never meet; a probe killed half-way leaves that directory behind,
 * which is small and which `berth gc` sweeps as it sweeps any .tmp-*
 * left by a write that died. Nothing here is fsync'd except what tests
 * fsync itself: the probe asks what the filesystem does, not whether a
 * power cut keeps it.
 */
#include "fsprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "buf.h"
#include "fsutil.h"
#include "strlist.h"
#include "banned.h"

/* Fills e with what is missing (msg) and the call that showed it
 * (detail, with errno's text when err is not 0). Returns -1. */
static int missing(struct err *e, const char *what, const char *call,
		   const char *path, int err)
{
	err_set(e, ERR_INTERNAL, "the store's filesystem %s", what);
	snprintf(e->detail, sizeof(e->detail), "%s %s: %s", call, path,
		 err ? strerror(err) : "unexpected answer");
	return -1;
}

static int put(const char *path, const char *data, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);

	if (fd < 0)
		return -1;
	if (fs_write_all(fd, data, strlen(data)) < 0 || fsync(fd) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

/* 1 when path holds exactly want. */
static int holds(const char *path, const char *want)
{
	struct buf b = BUF_INIT;
	struct err ie = ERR_INIT;
	int r = fs_read_file(path, 64, &b, &ie) > 0 && !strcmp(b.s, want);

	buf_free(&b);
	return r;
}

/* The checks, in the order the store depends on them. */
static int probe(const char *d, struct buf *a, struct buf *b, struct buf *c,
		 struct buf *x, struct err *e)
{
	struct stat sa, sb;
	struct flock fl;
	int fd1, fd2, r;

	if (put(a->s, "1", O_EXCL) < 0)
		return missing(e, "cannot be written", "create", a->s, errno);
	/* Upload sessions and temp files are made with O_EXCL. */
	fd1 = open(a->s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd1 >= 0 || errno != EEXIST) {
		if (fd1 >= 0)
			close(fd1);
		return missing(e, "does not refuse O_EXCL on an existing file",
			       "open O_EXCL", a->s, fd1 >= 0 ? 0 : errno);
	}
	/* Blobs are put in place by link(): a second name for the same
	 * file, refused with EEXIST when the name is taken. */
	if (link(a->s, b->s) < 0)
		return missing(e, "has no hard links (link)", "link", b->s, errno);
	if (link(a->s, b->s) == 0 || errno != EEXIST)
		return missing(e, "does not refuse link() onto an existing name",
			       "link", b->s, errno == EEXIST ? 0 : errno);
	if (stat(a->s, &sa) < 0 || stat(b->s, &sb) < 0)
		return missing(e, "cannot stat its files", "stat", b->s, errno);
	if (sa.st_ino != sb.st_ino || sa.st_nlink != 2)
		return missing(e, "makes copies, not hard links", "link", b->s, 0);
	/* Links and tags are replaced by rename() over the old name. */
	if (put(c->s, "2", O_EXCL) < 0)
		return missing(e, "cannot be written", "create", c->s, errno);
	if (rename(c->s, b->s) < 0)
		return missing(e, "cannot rename over an existing file", "rename",
			       b->s, errno);
	if (!holds(b->s, "2") || !holds(a->s, "1") || access(c->s, F_OK) == 0)
		return missing(e, "does not replace a name by rename", "rename",
			       b->s, 0);
	if (stat(a->s, &sa) < 0 || sa.st_nlink != 1)
		return missing(e, "keeps a replaced name's link count", "stat",
			       a->s, errno);
	/* A new tag's directory is renamed into place and must not
	 * replace one another writer made meanwhile. */
	if (mkdir(x->s, 0755) < 0)
		return missing(e, "cannot make directories", "mkdir", x->s, errno);
	buf_reset(c);
	if (buf_addf(c, "%s/f", x->s) < 0)
		return err_sys(e, "out of memory");
	if (put(c->s, "3", O_EXCL) < 0)
		return missing(e, "cannot be written", "create", c->s, errno);
	buf_reset(c);
	if (buf_addf(c, "%s.new", x->s) < 0)
		return err_sys(e, "out of memory");
	if (mkdir(c->s, 0755) < 0)
		return missing(e, "cannot make directories", "mkdir", c->s, errno);
	if (rename(c->s, x->s) == 0 || (errno != ENOTEMPTY && errno != EEXIST))
		return missing(e, "renames a directory over a non-empty one",
			       "rename", x->s, errno == ENOTEMPTY ? 0 : errno);
	if (rmdir(c->s) < 0)
		return missing(e, "cannot remove directories", "rmdir", c->s, errno);
	if (fs_fsync_dir(d, e) < 0)
		return missing(e, "cannot fsync a directory", "fsync", d, errno);
	/* Upload sessions are held with open-file-description locks. */
	fd1 = open(a->s, O_RDWR | O_CLOEXEC);
	fd2 = open(a->s, O_RDWR | O_CLOEXEC);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	r = -1;
	if (fd1 < 0 || fd2 < 0) {
		missing(e, "cannot open its files", "open", a->s, errno);
	} else if (fcntl(fd1, F_OFD_SETLK, &fl) < 0) {
		missing(e, "has no file locks (F_OFD_SETLK)", "fcntl", a->s, errno);
	} else if (fcntl(fd2, F_OFD_SETLK, &fl) == 0 ||
		   (errno != EAGAIN && errno != EACCES)) {
		missing(e, "does not enforce file locks (F_OFD_SETLK)", "fcntl",
			a->s, errno == 0 ? 0 : errno);
	} else {
		r = 0;
	}
	if (fd1 >= 0)
		close(fd1);
	if (fd2 >= 0)
		close(fd2);
	return r;
}

/* The mount point of the filesystem path is on: the longest mount point
 * in /proc/self/mountinfo that is path or one of its parents. 0, or -1
 * when it cannot be told. */
static int mount_point(const char *path, struct buf *out)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0, best = 0;
	int r = -1;

	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		char mp[4096], un[4096];
		size_t i, j, n;

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		/* mountinfo escapes space, tab, newline and \ as \ooo. */
		for (i = j = 0; mp[i] && j + 1 < sizeof(un); j++) {
			if (mp[i] == '\\' && mp[i + 1] >= '0' && mp[i + 1] <= '3' &&
			    mp[i + 2] && mp[i + 3]) {
				un[j] = (char)((mp[i + 1] - '0') * 64 +
					       (mp[i + 2] - '0') * 8 + (mp[i + 3] - '0'));
				i += 4;
			} else {
				un[j] = mp[i++];
			}
		}
		un[j] = 0;
		n = strlen(un);
		if (n <= best)
			continue;
		if (strncmp(path, un, n) || (n > 1 && path[n] && path[n] != '/'))
			continue;
		buf_reset(out);
		if (buf_add(out, un, n) < 0)
			break;
		best = n;
		r = 0;
	}
	free(line);
	fclose(f);
	return r;
}

/* A GlusterFS client that caches another host's file attributes or
 * contents (performance/md-cache: stat-prefetch; performance/quick-read,
 * performance/io-cache) serves a file another host just wrote with its
 * old size or bytes: an upload continued on this host finds its data
 * short, a link another host just renamed into place reads empty, nginx
 * sends a blob cut at the old size. FORCE_SYNC does not reach past these translators, so the
 * store refuses them. They show in the client's graph under the mount's
 * virtual .meta directory. 0 none (or no GlusterFS), -1 with e filled. */
static int gluster_caches(const char *dir, struct err *e)
{
	static const struct {
		const char *type, *option;
	} bad[] = {
		{ "performance/md-cache", "performance.stat-prefetch" },
		{ "performance/io-cache", "performance.io-cache" },
		{ "performance/quick-read", "performance.quick-read" },
	};
	struct buf mp = BUF_INIT, p = BUF_INIT, t = BUF_INIT;
	struct strlist names = STRLIST_INIT;
	struct err ie = ERR_INIT;
	size_t i, k;
	int r = 0;

	if (mount_point(dir, &mp) < 0 || buf_addf(&mp, "/.meta/graphs/active") < 0 ||
	    fs_list(mp.s, 0, &names, &ie) <= 0)
		goto out;
	for (i = 0; i < names.n && r == 0; i++) {
		buf_reset(&p);
		buf_reset(&t);
		if (buf_addf(&p, "%s/%s/type", mp.s, names.items[i]) < 0 ||
		    fs_read_file(p.s, 256, &t, &ie) <= 0)
			continue;
		while (t.len && (t.s[t.len - 1] == '\n' || t.s[t.len - 1] == ' '))
			buf_truncate(&t, t.len - 1);
		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
			if (!strcmp(t.s, bad[k].type)) {
				err_set(e, ERR_INTERNAL, "the store's filesystem is a "
					"GlusterFS volume whose "
					"clients cache file attributes or contents (%s): "
					"another host's writes would be read late; set "
					"`gluster volume set VOLUME %s off`",
					bad[k].type, bad[k].option);
				snprintf(e->detail, sizeof(e->detail), "%s/%s",
					 mp.s, names.items[i]);
				r = -1;
			}
	}
out:
	strlist_free(&names);
	buf_free(&mp);
	buf_free(&p);
	buf_free(&t);
	return r;
}

int fsprobe_run(const char *dir, struct err *e)
{
	struct buf d = BUF_INIT, a = BUF_INIT, b = BUF_INIT, c = BUF_INIT,
		   x = BUF_INIT;
	struct err ie = ERR_INIT;
	unsigned char rnd[6];
	int r = -1;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return err_set(e, ERR_INTERNAL, "random number generator failed");
	if (buf_addf(&d, "%s/.tmp-probe-%02x%02x%02x%02x%02x%02x", dir, rnd[0],
		     rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]) < 0 ||
	    buf_addf(&a, "%s/a", d.s) < 0 || buf_addf(&b, "%s/b", d.s) < 0 ||
	    buf_addf(&c, "%s/c", d.s) < 0 || buf_addf(&x, "%s/x", d.s) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (mkdir(d.s, 0755) < 0) {
		missing(e, "cannot make directories", "mkdir", d.s, errno);
		goto out;
	}
	r = probe(d.s, &a, &b, &c, &x, e);
	if (r == 0)
		r = gluster_caches(dir, e);
	if (fs_remove_tree(d.s, &ie) < 0 && r == 0)
		r = missing(e, "cannot remove what it wrote", "remove", d.s, errno);
out:
	buf_free(&d);
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
	buf_free(&x);
	return r;
}

void fsprobe_type(const char *dir, char *out, size_t outlen)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} known[] = {
		{ 0xEF53, "ext4" },
		{ 0x58465342, "xfs" },
		{ 0x9123683E, "btrfs" },
		{ 0x01021994, "tmpfs" },
		{ 0x794C7630, "overlayfs" },
		{ 0x6969, "nfs" },
		{ 0x65735546, "fuse (GlusterFS, ...)" },
		{ 0x00C36400, "cephfs" },
		{ 0xFF534D42, "cifs" },
		{ 0xFE534D42, "smb2" },
		{ 0x2FC12FC1, "zfs" },
		{ 0x4d44, "vfat" },
	};
	struct statfs sf;
	size_t i;

	if (statfs(dir, &sf) < 0) {
		snprintf(out, outlen, "unknown (%s)", strerror(errno));
		return;
	}
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if ((unsigned long)sf.f_type == known[i].magic) {
			snprintf(out, outlen, "%s", known[i].name);
			return;
		}
	snprintf(out, outlen, "unknown (0x%lx)", (unsigned long)sf.f_type);
}
