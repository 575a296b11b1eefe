/*
 * quota: the accounting of quota.h. The usage file is the lock and the
 * number at once: it is locked (OFD, byte-range, which NFS and CephFS
 * clients honour across hosts, and whose acquisition makes a client read
 * the file afresh), read, rewritten in place and fdatasync'd, unlocked.
 * A dozen bytes rewritten in place cannot tear.
 */
#include "quota.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "strlist.h"
#include "banned.h"

/* A marker this much older than a recount's walk was charged before the
 * walk could see its link: a charge and its link are milliseconds apart. */
#define QUOTA_MARGIN 60

void quota_fmt_size(long long n, char *out, size_t len)
{
	static const char *u[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(out, len, "%lld bytes", n);
	else
		snprintf(out, len, "%.1f %s", v, u[i]);
}

static int rule_dir(const struct store *st, const struct policy_quota *q,
		    const char *sub, struct buf *out, struct err *e)
{
	struct buf rel = BUF_INIT;
	int r;

	if (buf_addf(&rel, "quota/%s%s%s", q->key, sub ? "/" : "", sub ? sub : "") < 0) {
		buf_free(&rel);
		return err_sys(e, "out of memory");
	}
	r = store_berth_path(st, rel.s, out, e);
	buf_free(&rel);
	return r;
}

/* The usage file, open and locked: fd, or -1. *fresh: it did not exist
 * (never counted). */
static int lock_usage(const struct store *st, const struct policy_quota *q,
		      int *fresh, struct err *e)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct buf dir = BUF_INIT, path = BUF_INIT;
	int fd = -1, tries;

	if (rule_dir(st, q, NULL, &dir, e) < 0 || fs_mkdirs(dir.s, e) < 0)
		goto out;
	if (buf_addf(&path, "%s/usage", dir.s) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	*fresh = 0;
	fd = open(path.s, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		*fresh = 1;
		fd = open(path.s, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	}
	if (fd < 0) {
		err_sys(e, "open %s", path.s);
		goto out;
	}
	/* Charges hold it for a few file operations; a recount for one
	 * rewrite. Seconds of waiting mean something is wrong. */
	for (tries = 0; fcntl(fd, F_OFD_SETLK, &fl) < 0; tries++) {
		if ((errno != EACCES && errno != EAGAIN) || tries >= 100) {
			if (errno == EACCES || errno == EAGAIN)
				err_set(e, ERR_BUSY, "the quota of %s is locked", q->desc);
			else
				err_sys(e, "lock %s", path.s);
			close(fd);
			fd = -1;
			goto out;
		}
		usleep(tries < 10 ? 1000 : 50000);
	}
out:
	buf_free(&dir);
	buf_free(&path);
	return fd;
}

static void unlock_usage(int fd)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	/* Explicitly, before close: see upload.c's upload_close. */
	(void)fcntl(fd, F_OFD_SETLK, &fl);
	close(fd);
}

/* 1 with *n, 0 empty (never written), -1. */
static int read_usage(int fd, long long *n, struct err *e)
{
	char b[32];
	ssize_t got = pread(fd, b, sizeof(b) - 1, 0);
	char *end;

	if (got < 0)
		return err_sys(e, "read of a quota's usage");
	if (got == 0)
		return 0;
	b[got] = 0;
	*n = strtoll(b, &end, 10);
	if (end == b || *n < 0) {
		errno = 0;
		return err_sys(e, "damaged quota usage file (run berth fsck --repair)");
	}
	return 1;
}

static int write_usage(int fd, long long n, struct err *e)
{
	char b[32];
	int len = snprintf(b, sizeof(b), "%020lld\n", n);

	/* Fixed width: the rewrite covers the old number exactly. */
	if (fs_pwrite_all(fd, b, (size_t)len, 0) < 0 || ftruncate(fd, len) < 0 ||
	    fdatasync(fd) < 0)
		return err_sys(e, "write of a quota's usage");
	return 0;
}

static int marker_name(const struct digest *d, char *out, size_t n)
{
	return snprintf(out, n, "%s-%s", digest_alg_name(d->alg), d->hex) < (int)n ? 0 : -1;
}

/* ---- recount ---- */

struct count {
	const struct store *st;
	const struct policy *pol;
	const struct policy_quota *q;
	struct strlist blobs;   /* "<alg>-<hex>" of every blob linked */
	const char *repo;
	struct err *e;
};

static int count_link(void *ctx, const struct digest *d)
{
	struct count *c = ctx;
	char m[DIGEST_STR_MAX + 8];

	if (marker_name(d, m, sizeof(m)) < 0)
		return 0;
	return strlist_add(&c->blobs, m) < 0 ? err_sys(c->e, "out of memory") : 0;
}

static int count_repo(void *ctx, const char *name)
{
	struct count *c = ctx;

	if (policy_quota(c->pol, name) != c->q)
		return 0;
	if (store_each_link(c->st, name, STORE_LAYER, count_link, c, c->e) < 0 ||
	    store_each_link(c->st, name, STORE_REVISION, count_link, c, c->e) < 0)
		return -1;
	return 0;
}

/* The size a marker holds (what it was charged), -1 unreadable. */
static long long marker_size(const char *dir, const char *name)
{
	struct buf p = BUF_INIT, b = BUF_INIT;
	struct err ie = ERR_INIT;
	long long n = -1;

	if (buf_addf(&p, "%s/%s", dir, name) == 0 && fs_read_file(p.s, 64, &b, &ie) > 0)
		n = strtoll(b.s, NULL, 10);
	buf_free(&p);
	buf_free(&b);
	return n;
}

static int write_marker(const char *dir, const char *name, long long size,
			enum fs_sync sync, struct err *e)
{
	char b[32];
	int len = snprintf(b, sizeof(b), "%lld\n", size);

	return fs_write_file(dir, name, b, (size_t)len, sync, e);
}

/* Counts rule q from the store, then, under its lock, makes the markers
 * and the usage say so, keeping what was charged while the walk ran. */
static int recount_rule(const struct store *st, const struct policy *pol,
			const struct policy_quota *q, long long *before,
			long long *after, struct err *e)
{
	struct count c = { st, pol, q, STRLIST_INIT, NULL, e };
	struct strlist have = STRLIST_INIT;
	struct buf bdir = BUF_INIT, p = BUF_INIT;
	time_t t0 = time(NULL);
	long long total = 0, n;
	size_t i;
	int fd = -1, fresh, r = -1;

	*before = -1;
	if (store_each_repo(st, count_repo, &c, e) < 0)
		goto out;
	strlist_sort(&c.blobs);
	if ((fd = lock_usage(st, q, &fresh, e)) < 0)
		goto out;
	if (!fresh && read_usage(fd, before, e) < 0)
		goto out;
	if (rule_dir(st, q, "blobs", &bdir, e) < 0 || fs_mkdirs(bdir.s, e) < 0 ||
	    fs_list(bdir.s, FS_LIST_NODOT, &have, e) < 0)
		goto out;
	strlist_sort(&have);
	/* Markers of blobs the walk did not find: kept (and counted) when
	 * recent enough that their link may have come after the walk. */
	for (i = 0; i < have.n; i++) {
		struct timespec mt;
		if (strlist_has_sorted(&c.blobs, have.items[i]))
			continue;
		buf_reset(&p);
		if (buf_addf(&p, "%s/%s", bdir.s, have.items[i]) < 0) {
			err_sys(e, "out of memory");
			goto out;
		}
		if (fs_stat_file(p.s, NULL, &mt, e) > 0 && mt.tv_sec >= t0 - QUOTA_MARGIN) {
			n = marker_size(bdir.s, have.items[i]);
			total += n > 0 ? n : 0;
		} else if (unlink(p.s) < 0 && errno != ENOENT) {
			err_sys(e, "unlink %s", p.s);
			goto out;
		}
	}
	/* Every blob found: its size, and a marker. */
	for (i = 0; i < c.blobs.n; i++) {
		struct digest d;
		char ds[DIGEST_STR_MAX];
		struct err pe = ERR_INIT;
		off_t size;
		char *dash;
		int found;

		if (i && !strcmp(c.blobs.items[i], c.blobs.items[i - 1]))
			continue;
		snprintf(ds, sizeof(ds), "%s", c.blobs.items[i]);
		if (!(dash = strchr(ds, '-')))
			continue;
		*dash = ':';
		if (digest_parse(ds, &d, &pe) < 0)
			continue;
		found = store_blob_stat(st, &d, &size, e);
		if (found < 0)
			goto out;
		/* A link to a blob that is gone links nothing (gc removes
		 * the link, fsck reports it). */
		if (found == 0)
			continue;
		total += (long long)size;
		if (!strlist_has_sorted(&have, c.blobs.items[i]) &&
		    write_marker(bdir.s, c.blobs.items[i], (long long)size, FS_CACHE, e) < 0)
			goto out;
	}
	if (fs_fsync_dir(bdir.s, e) < 0 || write_usage(fd, total, e) < 0)
		goto out;
	*after = total;
	r = 0;
out:
	if (fd >= 0)
		unlock_usage(fd);
	strlist_free(&c.blobs);
	strlist_free(&have);
	buf_free(&bdir);
	buf_free(&p);
	return r;
}

int quota_recount(const struct store *st, const struct policy *pol,
		  void (*say)(void *ctx, const char *line), void *ctx,
		  struct err *e)
{
	const struct policy_quota *q;
	long long before, after;
	char line[700], b[32], a[32];
	size_t i;

	for (i = 0; (q = policy_quota_at(pol, i)); i++) {
		if (recount_rule(st, pol, q, &before, &after, e) < 0)
			return -1;
		if (say && before != after) {
			quota_fmt_size(after, a, sizeof(a));
			if (before < 0)
				snprintf(line, sizeof(line), "quota usage of %s counted: %s",
					 q->desc, a);
			else {
				quota_fmt_size(before, b, sizeof(b));
				snprintf(line, sizeof(line), "quota usage of %s recounted: "
					 "%s (was %s)", q->desc, a, b);
			}
			say(ctx, line);
		}
	}
	return 0;
}

int quota_usage(const struct store *st, const struct policy_quota *q,
		long long *used, struct err *e)
{
	struct buf p = BUF_INIT;
	int fd, r = -1;

	*used = 0;
	if (rule_dir(st, q, "usage", &p, e) < 0)
		goto out;
	fd = open(p.s, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = errno == ENOENT ? 0 : err_sys(e, "open %s", p.s);
		goto out;
	}
	r = read_usage(fd, used, e);
	close(fd);
out:
	buf_free(&p);
	return r;
}

/* ---- charging ---- */

int quota_charge(const struct store *st, const struct policy *pol,
		 const char *repo, const struct digest *d, long long size,
		 struct err *e)
{
	const struct policy_quota *q = policy_quota(pol, repo);
	struct buf bdir = BUF_INIT, p = BUF_INIT;
	char m[DIGEST_STR_MAX + 8], lim[32], use[32], need[32];
	long long used = 0, b, a;
	int fd = -1, fresh, r = -1, there;

	if (!q)
		return 0;
	if (marker_name(d, m, sizeof(m)) < 0)
		return err_sys(e, "digest too long");
	if ((fd = lock_usage(st, q, &fresh, e)) < 0)
		goto out;
	if (!fresh && (r = read_usage(fd, &used, e)) < 0)
		goto out;
	if (fresh || r == 0) {
		/* Never counted: count what the store holds first. */
		unlock_usage(fd);
		fd = -1;
		if (recount_rule(st, pol, q, &b, &a, e) < 0 ||
		    (fd = lock_usage(st, q, &fresh, e)) < 0 ||
		    read_usage(fd, &used, e) < 0)
			goto fail;
	}
	if (rule_dir(st, q, "blobs", &bdir, e) < 0 || buf_addf(&p, "%s/%s", bdir.s, m) < 0)
		goto fail;
	there = fs_stat_file(p.s, NULL, NULL, e);
	if (there < 0)
		goto fail;
	if (there) {
		r = 0;
		goto out;
	}
	if (used + size > q->limit) {
		quota_fmt_size(q->limit, lim, sizeof(lim));
		quota_fmt_size(used, use, sizeof(use));
		quota_fmt_size(size, need, sizeof(need));
		err_set(e, ERR_DENIED, "quota exceeded: %s allows %s for %s, %s is "
			"used and this blob needs %s more", q->desc, lim, repo, use, need);
		goto fail;
	}
	/* The usage first: a crash before the marker counts it twice, never
	 * not at all. */
	if (write_usage(fd, used + size, e) < 0 ||
	    fs_mkdirs(bdir.s, e) < 0 ||
	    write_marker(bdir.s, m, size, FS_DURABLE, e) < 0)
		goto fail;
	r = 0;
	goto out;
fail:
	r = -1;
out:
	if (fd >= 0)
		unlock_usage(fd);
	buf_free(&bdir);
	buf_free(&p);
	return r;
}
