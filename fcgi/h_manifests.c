/*
 * h_manifests: manifest PUT/GET/HEAD and the tags list.
 * Manifests are small (4 MiB at most), so unlike blobs the worker reads and
 * writes their bytes itself.
 */
#include "handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "../core/access.h"
#include "../core/catalog.h"
#include "../core/events.h"
#include "../core/manifest.h"
#include "../core/referrers.h"
#include "../core/banned.h"
#include "log.h"

void h_event(struct app *a, struct http_req *r, const char *action,
	     const struct events_target *t)
{
	struct events_request rq = {
		http_param(r, "HTTP_X_REQUEST_ID"), http_param(r, "REMOTE_ADDR"),
		http_param(r, "HTTP_HOST"), r->method, http_param(r, "HTTP_USER_AGENT"),
	};
	struct err e = ERR_INIT;

	if (events_emit(a->ev, action, t, &rq, r->user, &e) < 0)
		log_line("event log: %s %s (%s of %s not recorded)", e.msg, e.detail,
			 action, t->repository ? t->repository : "a blob");
}

static int manifest_put_h(struct app *a, struct http_req *r, const char *name,
			  const struct manifest_ref *ref)
{
	struct buf body = BUF_INIT;
	struct strlist tags = STRLIST_INIT, applied = STRLIST_INIT;
	struct manifest_opts o = { a->cfg->policy, NULL, 0, &applied };
	struct manifest_info mi;
	struct err e = ERR_INIT;
	char ds[DIGEST_STR_MAX], mt[256];
	size_t i, len;
	int rd, rc;

	/* ?tag=a&tag=b (distribution-spec after v1.1.1): more tags for a
	 * manifest pushed by digest; manifest_push() checks them. */
	if (http_query_all(r, "tag", &tags) < 0) {
		strlist_free(&tags);
		return http_fail(r, ERR_TAG_INVALID, "malformed tag parameter");
	}
	o.tags = (const char *const *)tags.items;
	o.ntags = tags.n;
	/* Refuse an announced oversize body before reading any of it. */
	if (r->content_length > (long long)MANIFEST_MAX) {
		strlist_free(&tags);
		return http_fail(r, ERR_TOO_LARGE, "manifest is larger than 4 MiB");
	}
	rd = http_read_all(r, MANIFEST_MAX, &body);
	if (rd != 0) {
		buf_free(&body);
		strlist_free(&tags);
		if (rd > 0)
			return http_fail(r, ERR_TOO_LARGE,
					 "manifest is larger than 4 MiB");
		return http_fail(r, ERR_MANIFEST_INVALID,
				 "could not read the manifest");
	}
	http_bare_type(http_param(r, "CONTENT_TYPE"), mt, sizeof(mt));
	rc = manifest_push(&a->st, name, ref, mt, body.s, body.len, &o, &mi, &e);
	len = body.len;
	buf_free(&body);
	if (rc < 0) {
		strlist_free(&tags);
		return http_error(r, &e);
	}
	digest_format(&mi.digest, ds);
	http_header(r, "Location", "/v2/%s/manifests/%s", name, ds);
	http_header(r, "Docker-Content-Digest", "%s", ds);
	/* One event per tag applied, or one without for a bare digest push;
	 * the ?tag= ones (a digest reference) are answered in OCI-Tag. */
	{
		struct events_target t = { mi.media_type, &mi.digest, (long long)len,
					   name, NULL };
		if (!applied.n)
			h_event(a, r, "push", &t);
		for (i = 0; i < applied.n; i++) {
			if (ref->is_digest)
				http_header(r, "OCI-Tag", "%s", applied.items[i]);
			t.tag = applied.items[i];
			h_event(a, r, "push", &t);
		}
	}
	strlist_free(&tags);
	strlist_free(&applied);
	if (mi.has_subject) {
		digest_format(&mi.subject, ds);
		http_header(r, "OCI-Subject", "%s", ds);
	}
	return http_respond(r, 201, NULL, NULL, 0);
}

