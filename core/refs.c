/*
 * refs: reading a manifest's references with jansson; see refs.h. The
 * strict mode's rules are the OCI image-spec's descriptor rules (mediaType,
 * size, digest; urls an array of strings; annotations an object) and
 * Docker schema2's (mediaType required on Docker types).
 */
#include "refs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

int refs_known_type(const char *t)
{
	return !strcmp(t, MT_OCI_MANIFEST) || !strcmp(t, MT_OCI_INDEX) ||
	       !strcmp(t, MT_DOCKER_MANIFEST) || !strcmp(t, MT_DOCKER_LIST);
}

int refs_is_index_type(const char *t)
{
	return !strcmp(t, MT_OCI_INDEX) || !strcmp(t, MT_DOCKER_LIST);
}

static int is_schema1(const char *t)
{
	return !strcmp(t, MT_DOCKER_V1) || !strcmp(t, MT_DOCKER_V1_SIGNED);
}

void refs_free(struct refs *r)
{
	free(r->layers);
	free(r->children);
	json_decref(r->doc);
	memset(r, 0, sizeof(*r));
}

/* One descriptor into out. Strict: every field the image-spec requires;
 * stored: an object with a digest we can parse. */
static int desc(json_t *v, const char *what, enum refs_mode mode,
		struct refs_desc *out, struct err *e)
{
	json_t *x;
	struct err de = ERR_INIT;

	memset(out, 0, sizeof(*out));
	out->size = -1;
	if (!json_is_object(v))
		return err_set(e, ERR_MANIFEST_INVALID, "%s is not an object", what);
	x = json_object_get(v, "digest");
	if (!json_is_string(x) || digest_parse(json_string_value(x), &out->digest, &de) < 0)
		return err_set(e, ERR_MANIFEST_INVALID, "%s has no valid digest", what);
	x = json_object_get(v, "mediaType");
	if (json_is_string(x))
		snprintf(out->media_type, sizeof(out->media_type), "%s",
			 json_string_value(x));
	if (mode == REFS_STRICT && !out->media_type[0])
		return err_set(e, ERR_MANIFEST_INVALID, "%s has no mediaType", what);
	x = json_object_get(v, "size");
	if (json_is_integer(x) && json_integer_value(x) >= 0)
		out->size = (long long)json_integer_value(x);
	else if (mode == REFS_STRICT)
		return err_set(e, ERR_MANIFEST_INVALID, "%s has no valid size", what);
	x = json_object_get(v, "urls");
	if (x) {
		size_t i;
		json_t *u;
		if (!json_is_array(x)) {
			if (mode == REFS_STRICT)
				return err_set(e, ERR_MANIFEST_INVALID,
					       "%s urls is not an array", what);
		} else {
			json_array_foreach(x, i, u)
				if (!json_is_string(u) && mode == REFS_STRICT)
					return err_set(e, ERR_MANIFEST_INVALID,
						       "%s urls holds a non-string", what);
			out->foreign = json_array_size(x) > 0;
		}
	}
	x = json_object_get(v, "annotations");
	if (x && !json_is_object(x) && mode == REFS_STRICT)
		return err_set(e, ERR_MANIFEST_INVALID,
			       "%s annotations is not an object", what);
	return 0;
}

/* Every descriptor of array arr into *out. */
static int descs(json_t *arr, const char *what, enum refs_mode mode,
		 struct refs_desc **out, size_t *n, struct err *e)
{
	size_t i, count = json_array_size(arr);
	json_t *v;
	char label[64];

	*n = 0;
	if (!count)
		return 0;
	*out = calloc(count, sizeof(**out));
	if (!*out)
		return err_sys(e, "out of memory");
	json_array_foreach(arr, i, v) {
		snprintf(label, sizeof(label), "%s[%zu]", what, i);
		if (desc(v, label, mode, &(*out)[i], e) < 0)
			return -1;
		*n = i + 1;
	}
	return 0;
}

/* schema1: fsLayers[].blobSum, digests only. */
static int schema1_layers(json_t *root, struct refs *r, struct err *e)
{
	json_t *arr = json_object_get(root, "fsLayers"), *v;
	size_t i, count = json_array_size(arr);
	struct err de = ERR_INIT;

	r->kind = REFS_SCHEMA1;
	snprintf(r->media_type, sizeof(r->media_type), "%s",
		 json_object_get(root, "signatures") ? MT_DOCKER_V1_SIGNED : MT_DOCKER_V1);
	if (!count)
		return 0;
	r->layers = calloc(count, sizeof(*r->layers));
	if (!r->layers)
		return err_sys(e, "out of memory");
	json_array_foreach(arr, i, v) {
		json_t *s = json_object_get(v, "blobSum");
		if (!json_is_string(s) ||
		    digest_parse(json_string_value(s), &r->layers[i].digest, &de) < 0)
			return err_set(e, ERR_MANIFEST_INVALID,
				       "fsLayers[%zu] has no valid blobSum", i);
		r->layers[i].size = -1;
		r->nlayers = i + 1;
	}
	return 0;
}

