/*
 * bench-fsync: what the disk under a directory makes a durable manifest
 * PUT cost, without Berth: the file operations of one PUT (a blob, a
 * revision link, a tag's index and current links, three new
 * directories) done N times, and the floors they are built from. For
 * make bench and docs/performance.md; prints one "mode ms-per-iteration"
 * line per mode.
 *
 *   none     the operations without any fsync (what is not the disk)
 *   serial   each file and directory fsync'd as it is written (Berth
 *            before the four steps: 11 fsyncs one after another)
 *   steps    the four ordered steps of core/store_put.c, each step's
 *            fsyncs submitted together with Linux AIO
 *   floor    one rename in a directory and an fsync of it: the least one
 *            ordered step can cost
 *   flush    a 1-byte overwrite and fdatasync: the disk's cache flush
 *
 * Usage: bench-fsync DIR N
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char LINK[] =
	"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void sync_paths(const char **p, int n)
{
	static aio_context_t ctx;
	struct iocb cb[16], *cbs[16];
	struct io_event ev[16];
	int fd[16], i, got = 0;

	if (!ctx && syscall(SYS_io_setup, 16, &ctx) < 0)
		die("io_setup");
	for (i = 0; i < n; i++) {
		fd[i] = open(p[i], O_RDONLY);
		if (fd[i] < 0)
			die(p[i]);
		memset(&cb[i], 0, sizeof(cb[i]));
		cb[i].aio_fildes = (unsigned)fd[i];
		cb[i].aio_lio_opcode = IOCB_CMD_FSYNC;
		cbs[i] = &cb[i];
	}
	if (syscall(SYS_io_submit, ctx, (long)n, cbs) != n)
		die("io_submit");
	while (got < n) {
		long k = syscall(SYS_io_getevents, ctx, 1L, (long)(n - got), ev, NULL);
		if (k < 0)
			die("io_getevents");
		for (i = 0; i < k; i++)
			if (ev[i].res)
				die("fsync");
		got += (int)k;
	}
	for (i = 0; i < n; i++)
		close(fd[i]);
}

static void sync1(const char *p)
{
	sync_paths(&p, 1);
}

static void put(const char *p, int fsync_it)
{
	int fd = open(p, O_CREAT | O_WRONLY | O_EXCL, 0644);

	if (fd < 0 || write(fd, LINK, sizeof(LINK) - 1) != (ssize_t)sizeof(LINK) - 1)
		die(p);
	if (fsync_it && fsync(fd) < 0)
		die("fsync");
	close(fd);
}

static void xrename(const char *a, const char *b)
{
	if (rename(a, b) < 0)
		die(b);
}

static void xmkdir(const char *p)
{
	if (mkdir(p, 0755) < 0)
		die(p);
}

int main(int argc, char **argv)
{
	static const char *modes[] = { "none", "serial", "steps", "floor", "flush" };
	char blobs[512], revs[512], idx[512], cur[512];
	char bd[600], bt[640], bf[640], rd[600], rt[640], rf[640];
	char id[600], it[640], il[640], ct[640], cf[640];
	struct timespec t0, t1;
	int n, m, i;

	if (argc != 3 || (n = (int)strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: bench-fsync DIR N\n");
		return 2;
	}
	for (m = 0; m < 5; m++) {
		snprintf(blobs, sizeof(blobs), "%s/%s-%d-b", argv[1], modes[m], (int)getpid());
		snprintf(revs, sizeof(revs), "%s/%s-%d-r", argv[1], modes[m], (int)getpid());
		snprintf(idx, sizeof(idx), "%s/%s-%d-i", argv[1], modes[m], (int)getpid());
		snprintf(cur, sizeof(cur), "%s/%s-%d-c", argv[1], modes[m], (int)getpid());
		xmkdir(blobs);
		xmkdir(revs);
		xmkdir(idx);
		xmkdir(cur);
		snprintf(cf, sizeof(cf), "%s/link", cur);
		put(cf, 1);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < n; i++) {
			snprintf(bd, sizeof(bd), "%s/%d", blobs, i);
			snprintf(bt, sizeof(bt), "%s/.tmp", bd);
			snprintf(bf, sizeof(bf), "%s/data", bd);
			snprintf(rd, sizeof(rd), "%s/%d", revs, i);
			snprintf(rt, sizeof(rt), "%s/.tmp", rd);
			snprintf(rf, sizeof(rf), "%s/link", rd);
			snprintf(id, sizeof(id), "%s/%d", idx, i);
			snprintf(it, sizeof(it), "%s/.tmp", id);
			snprintf(il, sizeof(il), "%s/link", id);
			snprintf(ct, sizeof(ct), "%s/.tmp%d", cur, i);
			if (m == 3) {
				put(ct, 0);
				xrename(ct, cf);
				sync1(cur);
				continue;
			}
			if (m == 4) {
				int fd = open(cf, O_WRONLY);
				if (fd < 0 || pwrite(fd, "s", 1, 0) != 1 || fdatasync(fd) < 0)
					die("flush");
				close(fd);
				continue;
			}
			if (m == 1) {
				xmkdir(bd); sync1(blobs); put(bt, 1); xrename(bt, bf); sync1(bd);
				xmkdir(rd); sync1(revs); put(rt, 1); xrename(rt, rf); sync1(rd);
				xmkdir(id); sync1(idx); put(it, 1); xrename(it, il); sync1(id);
				put(ct, 1); xrename(ct, cf); sync1(cur);
				continue;
			}
			xmkdir(bd); xmkdir(rd); xmkdir(id);
			put(bt, 0); put(rt, 0); put(it, 0); put(ct, 0);
			if (m == 0) {
				xrename(bt, bf); xrename(rt, rf); xrename(it, il); xrename(ct, cf);
				continue;
			}
			{
				const char *s1[] = { bt, rt, it, ct, blobs, revs, idx };
				const char *s3[] = { rd, id };
				sync_paths(s1, 7);
				xrename(bt, bf); sync1(bd);
				xrename(rt, rf); xrename(it, il); sync_paths(s3, 2);
				xrename(ct, cf); sync1(cur);
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("%s %.3f\n", modes[m],
		       ((double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e6) / n);
		fflush(stdout);
	}
	return 0;
}
