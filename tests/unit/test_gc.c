/*
 * gc and fsck on damaged stores: whatever cannot be read stops gc before
 * anything is removed, and fsck --repair leaves it as it is; on a sound
 * store gc still reclaims garbage.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"
#include "../../core/catalog.h"
#include "../../core/fsck.h"
#include "../../core/fsutil.h"
#include "../../core/gc.h"
#include "../../core/manifest.h"

struct img {
	struct store st;
	const char *root;
	struct digest cfg, layer, man, orphan, index;
};

static void blob(struct img *t, const char *repo, const char *s, struct digest *d)
{
	struct err e = ERR_INIT;

	digest_of(DIGEST_SHA256, s, strlen(s), d);
	CHECK(store_blob_put(&t->st, d, s, strlen(s), &e) == 0);
	CHECK(store_link_add(&t->st, repo, STORE_LAYER, d, &e) == 0);
}

static void put(struct img *t, const char *repo, const char *ref, const char *body,
		struct digest *out)
{
	struct err e = ERR_INIT;
	struct manifest_ref r;
	struct manifest_info mi;

	CHECK(manifest_ref_parse(ref, &r, &e) == 0);
	CHECK(manifest_put(&t->st, repo, &r, "", body, strlen(body), &mi, &e) == 0);
	*out = mi.digest;
}

/* A store with one tagged image (r:v1), an index over it (r:idx) when
 * with_index, and an unreferenced blob in g. */
static void make(struct img *t, int with_index)
{
	struct err e = ERR_INIT;
	struct buf m = BUF_INIT;
	char cs[DIGEST_STR_MAX], ls[DIGEST_STR_MAX], ms[DIGEST_STR_MAX];

	t->root = t_tmpdir();
	CHECK(store_open(&t->st, t->root, &e) == 0);
	blob(t, "r", "{\"config\":1}", &t->cfg);
	blob(t, "r", "layer bytes", &t->layer);
	blob(t, "g", "nobody needs me", &t->orphan);
	digest_format(&t->cfg, cs);
	digest_format(&t->layer, ls);
	buf_addf(&m, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
		 "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":12},"
		 "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
		 "\"digest\":\"%s\",\"size\":11}]}", MT_OCI_MANIFEST, cs, ls);
	if (with_index) {
		/* the image only through the index: tagged by digest alone */
		struct manifest_ref r;
		struct manifest_info mi;
		digest_of(DIGEST_SHA256, m.s, m.len, &t->man);
		digest_format(&t->man, ms);
		CHECK(manifest_ref_parse(ms, &r, &e) == 0);
		CHECK(manifest_put(&t->st, "r", &r, "", m.s, m.len, &mi, &e) == 0);
		buf_reset(&m);
		buf_addf(&m, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{"
			 "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
			 MT_OCI_INDEX, MT_OCI_MANIFEST, ms, (size_t)100);
		put(t, "r", "idx", m.s, &t->index);
	} else {
		put(t, "r", "v1", m.s, &t->man);
	}
	buf_free(&m);
}

static void path_of(struct img *t, const struct digest *d, struct buf *p)
{
	struct err e = ERR_INIT;

	buf_reset(p);
	store_blob_path(&t->st, d, STORE_PATH_ABSOLUTE, p, &e);
}

/* Replaces a file by a directory: reading it fails with EISDIR. */
static void to_dir(const char *path)
{
	CHECK(unlink(path) == 0);
	CHECK(mkdir(path, 0755) == 0);
}

static int gc(struct img *t, int untagged, struct gc_stats *s, struct err *e)
{
	struct gc_opts o = { 0 };

	o.collect = 1;
	o.delete_untagged = untagged;
	o.grace = 0;
	o.upload_age = 1e9;
	return gc_run(&t->st, &o, s, e);
}

