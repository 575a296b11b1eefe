/*
 * manifest: validation with jansson against the OCI image-spec and Docker
 * schema2 shapes, then storage through store.c (blob, revision link, tag).
 */
#include "manifest.h"

#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "catalog.h"
#include "referrers.h"
#include "name.h"
#include "banned.h"

int manifest_ref_parse(const char *s, struct manifest_ref *ref, struct err *e)
{
	memset(ref, 0, sizeof(*ref));
	if (strchr(s, ':')) {
		ref->is_digest = 1;
		return digest_parse(s, &ref->digest, e);
	}
	if (name_tag_valid(s, e) < 0)
		return -1;
	snprintf(ref->tag, sizeof(ref->tag), "%s", s);
	return 0;
}

static int known_type(const char *t)
{
	return !strcmp(t, MT_OCI_MANIFEST) || !strcmp(t, MT_OCI_INDEX) ||
	       !strcmp(t, MT_DOCKER_MANIFEST) || !strcmp(t, MT_DOCKER_LIST);
}

static int is_index(const char *t)
{
	return !strcmp(t, MT_OCI_INDEX) || !strcmp(t, MT_DOCKER_LIST);
}

static int is_schema1(const char *t)
{
	return !strcmp(t, MT_DOCKER_V1) || !strcmp(t, MT_DOCKER_V1_SIGNED);
}

/* Copies a Content-Type without parameters or surrounding blanks. */
static void bare_type(const char *ct, char *out, size_t n)
{
	size_t len;

	while (ct && (*ct == ' ' || *ct == '\t'))
		ct++;
	if (!ct || !*ct) {
		out[0] = 0;
		return;
	}
	len = strcspn(ct, "; \t");
	if (len >= n)
		len = n - 1;
	memcpy(out, ct, len);
	out[len] = 0;
}

/* Checks a descriptor's fields; its digest goes in d. */
static int check_descriptor(json_t *desc, const char *what, struct digest *d,
			    struct err *e)
{
	json_t *v;
	struct err de = ERR_INIT;

	if (!json_is_object(desc))
		return err_set(e, ERR_MANIFEST_INVALID, "%s is not an object", what);
	v = json_object_get(desc, "mediaType");
	if (!json_is_string(v) || !json_string_length(v))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "%s has no mediaType", what);
	v = json_object_get(desc, "size");
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return err_set(e, ERR_MANIFEST_INVALID,
			       "%s has no valid size", what);
	v = json_object_get(desc, "digest");
	if (!json_is_string(v) || digest_parse(json_string_value(v), d, &de) < 0)
		return err_set(e, ERR_MANIFEST_INVALID,
			       "%s has no valid digest", what);
	v = json_object_get(desc, "urls");
	if (v) {
		size_t i;
		json_t *u;
		if (!json_is_array(v))
			return err_set(e, ERR_MANIFEST_INVALID,
				       "%s urls is not an array", what);
		json_array_foreach(v, i, u)
			if (!json_is_string(u))
				return err_set(e, ERR_MANIFEST_INVALID,
					       "%s urls holds a non-string", what);
	}
	v = json_object_get(desc, "annotations");
	if (v && !json_is_object(v))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "%s annotations is not an object", what);
	return 0;
}

static int has_urls(json_t *desc)
{
	json_t *v = json_object_get(desc, "urls");

	return json_is_array(v) && json_array_size(v) > 0;
}

static int check_image(const struct store *st, const char *name, json_t *root,
		       struct err *e)
{
	json_t *config = json_object_get(root, "config");
	json_t *layers = json_object_get(root, "layers");
	json_t *l;
	struct digest d;
	size_t i;
	char what[64];

	if (!config)
		return err_set(e, ERR_MANIFEST_INVALID, "manifest has no config");
	if (check_descriptor(config, "config", &d, e) < 0)
		return -1;
	if (!store_link_touch(st, name, STORE_LAYER, &d)) {
		char s[DIGEST_STR_MAX];
		digest_format(&d, s);
		return err_set(e, ERR_MANIFEST_BLOB_UNKNOWN,
			       "config blob %s unknown to registry", s);
	}
	if (!json_is_array(layers))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "manifest has no layers array");
	json_array_foreach(layers, i, l) {
		snprintf(what, sizeof(what), "layer %zu", i);
		if (check_descriptor(l, what, &d, e) < 0)
			return -1;
		/* Non-distributable (foreign) layers live elsewhere. */
		if (has_urls(l))
			continue;
		if (!store_link_touch(st, name, STORE_LAYER, &d)) {
			char s[DIGEST_STR_MAX];
			digest_format(&d, s);
			return err_set(e, ERR_MANIFEST_BLOB_UNKNOWN,
				       "blob %s unknown to registry", s);
		}
	}
	return 0;
}

static int check_index(const struct store *st, const char *name, json_t *root,
		       struct err *e)
{
	json_t *list = json_object_get(root, "manifests");
	json_t *m;
	struct digest d;
	size_t i;
	char what[64];