static int manifest_get_h(struct app *a, struct http_req *r, const char *name,
			  const struct manifest_ref *ref)
{
	struct buf body = BUF_INIT;
	struct manifest_info mi;
	struct err e = ERR_INIT;
	char ds[DIGEST_STR_MAX];
	int rc;

	if (manifest_get(&a->st, name, ref, &body, &mi, &e) < 0) {
		buf_free(&body);
		return http_error(r, &e);
	}
	digest_format(&mi.digest, ds);
	http_header(r, "Docker-Content-Digest", "%s", ds);
	http_header(r, "ETag", "\"%s\"", ds);
	if (events_pulls(a->ev) && !r->head) {
		struct events_target t = { mi.media_type, &mi.digest, (long long)body.len,
					   name, ref->is_digest ? NULL : ref->tag };
		h_event(a, r, "pull", &t);
	}
	rc = http_respond(r, 200, mi.media_type, body.s, body.len);
	buf_free(&body);
	return rc;
}

/* The event names the manifest deleted: for a tag, the one it named. */
static int manifest_delete_h(struct app *a, struct http_req *r, const char *name,
			     const struct manifest_ref *ref)
{
	struct err e = ERR_INIT;
	struct digest gone;

	if (!a->cfg->delete_enabled)
		return http_fail(r, ERR_UNSUPPORTED,
				 "deletes are disabled (storage.delete.enabled)");
	if (manifest_delete(&a->st, name, ref, a->cfg->policy, &gone, &e) < 0)
		return http_error(r, &e);
	{
		struct events_target t = { NULL, gone.alg ? &gone : NULL, -1, name,
					   ref->is_digest ? NULL : ref->tag };
		h_event(a, r, "delete", &t);
	}
	return http_respond(r, 202, NULL, NULL, 0);
}

int h_manifest(struct app *a, struct http_req *r, const char *name,
	       const char *refs)
{
	struct manifest_ref ref;
	struct err e = ERR_INIT;

	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD") &&
	    strcmp(r->method, "PUT") && strcmp(r->method, "DELETE"))
		return http_route_fail(r, HTTP_NO_METHOD, "method not allowed on manifests");
	if (manifest_ref_parse(refs, &ref, &e) < 0) {
		/* Nothing can exist under a reference that is neither a tag
		 * nor a digest (a slash included): for a read or a delete it
		 * is unknown, for a push it is an invalid tag. */
		if (strcmp(r->method, "PUT"))
			return http_fail(r, ERR_MANIFEST_UNKNOWN, "manifest unknown");
		if (e.code != ERR_DIGEST_INVALID)
			err_set(&e, ERR_TAG_INVALID, "invalid tag");
		return http_error(r, &e);
	}
	if (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD"))
		return manifest_get_h(a, r, name, &ref);
	if (!strcmp(r->method, "PUT"))
		return manifest_put_h(a, r, name, &ref);
	if (!strcmp(r->method, "DELETE"))
		return manifest_delete_h(a, r, name, &ref);
	return http_route_fail(r, HTTP_NO_METHOD, "method not allowed on manifests");
}

/* n and last of a list request; -1 after answering with the error. */
static int page_params(struct http_req *r, long max, long *n, struct buf *last)
{
	struct buf v = BUF_INIT;
	int q = http_query(r, "n", &v);
	char *end;

	*n = -1;
	if (q < 0 || (q > 0 && (v.len == 0 || v.s[0] < '0' || v.s[0] > '9'))) {
		buf_free(&v);
		http_fail(r, ERR_PAGINATION_NUMBER_INVALID, "invalid n");
		return -1;
	}
	if (q > 0) {
		*n = strtol(v.s, &end, 10);
		if (*end || *n < 0 || *n > max) {
			buf_free(&v);
			http_fail(r, ERR_PAGINATION_NUMBER_INVALID, "invalid n");
			return -1;
		}
	}
	buf_free(&v);
	if (http_query(r, "last", last) < 0) {
		http_fail(r, ERR_TAG_INVALID, "invalid last");
		return -1;
	}
	return 0;
}

int h_tags(struct app *a, struct http_req *r, const char *name)
{
	struct strlist tags = STRLIST_INIT;
	struct buf last = BUF_INIT;
	struct err e = ERR_INIT;
	json_t *doc, *arr;
	size_t i;
	long n;
	int more;

	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
		return http_route_fail(r, HTTP_NO_METHOD, "method not allowed on tags");
	if (page_params(r, 100000, &n, &last) < 0) {
		buf_free(&last);
		return 0;
	}
	if (manifest_tags(&a->st, name, last.len ? last.s : NULL, n, &tags, &more,
			  &e) < 0) {
		buf_free(&last);
		strlist_free(&tags);
		return http_error(r, &e);
	}
	doc = json_object();
	arr = json_array();
	json_object_set_new(doc, "name", json_string(name));
	for (i = 0; i < tags.n; i++)
		json_array_append_new(arr, json_string(tags.items[i]));
	json_object_set_new(doc, "tags", arr);
	if (more && tags.n)
		http_header(r, "Link", "</v2/%s/tags/list?n=%ld&last=%s>; rel=\"next\"",
			    name, n, tags.items[tags.n - 1]);
	strlist_free(&tags);
	buf_free(&last);
	return http_respond_json(r, "application/json", doc);
}

