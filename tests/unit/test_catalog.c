#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "../../core/catalog.h"
#include "../../core/fsutil.h"
#include "../../core/manifest.h"
#include "../../core/referrers.h"

static void put_image(struct store *st, const char *repo, const char *tag,
		      const char *extra, struct digest *out)
{
	struct err e = ERR_INIT;
	struct digest c;
	struct manifest_ref ref;
	struct manifest_info mi;
	char cs[DIGEST_STR_MAX];
	struct buf m = BUF_INIT;

	digest_of(DIGEST_SHA256, "{}", 2, &c);
	store_blob_put(st, &c, "{}", 2, &e);
	store_link_add(st, repo, STORE_LAYER, &c, &e);
	digest_format(&c, cs);
	buf_addf(&m, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
		 "\"application/vnd.oci.empty.v1+json\",\"digest\":\"%s\",\"size\":2},"
		 "\"layers\":[]%s}", MT_OCI_MANIFEST, cs, extra);
	manifest_ref_parse(tag, &ref, &e);
	CHECK(manifest_put(st, repo, &ref, MT_OCI_MANIFEST, m.s, m.len, &mi, &e) == 0);
	*out = mi.digest;
	buf_free(&m);
}

static int page(struct store *st, const char *last, size_t n, const char *want,
		int want_more)
{
	struct strlist l = { 0 };
	struct err e = ERR_INIT;
	struct buf got = BUF_INIT;
	size_t i;
	int more, ok;

	if (catalog_list(st, last, n, &l, &more, &e) < 0)
		return 0;
	for (i = 0; i < l.n; i++)
		buf_addf(&got, "%s%s", i ? "," : "", l.items[i]);
	ok = !strcmp(got.s, want) && more == want_more;
	if (!ok)
		fprintf(stderr, "catalog page: got '%s' more=%d\n", got.s, more);
	buf_free(&got);
	strlist_free(&l);
	return ok;
}

void test_catalog(void)
{
	struct store st;
	struct err e = ERR_INIT;
	struct digest d, d2, d3;
	struct manifest_ref ref;
	const char *root = t_tmpdir();
	char ds[DIGEST_STR_MAX], extra[512];
	struct buf p = BUF_INIT;
	json_t *idx;

	CHECK(store_open(&st, root, &e) == 0);
	CHECK(page(&st, NULL, 10, "", 0));
	put_image(&st, "a/b", "v1", "", &d);
	put_image(&st, "a", "v1", "", &d);
	put_image(&st, "a-b", "v1", "", &d);
	put_image(&st, "a/b/c", "v1", "", &d);
	/* A repository with only blobs is not listed. */
	store_link_add(&st, "blobs/only", STORE_LAYER, &d, &e);
	CHECK(page(&st, NULL, 10, "a,a-b,a/b,a/b/c", 0));
	CHECK(page(&st, NULL, 2, "a,a-b", 1));
	CHECK(page(&st, "a-b", 2, "a/b,a/b/c", 0));
	CHECK(page(&st, "a/b", 1, "a/b/c", 0));
	CHECK(page(&st, "zzz", 5, "", 0));

	/* Deleting the last manifest unlists; a tag delete alone does not. */
	CHECK(manifest_ref_parse("v1", &ref, &e) == 0);
	CHECK(manifest_delete(&st, "a-b", &ref, NULL, NULL, &e) == 0);
	CHECK(page(&st, NULL, 10, "a,a-b,a/b,a/b/c", 0));
	digest_format(&d, ds);
	CHECK(manifest_ref_parse(ds, &ref, &e) == 0);
	CHECK(manifest_delete(&st, "a-b", &ref, NULL, NULL, &e) == 0);
	CHECK(page(&st, NULL, 10, "a,a/b,a/b/c", 0));

	/* A store without the index (registry:2's) gets it built once. */
	buf_addf(&p, "%s/docker/registry/v2/_berth", root);
	CHECK(fs_remove_tree(p.s, &e) == 0);
	CHECK(page(&st, NULL, 10, "a,a/b,a/b/c", 0));
	CHECK(catalog_rebuild(&st, &e) == 3);

	/* Referrers. */
	put_image(&st, "r", "subject", "", &d);
	digest_format(&d, ds);
	snprintf(extra, sizeof(extra), ",\"artifactType\":\"application/x.sig\","
		 "\"subject\":{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":1},"
		 "\"annotations\":{\"k\":\"v\"}", MT_OCI_MANIFEST, ds);
	put_image(&st, "r", "sig", extra, &d2);
	snprintf(extra, sizeof(extra), ",\"subject\":{\"mediaType\":\"%s\",\"digest\":\"%s\","
		 "\"size\":1}", MT_OCI_MANIFEST, ds);
	put_image(&st, "r", "sbom", extra, &d3);
	CHECK(referrers_list(&st, "r", &d, NULL, &idx, &e) == 0);
	CHECK(json_array_size(json_object_get(idx, "manifests")) == 2);
	json_decref(idx);
	CHECK(referrers_list(&st, "r", &d, "application/x.sig", &idx, &e) == 0);
	CHECK(json_array_size(json_object_get(idx, "manifests")) == 1);
	CHECK(!strcmp(json_string_value(json_object_get(json_object_get(json_array_get(
		json_object_get(idx, "manifests"), 0), "annotations"), "k")), "v"));
	json_decref(idx);
	CHECK(referrers_list(&st, "r", &d, "application/vnd.oci.empty.v1+json", &idx, &e) == 0);
	CHECK(json_array_size(json_object_get(idx, "manifests")) == 1); /* config type */
	json_decref(idx);
	CHECK(referrers_list(&st, "other", &d, NULL, &idx, &e) == 0);
	CHECK(json_array_size(json_object_get(idx, "manifests")) == 0);
	json_decref(idx);
	digest_format(&d2, ds);
	CHECK(manifest_ref_parse(ds, &ref, &e) == 0);
	CHECK(manifest_delete(&st, "r", &ref, NULL, NULL, &e) == 0);
	CHECK(referrers_list(&st, "r", &d, NULL, &idx, &e) == 0);
	CHECK(json_array_size(json_object_get(idx, "manifests")) == 1);
	json_decref(idx);
	buf_free(&p);
	store_close(&st);
}
