/*
 * http: parameters, body and answers of one FastCGI request (libfcgi).
 * The status line is always explicit: mod_fcgid turns a 200 with a
 * Location header into an internal redirect, and nginx defaults are not
 * something to rely on either.
 */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "../core/strlist.h"
#include "../core/banned.h"

/* How each of core's error codes is presented: the distribution spec's
 * code string and the status it pairs with it. */
static const struct {
	const char *name;
	int status;
} codes[ERR__COUNT] = {
	[ERR_NONE] = { "UNKNOWN", 500 },
	[ERR_BLOB_UNKNOWN] = { "BLOB_UNKNOWN", 404 },
	[ERR_BLOB_UPLOAD_INVALID] = { "BLOB_UPLOAD_INVALID", 400 },
	[ERR_BLOB_UPLOAD_UNKNOWN] = { "BLOB_UPLOAD_UNKNOWN", 404 },
	[ERR_DIGEST_INVALID] = { "DIGEST_INVALID", 400 },
	[ERR_MANIFEST_BLOB_UNKNOWN] = { "MANIFEST_BLOB_UNKNOWN", 400 },
	[ERR_MANIFEST_INVALID] = { "MANIFEST_INVALID", 400 },
	[ERR_MANIFEST_UNKNOWN] = { "MANIFEST_UNKNOWN", 404 },
	[ERR_NAME_INVALID] = { "NAME_INVALID", 400 },
	[ERR_NAME_UNKNOWN] = { "NAME_UNKNOWN", 404 },
	[ERR_SIZE_INVALID] = { "SIZE_INVALID", 400 },
	[ERR_TAG_INVALID] = { "TAG_INVALID", 400 },
	[ERR_UNAUTHORIZED] = { "UNAUTHORIZED", 401 },
	[ERR_DENIED] = { "DENIED", 403 },
	[ERR_UNSUPPORTED] = { "UNSUPPORTED", 405 },
	[ERR_RANGE_INVALID] = { "BLOB_UPLOAD_INVALID", 416 },
	[ERR_TOO_LARGE] = { "MANIFEST_INVALID", 413 },
	[ERR_PAGINATION_NUMBER_INVALID] = { "PAGINATION_NUMBER_INVALID", 400 },
	[ERR_BUSY] = { "BLOB_UPLOAD_INVALID", 409 },
	[ERR_INTERNAL] = { "UNKNOWN", 500 },
};

int http_req_init(struct http_req *r, FCGX_Request *fr, const struct config *cfg)
{
	const char *uri, *cl, *q;
	char *end;

	memset(r, 0, sizeof(*r));
	r->fr = fr;
	r->cfg = cfg;
	buf_init(&r->headers);
	r->method = http_param(r, "REQUEST_METHOD");
	if (!r->method)
		r->method = "GET";
	r->head = !strcmp(r->method, "HEAD");
	uri = http_param(r, "REQUEST_URI");
	if (!uri || !*uri)
		uri = http_param(r, "DOCUMENT_URI");
	if (!uri)
		uri = "/";
	q = strchr(uri, '?');
	r->path = q ? strndup(uri, (size_t)(q - uri)) : strdup(uri);
	if (!r->path)
		return -1;
	r->query = http_param(r, "QUERY_STRING");
	if (!r->query)
		r->query = "";
	r->user = http_param(r, "REMOTE_USER");
	if (r->user && !*r->user)
		r->user = NULL;
	r->content_length = -1;
	cl = http_param(r, "CONTENT_LENGTH");
	if (cl && *cl) {
		long long v = strtoll(cl, &end, 10);
		if (*end == 0 && v >= 0)
			r->content_length = v;
	}
	return 0;
}

void http_req_free(struct http_req *r)
{
	free(r->path);
	buf_free(&r->headers);
}

