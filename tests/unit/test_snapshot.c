/* snapshot: pages from the cache file, and every way the file can be
 * wrong making the reader list the directory instead. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "t.h"
#include "../../core/fsutil.h"
#include "../../core/snapshot.h"
#include "../../core/store.h"

static int listed; /* how often the directory was read */

static int list_dir(void *ctx, const char *dir, struct strlist *out,
		    struct err *e)
{
	(void)ctx;
	listed++;
	return fs_list(dir, FS_LIST_NODOT, out, e);
}

/* Sets the directory's mtime 10 s back, as if it last changed then. */
static void age(const char *dir)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 10;
	ts[1] = ts[0];
	CHECK(utimensat(AT_FDCWD, dir, ts, 0) == 0);
}

static int page(const char *dir, const char *file, const char *last, size_t n,
		const char *want, int want_more)
{
	struct strlist l = STRLIST_INIT;
	struct err e = ERR_INIT;
	struct buf got = BUF_INIT;
	size_t i;
	int more, ok;

	if (snapshot_page(dir, file, list_dir, NULL, last, n, &l, &more, &e) <= 0)
		return 0;
	for (i = 0; i < l.n; i++)
		buf_addf(&got, "%s%s", i ? "," : "", l.items[i]);
	ok = !strcmp(got.s ? got.s : "", want) && more == want_more;
	if (!ok)
		fprintf(stderr, "snapshot page after %s: got '%s' more=%d\n",
			last ? last : "-", got.s ? got.s : "", more);
	buf_free(&got);
	strlist_free(&l);
	return ok;
}

static void put(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	CHECK(f && fwrite(data, 1, len, f) == len);
	if (f)
		fclose(f);
}

/* Rewrites the cache file with its body changed by fn, keeping the
 * header (so only the checks on the lines can catch it). */
static void damage(const char *file, void (*fn)(struct buf *body))
{
	struct buf b = BUF_INIT, body = BUF_INIT, all = BUF_INIT;
	struct err e = ERR_INIT;
	char *nl;

	CHECK(fs_read_file(file, 1 << 20, &b, &e) == 1);
	nl = strchr(b.s, '\n');
	buf_adds(&body, nl + 1);
	fn(&body);
	buf_add(&all, b.s, (size_t)(nl + 1 - b.s));
	buf_add(&all, body.s, body.len);
	put(file, all.s, all.len);
	buf_free(&b);
	buf_free(&body);
	buf_free(&all);
}

static void swap_two(struct buf *body)
{
	char *a = body->s, *bb = strchr(a, '\n') + 1;
	char *c = strchr(bb, '\n') + 1;
	struct buf t = BUF_INIT;

	/* "a1\na2\n..." -> "a2\na1\n..." (same length) */
	buf_add(&t, bb, (size_t)(c - bb));
	buf_add(&t, a, (size_t)(bb - a));
	memcpy(a, t.s, t.len);
	buf_free(&t);
}

static void zero_tail(struct buf *body)
{
	memset(body->s + body->len / 2, 0, body->len - body->len / 2);
}

