/* store_manifest_put: every starting state (nothing, the blob known from
 * another repository, blob and revision, a tag moving, the same tag, a
 * damaged or missing current link), a store it cannot write, and nothing
 * of its temp files left. (Its races with gc and concurrent PUTs are
 * exercised by tests/integration/crash.sh and gc.sh.) store_upload_put:
 * a new blob, one another repository has, a link already there, a store
 * it cannot write; the data file stays. fsbatch: more
 * entries than a batch holds, one that cannot be opened, a forked child. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/wait.h>

#include "t.h"
#include "../../core/fsbatch.h"
#include "../../core/fsutil.h"
#include "../../core/store.h"

static int has(const char *root, const char *rel, const char *want)
{
	char p[1024];
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	int ok;

	snprintf(p, sizeof(p), "%s/docker/registry/v2/%s", root, rel);
	ok = fs_read_file(p, 1 << 20, &b, &e) == 1 && !strcmp(b.s, want);
	if (!ok)
		fprintf(stderr, "%s: '%s', want '%s'\n", rel, b.s ? b.s : "(none)", want);
	buf_free(&b);
	return ok;
}

/* No ".tmp-" entry anywhere under dir. */
static int no_temp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int ok = 1;

	if (!d)
		return 1;
	while ((de = readdir(d)) && ok) {
		char p[2048];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!strncmp(de->d_name, ".tmp-", 5)) {
			fprintf(stderr, "left behind: %s/%s\n", dir, de->d_name);
			ok = 0;
		}
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR)
			ok = ok && no_temp(p);
	}
	closedir(d);
	return ok;
}

