/* sink: bodies of every shape (under one piece, whole pieces, a partial
 * last piece, a start that is not aligned, size known and not) land in the
 * file byte for byte and the file ends at the last byte; on a filesystem
 * with O_DIRECT the large ones go direct; a sink freed with writes in
 * flight lets the caller cut the file for good; a file that cannot be
 * written is an error, not a crash; two sinks at once and one in a forked
 * child each get an AIO context they can use. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/wait.h>

#include "t.h"
#include "../../core/sink.h"

static unsigned char pat(long long i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

/* Writes len bytes (pattern from offset off on) after off existing bytes,
 * handing the sink at most step bytes at a time; 1 when the file is then
 * exactly prefix + body. */
static int run(const char *dir, long long off, long long len, size_t step,
	       int known, int *direct)
{
	char path[512];
	struct sink *s = NULL;
	struct err e = ERR_INIT;
	struct stat st;
	unsigned char *back;
	long long i, done = 0;
	int fd, ok = 0;

	snprintf(path, sizeof(path), "%s/data-%lld-%lld", dir, off, len);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 0;
	for (i = 0; i < off; i++) {
		unsigned char c = (unsigned char)~pat(i);
		if (write(fd, &c, 1) != 1)
			goto out;
	}
	if (sink_open(fd, path, off, known ? len : -1, &s, &e) < 0)
		goto out;
	while (done < len) {
		size_t room, n;
		unsigned char *p = (unsigned char *)sink_buf(s, &room);

		n = room < step ? room : step;
		if ((long long)n > len - done)
			n = (size_t)(len - done);
		for (i = 0; i < (long long)n; i++)
			p[i] = pat(off + done + i);
		if (sink_put(s, n, &e) < 0)
			goto out;
		done += (long long)n;
	}
	if (sink_finish(s, &e) < 0 || fstat(fd, &st) < 0 || st.st_size != off + len)
		goto out;
	*direct = sink_went_direct(s);
	back = malloc((size_t)(off + len) + 1);
	if (back && pread(fd, back, (size_t)(off + len), 0) == off + len) {
		ok = 1;
		for (i = 0; i < off + len && ok; i++)
			ok = back[i] == (i < off ? (unsigned char)~pat(i) : pat(i));
	}
	free(back);
out:
	if (!ok)
		fprintf(stderr, "sink %lld+%lld step %zu known %d: %s\n", off, len,
			step, known, e.msg[0] ? e.msg : "content differs");
	sink_free(s);
	close(fd);
	unlink(path);
	return ok;
}

void test_sink(void)
{
	const char *dir = t_tmpdir();
	char probe[512];
	int can_direct, d = 0, fd;
	struct sink *s = NULL;
	struct err e = ERR_INIT;
	struct stat st;
	size_t room;
	const long long M = SINK_PIECE;

	snprintf(probe, sizeof(probe), "%s/probe", dir);
	fd = open(probe, O_WRONLY | O_CREAT | O_DIRECT, 0644);
	can_direct = fd >= 0;
	if (fd >= 0)
		close(fd);

	CHECK(run(dir, 0, 0, 1 << 16, 1, &d) && !d);
	CHECK(run(dir, 0, 100, 1 << 16, 1, &d) && !d);
	CHECK(run(dir, 0, M - 1, 1 << 16, 0, &d) && !d);
	CHECK(run(dir, 0, M, 1 << 20, 1, &d) && d == can_direct);
	CHECK(run(dir, 0, 5 * M + 123, 1 << 20, 1, &d) && d == can_direct);
	CHECK(run(dir, 0, 5 * M + 123, 8192, 0, &d) && d == can_direct);
	CHECK(run(dir, 777, 3 * M + 5, 65537, 0, &d) && d == can_direct);
	CHECK(run(dir, 4096, 2 * M, 1 << 20, 1, &d) && d == can_direct);
	/* Past the 64 MiB the file is extended by at a time. */
	CHECK(run(dir, 3, 70 * M + 1, 1 << 20, 0, &d) && d == can_direct);

	/* Two sinks at once (the second makes its own AIO context), and
	 * one in a forked child (which cannot use its parent's). */
	{
		char pa[512], pb[512];
		struct sink *a = NULL, *b = NULL;
		int fa, fb, i, ok = 1;
		pid_t pid;
		int wst = -1;

		snprintf(pa, sizeof(pa), "%s/two-a", dir);
		snprintf(pb, sizeof(pb), "%s/two-b", dir);
		fa = open(pa, O_RDWR | O_CREAT | O_TRUNC, 0644);
		fb = open(pb, O_RDWR | O_CREAT | O_TRUNC, 0644);
		CHECK(fa >= 0 && fb >= 0 && sink_open(fa, pa, 0, -1, &a, &e) == 0 &&
		      sink_open(fb, pb, 0, -1, &b, &e) == 0);
		for (i = 0; i < 8 && a && b; i++) {
			char *p = sink_buf(i & 1 ? b : a, &room);
			memset(p, i & 1 ? 'b' : 'a', room);
			ok &= sink_put(i & 1 ? b : a, room, &e) == 0;
		}
		CHECK(ok && a && b && sink_finish(a, &e) == 0 && sink_finish(b, &e) == 0);
		CHECK(a && b && sink_went_direct(a) == can_direct && sink_went_direct(b) == can_direct);
		sink_free(a);
		sink_free(b);
		CHECK(fstat(fa, &st) == 0 && st.st_size == 4 * M);
		CHECK(fstat(fb, &st) == 0 && st.st_size == 4 * M);
		pid = fork();
		if (pid == 0) {
			struct sink *c = NULL;
			struct err ce = ERR_INIT;
			int r = sink_open(fa, pa, 4 * M, -1, &c, &ce) == 0;
			for (i = 0; i < 3 && r; i++) {
				char *p = sink_buf(c, &room);
				memset(p, 'c', room);
				r = sink_put(c, room, &ce) == 0;
			}
			r = r && sink_finish(c, &ce) == 0 && sink_went_direct(c) == can_direct;
			sink_free(c);
			_exit(r ? 0 : 1);
		}
		CHECK(pid > 0 && waitpid(pid, &wst, 0) == pid && wst == 0);
		CHECK(fstat(fa, &st) == 0 && st.st_size == 7 * M);
		close(fa);
		close(fb);
		unlink(pa);
		unlink(pb);
	}

	/* Freed with writes in flight: after sink_free the caller's cut
	 * holds (no write lands after it). */
	snprintf(probe, sizeof(probe), "%s/cut", dir);
	fd = open(probe, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && sink_open(fd, probe, 0, -1, &s, &e) == 0);
	for (int i = 0; i < 6 && s; i++) {
		char *p = sink_buf(s, &room);
		memset(p, 'x', room);
		CHECK(sink_put(s, room, &e) == 0);
	}
	sink_free(s);
	CHECK(ftruncate(fd, 0) == 0);
	usleep(20000);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 0);
	close(fd);

	/* A file open read-only: the first piece fails with an error. */
	fd = open(probe, O_RDONLY);
	s = NULL;
	CHECK(fd >= 0 && sink_open(fd, probe, 0, -1, &s, &e) == 0);
	if (s) {
		char *p = sink_buf(s, &room);
		memset(p, 'y', room);
		CHECK(sink_put(s, room, &e) < 0 && e.msg[0]);
		sink_free(s);
	}
	close(fd);
	unlink(probe);
}
