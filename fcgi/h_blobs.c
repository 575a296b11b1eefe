/*
 * h_blobs: blob fetches and the upload protocol (POST, PATCH, PUT, GET,
 * DELETE on sessions, monolithic pushes and cross-repository mounts).
 *
 * Blob bytes never pass through a worker behind nginx or Apache: GET
 * answers with X-Accel-Redirect (nginx) or X-Sendfile (Apache) and the web
 * server sends the file with sendfile(), Range included.
 */
#include "handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/access.h"
#include "../core/name.h"
#include "../core/upload.h"
#include "../core/events.h"
#include "../core/banned.h"

/* Streams [start, end] of a blob when no web server can send it; the
 * bytes come from core (store_blob_open), the framing is ours. */
static int stream_blob(struct app *a, struct http_req *r, const struct digest *d)
{
	struct store_blob_file f;
	struct err e = ERR_INIT;
	long long start = 0, end, left, size;
	int rg, status = 200, found;
	char chunk[65536];

	found = store_blob_open(&a->st, d, &f, &e);
	if (found <= 0)
		return found < 0 ? http_error(r, &e) :
			http_fail(r, ERR_BLOB_UNKNOWN, "blob unknown to registry");
	size = (long long)f.size;
	end = size - 1;
	rg = http_parse_range(http_param(r, "HTTP_RANGE"), size, &start, &end);
	if (rg < 0) {
		store_blob_file_close(&f);
		http_header(r, "Content-Range", "bytes */%lld", size);
		return http_respond(r, 416, NULL, NULL, 0);
	}
	if (rg > 0) {
		status = 206;
		http_header(r, "Content-Range", "bytes %lld-%lld/%lld", start,
			    end, size);
	}
	if (http_respond_head(r, status, "application/octet-stream",
			      size ? end - start + 1 : 0) < 0 || r->head) {
		store_blob_file_close(&f);
		return 0;
	}
	/* The head is sent: a failure now can only cut the body short,
	 * which the client sees by its Content-Length. */
	for (left = size ? end - start + 1 : 0; left > 0;) {
		long n = store_blob_pread(&f, chunk,
					  left < (long long)sizeof(chunk) ? (size_t)left :
									    sizeof(chunk),
					  (off_t)start, &e);
		if (n <= 0) {
			if (n < 0)
				snprintf(r->detail, sizeof(r->detail), "%s", e.detail);
			break;
		}
		if (http_write(r, chunk, (size_t)n) < 0)
			break;
		start += n;
		left -= n;
	}
	store_blob_file_close(&f);
	return 0;
}

static int blob_get(struct app *a, struct http_req *r, const char *name,
		    const struct digest *d)
{
	char ds[DIGEST_STR_MAX];
	struct buf path = BUF_INIT;
	struct err e = ERR_INIT;
	off_t size;
	int rc, found;

	found = store_link_blob(&a->st, name, STORE_LAYER, d, &size, &e);
	if (found <= 0)
		return found < 0 ? http_error(r, &e) :
			http_fail(r, ERR_BLOB_UNKNOWN, "blob unknown to registry");
	digest_format(d, ds);
	http_header(r, "Docker-Content-Digest", "%s", ds);
	http_header(r, "ETag", "\"%s\"", ds);
	http_header(r, "Accept-Ranges", "bytes");
	http_header(r, "Cache-Control", "max-age=31536000");
	if (r->head)
		return http_respond_head(r, 200, "application/octet-stream",
					 (long long)size);
	switch (a->cfg->webserver) {
	case CONFIG_WS_NGINX:
		if (store_blob_path(&a->st, d, STORE_PATH_FROM_ROOTDIR, &path, &e) < 0)
			return http_error(r, &e);
		http_header(r, "X-Accel-Redirect", "%s%s",
			    a->cfg->internal_prefix, path.s);
		buf_free(&path);
		rc = http_respond_head(r, 200, "application/octet-stream", -1);
		r->bytes = (long long)size; /* what the web server will send */
		return rc;
	case CONFIG_WS_APACHE:
		if (store_blob_path(&a->st, d, STORE_PATH_ABSOLUTE, &path, &e) < 0)
			return http_error(r, &e);
		http_header(r, "X-Sendfile", "%s", path.s);
		buf_free(&path);
		rc = http_respond_head(r, 200, "application/octet-stream", -1);
		r->bytes = (long long)size;
		return rc;
	default:
		return stream_blob(a, r, d);
	}
}

