/*
 * fsbatch: a step's fsyncs issued together (see fsbatch.h). Linux native
 * AIO is used for nothing but IOCB_CMD_FSYNC: no library, no threads of
 * ours; the kernel queues each request to its workers, which run them in
 * parallel, and the block layer merges the cache flushes they end with.
 * The AIO context is per process (a forked worker cannot use its
 * parent's), made on first use.
 */
#include "fsbatch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/aio_abi.h>
#include <sys/syscall.h>
#endif

#include "banned.h"

void fs_batch_clear(struct fs_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		close(b->fd[i]);
		free(b->path[i]);
		b->path[i] = NULL;
	}
	b->n = 0;
}

/* Every entry's fsync result into res[] (0 or an errno), in parallel when
 * the kernel lets us. */
static void sync_all(struct fs_batch *b, int *res)
{
	size_t i;
#ifdef __linux__
	static aio_context_t ctx;
	static pid_t ctx_pid;
	struct iocb cb[FS_BATCH_MAX], *cbs[FS_BATCH_MAX];
	struct io_event ev[FS_BATCH_MAX];
	pid_t me = getpid();
	long sent = 0, done = 0, k;

	if (ctx_pid != me) {
		ctx = 0;
		ctx_pid = me;
		if (syscall(SYS_io_setup, FS_BATCH_MAX, &ctx) < 0)
			ctx = 0;
	}
	if (ctx && b->n > 1) {
		memset(cb, 0, sizeof(cb));
		for (i = 0; i < b->n; i++) {
			cb[i].aio_fildes = (unsigned)b->fd[i];
			cb[i].aio_lio_opcode = IOCB_CMD_FSYNC;
			cb[i].aio_data = i;
			cbs[i] = &cb[i];
			res[i] = -1; /* not run yet */
		}
		sent = syscall(SYS_io_submit, ctx, (long)b->n, cbs);
		if (sent < 0)
			sent = 0;
		while (done < sent) {
			k = syscall(SYS_io_getevents, ctx, 1L, sent - done, ev, NULL);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				break; /* cannot happen with a valid context */
			for (i = 0; i < (size_t)k; i++)
				res[ev[i].data] = ev[i].res < 0 ? (int)-ev[i].res : 0;
			done += k;
		}
		if (done < sent) {
			/* Requests we could not reap may still run; the fds
			 * must stay open for them, so leave the context to
			 * the kernel and do the rest the slow way. */
			ctx_pid = 0;
		}
		for (i = 0; i < b->n; i++)
			if (res[i] == -1)
				res[i] = fsync(b->fd[i]) < 0 ? errno : 0;
		return;
	}
#endif
	for (i = 0; i < b->n; i++)
		res[i] = fsync(b->fd[i]) < 0 ? errno : 0;
}

int fs_batch_sync(struct fs_batch *b, struct err *e)
{
	int res[FS_BATCH_MAX], r = 0;
	size_t i;

	if (b->n == 0)
		return 0;
	sync_all(b, res);
	for (i = 0; i < b->n; i++)
		if (res[i] && r == 0) {
			errno = res[i];
			r = err_sys(e, "fsync %s", b->path[i]);
		}
	fs_batch_clear(b);
	return r;
}

int fs_batch_add_fd(struct fs_batch *b, int fd, const char *path,
		    struct err *e)
{
	char *copy = strdup(path);

	if (!copy) {
		close(fd);
		return err_sys(e, "out of memory");
	}
	if (b->n == FS_BATCH_MAX && fs_batch_sync(b, e) < 0) {
		close(fd);
		free(copy);
		return -1;
	}
	b->fd[b->n] = fd;
	b->path[b->n] = copy;
	b->n++;
	return 0;
}

int fs_batch_add(struct fs_batch *b, const char *path, struct err *e)
{
	size_t i;
	int fd;

	for (i = 0; i < b->n; i++)
		if (!strcmp(b->path[i], path))
			return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, "open %s", path);
	return fs_batch_add_fd(b, fd, path, e);
}