void test_put(void)
{
	struct store st;
	struct err e = ERR_INIT;
	struct digest d1, d2, got;
	const char *root = t_tmpdir();
	const char *m1 = "{\"m\":1}", *m2 = "{\"m\":2}";
	char s1[DIGEST_STR_MAX], s2[DIGEST_STR_MAX], rel[512], p[1024];
	struct buf b = BUF_INIT;
	int i;

	CHECK(store_open(&st, root, &e) == 0);
	digest_of(DIGEST_SHA256, m1, strlen(m1), &d1);
	digest_of(DIGEST_SHA256, m2, strlen(m2), &d2);
	digest_format(&d1, s1);
	digest_format(&d2, s2);

	/* Nothing there: blob, revision, a new tag. */
	CHECK(store_manifest_put(&st, "a/b", &d1, m1, strlen(m1), "v1", &e) == 0);
	CHECK(store_blob_read(&st, &d1, 1024, &b, &e) == 1 && !strcmp(b.s, m1));
	buf_reset(&b);
	snprintf(rel, sizeof(rel), "repositories/a/b/_manifests/revisions/sha256/%s/link", d1.hex);
	CHECK(has(root, rel, s1));
	CHECK(has(root, "repositories/a/b/_manifests/tags/v1/current/link", s1));
	snprintf(rel, sizeof(rel), "repositories/a/b/_manifests/tags/v1/index/sha256/%s/link", d1.hex);
	CHECK(has(root, rel, s1));

	/* The same again: nothing to write, all touched; and by digest. */
	CHECK(store_manifest_put(&st, "a/b", &d1, m1, strlen(m1), "v1", &e) == 0);
	CHECK(store_manifest_put(&st, "a/b", &d1, m1, strlen(m1), NULL, &e) == 0);
	/* The blob known, in another repository, by digest only. */
	CHECK(store_manifest_put(&st, "c", &d1, m1, strlen(m1), NULL, &e) == 0);
	snprintf(rel, sizeof(rel), "repositories/c/_manifests/revisions/sha256/%s/link", d1.hex);
	CHECK(has(root, rel, s1));
	CHECK(store_tag_get(&st, "c", "v1", &got, &e) == 0);

	/* An existing tag moves: its index keeps both values. */
	CHECK(store_manifest_put(&st, "a/b", &d2, m2, strlen(m2), "v1", &e) == 0);
	CHECK(has(root, "repositories/a/b/_manifests/tags/v1/current/link", s2));
	snprintf(rel, sizeof(rel), "repositories/a/b/_manifests/tags/v1/index/sha256/%s/link", d2.hex);
	CHECK(has(root, rel, s2));
	snprintf(rel, sizeof(rel), "repositories/a/b/_manifests/tags/v1/index/sha256/%s/link", d1.hex);
	CHECK(has(root, rel, s1));
	/* ... and back: the index entry is there, only current changes. */
	CHECK(store_manifest_put(&st, "a/b", &d1, m1, strlen(m1), "v1", &e) == 0);
	CHECK(has(root, "repositories/a/b/_manifests/tags/v1/current/link", s1));

	/* A damaged current link is replaced. */
	snprintf(p, sizeof(p), "%s/docker/registry/v2/repositories/a/b/_manifests/tags/v1/current/link",
		 root);
	CHECK(truncate(p, 3) == 0);
	CHECK(store_manifest_put(&st, "a/b", &d1, m1, strlen(m1), "v1", &e) == 0);
	CHECK(has(root, "repositories/a/b/_manifests/tags/v1/current/link", s1));

	/* A tag directory without its current link (a crash of another
	 * registry) gets one. */
	snprintf(p, sizeof(p), "%s/docker/registry/v2/repositories/a/b/_manifests/tags/v1/current/link",
		 root);
	CHECK(unlink(p) == 0);
	CHECK(store_manifest_put(&st, "a/b", &d2, m2, strlen(m2), "v1", &e) == 0);
	CHECK(has(root, "repositories/a/b/_manifests/tags/v1/current/link", s2));

	/* Many tags, as a client pushing one image under many names. */
	for (i = 0; i < 20; i++) {
		char tag[16];
		snprintf(tag, sizeof(tag), "t%d", i);
		CHECK(store_manifest_put(&st, "many", i % 2 ? &d1 : &d2, i % 2 ? m1 : m2,
					 strlen(m1), tag, &e) == 0);
	}
	CHECK(has(root, "repositories/many/_manifests/tags/t7/current/link", s1));
	CHECK(has(root, "repositories/many/_manifests/tags/t8/current/link", s2));

	/* A store that cannot be written (a file where the repository's
	 * _manifests directory would be): an error, and no tag. */
	snprintf(p, sizeof(p), "%s/docker/registry/v2/repositories/blocked", root);
	CHECK(fs_write_file(p, "_manifests", "", 0, FS_CACHE, &e) == 0);
	CHECK(store_manifest_put(&st, "blocked", &d1, m1, strlen(m1), "v1", &e) < 0);
	CHECK(store_tag_get(&st, "blocked", "v1", &got, &e) <= 0);

	/* Nothing of ours left behind anywhere. */
	snprintf(p, sizeof(p), "%s/docker/registry/v2", root);
	CHECK(no_temp(p));
	buf_free(&b);
	store_close(&st);
}