int h_blob(struct app *a, struct http_req *r, const char *name, const char *dg)
{
	struct digest d;
	struct err e = ERR_INIT;
	int found;

	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD") &&
	    strcmp(r->method, "DELETE"))
		return http_route_fail(r, HTTP_NO_METHOD, "method not allowed on blobs");
	if (digest_parse(dg, &d, &e) < 0)
		return http_error(r, &e);
	if (!strcmp(r->method, "DELETE")) {
		if (!a->cfg->delete_enabled)
			return http_fail(r, ERR_UNSUPPORTED,
					 "deletes are disabled (storage.delete.enabled)");
		found = store_link_remove(&a->st, name, STORE_LAYER, &d, &e);
		if (found <= 0)
			return found < 0 ? http_error(r, &e) :
				http_fail(r, ERR_BLOB_UNKNOWN, "blob unknown to registry");
		{
			struct events_target t = { NULL, &d, -1, name, NULL };
			h_event(a, r, "delete", &t);
		}
		return http_respond(r, 202, NULL, NULL, 0);
	}
	return blob_get(a, r, name, &d);
}

static void session_headers(struct http_req *r, const char *name,
			    const struct upload *u)
{
	long long off = (long long)upload_offset(u);

	http_header(r, "Location", "/v2/%s/blobs/uploads/%s", name, upload_id(u));
	http_header(r, "Docker-Upload-UUID", "%s", upload_id(u));
	/* registry:2 answers 0-0 for an empty session; clients expect it. */
	http_header(r, "Range", "0-%lld", off > 0 ? off - 1 : 0);
}

static int blob_created(struct http_req *r, const char *name,
			const struct digest *d)
{
	char ds[DIGEST_STR_MAX];

	digest_format(d, ds);
	http_header(r, "Location", "/v2/%s/blobs/%s", name, ds);
	http_header(r, "Docker-Content-Digest", "%s", ds);
	return http_respond(r, 201, NULL, NULL, 0);
}

/* The ?digest= of a request: 1 present (parsed into d), 0 absent, -1 after
 * answering with the error. */
static int query_digest(struct http_req *r, const char *key, struct digest *d)
{
	struct buf v = BUF_INIT;
	struct err e = ERR_INIT;
	int q = http_query(r, key, &v), rc = 1;

	if (q == 0) {
		rc = 0;
	} else if (q < 0 || digest_parse(v.s, d, &e) < 0) {
		if (q < 0)
			err_set(&e, ERR_DIGEST_INVALID, "malformed digest parameter");
		http_error(r, &e);
		rc = -1;
	}
	buf_free(&v);
	return rc;
}

/* Appends the body of the final request, commits, answers, closes u.
 * A session that this very request opened (a monolithic POST) is
 * removed when it fails: nobody else knows its id to resume it. */
static int finish(struct app *a, struct http_req *r, const char *name, struct upload *u,
		  const struct digest *d, int own_session)
{
	struct err e = ERR_INIT, ce = ERR_INIT;
	int rc;

	if (upload_append(u, http_read_body, r, r->content_length, &e) < 0 ||
	    upload_commit(u, d, a->cfg->policy, &e) < 0) {
		if (own_session)
			upload_cancel(u, &ce);
		rc = http_error(r, &e);
	} else {
		rc = blob_created(r, name, d);
	}
	upload_close(u);
	return rc;
}

struct may_pull {
	struct app *a;
	struct http_req *r;
};

static int may_pull(void *ctx, const char *repo)
{
	struct may_pull *mp = ctx;

	return access_allows(mp->a->cfg->access, mp->r->user, repo, ACCESS_PULL);
}

/* ?digest-algorithm= of a POST (distribution-spec after v1.1.1): the
 * algorithm the session hashes with as the bytes arrive, so a sha512
 * digest at the end costs no second read. A DIGEST_* bit, 0 absent, -1
 * after answering DIGEST_INVALID for one Berth does not know. */
static int digest_algorithm(struct http_req *r)
{
	struct buf v = BUF_INIT;
	int q = http_query(r, "digest-algorithm", &v), alg = 0;

	if (q > 0 && v.len && !strcmp(v.s, "sha256"))
		alg = DIGEST_SHA256;
	else if (q > 0 && v.len && !strcmp(v.s, "sha512"))
		alg = DIGEST_SHA512;
	else if (q != 0) {
		http_fail(r, ERR_DIGEST_INVALID, "unsupported digest algorithm "
			  "(sha256 and sha512 are)");
		alg = -1;
	}
	buf_free(&v);
	return alg;
}