	if (!json_is_array(list))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "index has no manifests array");
	json_array_foreach(list, i, m) {
		snprintf(what, sizeof(what), "manifests[%zu]", i);
		if (check_descriptor(m, what, &d, e) < 0)
			return -1;
		if (!store_link_touch(st, name, STORE_REVISION, &d)) {
			char s[DIGEST_STR_MAX];
			digest_format(&d, s);
			return err_set(e, ERR_MANIFEST_BLOB_UNKNOWN,
				       "manifest %s unknown to registry", s);
		}
	}
	return 0;
}

/* Decides the manifest's media type from its mediaType field and the
 * request's Content-Type; refuses schema1 and disagreements. */
static int decide_type(json_t *root, const char *content_type, char *out,
		       size_t n, struct err *e)
{
	json_t *mt = json_object_get(root, "mediaType");
	json_t *sv = json_object_get(root, "schemaVersion");
	char ct[128];
	const char *field = NULL;

	bare_type(content_type, ct, sizeof(ct));
	if (mt && !json_is_string(mt))
		return err_set(e, ERR_MANIFEST_INVALID, "mediaType is not a string");
	if (mt)
		field = json_string_value(mt);
	if ((field && is_schema1(field)) || is_schema1(ct) ||
	    (json_is_integer(sv) && json_integer_value(sv) == 1))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "Docker schema1 manifests are not supported: "
			       "push with a client that writes schema2 or OCI "
			       "(docker 1.10 or later, podman, skopeo)");
	if (!json_is_integer(sv) || json_integer_value(sv) != 2)
		return err_set(e, ERR_MANIFEST_INVALID,
			       "schemaVersion must be 2");
	if (field) {
		if (!known_type(field))
			return err_set(e, ERR_MANIFEST_INVALID,
				       "unsupported manifest mediaType %s", field);
		if (ct[0] && strcmp(ct, field))
			return err_set(e, ERR_MANIFEST_INVALID,
				       "mediaType %s does not match Content-Type %s",
				       field, ct);
		snprintf(out, n, "%s", field);
		return 0;
	}
	if (known_type(ct)) {
		if (!strcmp(ct, MT_DOCKER_MANIFEST) || !strcmp(ct, MT_DOCKER_LIST))
			return err_set(e, ERR_MANIFEST_INVALID,
				       "Docker manifests must carry mediaType");
		/* Without mediaType the shape must agree with the type. */
		if (is_index(ct) != (json_object_get(root, "manifests") != NULL))
			return err_set(e, ERR_MANIFEST_INVALID,
				       "manifest does not match Content-Type %s", ct);
		snprintf(out, n, "%s", ct);
		return 0;
	}
	snprintf(out, n, "%s", json_object_get(root, "manifests") ?
		 MT_OCI_INDEX : MT_OCI_MANIFEST);
	return 0;
}

int manifest_media_type(const char *body, size_t len, char *out, size_t outlen)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *mt, *sv;

	if (!json_is_object(root)) {
		json_decref(root);
		return -1;
	}
	mt = json_object_get(root, "mediaType");
	sv = json_object_get(root, "schemaVersion");
	if (json_is_string(mt) && json_string_length(mt))
		snprintf(out, outlen, "%s", json_string_value(mt));
	else if (json_is_integer(sv) && json_integer_value(sv) == 1)
		snprintf(out, outlen, "%s", json_object_get(root, "signatures") ?
			 MT_DOCKER_V1_SIGNED : MT_DOCKER_V1);
	else
		snprintf(out, outlen, "%s", json_object_get(root, "manifests") ?
			 MT_OCI_INDEX : MT_OCI_MANIFEST);
	json_decref(root);
	return 0;
}

/* Records the manifest in its subject's referrers, with the descriptor the
 * referrers API answers: artifactType is the manifest's, else its config's
 * mediaType. */
static int add_referrer(const struct store *st, const char *name, json_t *root,
			const struct manifest_info *mi, size_t len, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	json_t *desc, *at, *ann;
	int r;

	digest_format(&mi->digest, ds);
	desc = json_pack("{s:s,s:s,s:I}", "mediaType", mi->media_type, "digest",
			 ds, "size", (json_int_t)len);
	if (!desc)
		return err_sys(e, "out of memory");
	at = json_object_get(root, "artifactType");
	if (!json_is_string(at))
		at = json_object_get(json_object_get(root, "config"), "mediaType");
	if (json_is_string(at))
		json_object_set(desc, "artifactType", at);
	ann = json_object_get(root, "annotations");
	if (json_is_object(ann))
		json_object_set(desc, "annotations", ann);
	r = referrers_add(st, name, &mi->subject, &mi->digest, desc, e);
	json_decref(desc);
	return r;
}

