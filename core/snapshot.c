/*
 * snapshot: sorted cache files for paging directory listings (see
 * snapshot.h). A page is found in a read-only mapping of the file, so a
 * request reads the header, the ~log2(N) lines a binary search probes and
 * the page, not the file; a reader that finds the file unusable builds
 * the list in memory, pages from that and saves it for the next reader.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "banned.h"

#define SNAP_MAX (256u << 20)   /* a file larger than this is not ours */
#define SNAP_HDR_MAX 160
#define SNAP_TRUST_AFTER 2      /* seconds between the mtime and the build */

/* The lines of a snapshot: s[0..len) is a sequence of "name\n". */
struct lines {
	const char *s;
	size_t len;
};

/* The line holding offset at (at < len): its start and length. A line
 * that is empty or holds a NUL byte marks a damaged file. */
static int line_at(const struct lines *l, size_t lo, size_t at, size_t *start,
		   size_t *n)
{
	const char *nl;
	size_t ls = at;

	while (ls > lo && l->s[ls - 1] != '\n')
		ls--;
	nl = memchr(l->s + ls, '\n', l->len - ls);
	if (!nl)
		return -1;
	*start = ls;
	*n = (size_t)(nl - (l->s + ls));
	if (*n == 0 || memchr(l->s + ls, 0, *n))
		return -1;
	return 0;
}

/* strcmp order of the line s[0..n) against the C string t. */
static int line_cmp(const char *s, size_t n, const char *t)
{
	size_t tn = strlen(t), m = n < tn ? n : tn;
	int c = memcmp(s, t, m);

	return c ? c : (n > tn) - (n < tn);
}

/* The page after last into out. 0, -1 out of memory, -2 damaged. */
static int lines_page(const struct lines *l, const char *last, size_t n,
		      struct strlist *out, int *more)
{
	size_t lo = 0, hi = l->len, p, prev = 0, prevn = 0, count = 0;
	int have_prev = 0;

	/* Binary search for the first line greater than last. */
	while (last && lo < hi) {
		size_t ls, ln, mid = lo + (hi - lo) / 2;

		if (line_at(l, lo, mid, &ls, &ln) < 0)
			return -2;
		if (line_cmp(l->s + ls, ln, last) <= 0)
			lo = ls + ln + 1;
		else
			hi = ls;
	}
	for (p = lo; p < l->len; ) {
		size_t ln;

		if (line_at(l, p, p, &p, &ln) < 0)
			return -2;
		if (have_prev) {
			size_t m = ln < prevn ? ln : prevn;
			int c = memcmp(l->s + prev, l->s + p, m);
			if (c > 0 || (c == 0 && prevn >= ln))
				return -2; /* out of order: not what we wrote */
		}
		if (count == n) {
			*more = 1;
			break;
		}
		if (strlist_addn(out, l->s + p, ln) < 0)
			return -1;
		count++;
		have_prev = 1;
		prev = p;
		prevn = ln;
		p += ln + 1;
	}
	return 0;
}

int snapshot_page_mem(const char *data, size_t len, const struct timespec *mt,
		      const char *last, size_t n, struct strlist *out,
		      int *more)
{
	size_t start = out->n, count;
	long long sec, nsec, built, bytes;
	char hdr[SNAP_HDR_MAX + 1];
	const char *nl;
	struct lines l;
	int m = 0, r;

	nl = len ? memchr(data, '\n', len < SNAP_HDR_MAX ? len : SNAP_HDR_MAX) : NULL;
	if (!nl)
		return 0;
	memcpy(hdr, data, (size_t)(nl - data));
	hdr[nl - data] = 0;
	if (sscanf(hdr, "berth-snapshot 1 %lld.%lld %zu %lld %lld", &sec, &nsec,
		   &count, &built, &bytes) != 5 ||
	    sec < 0 || built < 0 || /* so built - sec cannot overflow */
	    sec != (long long)mt->tv_sec || nsec != (long long)mt->tv_nsec ||
	    built - sec < SNAP_TRUST_AFTER || bytes != (long long)len ||
	    data[len - 1] != '\n')
		return 0;
	l.s = nl + 1;
	l.len = len - (size_t)(l.s - data);
	if (l.len == 0)
		return count == 0;
	r = lines_page(&l, last, n, out, &m);
	if (r < 0) {
		/* A damaged file leaves out as it was. */
		while (out->n > start)
			free(out->items[--out->n]);
		return r == -1 ? -1 : 0;
	}
	*more = m;
	return 1;
}