static int blob_there(struct img *t, const struct digest *d)
{
	struct buf p = BUF_INIT;
	struct stat sb;
	int r;

	path_of(t, d, &p);
	r = stat(p.s, &sb) == 0;
	buf_free(&p);
	return r;
}

static int layer_link_there(struct img *t, const char *repo, const struct digest *d)
{
	struct buf p = BUF_INIT;
	struct stat sb;
	int r;

	buf_addf(&p, "%s/docker/registry/v2/repositories/%s/_layers/sha256/%s/link",
		 t->root, repo, d->hex);
	r = stat(p.s, &sb) == 0;
	buf_free(&p);
	return r;
}

/* Nothing at all was removed: the image, and even the garbage. */
static int whole(struct img *t)
{
	return blob_there(t, &t->cfg) && blob_there(t, &t->layer) &&
	       blob_there(t, &t->orphan) && layer_link_there(t, "r", &t->cfg) &&
	       layer_link_there(t, "r", &t->layer) && layer_link_there(t, "g", &t->orphan);
}

static void done(struct img *t)
{
	struct err e = ERR_INIT;

	fs_remove_tree(t->root, &e);
	store_close(&t->st);
}

void test_gc(void)
{
	struct img t;
	struct gc_stats s;
	struct fsck_stats fs;
	struct err e = ERR_INIT;
	struct buf p = BUF_INIT;
	int fd;

	/* A sound store: the garbage goes, the image stays. */
	make(&t, 0);
	CHECK(gc(&t, 0, &s, &e) == 0 && s.blobs == 1);
	CHECK(!blob_there(&t, &t.orphan) && blob_there(&t, &t.cfg) && blob_there(&t, &t.layer));
	CHECK(!layer_link_there(&t, "g", &t.orphan));
	CHECK(fsck_run(&t.st, 0, NULL, NULL, &fs, &e) == 0 && fs.problems == 0);
	done(&t);

	/* A collector died with the tagged manifest moved aside: the next
	 * one puts it back before it marks, so its blobs stay. */
	make(&t, 0);
	{
		struct buf a = BUF_INIT, b = BUF_INIT;
		path_of(&t, &t.man, &p);
		*strrchr(p.s, '/') = 0;              /* .../<hex> */
		buf_addf(&a, "%s", p.s);
		*strrchr(a.s, '/') = 0;              /* .../<xx> */
		buf_addf(&b, "%s/.gc-%s", a.s, t.man.hex);
		CHECK(rename(p.s, b.s) == 0 && !blob_there(&t, &t.man));
		CHECK(gc(&t, 1, &s, &e) == 0 && s.blobs == 1 && s.manifests == 0);
		CHECK(blob_there(&t, &t.man) && blob_there(&t, &t.cfg) &&
		      blob_there(&t, &t.layer) && layer_link_there(&t, "r", &t.layer));
		CHECK(!blob_there(&t, &t.orphan));

		/* A writer made the directory anew while the layer was
		 * aside: what was aside goes into it. */
		path_of(&t, &t.layer, &p);
		*strrchr(p.s, '/') = 0;
		buf_reset(&a);
		buf_addf(&a, "%s", p.s);
		*strrchr(a.s, '/') = 0;
		buf_reset(&b);
		buf_addf(&b, "%s/.gc-%s", a.s, t.layer.hex);
		CHECK(rename(p.s, b.s) == 0 && mkdir(p.s, 0755) == 0);
		CHECK(fs_put_back(a.s, t.layer.hex, &e) == 0);
		CHECK(blob_there(&t, &t.layer) && access(b.s, F_OK) < 0);
		/* Nothing aside: nothing to do. */
		CHECK(fs_put_back(a.s, t.layer.hex, &e) == 0 && blob_there(&t, &t.layer));
		CHECK(fsck_run(&t.st, 0, NULL, NULL, &fs, &e) == 0 && fs.problems == 0);
		buf_free(&a);
		buf_free(&b);
	}
	done(&t);

	/* The tagged manifest's data is a directory (EISDIR). */
	make(&t, 0);
	path_of(&t, &t.man, &p);
	to_dir(p.s);
	CHECK(gc(&t, 0, &s, &e) < 0);
	CHECK(strstr(e.detail, "r@sha256:") && strstr(e.detail, "directory"));
	CHECK(whole(&t));
	CHECK(gc(&t, 1, &s, &e) < 0 && whole(&t));
	/* fsck reports it and repairs nothing. */
	CHECK(fsck_run(&t.st, 1, NULL, NULL, &fs, &e) == 0 && fs.problems > fs.repaired);
	CHECK(whole(&t));
	{
		struct digest d;
		CHECK(store_tag_get(&t.st, "r", "v1", &d, &e) == 1);
	}
	done(&t);

	/* The tagged manifest is not JSON. */
	make(&t, 0);
	path_of(&t, &t.man, &p);
	fd = open(p.s, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "{not json", 9) == 9);
	close(fd);
	CHECK(gc(&t, 0, &s, &e) < 0 && strstr(e.detail, "cannot be parsed"));
	CHECK(whole(&t));
	/* (its bytes no longer hash to its name either) */
	CHECK(fsck_run(&t.st, 0, NULL, NULL, &fs, &e) == 0 && fs.problems == 2);
	CHECK(whole(&t));
	done(&t);

	/* The manifest is over the read limit (a sparse 65 MiB file). */
	make(&t, 0);
	path_of(&t, &t.man, &p);
	CHECK(truncate(p.s, (off_t)REFS_READ_MAX + 1) == 0);
	CHECK(gc(&t, 0, &s, &e) < 0 && strstr(e.detail, "limit"));
	CHECK(whole(&t));
	done(&t);

	/* An index whose child cannot be read: the child is kept only
	 * through the index (--delete-untagged). */
	make(&t, 1);
	path_of(&t, &t.man, &p);
	to_dir(p.s);
	CHECK(gc(&t, 1, &s, &e) < 0 && whole(&t));
	done(&t);

	/* A sound index keeps its child under --delete-untagged. */
	make(&t, 1);
	CHECK(gc(&t, 1, &s, &e) == 0 && s.blobs == 1 && s.manifests == 0);
	CHECK(blob_there(&t, &t.cfg) && blob_there(&t, &t.layer) && blob_there(&t, &t.man));
	done(&t);

	/* The tag's current link is a directory. */
	make(&t, 0);
	buf_reset(&p);
	buf_addf(&p, "%s/docker/registry/v2/repositories/r/_manifests/tags/v1/current/link",
		 t.root);
	to_dir(p.s);
	CHECK(gc(&t, 1, &s, &e) < 0 && strstr(e.detail, "current/link"));
	CHECK(whole(&t));
	CHECK(fsck_run(&t.st, 1, NULL, NULL, &fs, &e) == 0 && fs.problems > fs.repaired);
	CHECK(whole(&t));
	done(&t);

	/* The tags directory is a file (ENOTDIR of the item itself). */
	make(&t, 0);
	buf_reset(&p);
	buf_addf(&p, "%s/docker/registry/v2/repositories/r/_manifests/tags", t.root);
	CHECK(fs_remove_tree(p.s, &e) == 0);
	fd = open(p.s, O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0);
	close(fd);
	CHECK(gc(&t, 1, &s, &e) < 0 && whole(&t) && blob_there(&t, &t.man));
	done(&t);

	/* A layer blob that cannot be looked at: its link stays. */
	make(&t, 0);
	path_of(&t, &t.layer, &p);
	to_dir(p.s);
	CHECK(gc(&t, 0, &s, &e) < 0 && layer_link_there(&t, "r", &t.layer));
	CHECK(fsck_run(&t.st, 1, NULL, NULL, &fs, &e) == 0 && fs.problems > fs.repaired);
	CHECK(layer_link_there(&t, "r", &t.layer) && blob_there(&t, &t.layer));
	done(&t);

	/* A link whose blob is absent: fsck --repair removes it. */
	make(&t, 0);
	path_of(&t, &t.orphan, &p);
	CHECK(unlink(p.s) == 0);
	CHECK(fsck_run(&t.st, 1, NULL, NULL, &fs, &e) == 0 && fs.problems == 1 &&
	      fs.repaired == 1);
	CHECK(!layer_link_there(&t, "g", &t.orphan) && layer_link_there(&t, "r", &t.layer));
	done(&t);

	/* A blob whose bytes are wrong is quarantined, not deleted. */
	make(&t, 0);
	path_of(&t, &t.orphan, &p);
	fd = open(p.s, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1);
	close(fd);
	CHECK(fsck_run(&t.st, 1, NULL, NULL, &fs, &e) == 0 && fs.repaired >= 1);
	CHECK(!blob_there(&t, &t.orphan));
	buf_reset(&p);
	buf_addf(&p, "%s/docker/registry/v2/_berth/quarantine", t.root);
	{
		struct strlist q = STRLIST_INIT;
		CHECK(fs_list(p.s, 0, &q, &e) == 1 && q.n == 1);
		strlist_free(&q);
	}
	done(&t);
	buf_free(&p);
}

