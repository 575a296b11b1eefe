#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "t.h"
#include "../../core/fsutil.h"
#include "../../core/manifest.h"
#include "../../core/store.h"
#include "../../core/upload.h"

struct mem { const char *p; size_t left; size_t step; };

static long mem_read(void *ctx, char *buf, size_t len)
{
	struct mem *m = ctx;
	size_t n = len < m->left ? len : m->left;

	if (m->step && n > m->step)
		n = m->step;
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (long)n;
}

static int file_has(const char *path, const char *want)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	int ok = fs_read_file(path, 1 << 20, &b, &e) == 1 && !strcmp(b.s, want);

	buf_free(&b);
	return ok;
}

void test_store(void)
{
	struct store st;
	struct err e = ERR_INIT;
	struct digest d, got;
	struct buf p = BUF_INIT;
	struct strlist tags = { 0 };
	off_t size;
	const char *root = t_tmpdir();

	CHECK(store_open(&st, "relative", &e) < 0);
	CHECK(store_open(&st, root, &e) == 0);
	digest_of(DIGEST_SHA256, "hello", 5, &d);
	CHECK(store_blob_stat(&st, &d, &size, &e) == 0);
	CHECK(store_blob_put(&st, &d, "hello", 5, &e) == 0);
	CHECK(store_blob_put(&st, &d, "hello", 5, &e) == 0);
	CHECK(store_blob_stat(&st, &d, &size, &e) == 1 && size == 5);
	buf_addf(&p, "%s/docker/registry/v2/blobs/sha256/%.2s/%s/data", root, d.hex, d.hex);
	CHECK(file_has(p.s, "hello"));
	buf_reset(&p);

	CHECK(store_link_exists(&st, "a/b", STORE_LAYER, &d, &e) == 0);
	CHECK(store_repo_exists(&st, "a/b", &e) == 0);
	CHECK(store_link_add(&st, "a/b", STORE_LAYER, &d, &e) == 0);
	CHECK(store_link_exists(&st, "a/b", STORE_LAYER, &d, &e) == 1);
	CHECK(store_repo_exists(&st, "a/b", &e) == 1);
	CHECK(store_repo_exists(&st, "a", &e) == 0);
	buf_addf(&p, "%s/docker/registry/v2/repositories/a/b/_layers/sha256/%s/link", root, d.hex);
	CHECK(file_has(p.s, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
	buf_reset(&p);

	CHECK(store_tags(&st, "nope", &tags, &e) == 0);
	CHECK(store_tags(&st, "a/b", &tags, &e) == 1 && tags.n == 0);
	CHECK(store_tag_get(&st, "a/b", "v1", &got, &e) == 0);
	CHECK(store_tag_set(&st, "a/b", "v2", &d, &e) == 0);
	CHECK(store_tag_set(&st, "a/b", "v1", &d, &e) == 0);
	CHECK(store_tag_get(&st, "a/b", "v1", &got, &e) == 1 && digest_equal(&got, &d));
	CHECK(store_tags(&st, "a/b", &tags, &e) == 1 && tags.n == 2 &&
	      !strcmp(tags.items[0], "v1") && !strcmp(tags.items[1], "v2"));
	strlist_free(&tags);
	/* A new tag appears whole: no temp directory is left behind. */
	buf_addf(&p, "%s/docker/registry/v2/repositories/a/b/_manifests/tags", root);
	{
		DIR *dd = opendir(p.s);
		struct dirent *de;
		int stray = 0;
		while (dd && (de = readdir(dd)))
			if (!strncmp(de->d_name, ".tmp", 4))
				stray = 1;
		if (dd)
			closedir(dd);
		CHECK(!stray);
	}
	buf_free(&p);
	store_close(&st);
}

void test_upload(void)
{
	struct store st;
	struct err e = ERR_INIT;
	struct upload *u = NULL, *u2 = NULL;
	struct digest d, bad;
	char id[64];
	static char data[3 << 20];
	struct mem m;
	size_t i;
	const char *root = t_tmpdir();

	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 31 + (i >> 9));
	digest_of(DIGEST_SHA256, data, sizeof(data), &d);
	CHECK(store_open(&st, root, &e) == 0);

	CHECK(upload_start(&st, "r", 0, &u, &e) == 0);
	snprintf(id, sizeof(id), "%s", upload_id(u));
	/* The session is locked while in use. */
	CHECK(upload_open(&st, "r", id, &u2, &e) < 0 && e.code == ERR_BUSY);
	m = (struct mem){ data, 1000000, 4096 };
	CHECK(upload_append(u, mem_read, &m, -1, &e) == 0);
	CHECK(upload_save(u, &e) == 0);
	upload_close(u);

	/* Another "worker" continues; bytes of a request that died after the
	 * last save are dropped. */
	CHECK(upload_open(&st, "r", id, &u, &e) == 0);
	CHECK(upload_offset(u) == 1000000);
	m = (struct mem){ data + 1000000, 5, 0 };
	CHECK(upload_append(u, mem_read, &m, -1, &e) == 0);
	upload_close(u); /* not saved */
	CHECK(upload_open(&st, "x", id, &u, &e) < 0 && e.code == ERR_BLOB_UPLOAD_UNKNOWN);
	CHECK(upload_open(&st, "r", id, &u, &e) == 0);
	CHECK(upload_offset(u) == 1000000);
	m = (struct mem){ data + 1000000, 10, 0 };
	CHECK(upload_append(u, mem_read, &m, 20, &e) < 0 && e.code == ERR_SIZE_INVALID);
	upload_close(u);
	CHECK(upload_open(&st, "r", id, &u, &e) == 0);
	m = (struct mem){ data + 1000000, sizeof(data) - 1000000, 0 };
	CHECK(upload_append(u, mem_read, &m, (long long)(sizeof(data) - 1000000), &e) == 0);
	bad = d;
	bad.hex[0] = bad.hex[0] == 'a' ? 'b' : 'a';
	CHECK(upload_commit(u, &bad, NULL, &e) < 0 && e.code == ERR_DIGEST_INVALID);
	CHECK(store_link_exists(&st, "r", STORE_LAYER, &bad, &e) == 0);
	upload_close(u);
	/* The failed session is gone. */
	CHECK(upload_open(&st, "r", id, &u, &e) < 0 && e.code == ERR_BLOB_UPLOAD_UNKNOWN);

	/* Again, whole, with sha512 computed on the side. */
	CHECK(upload_start(&st, "r", DIGEST_SHA512, &u, &e) == 0);
	m = (struct mem){ data, sizeof(data), 0 };
	CHECK(upload_append(u, mem_read, &m, -1, &e) == 0);
	CHECK(upload_commit(u, &d, NULL, &e) == 0);
	upload_close(u);
	CHECK(store_link_exists(&st, "r", STORE_LAYER, &d, &e) == 1);

	/* sha512 without asking first: the data is re-read. */
	digest_of(DIGEST_SHA512, data, 100, &bad);
	CHECK(upload_start(&st, "r", 0, &u, &e) == 0);
	m = (struct mem){ data, 100, 0 };
	CHECK(upload_append(u, mem_read, &m, -1, &e) == 0);
	CHECK(upload_save(u, &e) == 0);
	CHECK(upload_commit(u, &bad, NULL, &e) == 0);
	upload_close(u);
	CHECK(store_link_exists(&st, "r", STORE_LAYER, &bad, &e) == 1);

	/* Mount into another repository only from one that links it. */
	CHECK(upload_mount(&st, "s", "r", &d, NULL, &e) == 1);
	CHECK(store_link_exists(&st, "s", STORE_LAYER, &d, &e) == 1);
	CHECK(upload_mount(&st, "t", "nowhere", &d, NULL, &e) == 0);
	CHECK(upload_start(&st, "r", 0, &u, &e) == 0);
	snprintf(id, sizeof(id), "%s", upload_id(u));
	CHECK(upload_cancel(u, &e) == 0);
	upload_close(u);
	CHECK(upload_open(&st, "r", id, &u, &e) < 0 && e.code == ERR_BLOB_UPLOAD_UNKNOWN);

	/* What a power cut may leave of a session that was never saved
	 * (upload_start syncs nothing): a state file left empty is an
	 * unknown session, a torn one a damaged session, a startedat left
	 * empty dates the session by its directory; none is a 500. */
	{
		char sp[1024];
		time_t when = 0;

		CHECK(upload_start(&st, "r", 0, &u, &e) == 0);
		snprintf(id, sizeof(id), "%s", upload_id(u));
		upload_close(u);
		snprintf(sp, sizeof(sp),
			 "%s/docker/registry/v2/repositories/r/_uploads/%s/berthstate", root, id);
		CHECK(truncate(sp, 0) == 0);
		CHECK(upload_open(&st, "r", id, &u, &e) < 0 && e.code == ERR_BLOB_UPLOAD_UNKNOWN);
		{
			int fd = open(sp, O_WRONLY | O_TRUNC);
			CHECK(fd >= 0 && write(fd, "berth-upl", 9) == 9);
			close(fd);
		}
		CHECK(upload_open(&st, "r", id, &u, &e) < 0 && e.code == ERR_BLOB_UPLOAD_INVALID);
		snprintf(sp, sizeof(sp),
			 "%s/docker/registry/v2/repositories/r/_uploads/%s/startedat", root, id);
		CHECK(truncate(sp, 0) == 0);
		CHECK(store_upload_started(&st, "r", id, &when, &e) == 1 &&
		      when > time(NULL) - 60);
	}
	store_close(&st);
}

static void push_blob(struct store *st, const char *repo, const char *s,
		      struct digest *d)
{
	struct err e = ERR_INIT;

	digest_of(DIGEST_SHA256, s, strlen(s), d);
	store_blob_put(st, d, s, strlen(s), &e);
	store_link_add(st, repo, STORE_LAYER, d, &e);
}

void test_manifest(void)
{
	struct store st;
	struct err e = ERR_INIT;
	struct digest cfg, layer;
	struct manifest_ref ref;
	struct manifest_info mi, mi2;
	struct buf body = BUF_INIT, m = BUF_INIT;
	char cs[DIGEST_STR_MAX], ls[DIGEST_STR_MAX], ms[DIGEST_STR_MAX];
	const char *root = t_tmpdir();

	CHECK(store_open(&st, root, &e) == 0);
	push_blob(&st, "img", "{}", &cfg);
	push_blob(&st, "img", "layer-bytes", &layer);
	digest_format(&cfg, cs);
	digest_format(&layer, ls);
	buf_addf(&m, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
		 "\"application/vnd.oci.empty.v1+json\",\"digest\":\"%s\",\"size\":2},"
		 "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
		 "\"digest\":\"%s\",\"size\":11}]}", MT_OCI_MANIFEST, cs, ls);

	CHECK(manifest_ref_parse("latest", &ref, &e) == 0 && !ref.is_digest);
	CHECK(manifest_ref_parse("la/test", &ref, &e) < 0 && e.code == ERR_TAG_INVALID);
	CHECK(manifest_ref_parse("sha256:zz", &ref, &e) < 0 && e.code == ERR_DIGEST_INVALID);
	CHECK(manifest_ref_parse("latest", &ref, &e) == 0);

	/* Wrong Content-Type, schema1, not JSON, missing blob. */
	CHECK(manifest_put(&st, "img", &ref, MT_DOCKER_MANIFEST, m.s, m.len, &mi, &e) < 0 &&
	      e.code == ERR_MANIFEST_INVALID);
	CHECK(manifest_put(&st, "img", &ref, MT_DOCKER_V1_SIGNED, "{\"schemaVersion\":1}", 19, &mi, &e) < 0 &&
	      e.code == ERR_MANIFEST_INVALID && strstr(e.msg, "schema1"));
	CHECK(manifest_put(&st, "img", &ref, MT_OCI_MANIFEST, "{", 1, &mi, &e) < 0 &&
	      e.code == ERR_MANIFEST_INVALID);
	CHECK(manifest_put(&st, "other", &ref, MT_OCI_MANIFEST, m.s, m.len, &mi, &e) < 0 &&
	      e.code == ERR_MANIFEST_BLOB_UNKNOWN);

	CHECK(manifest_put(&st, "img", &ref, MT_OCI_MANIFEST, m.s, m.len, &mi, &e) == 0);
	CHECK(manifest_get(&st, "img", &ref, &body, &mi2, &e) == 0);
	CHECK(body.len == m.len && !memcmp(body.s, m.s, m.len));
	CHECK(!strcmp(mi2.media_type, MT_OCI_MANIFEST));
	CHECK(digest_equal(&mi.digest, &mi2.digest));
	buf_reset(&body);

	/* By digest: a body that does not hash to it is refused. */
	digest_format(&mi.digest, ms);
	CHECK(manifest_ref_parse(ms, &ref, &e) == 0);
	CHECK(manifest_put(&st, "img", &ref, MT_OCI_MANIFEST, m.s, m.len - 0, &mi2, &e) == 0);
	ref.digest.hex[5] = ref.digest.hex[5] == '0' ? '1' : '0';
	CHECK(manifest_put(&st, "img", &ref, MT_OCI_MANIFEST, m.s, m.len, &mi2, &e) < 0 &&
	      e.code == ERR_DIGEST_INVALID);
	CHECK(manifest_get(&st, "img", &ref, &body, &mi2, &e) < 0 && e.code == ERR_MANIFEST_UNKNOWN);
	CHECK(manifest_get(&st, "nope", &ref, &body, &mi2, &e) < 0 && e.code == ERR_NAME_UNKNOWN);

	/* An index over it, with a subject; and one whose child is unknown. */
	buf_reset(&m);
	buf_addf(&m, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{\"mediaType\":"
		 "\"%s\",\"digest\":\"%s\",\"size\":10}],\"subject\":{\"mediaType\":\"%s\","
		 "\"digest\":\"%s\",\"size\":1}}", MT_OCI_INDEX, MT_OCI_MANIFEST, ms,
		 MT_OCI_MANIFEST, ls);
	CHECK(manifest_ref_parse("idx", &ref, &e) == 0);
	CHECK(manifest_put(&st, "img", &ref, MT_OCI_INDEX, m.s, m.len, &mi, &e) == 0);
	CHECK(mi.has_subject && digest_equal(&mi.subject, &layer));
	CHECK(manifest_put(&st, "img2", &ref, MT_OCI_INDEX, m.s, m.len, &mi, &e) < 0 &&
	      e.code == ERR_MANIFEST_BLOB_UNKNOWN);

	/* Foreign layers with urls need not be in the store. */
	buf_reset(&m);
	buf_addf(&m, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
		 "\"application/vnd.docker.container.image.v1+json\",\"digest\":\"%s\",\"size\":2},"
		 "\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\","
		 "\"digest\":\"sha256:%064d\",\"size\":11,\"urls\":[\"https://example.com/l\"]}]}",
		 MT_DOCKER_MANIFEST, cs, 7);
	CHECK(manifest_ref_parse("foreign", &ref, &e) == 0);
	CHECK(manifest_put(&st, "img", &ref, MT_DOCKER_MANIFEST, m.s, m.len, &mi, &e) == 0);
	CHECK(manifest_get(&st, "img", &ref, NULL, &mi2, &e) == 0 &&
	      !strcmp(mi2.media_type, MT_DOCKER_MANIFEST));

	/* Deletes: by tag removes the tag alone; by digest every tag on it. */
	digest_format(&mi.digest, ms);
	CHECK(manifest_ref_parse("foreign2", &ref, &e) == 0);
	CHECK(manifest_put(&st, "img", &ref, MT_DOCKER_MANIFEST, m.s, m.len, &mi, &e) == 0);
	CHECK(manifest_ref_parse("foreign", &ref, &e) == 0);
	CHECK(manifest_delete(&st, "img", &ref, NULL, NULL, &e) == 0);
	CHECK(manifest_get(&st, "img", &ref, NULL, &mi2, &e) < 0 && e.code == ERR_MANIFEST_UNKNOWN);
	CHECK(manifest_delete(&st, "img", &ref, NULL, NULL, &e) < 0 && e.code == ERR_MANIFEST_UNKNOWN);
	CHECK(manifest_ref_parse("foreign2", &ref, &e) == 0);
	CHECK(manifest_get(&st, "img", &ref, NULL, &mi2, &e) == 0);
	CHECK(manifest_ref_parse("again", &ref, &e) == 0);
	CHECK(manifest_put(&st, "img", &ref, MT_DOCKER_MANIFEST, m.s, m.len, &mi, &e) == 0);
	CHECK(manifest_ref_parse(ms, &ref, &e) == 0);
	CHECK(manifest_delete(&st, "img", &ref, NULL, NULL, &e) == 0);
	CHECK(manifest_get(&st, "img", &ref, NULL, &mi2, &e) < 0 && e.code == ERR_MANIFEST_UNKNOWN);
	CHECK(manifest_delete(&st, "img", &ref, NULL, NULL, &e) < 0 && e.code == ERR_MANIFEST_UNKNOWN);
	{
		struct strlist tags = { 0 };
		size_t i;
		int left = 0;
		CHECK(store_tags(&st, "img", &tags, &e) == 1);
		for (i = 0; i < tags.n; i++)
			if (!strcmp(tags.items[i], "foreign2") || !strcmp(tags.items[i], "again"))
				left = 1;
		CHECK(!left && tags.n == 2); /* latest, idx */
		strlist_free(&tags);
	}
	CHECK(store_link_remove(&st, "img", STORE_LAYER, &layer, &e) == 1);
	CHECK(store_link_exists(&st, "img", STORE_LAYER, &layer, &e) == 0);
	CHECK(store_link_remove(&st, "img", STORE_LAYER, &layer, &e) == 0);
	CHECK(store_blob_stat(&st, &layer, NULL, &e) == 1); /* bytes stay for GC */

	buf_free(&m);
	buf_free(&body);
	store_close(&st);
}