const char *http_param(const struct http_req *r, const char *name)
{
	return FCGX_GetParam(name, r->fr->envp);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends the percent-decoded [v, end) to out: 0, -1 malformed. */
static int query_decode(const char *v, const char *end, struct buf *out)
{
	while (v < end) {
		char c = *v;
		if (c == '%') {
			int hi, lo;
			if (end - v < 3 || (hi = hexval(v[1])) < 0 ||
			    (lo = hexval(v[2])) < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			v += 3;
		} else {
			if (c == '+')
				c = ' ';
			v++;
		}
		if (c == 0 || buf_addch(out, c) < 0)
			return -1;
	}
	return 0;
}

/* Calls fn for each value of key in the query string, in order, until
 * fn answers non-zero: that answer, 0 after the last, -1 malformed. */
static int query_each(const struct http_req *r, const char *key,
		      int (*fn)(void *ctx, struct buf *v), void *ctx)
{
	const char *p = r->query;
	size_t klen = strlen(key);
	struct buf v = BUF_INIT;
	int rc = 0;

	while (*p && !rc) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len >= klen && !strncmp(p, key, klen) &&
		    (len == klen || p[klen] == '=')) {
			buf_reset(&v);
			rc = query_decode(p + klen + (len > klen), p + len, &v) < 0 ?
				-1 : fn(ctx, &v);
		}
		p += len;
		if (*p == '&')
			p++;
	}
	buf_free(&v);
	return rc;
}

static int query_first(void *ctx, struct buf *v)
{
	struct buf *out = ctx;

	return buf_add(out, v->s ? v->s : "", v->len) < 0 ? -1 : 1;
}

int http_query(const struct http_req *r, const char *key, struct buf *out)
{
	buf_reset(out);
	return query_each(r, key, query_first, out);
}

static int query_collect(void *ctx, struct buf *v)
{
	return strlist_add(ctx, v->s ? v->s : "") < 0 ? -1 : 0;
}

int http_query_all(const struct http_req *r, const char *key,
		   struct strlist *out)
{
	return query_each(r, key, query_collect, out) < 0 ? -1 : (int)out->n;
}

long http_read_body(void *req, char *buf, size_t len)
{
	struct http_req *r = req;
	int n;

	if (len > (1u << 30))
		len = 1u << 30;
	n = FCGX_GetStr(buf, (int)len, r->fr->in);
	if (n > 0) {
		r->received += n;
		return n;
	}
	if (FCGX_GetError(r->fr->in)) {
		r->body_failed = 1;
		return -1;
	}
	return 0;
}

int http_read_all(struct http_req *r, size_t max, struct buf *out)
{
	for (;;) {
		long n;
		if (buf_grow(out, 65536) < 0)
			return -1;
		n = http_read_body(r, out->s + out->len, 65536);
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		out->len += (size_t)n;
		out->s[out->len] = 0;
		if (out->len > max)
			return 1;
	}
}

void http_header(struct http_req *r, const char *name, const char *fmt, ...)
{
	va_list ap;

	buf_addf(&r->headers, "%s: ", name);
	va_start(ap, fmt);
	buf_vaddf(&r->headers, fmt, ap);
	va_end(ap);
	buf_adds(&r->headers, "\r\n");
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 416: return "Range Not Satisfiable";
	case 500: return "Internal Server Error";
	default: return "Unknown";
	}
}

static int send_head(struct http_req *r, int status, const char *ct,
		     long long length)
{
	FCGX_Stream *o = r->fr->out;
	size_t i, j;

	r->status = status;
	r->bytes = length;
	FCGX_FPrintF(o, "Status: %d %s\r\n", status, reason(status));
	for (i = 0; i < r->cfg->nheaders; i++)
		for (j = 0; j < r->cfg->headers[i].nvalues; j++)
			FCGX_FPrintF(o, "%s: %s\r\n", r->cfg->headers[i].name,
				     r->cfg->headers[i].values[j]);
	if (ct)
		FCGX_FPrintF(o, "Content-Type: %s\r\n", ct);
	if (length >= 0)
		FCGX_FPrintF(o, "Content-Length: %lld\r\n", length);
	if (r->headers.len)
		FCGX_PutStr(r->headers.s, (int)r->headers.len, o);
	FCGX_PutStr("\r\n", 2, o);
	return FCGX_GetError(o) ? -1 : 0;
}

int http_respond_head(struct http_req *r, int status, const char *content_type,
		      long long length)
{
	return send_head(r, status, content_type, length);
}

int http_write(struct http_req *r, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		int chunk = len > (1u << 30) ? 1 << 30 : (int)len;
		if (FCGX_PutStr(p, chunk, r->fr->out) != chunk)
			return -1;
		p += chunk;
		len -= (size_t)chunk;
	}
	return 0;
}

