/*
 * health: a probe file written, read back and removed (see health.h).
 *
 * The probe goes through the page cache only (no fsync): it asks whether
 * the filesystem takes writes and gives back what it took, at a cost a
 * health check polled every few seconds can pay; a full disk and a
 * read-only or unwritable store show at write(2) or open(2) already. Each
 * process probes its own file (by pid), so concurrent probes of all
 * workers of all hosts never meet; one killed mid-probe leaves one small
 * file behind, which the next probe of that pid replaces.
 */
#include "health.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "banned.h"

const char *health_state_name(enum health_state s)
{
	switch (s) {
	case HEALTH_OK: return "ok";
	case HEALTH_READONLY: return "read-only";
	case HEALTH_FULL: return "full";
	case HEALTH_UNWRITABLE: return "unwritable";
	default: return "error";
	}
}

static void health_fail(struct health *h, int err, const char *what, const char *path)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
		h->state = HEALTH_FULL;
		snprintf(h->reason, sizeof(h->reason), "the store is full");
		break;
	case EROFS:
		h->state = HEALTH_UNWRITABLE;
		snprintf(h->reason, sizeof(h->reason), "the store's filesystem is read-only");
		break;
	case EACCES:
	case EPERM:
		h->state = HEALTH_UNWRITABLE;
		snprintf(h->reason, sizeof(h->reason), "the store cannot be written (permissions)");
		break;
	default:
		h->state = HEALTH_BROKEN;
		snprintf(h->reason, sizeof(h->reason), "the store cannot be written and read back");
		break;
	}
	snprintf(h->detail, sizeof(h->detail), "%s %s: %s", what, path,
		 err ? strerror(err) : "read back differs");
}

void health_check(const struct store *st, int readonly, struct health *h)
{
	struct buf dir = BUF_INIT, path = BUF_INIT;
	struct err e = ERR_INIT;
	char want[96], got[96];
	struct timespec ts;
	ssize_t n;
	int fd = -1, len;

	memset(h, 0, sizeof(*h));
	h->state = HEALTH_OK;
	if (store_berth_path(st, "health", &dir, &e) < 0 ||
	    buf_addf(&path, "%s/probe-%ld", dir.s, (long)getpid()) < 0) {
		h->state = HEALTH_BROKEN;
		snprintf(h->reason, sizeof(h->reason), "out of memory");
		goto out;
	}
	if (fs_mkdirs(dir.s, &e) < 0) {
		health_fail(h, errno, "mkdir", dir.s);
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	len = snprintf(want, sizeof(want), "berth health probe %ld %lld.%09ld\n",
		       (long)getpid(), (long long)ts.tv_sec, ts.tv_nsec);
	fd = open(path.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		health_fail(h, errno, "create", path.s);
		goto out;
	}
	if (fs_write_all(fd, want, (size_t)len) < 0) {
		health_fail(h, errno, "write", path.s);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		health_fail(h, errno, "close", path.s);
		goto out;
	}
	fd = open(path.s, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		health_fail(h, errno, "open", path.s);
		goto out;
	}
	n = read(fd, got, sizeof(got));
	if (n < 0) {
		health_fail(h, errno, "read", path.s);
		goto out;
	}
	if (n != len || memcmp(got, want, (size_t)len)) {
		health_fail(h, 0, "read", path.s);
		goto out;
	}
	if (unlink(path.s) < 0) {
		health_fail(h, errno, "unlink", path.s);
		goto out;
	}
	if (readonly) {
		h->state = HEALTH_READONLY;
		snprintf(h->reason, sizeof(h->reason),
			 "read-only mode (storage.maintenance.readonly): pulls only");
	}
out:
	if (fd >= 0)
		close(fd);
	if (h->state != HEALTH_OK && h->state != HEALTH_READONLY && fd >= 0)
		unlink(path.s);
	buf_free(&dir);
	buf_free(&path);
}