void test_snapshot(void)
{
	const char *root = t_tmpdir();
	char dir[256], file[256], p[512];
	struct stat sb;
	int i, before;

	snprintf(dir, sizeof(dir), "%s/names", root);
	snprintf(file, sizeof(file), "%s/names.sorted", root);
	CHECK(page(dir, file, NULL, 10, "", 0) == 0); /* absent directory */
	CHECK(mkdir(dir, 0755) == 0);
	for (i = 0; i < 50; i++) {
		snprintf(p, sizeof(p), "%s/n%02d", dir, (i * 7) % 50);
		put(p, "", 0);
	}
	snprintf(p, sizeof(p), "%s/.hidden", dir);
	put(p, "", 0);

	/* Changed just now: the snapshot is written but not trusted. */
	listed = 0;
	CHECK(page(dir, file, NULL, 3, "n00,n01,n02", 1));
	CHECK(page(dir, file, NULL, 3, "n00,n01,n02", 1));
	CHECK(listed == 2);

	/* Old enough: one listing builds it, then pages come from it. */
	age(dir);
	listed = 0;
	CHECK(page(dir, file, NULL, 3, "n00,n01,n02", 1));
	CHECK(page(dir, file, NULL, 3, "n00,n01,n02", 1));
	CHECK(page(dir, file, "n02", 2, "n03,n04", 1));
	CHECK(page(dir, file, "n025", 2, "n03,n04", 1)); /* not a name */
	CHECK(page(dir, file, "n47", 5, "n48,n49", 0));
	CHECK(page(dir, file, "n49", 5, "", 0));
	CHECK(page(dir, file, "a", 1, "n00", 1));
	CHECK(page(dir, file, "z", 1, "", 0));
	CHECK(page(dir, file, NULL, (size_t)-1, "n00,n01,n02,n03,n04,n05,n06,n07,"
		   "n08,n09,n10,n11,n12,n13,n14,n15,n16,n17,n18,n19,n20,n21,n22,"
		   "n23,n24,n25,n26,n27,n28,n29,n30,n31,n32,n33,n34,n35,n36,n37,"
		   "n38,n39,n40,n41,n42,n43,n44,n45,n46,n47,n48,n49", 0));
	CHECK(listed == 1);

	/* A name added or removed makes it stale. */
	snprintf(p, sizeof(p), "%s/n025", dir);
	put(p, "", 0);
	age(dir);
	listed = 0;
	CHECK(page(dir, file, "n02", 2, "n025,n03", 1));
	CHECK(page(dir, file, "n02", 2, "n025,n03", 1));
	CHECK(listed == 1);
	CHECK(unlink(p) == 0);
	age(dir);
	CHECK(page(dir, file, "n02", 2, "n03,n04", 1));
	CHECK(listed == 2);

	/* Damage: out of order, zeroed, cut short, garbage, a directory. */
	before = listed;
	damage(file, swap_two);
	CHECK(page(dir, file, NULL, 3, "n00,n01,n02", 1));
	CHECK(listed == before + 1);
	damage(file, zero_tail);
	CHECK(page(dir, file, "n40", 2, "n41,n42", 1));
	CHECK(listed == before + 2);
	CHECK(stat(file, &sb) == 0 && truncate(file, sb.st_size / 2) == 0);
	CHECK(page(dir, file, "n40", 2, "n41,n42", 1));
	CHECK(listed == before + 3);
	put(file, "berth-snapshot 1 x\n", 19);
	CHECK(page(dir, file, NULL, 1, "n00", 1));
	CHECK(listed == before + 4);
	CHECK(page(dir, file, NULL, 1, "n00", 1)); /* rewritten whole */
	CHECK(listed == before + 4);
	CHECK(unlink(file) == 0 && mkdir(file, 0755) == 0);
	CHECK(page(dir, file, NULL, 1, "n00", 1));
	CHECK(page(dir, file, NULL, 1, "n00", 1));
	CHECK(listed == before + 6); /* cannot be saved: always listed */
	CHECK(rmdir(file) == 0);

	/* An empty directory. */
	snprintf(dir, sizeof(dir), "%s/empty", root);
	CHECK(mkdir(dir, 0755) == 0);
	age(dir);
	listed = 0;
	CHECK(page(dir, file, NULL, 5, "", 0));
	CHECK(page(dir, file, NULL, 5, "", 0));
	CHECK(listed == 1);

	/* A directory that cannot be read is an error, never an empty page. */
	if (geteuid() != 0) {
		struct strlist l = STRLIST_INIT;
		struct err e = ERR_INIT;
		int more;

		snprintf(dir, sizeof(dir), "%s/names", root);
		CHECK(unlink(file) == 0);
		CHECK(chmod(dir, 0) == 0);
		CHECK(snapshot_page(dir, file, list_dir, NULL, NULL, 5, &l, &more, &e) < 0);
		chmod(dir, 0755);
		strlist_free(&l);
	}
}

/* Tags pages through the store: the same answers as the full list. */
void test_tags_page(void)
{
	struct store st;
	struct err e = ERR_INIT;
	struct strlist l = STRLIST_INIT;
	struct digest d;
	const char *root = t_tmpdir();
	char tag[16], dir[512];
	int i, more;

	CHECK(store_open(&st, root, &e) == 0);
	digest_of(DIGEST_SHA256, "{}", 2, &d);
	CHECK(store_tags_page(&st, "no/repo", NULL, 5, &l, &more, &e) == 0);
	for (i = 0; i < 30; i++) {
		snprintf(tag, sizeof(tag), "t%02d", 29 - i);
		CHECK(store_tag_set(&st, "a/b", tag, &d, &e) == 0);
	}
	snprintf(dir, sizeof(dir), "%s/docker/registry/v2/repositories/a/b/_manifests/tags",
		 root);
	age(dir);
	CHECK(store_tags_page(&st, "a/b", "t10", 3, &l, &more, &e) == 1);
	CHECK(l.n == 3 && !strcmp(l.items[0], "t11") && !strcmp(l.items[2], "t13") && more);
	strlist_free(&l);
	CHECK(store_tags_page(&st, "a/b", "t27", 3, &l, &more, &e) == 1);
	CHECK(l.n == 2 && !strcmp(l.items[1], "t29") && !more);
	strlist_free(&l);
	/* The snapshot is Berth's own file, outside registry:2's tree. */
	snprintf(dir, sizeof(dir), "%s/docker/registry/v2/_berth/tags/a+b", root);
	CHECK(access(dir, R_OK) == 0);
	CHECK(store_tag_remove(&st, "a/b", "t11", NULL, &e) == 1);
	CHECK(store_tags_page(&st, "a/b", "t10", 2, &l, &more, &e) == 1);
	CHECK(l.n == 2 && !strcmp(l.items[0], "t12") && more);
	strlist_free(&l);
	store_close(&st);
}
