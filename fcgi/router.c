/*
 * router: from a URL path to a handler. Names may contain slashes and even
 * the words "blobs" or "manifests", so the endpoint is recognised from the
 * end of the path and whatever precedes it is the repository name, which
 * must then pass the spec's grammar before any handler runs. The path is
 * used as sent (REQUEST_URI, not percent-decoded): an encoded character is
 * simply invalid in every part of the grammar.
 */
#include "handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "../core/access.h"
#include "../core/auth.h"
#include "../core/metrics.h"
#include "../core/name.h"
#include "../core/banned.h"

enum route_kind { R_NONE, R_BASE, R_CATALOG, R_TAGS, R_MANIFEST, R_UPLOAD, R_BLOB,
		  R_REFERRERS };

struct route {
	enum route_kind kind;
	char *name;        /* allocated */
	const char *arg;   /* points into the path */
};

static int ends_with(const char *s, size_t len, const char *suffix, size_t *cut)
{
	size_t n = strlen(suffix);

	if (len < n || memcmp(s + len - n, suffix, n))
		return 0;
	*cut = len - n;
	return 1;
}

/* No endpoint ends the path, but it may be a manifest reference with a
 * slash in it (/v2/<name>/manifests/a/b): an invalid tag, which the
 * manifest handler answers as the spec says, not an unknown URL. The last
 * "/manifests/" splits it, as names may hold that word too. */
static void manifest_fallback(const char *s, struct route *rt)
{
	const char *p, *hit = NULL;

	for (p = strstr(s, "/manifests/"); p; p = strstr(p + 1, "/manifests/"))
		hit = p;
	if (!hit || hit == s)
		return;
	rt->kind = R_MANIFEST;
	rt->arg = hit + strlen("/manifests/");
	rt->name = strndup(s, (size_t)(hit - s));
}

static void route_parse(const char *path, struct route *rt)
{
	const char *s, *slash;
	size_t len, cut, hlen;

	memset(rt, 0, sizeof(*rt));
	if (!strcmp(path, "/v2/") || !strcmp(path, "/v2")) {
		rt->kind = R_BASE;
		return;
	}
	if (strncmp(path, "/v2/", 4))
		return;
	if (!strcmp(path, "/v2/_catalog")) {
		rt->kind = R_CATALOG;
		return;
	}
	s = path + 4;
	len = strlen(s);
	if (ends_with(s, len, "/tags/list", &cut)) {
		rt->kind = R_TAGS;
		rt->name = strndup(s, cut);
		return;
	}
	slash = strrchr(s, '/');
	if (!slash)
		return;
	rt->arg = NULL;
	hlen = (size_t)(slash - s);
	rt->arg = slash + 1;
	if (ends_with(s, hlen, "/manifests", &cut))
		rt->kind = R_MANIFEST;
	else if (ends_with(s, hlen, "/blobs/uploads", &cut))
		rt->kind = R_UPLOAD;
	else if (ends_with(s, hlen, "/blobs", &cut))
		rt->kind = !strcmp(rt->arg, "uploads") ? R_UPLOAD : R_BLOB;
	else if (ends_with(s, hlen, "/referrers", &cut))
		rt->kind = R_REFERRERS;
	else
		return manifest_fallback(s, rt);
	if (rt->kind == R_UPLOAD && !strcmp(rt->arg, "uploads"))
		rt->arg = "";
	rt->name = strndup(s, cut);
}

/* 0 when the request may go on; otherwise it has been answered. */
static int check_auth(struct app *a, struct http_req *r)
{
	const char *h = http_param(r, "HTTP_AUTHORIZATION");
	unsigned char dec[1024];
	struct err e = ERR_INIT;
	char *colon;
	size_t n;
	int len;

	/* REMOTE_USER is not proof: nginx sets it from the client's own
	 * header even where auth_basic is off. It names the user only when
	 * the config says the web server checked it; else, without Berth's
	 * own check, the request is anonymous. */
	if (!a->cfg->htpasswd_path) {
		if (!a->cfg->trust_remote_user)
			r->user = NULL;
		return 0;
	}
	r->user = NULL;
	/* No credentials at all: an anonymous request, where the access
	 * section grants anonymous anything; wrong ones are always refused. */
	if ((!h || !*h) && access_anonymous_welcome(a->cfg->access))
		return 0;
	if (!h || strncmp(h, "Basic ", 6))
		goto deny;
	h += 6;
	n = strlen(h);
	if (n == 0 || n > 4 * (sizeof(dec) / 3) - 4 || n % 4)
		goto deny;
	len = EVP_DecodeBlock(dec, (const unsigned char *)h, (int)n);
	if (len < 0)
		goto deny;
	/* EVP_DecodeBlock counts '=' padding as zero bytes. */
	while (n && h[--n] == '=')
		len--;
	dec[len] = 0;
	if (memchr(dec, 0, (size_t)len) || !(colon = strchr((char *)dec, ':')))
		goto deny;
	*colon = 0;
	if (auth_check(a->cfg->htpasswd_path, (char *)dec, colon + 1, &e) < 0)
		goto deny;
	n = strlen((char *)dec);
	if (n >= sizeof(r->authuser))
		goto deny;
	memcpy(r->authuser, dec, n + 1);
	r->user = r->authuser;
	return 0;
deny:
	http_fail(r, ERR_UNAUTHORIZED, "authentication required");
	return -1;
}

