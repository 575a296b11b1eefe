/*
 * sink: an upload's bytes to disk around the page cache; the design is in
 * sink.h.
 *
 * Two buffers of SINK_PIECE bytes: the worker fills one while the other's
 * direct write is in flight, and waits for a buffer's write only when it
 * needs the buffer again. The current buffer always ends at an aligned
 * file offset (the first one is shortened by the start's misalignment),
 * so every full buffer after the first may go out with O_DIRECT.
 */
/* O_DIRECT needs _GNU_SOURCE, which the Makefile defines. */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/aio_abi.h>
#include <sys/syscall.h>
#endif

#include "fsutil.h"
#include "banned.h"

/* O_DIRECT's alignment of offsets, lengths and memory: 4096 satisfies
 * every logical block size in use; a filesystem that wants more refuses
 * with EINVAL and the sink writes through the page cache instead. */
#define SINK_ALIGN 4096
/* How far ahead of the bytes the file is extended when the body's size is
 * not known. */
#define SINK_AHEAD ((off_t)64 << 20)

struct sink {
	int fd;
	const char *path;
	long long total;
	off_t start;
	off_t pos;         /* file offset of the current buffer's first byte */
	size_t fill;       /* bytes in the current buffer */
	off_t wb;          /* write-behind: first byte not yet sent to disk */
	char *buf[2];
	int cur;
	int direct;        /* 0 not tried yet, 1 on, -1 off for good */
	int went_direct;
	int dfd;           /* the data file again, with O_DIRECT */
	off_t size;        /* the file's size as the sink last set it */
#ifdef __linux__
	aio_context_t ctx;
	int own_ctx;       /* ctx is this sink's, not the process's */
	struct iocb cb[2];
#endif
	int busy[2];       /* buffer i's direct write is in flight */
};

/* The process's two piece buffers, kept for the next body like the AIO
 * context: fresh 1 MiB allocations are mmapped by malloc and faulted in
 * page by page (512 faults and 2 MiB of zeroing per request). A worker
 * holds them whether it serves one push or none; the pool's PSS counts
 * them once (docs/performance.md). */
static void *spare[2];

static void *buf_get(void)
{
	void *p = NULL;
	int i;

	for (i = 0; i < 2; i++)
		if (spare[i]) {
			p = spare[i];
			spare[i] = NULL;
			return p;
		}
	return posix_memalign(&p, SINK_ALIGN, SINK_PIECE) ? NULL : p;
}

static void buf_put(void *p)
{
	int i;

	if (!p)
		return;
	for (i = 0; i < 2; i++)
		if (!spare[i]) {
			spare[i] = p;
			return;
		}
	free(p);
}

static size_t limit(const struct sink *s)
{
	return SINK_PIECE - (size_t)(s->pos % SINK_ALIGN);
}

int sink_open(int fd, const char *path, off_t off, long long total,
	      struct sink **out, struct err *e)
{
	struct sink *s = calloc(1, sizeof(*s));
	void *b = s ? buf_get() : NULL;

	if (!b) {
		free(s);
		return err_sys(e, "out of memory");
	}
	s->buf[0] = b;
	s->fd = fd;
	s->path = path;
	s->total = total;
	s->start = s->pos = s->wb = off;
	s->dfd = -1;
	s->size = -1;
	*out = s;
	return 0;
}

char *sink_buf(struct sink *s, size_t *room)
{
	*room = limit(s) - s->fill;
	return s->buf[s->cur] + s->fill;
}

int sink_went_direct(const struct sink *s)
{
	return s->went_direct;
}

static int write_buffered(struct sink *s, const char *p, size_t len, off_t off,
			  struct err *e)
{
	if (fs_pwrite_all(s->fd, p, len, off) < 0)
		return err_sys(e, "write %s", s->path);
	if (off + (off_t)len > s->wb)
		fs_write_behind(s->fd, &s->wb, off + (off_t)len);
	return 0;
}

#ifdef __linux__
/* The process's AIO context, kept for the next body: io_destroy waits for
 * an RCU grace period (~30 ms here), which 32 parallel 4 MiB pushes paid
 * once each. A worker serves one request at a time, so a second sink at
 * once (only in tests) makes and destroys its own. A forked child cannot
 * use its parent's context and makes a new one. */
static aio_context_t proc_ctx;
static pid_t proc_ctx_pid;
static int proc_ctx_busy;

static int ctx_get(struct sink *s)
{
	pid_t me = getpid();

	if (proc_ctx_pid != me) {
		proc_ctx = 0;
		proc_ctx_busy = 0;
		if (syscall(SYS_io_setup, 2, &proc_ctx) < 0) {
			proc_ctx = 0;
			return -1;
		}
		proc_ctx_pid = me;
	}
	if (!proc_ctx_busy) {
		proc_ctx_busy = 1;
		s->ctx = proc_ctx;
		return 0;
	}
	if (syscall(SYS_io_setup, 2, &s->ctx) < 0) {
		s->ctx = 0;
		return -1;
	}
	s->own_ctx = 1;
	return 0;
}

/* Gives the context back; clean: nothing of this sink is in it any more. */
static void ctx_put(struct sink *s, int clean)
{
	if (!s->ctx)
		return;
	if (s->own_ctx || !clean)
		syscall(SYS_io_destroy, s->ctx); /* waits for what is in flight */
	if (!s->own_ctx) {
		if (!clean)
			proc_ctx_pid = 0; /* the next sink makes a new one */
		proc_ctx_busy = 0;
	}
	s->ctx = 0;
}

/* Opens the direct path on first use; 0 when it is not to be had here
 * (the caller writes through the page cache), -1 on an error that is. */