int refs_parse(const char *body, size_t len, enum refs_mode mode,
	       struct refs *r, struct err *e)
{
	json_error_t jerr;
	json_t *root, *mt, *sv, *x;
	const char *field = NULL;

	memset(r, 0, sizeof(*r));
	root = json_loadb(body, len, mode == REFS_STRICT ? JSON_REJECT_DUPLICATES : 0,
			  &jerr);
	if (!root)
		return err_set(e, ERR_MANIFEST_INVALID, "manifest is not JSON: %s",
			       jerr.text);
	r->doc = root;
	if (!json_is_object(root))
		return err_set(e, ERR_MANIFEST_INVALID, "manifest is not a JSON object");
	mt = json_object_get(root, "mediaType");
	sv = json_object_get(root, "schemaVersion");
	if (mt && !json_is_string(mt))
		return err_set(e, ERR_MANIFEST_INVALID, "mediaType is not a string");
	if (mt)
		field = json_string_value(mt);
	if ((field && is_schema1(field)) ||
	    (json_is_integer(sv) && json_integer_value(sv) == 1)) {
		if (mode == REFS_STRICT)
			return err_set(e, ERR_MANIFEST_INVALID,
				       "Docker schema1 manifests are not supported: "
				       "push with a client that writes schema2 or OCI "
				       "(docker 1.10 or later, podman, skopeo)");
		return schema1_layers(root, r, e);
	}
	if (mode == REFS_STRICT) {
		if (!json_is_integer(sv) || json_integer_value(sv) != 2)
			return err_set(e, ERR_MANIFEST_INVALID, "schemaVersion must be 2");
		if (field && !refs_known_type(field))
			return err_set(e, ERR_MANIFEST_INVALID,
				       "unsupported manifest mediaType %s", field);
		x = json_object_get(root, "artifactType");
		if (x && !json_is_string(x))
			return err_set(e, ERR_MANIFEST_INVALID,
				       "artifactType is not a string");
	}
	r->typed = field && *field;
	if (r->typed) {
		snprintf(r->media_type, sizeof(r->media_type), "%s", field);
		r->kind = refs_is_index_type(field) ? REFS_INDEX : REFS_IMAGE;
	} else {
		r->kind = json_object_get(root, "manifests") ? REFS_INDEX : REFS_IMAGE;
		snprintf(r->media_type, sizeof(r->media_type), "%s",
			 r->kind == REFS_INDEX ? MT_OCI_INDEX : MT_OCI_MANIFEST);
	}
	if ((x = json_object_get(root, "subject"))) {
		if (desc(x, "subject", mode, &r->subject, e) < 0)
			return -1;
		r->has_subject = 1;
	}
	if (r->kind == REFS_INDEX) {
		x = json_object_get(root, "manifests");
		if (!json_is_array(x)) {
			if (mode == REFS_STRICT || x)
				return err_set(e, ERR_MANIFEST_INVALID,
					       "index has no manifests array");
			return 0;
		}
		return descs(x, "manifests", mode, &r->children, &r->nchildren, e);
	}
	x = json_object_get(root, "config");
	if (x) {
		if (desc(x, "config", mode, &r->config, e) < 0)
			return -1;
		r->has_config = 1;
	} else if (mode == REFS_STRICT) {
		return err_set(e, ERR_MANIFEST_INVALID, "manifest has no config");
	}
	x = json_object_get(root, "layers");
	if (!json_is_array(x)) {
		if (mode == REFS_STRICT || x)
			return err_set(e, ERR_MANIFEST_INVALID,
				       "manifest has no layers array");
		return 0;
	}
	return descs(x, "layer", mode, &r->layers, &r->nlayers, e);
}

int refs_read(const struct store *st, const struct digest *d, struct refs *out,
	      struct err *e)
{
	struct buf body = BUF_INIT;
	char ds[DIGEST_STR_MAX];
	int r;

	memset(out, 0, sizeof(*out));
	digest_format(d, ds);
	r = store_blob_read(st, d, REFS_READ_MAX, &body, e);
	if (r > 0 && refs_parse(body.s, body.len, REFS_STORED, out, e) < 0) {
		char why[256];
		snprintf(why, sizeof(why), "%s", e->msg);
		errno = 0;
		err_sys(e, "manifest %s cannot be parsed: %.200s", ds, why);
		refs_free(out);
		r = -1;
	} else if (r < 0) {
		char why[sizeof(e->detail)];
		snprintf(why, sizeof(why), "%s", e->detail[0] ? e->detail : e->msg);
		err_set(e, ERR_INTERNAL, "internal storage error");
		snprintf(e->detail, sizeof(e->detail), "manifest cannot be read: %.900s",
			 why);
	}
	buf_free(&body);
	return r;
}

int refs_media_type(const char *body, size_t len, char *out, size_t outlen)
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