/* The right a request needs on its repository (access.h). */
static enum access_right needed(enum route_kind kind, const char *m)
{
	switch (kind) {
	case R_UPLOAD:
		return ACCESS_PUSH;
	case R_MANIFEST:
		if (!strcmp(m, "PUT"))
			return ACCESS_PUSH;
		/* fall through */
	case R_BLOB:
		return !strcmp(m, "DELETE") ? ACCESS_DELETE : ACCESS_PULL;
	default:
		return ACCESS_PULL;
	}
}

/* Refused by the access section: anonymous requests are asked for
 * credentials (401), users told they may not (403). */
static int deny(struct http_req *r)
{
	if (!r->user)
		return http_fail(r, ERR_UNAUTHORIZED, "authentication required");
	return http_fail(r, ERR_DENIED, "requested access to the resource is denied");
}

static int is_write(const char *m)
{
	return !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH") ||
	       !strcmp(m, "DELETE");
}

/* What a request did to the store, for /metrics: read off its route and
 * its answer, so no handler has to know about counting. */
static void count(struct http_req *r, enum route_kind kind)
{
	struct buf mount = BUF_INIT;
	const char *m = r->method;

	if (kind == R_MANIFEST && !strcmp(m, "PUT") && r->status == 201) {
		metrics_add(METRICS_MANIFESTS_WRITTEN, 1);
	} else if (kind == R_UPLOAD && !strcmp(m, "POST")) {
		if (r->status == 202)
			metrics_add(METRICS_UPLOADS_STARTED, 1);
		else if (r->status == 201 && http_query(r, "mount", &mount) != 1)
			metrics_add(METRICS_BLOBS_WRITTEN, 1); /* monolithic, not a mount */
	} else if (kind == R_UPLOAD && !strcmp(m, "PUT") && r->status == 201) {
		metrics_add(METRICS_UPLOADS_COMPLETED, 1);
		metrics_add(METRICS_BLOBS_WRITTEN, 1);
	} else if (kind == R_UPLOAD && !strcmp(m, "DELETE") && r->status == 204) {
		metrics_add(METRICS_UPLOADS_CANCELLED, 1);
	}
	buf_free(&mount);
}

int router_handle(struct app *a, struct http_req *r)
{
	struct route rt;
	struct err e = ERR_INIT;
	int rc;

	/* A CORS preflight carries no credentials: answer it before auth,
	 * with the headers of http.headers (Access-Control-*), as registry:2
	 * does for the web UIs. */
	if (!strcmp(r->method, "OPTIONS"))
		return http_respond(r, 200, NULL, NULL, 0);
	if (!strcmp(r->path, "/healthz"))
		return h_health(a, r);
	if (!strcmp(r->path, "/metrics"))
		return h_metrics(a, r);
	if (check_auth(a, r) < 0)
		return 0;
	route_parse(r->path, &rt);
	if (rt.kind == R_NONE)
		return http_route_fail(r, HTTP_NO_ENDPOINT, "no such endpoint");
	if (rt.kind == R_BASE) {
		if (a->cfg->access && !r->user &&
		    !access_anonymous_welcome(a->cfg->access))
			return deny(r);
		if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
			return http_route_fail(r, HTTP_NO_METHOD, "method not allowed");
		return http_respond(r, 200, "application/json", "{}", 2);
	}
	if (rt.kind == R_CATALOG)
		return h_catalog(a, r);
	if (!rt.name)
		return http_fail(r, ERR_INTERNAL, "out of memory");
	if (name_repo_valid(rt.name, strlen(rt.name), &e) < 0) {
		free(rt.name);
		return http_error(r, &e);
	}
	if (!access_allows(a->cfg->access, r->user, rt.name, needed(rt.kind, r->method))) {
		free(rt.name);
		return deny(r);
	}
	if (a->cfg->readonly && is_write(r->method)) {
		free(rt.name);
		return http_fail(r, ERR_UNSUPPORTED,
				 "the registry is in read-only mode");
	}
	switch (rt.kind) {
	case R_TAGS:
		rc = h_tags(a, r, rt.name);
		break;
	case R_MANIFEST:
		rc = h_manifest(a, r, rt.name, rt.arg);
		break;
	case R_UPLOAD:
		rc = h_upload(a, r, rt.name, rt.arg);
		break;
	case R_REFERRERS:
		rc = h_referrers(a, r, rt.name, rt.arg);
		break;
	default:
		rc = h_blob(a, r, rt.name, rt.arg);
		break;
	}
	count(r, rt.kind);
	free(rt.name);
	return rc;
}