static int direct_setup(struct sink *s, struct err *e)
{
	struct stat a, b;
	void *p;

	s->direct = -1;
	/* The same file by path: the session is locked by the caller, so
	 * the name cannot have been replaced, but compare to be sure. */
	s->dfd = open(s->path, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (s->dfd < 0)
		return 0;
	if (fstat(s->fd, &a) < 0 || fstat(s->dfd, &b) < 0)
		return err_sys(e, "stat %s", s->path);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return 0;
	if (!(p = buf_get()))
		return err_sys(e, "out of memory");
	s->buf[1] = p;
	if (ctx_get(s) < 0)
		return 0;
	s->size = a.st_size;
	s->direct = 1;
	return 0;
}

/* Waits for one direct write; a piece the kernel refused or wrote short
 * goes (the rest of it) through the page cache. */
static int reap_one(struct sink *s, struct err *e)
{
	struct io_event ev;
	long k;
	int i;
	size_t len;
	long long res;

	do
		k = syscall(SYS_io_getevents, s->ctx, 1L, 1L, &ev, NULL);
	while (k < 0 && errno == EINTR);
	if (k != 1)
		return err_sys(e, "wait for writes to %s", s->path);
	i = (int)ev.data;
	s->busy[i] = 0;
	len = (size_t)s->cb[i].aio_nbytes;
	res = (long long)ev.res;
	if (res == (long long)len)
		return 0;
	if (res == -EINVAL) {
		s->direct = -1;
		res = 0;
	} else if (res < 0) {
		errno = (int)-res;
		return err_sys(e, "write %s", s->path);
	}
	return write_buffered(s, s->buf[i] + res, len - (size_t)res,
			      (off_t)s->cb[i].aio_offset + (off_t)res, e);
}

static int wait_for(struct sink *s, int i, struct err *e)
{
	while (s->busy[i])
		if (reap_one(s, e) < 0)
			return -1;
	return 0;
}

/* 1 when the current buffer went out direct, 0 when it is to be written
 * through the page cache, -1 on error. */
static int submit_direct(struct sink *s, struct err *e)
{
	struct iocb *p = &s->cb[s->cur];
	off_t need = s->pos + (off_t)s->fill;

	if (s->direct == 0 && direct_setup(s, e) < 0)
		return -1;
	if (s->direct < 0)
		return 0;
	if (need > s->size) {
		off_t to = need + SINK_AHEAD;
		if (s->total >= 0 && s->start + s->total >= need)
			to = s->start + s->total;
		if (ftruncate(s->fd, to) < 0)
			return err_sys(e, "extend %s", s->path);
		s->size = to;
	}
	memset(p, 0, sizeof(*p));
	p->aio_data = (unsigned)s->cur;
	p->aio_fildes = (unsigned)s->dfd;
	p->aio_lio_opcode = IOCB_CMD_PWRITE;
	p->aio_buf = (unsigned long)s->buf[s->cur];
	p->aio_nbytes = s->fill;
	p->aio_offset = s->pos;
	if (syscall(SYS_io_submit, s->ctx, 1L, &p) != 1) {
		if (errno == EINVAL || errno == EOPNOTSUPP) {
			s->direct = -1;
			return 0;
		}
		if (errno == EAGAIN || errno == EINTR)
			return 0; /* this piece the ordinary way */
		return err_sys(e, "write %s", s->path);
	}
	s->busy[s->cur] = 1;
	s->went_direct = 1;
	return 1;
}
#else
static int wait_for(struct sink *s, int i, struct err *e)
{
	(void)s, (void)i, (void)e;
	return 0;
}

static int submit_direct(struct sink *s, struct err *e)
{
	(void)s, (void)e;
	return 0;
}
#endif

/* Writes out the current buffer and moves on to the other one. */
static int flush(struct sink *s, struct err *e)
{
	int r = 0;

	if (s->direct >= 0 && s->fill == SINK_PIECE && s->pos % SINK_ALIGN == 0)
		r = submit_direct(s, e);
	if (r < 0)
		return -1;
	if (r == 0 && write_buffered(s, s->buf[s->cur], s->fill, s->pos, e) < 0)
		return -1;
	s->pos += (off_t)s->fill;
	s->fill = 0;
	if (s->buf[1]) {
		s->cur ^= 1;
		return wait_for(s, s->cur, e);
	}
	return 0;
}

int sink_put(struct sink *s, size_t n, struct err *e)
{
	s->fill += n;
	if (s->fill < limit(s))
		return 0;
	return flush(s, e);
}

int sink_finish(struct sink *s, struct err *e)
{
	off_t end = s->pos + (off_t)s->fill;

	if (s->fill && write_buffered(s, s->buf[s->cur], s->fill, s->pos, e) < 0)
		return -1;
	s->pos = end;
	s->fill = 0;
	if (wait_for(s, 0, e) < 0 || wait_for(s, 1, e) < 0)
		return -1;
	if (s->size > end && ftruncate(s->fd, end) < 0)
		return err_sys(e, "truncate %s", s->path);
	s->size = end;
	return 0;
}

void sink_free(struct sink *s)
{
	if (!s)
		return;
#ifdef __linux__
	if (s->ctx) {
		struct err ignore = ERR_INIT;
		/* Every write of this sink is waited for before the caller
		 * may cut the file; one that cannot be waited for is left to
		 * io_destroy, which waits for it. */
		while ((s->busy[0] || s->busy[1]) && reap_one(s, &ignore) == 0)
			;
		ctx_put(s, !s->busy[0] && !s->busy[1]);
	}
#endif
	if (s->dfd >= 0)
		close(s->dfd);
	/* No write of them is in flight any more: reaped above, or waited
	 * for by io_destroy in ctx_put(). */
	buf_put(s->buf[0]);
	buf_put(s->buf[1]);
	free(s);
}