int manifest_put(const struct store *st, const char *name,
		 const struct manifest_ref *ref, const char *content_type,
		 const char *body, size_t len, struct manifest_info *out,
		 struct err *e)
{
	json_t *root, *subject;
	json_error_t jerr;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (len > MANIFEST_MAX)
		return err_set(e, ERR_TOO_LARGE, "manifest is larger than %u bytes",
			       MANIFEST_MAX);
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(e, ERR_MANIFEST_INVALID, "manifest is not JSON: %s",
			       jerr.text);
	if (!json_is_object(root)) {
		err_set(e, ERR_MANIFEST_INVALID, "manifest is not a JSON object");
		goto out;
	}
	if (decide_type(root, content_type, out->media_type,
			sizeof(out->media_type), e) < 0)
		goto out;
	if (json_object_get(root, "artifactType") &&
	    !json_is_string(json_object_get(root, "artifactType"))) {
		err_set(e, ERR_MANIFEST_INVALID, "artifactType is not a string");
		goto out;
	}
	subject = json_object_get(root, "subject");
	if (subject) {
		if (check_descriptor(subject, "subject", &out->subject, e) < 0)
			goto out;
		out->has_subject = 1;
	}
	if (is_index(out->media_type) ? check_index(st, name, root, e) :
					check_image(st, name, root, e))
		goto out;
	if (ref->is_digest) {
		digest_of(ref->digest.alg, body, len, &out->digest);
		if (!digest_equal(&out->digest, &ref->digest)) {
			err_set(e, ERR_DIGEST_INVALID,
				"manifest does not hash to the digest in the URL");
			goto out;
		}
	} else {
		digest_of(DIGEST_SHA256, body, len, &out->digest);
	}
	if (store_blob_put(st, &out->digest, body, len, e) < 0 ||
	    store_link_add(st, name, STORE_REVISION, &out->digest, e) < 0)
		goto out;
	if (!ref->is_digest && store_tag_set(st, name, ref->tag, &out->digest, e) < 0)
		goto out;
	if (out->has_subject &&
	    add_referrer(st, name, root, out, len, e) < 0)
		goto out;
	if (catalog_add(st, name, e) < 0)
		goto out;
	r = 0;
out:
	json_decref(root);
	return r;
}

/* registry:2 accepted manifests larger than Berth's push limit; serve them. */
#define MANIFEST_READ_MAX (64u << 20)

int manifest_get(const struct store *st, const char *name,
		 const struct manifest_ref *ref, struct buf *body,
		 struct manifest_info *out, struct err *e)
{
	struct buf local = BUF_INIT;
	struct buf *b = body ? body : &local;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (ref->is_digest) {
		out->digest = ref->digest;
	} else if (store_tag_get(st, name, ref->tag, &out->digest, e) < 0) {
		if (!store_repo_exists(st, name))
			err_set(e, ERR_NAME_UNKNOWN,
				"repository name not known to registry");
		return -1;
	}
	if (!store_link_exists(st, name, STORE_REVISION, &out->digest)) {
		if (!store_repo_exists(st, name))
			return err_set(e, ERR_NAME_UNKNOWN,
				       "repository name not known to registry");
		return err_set(e, ERR_MANIFEST_UNKNOWN, "manifest unknown");
	}
	if (store_blob_read(st, &out->digest, MANIFEST_READ_MAX, b, e) < 0) {
		if (e->code == ERR_BLOB_UNKNOWN)
			err_set(e, ERR_MANIFEST_UNKNOWN, "manifest unknown");
		goto out;
	}
	if (manifest_media_type(b->s, b->len, out->media_type,
				sizeof(out->media_type)) < 0) {
		err_sys(e, "stored manifest is not JSON");
		goto out;
	}
	r = 0;
out:
	buf_free(&local);
	return r;
}

int manifest_delete(const struct store *st, const char *name,
		    const struct manifest_ref *ref, struct err *e)
{
	struct store_list tags = { 0 };
	struct digest d;
	struct err ignore = ERR_INIT;
	size_t i;
	int r = -1;

	if (!ref->is_digest) {
		if (store_tag_remove(st, name, ref->tag, e) < 0)
			return -1;
		return catalog_drop_if_empty(st, name, e);
	}
	if (!store_link_exists(st, name, STORE_REVISION, &ref->digest))
		return err_set(e, ERR_MANIFEST_UNKNOWN, "manifest unknown");
	/* Tags first: a tag must never name a manifest the repository no
	 * longer has. */
	if (store_tags(st, name, &tags, e) < 0)
		goto out;
	for (i = 0; i < tags.n; i++)
		if (store_tag_get(st, name, tags.items[i], &d, &ignore) == 0 &&
		    digest_equal(&d, &ref->digest) &&
		    store_tag_remove(st, name, tags.items[i], e) < 0 &&
		    e->code != ERR_MANIFEST_UNKNOWN)
			goto out;
	if (referrers_remove_of(st, name, &ref->digest, e) < 0)
		goto out;
	r = store_link_remove(st, name, STORE_REVISION, &ref->digest, e);
	if (r == 0)
		r = catalog_drop_if_empty(st, name, e);
out:
	store_list_free(&tags);
	return r;
}