/* Pages from the cache file when it is usable: 1 paged, 0 not usable,
 * -1 out of memory. */
static int page_file(const char *file, const struct timespec *mt,
		     const char *last, size_t n, struct strlist *out, int *more)
{
	struct stat sb;
	void *map;
	int fd, r, tries = 0;

	/* A snapshot another host replaced is stale here, not unusable. */
	while ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		if (!fsretry_stale(&tries, file))
			return 0;
	if (fsretry_fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
	    (unsigned long long)sb.st_size > SNAP_MAX) {
		close(fd);
		return 0;
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return 0;
	r = snapshot_page_mem(map, (size_t)sb.st_size, mt, last, n, out, more);
	munmap(map, (size_t)sb.st_size);
	return r;
}

/* Lists the directory, pages from the result and saves it as the cache
 * file. 1, 0 when the directory is absent, -1. */
static int page_built(const char *dir, const char *file,
		      const struct timespec *mt, snapshot_list_fn list,
		      void *ctx, const char *last, size_t n,
		      struct strlist *out, int *more, struct err *e)
{
	struct strlist all = STRLIST_INIT;
	struct buf b = BUF_INIT, names = BUF_INIT, fdir = BUF_INIT;
	struct err ignore = ERR_INIT;
	struct lines l;
	size_t i, w;
	int r;

	r = list(ctx, dir, &all, e);
	if (r <= 0)
		goto out;
	r = -1;
	strlist_sort(&all);
	for (i = w = 0; i < all.n; i++) {
		/* Names are single lines; a duplicate would break the order. */
		if (!*all.items[i] || strchr(all.items[i], '\n') ||
		    (w && !strcmp(all.items[w - 1], all.items[i]))) {
			free(all.items[i]);
			continue;
		}
		all.items[w++] = all.items[i];
		if (buf_adds(&names, all.items[i]) < 0 || buf_addch(&names, '\n') < 0) {
			err_sys(e, "out of memory");
			all.n = w;
			for (i++; i < all.n; i++)
				free(all.items[i]);
			goto out;
		}
	}
	all.n = w;
	l.s = names.s ? names.s : "";
	l.len = names.len;
	if (lines_page(&l, last, n, out, more) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	r = 1;
	/* The header's byte count includes the header itself, whose length
	 * depends on that count: find the fixed point (at most two turns). */
	{
		long long total = (long long)names.len;
		for (i = 0; i < 3; i++) {
			buf_reset(&b);
			if (buf_addf(&b, "berth-snapshot 1 %lld.%09lld %zu %lld %lld\n",
				     (long long)mt->tv_sec, (long long)mt->tv_nsec,
				     all.n, (long long)time(NULL), total) < 0)
				goto out;
			if ((long long)(b.len + names.len) == total)
				break;
			total = (long long)(b.len + names.len);
		}
	}
	if (buf_add(&b, names.s ? names.s : "", names.len) < 0 ||
	    buf_adds(&fdir, file) < 0)
		goto out;
	/* Saving it is for the next reader; failing only costs it a listing. */
	{
		char *slash = strrchr(fdir.s, '/');
		if (slash) {
			*slash = 0;
			fs_write_file(fdir.s, slash + 1, b.s, b.len, FS_CACHE, &ignore);
		}
	}
out:
	strlist_free(&all);
	buf_free(&b);
	buf_free(&names);
	buf_free(&fdir);
	return r;
}

int snapshot_page(const char *dir, const char *file, snapshot_list_fn list,
		  void *ctx, const char *last, size_t n, struct strlist *out,
		  int *more, struct err *e)
{
	struct timespec mt;
	int r;

	*more = 0;
	r = fs_stat_dir(dir, &mt, e);
	if (r <= 0)
		return r;
	r = page_file(file, &mt, last, n, out, more);
	if (r < 0)
		return err_sys(e, "out of memory");
	if (r > 0)
		return 1;
	return page_built(dir, file, &mt, list, ctx, last, n, out, more, e);
}