void test_store_errors(void)
{
	struct store none = { NULL, NULL };
	struct strlist l = STRLIST_INIT;
	struct err e = ERR_INIT;
	struct img t;
	struct buf p = BUF_INIT;
	struct stat sb;
	struct digest d;
	int more;

	/* An unopened store is refused, and nothing appears in the cwd. */
	CHECK(catalog_list(&none, NULL, 10, &l, &more, &e) < 0);
	CHECK(stat("(null)", &sb) < 0);
	CHECK(store_link_exists(&none, "r", STORE_LAYER, &d, &e) < 0);
	CHECK(fs_mkdirs("relative/dir", &e) < 0 && stat("relative", &sb) < 0);
	/* mkdir -p: new levels, an existing path, a trailing slash; a file on
	 * the way is an error, never a directory made around it. */
	make(&t, 0);
	buf_reset(&p);
	buf_addf(&p, "%s/mk/a/b", t.root);
	CHECK(fs_mkdirs(p.s, &e) == 0 && stat(p.s, &sb) == 0 && S_ISDIR(sb.st_mode));
	CHECK(fs_mkdirs(p.s, &e) == 0);
	buf_adds(&p, "/c/");
	CHECK(fs_mkdirs(p.s, &e) == 0 && stat(p.s, &sb) == 0 && S_ISDIR(sb.st_mode));
	buf_reset(&p);
	buf_addf(&p, "%s/mk", t.root);
	CHECK(fs_write_file(p.s, "file", "x", 1, FS_CACHE, &e) == 0);
	buf_adds(&p, "/file/sub/dir");
	CHECK(fs_mkdirs(p.s, &e) < 0 && strstr(e.detail, "Not a directory") != NULL);
	done(&t);
	buf_reset(&p);

	/* A disk error is no "absent": a link file that is a directory. */
	make(&t, 0);
	buf_addf(&p, "%s/docker/registry/v2/repositories/r/_layers/sha256/%s/link",
		 t.root, t.layer.hex);
	to_dir(p.s);
	CHECK(store_link_exists(&t.st, "r", STORE_LAYER, &t.layer, &e) < 0 &&
	      e.code == ERR_INTERNAL);
	CHECK(store_link_touch(&t.st, "r", STORE_LAYER, &t.layer, &e) < 0);
	CHECK(store_link_exists(&t.st, "r", STORE_LAYER, &t.cfg, &e) == 1);
	CHECK(store_link_exists(&t.st, "x", STORE_LAYER, &t.cfg, &e) == 0);
	CHECK(store_repo_exists(&t.st, "r", &e) == 1);
	done(&t);
	buf_free(&p);
}