int http_respond(struct http_req *r, int status, const char *content_type,
		 const void *body, size_t len)
{
	if (send_head(r, status, len || content_type ? content_type : NULL,
		      (long long)len) < 0)
		return -1;
	if (r->head || !len)
		return 0;
	return http_write(r, body, len);
}

int http_respond_json(struct http_req *r, const char *content_type, json_t *doc)
{
	char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	int rc;

	json_decref(doc);
	if (!s)
		return http_fail(r, ERR_INTERNAL, "out of memory");
	rc = http_respond(r, 200, content_type, s, strlen(s));
	free(s);
	return rc;
}

/* Sends {"errors":[{"code":name,"message":msg}]} with status. */
static int send_error(struct http_req *r, int status, const char *name,
		      const char *msg, const char *detail)
{
	json_t *doc;
	char *s;
	int rc;

	doc = json_pack("{s:[{s:s,s:s}]}", "errors", "code", name, "message",
			msg[0] ? msg : name);
	s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	r->errcode = name;
	snprintf(r->detail, sizeof(r->detail), "%s", detail[0] ? detail : msg);
	if (status == 401 && r->cfg->htpasswd_realm)
		http_header(r, "WWW-Authenticate", "Basic realm=\"%s\"",
			    r->cfg->htpasswd_realm);
	rc = http_respond(r, status, "application/json; charset=utf-8",
			  s ? s : "", s ? strlen(s) : 0);
	free(s);
	return rc;
}

int http_error(struct http_req *r, const struct err *e)
{
	unsigned c = (unsigned)e->code;

	/* A code without an entry would be a bug of ours: answer it as the
	 * internal error it is, and log what it was. */
	if (c >= ERR__COUNT || !codes[c].name)
		c = ERR_INTERNAL;
	return send_error(r, codes[c].status, codes[c].name, e->msg, e->detail);
}

int http_fail(struct http_req *r, enum err_code code, const char *msg)
{
	struct err e = ERR_INIT;

	err_set(&e, code, "%s", msg);
	return http_error(r, &e);
}

int http_route_fail(struct http_req *r, enum http_route what, const char *msg)
{
	if (what == HTTP_NO_METHOD)
		return send_error(r, 405, "UNSUPPORTED", msg, "");
	return send_error(r, 404, "NOT_FOUND", msg, "");
}

/* Range "bytes=a-b", "bytes=a-", "bytes=-n" against size: 1 when a range
 * applies (start/end set), 0 when there is none, -1 when unsatisfiable. */
int http_parse_range(const char *h, long long size, long long *start,
		       long long *end)
{
	char *e;
	long long a, b;

	if (!h || strncmp(h, "bytes=", 6) || strchr(h, ','))
		return 0;
	h += 6;
	if (*h == '-') {
		b = strtoll(h + 1, &e, 10);
		if (*e || b <= 0)
			return -1;
		*start = b > size ? 0 : size - b;
		*end = size - 1;
		return size ? 1 : -1;
	}
	a = strtoll(h, &e, 10);
	if (e == h || *e != '-' || a < 0)
		return 0;
	h = e + 1;
	b = *h ? strtoll(h, &e, 10) : size - 1;
	if (*h && *e)
		return 0;
	if (a >= size || b < a)
		return -1;
	*start = a;
	*end = b >= size ? size - 1 : b;
	return 1;
}

/* Content-Range of a PATCH: "a-b" (or "bytes a-b"); -1 when malformed. */
int http_parse_content_range(const char *h, long long *a, long long *b)
{
	char *e;

	if (!strncmp(h, "bytes ", 6))
		h += 6;
	else if (!strncmp(h, "bytes=", 6))
		h += 6;
	if (*h < '0' || *h > '9')
		return -1;
	*a = strtoll(h, &e, 10);
	if (*e != '-' || e[1] < '0' || e[1] > '9')
		return -1;
	*b = strtoll(e + 1, &e, 10);
	if (*e && *e != '/')
		return -1;
	/* Far beyond any disk; keeps b - a + 1 from overflowing. */
	if (*a > (1LL << 60) || *b > (1LL << 60))
		return -1;
	return *b >= *a ? 0 : -1;
}

void http_bare_type(const char *ct, char *out, size_t n)
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