int h_upload_start(struct app *a, struct http_req *r, const char *name)
{
	struct digest d, md;
	struct buf from = BUF_INIT;
	struct err e = ERR_INIT;
	struct upload *u;
	int has_digest, has_mount, q, alg;

	if (strcmp(r->method, "POST"))
		return http_route_fail(r, HTTP_NO_METHOD, "method not allowed on uploads");
	has_mount = query_digest(r, "mount", &md);
	if (has_mount < 0)
		return 0;
	if (has_mount) {
		q = http_query(r, "from", &from);
		if (q < 0 || (q > 0 && name_repo_valid(from.s, from.len, &e) < 0)) {
			if (q < 0)
				err_set(&e, ERR_NAME_INVALID, "invalid from parameter");
			buf_free(&from);
			return http_error(r, &e);
		}
		/* Never from a repository the user may not pull: that falls
		 * back to a plain session and reveals nothing. Without from
		 * (distribution-spec v1.1), from any repository the user may
		 * pull that links the blob. */
		struct may_pull mp = { a, r };
		int m = 0;
		if (q > 0 && may_pull(&mp, from.s))
			m = upload_mount(&a->st, name, from.s, &md, a->cfg->policy, &e);
		else if (q == 0)
			m = upload_mount_any(&a->st, name, &md, may_pull, &mp, a->cfg->policy, &e);
		buf_free(&from);
		if (m < 0)
			return http_error(r, &e);
		if (m > 0)
			return blob_created(r, name, &md);
	}
	has_digest = query_digest(r, "digest", &d);
	if (has_digest < 0)
		return 0;
	if ((alg = digest_algorithm(r)) < 0)
		return 0;
	if (upload_start(&a->st, name, (has_digest ? d.alg : 0) | alg, &u, &e) < 0)
		return http_error(r, &e);
	if (has_digest)
		return finish(a, r, name, u, &d, 1);
	session_headers(r, name, u);
	upload_close(u);
	http_header(r, "OCI-Chunk-Min-Length", "%u", UPLOAD_CHUNK_MIN);
	return http_respond(r, 202, NULL, NULL, 0);
}

static int upload_patch(struct http_req *r, const char *name, struct upload *u)
{
	const char *cr = http_param(r, "HTTP_CONTENT_RANGE");
	struct err e = ERR_INIT;
	long long a, b, expect = r->content_length;

	if (cr && *cr) {
		if (http_parse_content_range(cr, &a, &b) < 0 ||
		    a != (long long)upload_offset(u)) {
			session_headers(r, name, u);
			return http_fail(r, ERR_RANGE_INVALID,
					 "Content-Range does not continue the upload");
		}
		if (expect >= 0 && expect != b - a + 1)
			return http_fail(r, ERR_SIZE_INVALID,
					 "Content-Length does not match Content-Range");
		expect = b - a + 1;
	}
	if (upload_append(u, http_read_body, r, expect, &e) < 0 ||
	    upload_save(u, &e) < 0)
		return http_error(r, &e);
	session_headers(r, name, u);
	return http_respond(r, 202, NULL, NULL, 0);
}

int h_upload(struct app *a, struct http_req *r, const char *name, const char *id)
{
	struct upload *u;
	struct err e = ERR_INIT;
	struct digest d;
	int rc, q;

	if (!strcmp(r->method, "POST") && !strcmp(id, ""))
		return h_upload_start(a, r, name);
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD") &&
	    strcmp(r->method, "PATCH") && strcmp(r->method, "PUT") &&
	    strcmp(r->method, "DELETE"))
		return http_route_fail(r, HTTP_NO_METHOD, "method not allowed on uploads");
	if (!strcmp(r->method, "PUT")) {
		/* Check the digest before touching the session, so a
		 * malformed PUT leaves the upload usable. */
		q = query_digest(r, "digest", &d);
		if (q < 0)
			return 0;
		if (q == 0)
			return http_fail(r, ERR_DIGEST_INVALID,
					 "digest parameter is required");
	}
	if (upload_open(&a->st, name, id, &u, &e) < 0)
		return http_error(r, &e);
	if (!strcmp(r->method, "PUT")) {
		const char *cr = http_param(r, "HTTP_CONTENT_RANGE");
		long long ca, cb;
		/* A final chunk may name its range; it must continue the
		 * upload like a PATCH's. */
		if (cr && *cr && (http_parse_content_range(cr, &ca, &cb) < 0 ||
				  ca != (long long)upload_offset(u) ||
				  (r->content_length >= 0 &&
				   r->content_length != cb - ca + 1))) {
			session_headers(r, name, u);
			rc = http_fail(r, ERR_RANGE_INVALID,
				       "Content-Range does not continue the upload");
			upload_close(u);
			return rc;
		}
		return finish(a, r, name, u, &d, 0);
	}
	if (!strcmp(r->method, "PATCH")) {
		rc = upload_patch(r, name, u);
	} else if (!strcmp(r->method, "DELETE")) {
		rc = upload_cancel(u, &e) < 0 ? http_error(r, &e) :
						 http_respond(r, 204, NULL, NULL, 0);
	} else {
		session_headers(r, name, u);
		rc = http_respond(r, 204, NULL, NULL, 0);
	}
	upload_close(u);
	return rc;
}