void test_upload_put(void)
{
	struct store st;
	struct err e = ERR_INIT;
	struct digest d;
	const char *root = t_tmpdir();
	const char *bytes = "layer bytes";
	char s[DIGEST_STR_MAX], rel[512], p[1024], data[1024];
	struct buf b = BUF_INIT;
	int fd;

	CHECK(store_open(&st, root, &e) == 0);
	digest_of(DIGEST_SHA256, bytes, strlen(bytes), &d);
	digest_format(&d, s);
	snprintf(data, sizeof(data), "%s/upload-data", root);
	fd = open(data, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, bytes, strlen(bytes)) == (ssize_t)strlen(bytes));

	/* Nothing there: the blob is a second name of the data file. */
	CHECK(store_upload_put(&st, "a/b", &d, data, fd, &e) == 0);
	CHECK(store_blob_read(&st, &d, 1024, &b, &e) == 1 && !strcmp(b.s, bytes));
	buf_reset(&b);
	snprintf(rel, sizeof(rel), "repositories/a/b/_layers/sha256/%s/link", d.hex);
	CHECK(has(root, rel, s));
	CHECK(access(data, F_OK) == 0);
	/* The same again (blob and link there), and into a repository
	 * that only lacks the link. */
	CHECK(store_upload_put(&st, "a/b", &d, data, fd, &e) == 0);
	CHECK(store_upload_put(&st, "c", &d, data, fd, &e) == 0);
	snprintf(rel, sizeof(rel), "repositories/c/_layers/sha256/%s/link", d.hex);
	CHECK(has(root, rel, s));
	/* A damaged link is replaced. */
	snprintf(p, sizeof(p), "%s/docker/registry/v2/%s", root, rel);
	CHECK(truncate(p, 3) == 0);
	CHECK(store_upload_put(&st, "c", &d, data, fd, &e) == 0);
	CHECK(has(root, rel, s));
	/* A file where the repository's _layers would be: an error, no link. */
	snprintf(p, sizeof(p), "%s/docker/registry/v2/repositories/blocked", root);
	CHECK(fs_write_file(p, "_layers", "", 0, FS_CACHE, &e) == 0);
	CHECK(store_upload_put(&st, "blocked", &d, data, fd, &e) < 0);
	CHECK(store_link_exists(&st, "blocked", STORE_LAYER, &d, &e) <= 0);

	snprintf(p, sizeof(p), "%s/docker/registry/v2", root);
	CHECK(no_temp(p));
	close(fd);
	buf_free(&b);
	store_close(&st);
}

void test_fsbatch(void)
{
	const char *root = t_tmpdir();
	struct fs_batch b = FS_BATCH_INIT;
	struct err e = ERR_INIT;
	char p[512];
	int i, fd;

	/* More entries than a batch holds: synced along the way, none lost. */
	for (i = 0; i < 40; i++) {
		snprintf(p, sizeof(p), "%s/f%d", root, i);
		fd = open(p, O_CREAT | O_WRONLY, 0644);
		CHECK(fd >= 0 && write(fd, "x", 1) == 1);
		CHECK(fs_batch_add_fd(&b, fd, p, &e) == 0);
		CHECK(b.n <= FS_BATCH_MAX);
	}
	CHECK(fs_batch_add(&b, root, &e) == 0);
	CHECK(fs_batch_add(&b, root, &e) == 0); /* once */
	CHECK(b.n == 40 % FS_BATCH_MAX + 1);
	CHECK(fs_batch_sync(&b, &e) == 0 && b.n == 0);
	CHECK(fs_batch_sync(&b, &e) == 0); /* empty */

	/* What cannot be opened is an error at once; the batch is intact. */
	snprintf(p, sizeof(p), "%s/absent", root);
	CHECK(fs_batch_add(&b, root, &e) == 0);
	CHECK(fs_batch_add(&b, p, &e) < 0 && b.n == 1);
	fs_batch_clear(&b);
	CHECK(b.n == 0);

	/* fs_mkdirs_into leaves the parents to the batch. */
	snprintf(p, sizeof(p), "%s/x/y/z", root);
	CHECK(fs_mkdirs_into(p, &b, &e) == 0 && b.n == 3);
	CHECK(fs_batch_sync(&b, &e) == 0);
	CHECK(fs_mkdirs_into(p, &b, &e) == 0 && b.n == 0); /* nothing new */

	/* A forked child makes its own AIO context (a parent's is not
	 * usable in it). */
	{
		pid_t pid;
		int st = -1;

		snprintf(p, sizeof(p), "%s/f1", root);
		CHECK(fs_batch_add(&b, root, &e) == 0 && fs_batch_add(&b, p, &e) == 0);
		CHECK(fs_batch_sync(&b, &e) == 0);
		pid = fork();
		if (pid == 0) {
			struct fs_batch c = FS_BATCH_INIT;
			struct err ce = ERR_INIT;
			_exit(fs_batch_add(&c, root, &ce) == 0 && fs_batch_add(&c, p, &ce) == 0 &&
			      fs_batch_sync(&c, &ce) == 0 ? 0 : 1);
		}
		CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && st == 0);
	}
}