/* A catalog page holds only repositories the user may pull: pages of the
 * index are read until n of those are found or the index ends. */
static int visible_page(struct app *a, struct http_req *r, const char *last,
			long n, struct strlist *out, int *more, struct err *e)
{
	struct strlist chunk = STRLIST_INIT;
	struct buf cursor = BUF_INIT;
	size_t i;
	int rc = 0;

	*more = 0;
	if (!a->cfg->access)
		return catalog_list(&a->st, last, (size_t)n, out, more, e);
	if (last && buf_adds(&cursor, last) < 0)
		return err_sys(e, "out of memory");
	for (;;) {
		int chunk_more;

		strlist_free(&chunk);
		rc = catalog_list(&a->st, cursor.len ? cursor.s : NULL, (size_t)n,
				  &chunk, &chunk_more, e);
		if (rc < 0)
			break;
		for (i = 0; i < chunk.n; i++) {
			if (!access_allows(a->cfg->access, r->user, chunk.items[i],
					   ACCESS_PULL))
				continue;
			if (out->n == (size_t)n) {
				*more = 1;
				break;
			}
			if (strlist_add(out, chunk.items[i]) < 0) {
				rc = err_sys(e, "out of memory");
				break;
			}
		}
		if (rc < 0 || *more || !chunk_more || !chunk.n)
			break;
		if (out->n == (size_t)n) {
			*more = 1; /* maybe: the next page may be empty */
			break;
		}
		buf_reset(&cursor);
		if (buf_adds(&cursor, chunk.items[chunk.n - 1]) < 0) {
			rc = err_sys(e, "out of memory");
			break;
		}
	}
	strlist_free(&chunk);
	buf_free(&cursor);
	return rc;
}

int h_catalog(struct app *a, struct http_req *r)
{
	struct strlist repos = STRLIST_INIT;
	struct buf last = BUF_INIT;
	struct err e = ERR_INIT;
	json_t *doc, *arr;
	size_t i;
	long n;
	int more;

	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
		return http_route_fail(r, HTTP_NO_METHOD, "method not allowed on the catalog");
	/* n is capped by catalog.maxentries: no client picks the size of
	 * what a worker allocates. */
	if (page_params(r, a->cfg->catalog_maxentries, &n, &last) < 0) {
		buf_free(&last);
		return 0;
	}
	if (n < 0)
		n = a->cfg->catalog_maxentries;
	if (visible_page(a, r, last.len ? last.s : NULL, n, &repos, &more, &e) < 0) {
		buf_free(&last);
		strlist_free(&repos);
		return http_error(r, &e);
	}
	doc = json_object();
	arr = json_array();
	for (i = 0; i < repos.n; i++)
		json_array_append_new(arr, json_string(repos.items[i]));
	json_object_set_new(doc, "repositories", arr);
	if (more && repos.n)
		http_header(r, "Link", "</v2/_catalog?n=%ld&last=%s>; rel=\"next\"",
			    n, repos.items[repos.n - 1]);
	strlist_free(&repos);
	buf_free(&last);
	return http_respond_json(r, "application/json", doc);
}

int h_referrers(struct app *a, struct http_req *r, const char *name,
		const char *dg)
{
	struct digest d;
	struct err e = ERR_INIT;
	struct buf at = BUF_INIT;
	json_t *idx;
	int q;

	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
		return http_route_fail(r, HTTP_NO_METHOD, "method not allowed on referrers");
	if (digest_parse(dg, &d, &e) < 0)
		return http_error(r, &e);
	q = http_query(r, "artifactType", &at);
	if (q < 0) {
		buf_free(&at);
		return http_fail(r, ERR_UNSUPPORTED, "malformed artifactType");
	}
	if (referrers_list(&a->st, name, &d, q > 0 ? at.s : NULL, &idx, &e) < 0) {
		buf_free(&at);
		return http_error(r, &e);
	}
	buf_free(&at);
	if (q > 0)
		http_header(r, "OCI-Filters-Applied", "artifactType");
	return http_respond_json(r, MT_OCI_INDEX, idx);
}
