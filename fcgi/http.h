/*
 * http: the FastCGI side of a request, and nothing of the registry.
 *
 * Contract: a struct http_req wraps one libfcgi request. The handler reads
 * parameters and the body through it and answers with exactly one of
 * http_respond()/http_error()/http_json() (headers are collected with
 * http_header() first). Every answer carries an explicit Status line, the
 * headers from http.headers in config.yml, and Content-Length. The request
 * log line is written by the caller from the fields status/bytes.
 */
#ifndef BERTH_HTTP_H
#define BERTH_HTTP_H

#include <fcgiapp.h>
#include <jansson.h>
#include <stddef.h>

#include "../core/buf.h"
#include "../core/config.h"
#include "../core/err.h"
#include "../core/strlist.h"

struct http_req {
	FCGX_Request *fr;
	const struct config *cfg;
	const char *method;
	char *path;          /* REQUEST_URI without the query, not decoded */
	const char *query;   /* raw QUERY_STRING */
	const char *user;    /* REMOTE_USER, or the user Berth checked */
	char authuser[128];  /* storage for a user Berth checked itself */
	long long content_length; /* -1 when absent (chunked) */
	int head;            /* HEAD: headers only */
	struct buf headers;  /* headers queued for the answer */
	int status;
	long long bytes;     /* body bytes announced */
	long long received;  /* request body bytes read */
	int body_failed;     /* reading the body failed (client gone) */
	const char *errcode; /* the spec code of an error answer, for the log */
	char detail[1024];   /* what failed inside, for the log, never sent */
};

int http_req_init(struct http_req *r, FCGX_Request *fr, const struct config *cfg);
void http_req_free(struct http_req *r);

/* A request parameter (HTTP_ACCEPT, CONTENT_TYPE...) or NULL. */
const char *http_param(const struct http_req *r, const char *name);
/* The percent-decoded value of query parameter key: 1 found, 0 absent,
 * -1 malformed (bad escape or NUL). */
int http_query(const struct http_req *r, const char *key, struct buf *out);
/* Every value of key, in order, added to out: how many out holds, -1
 * malformed. */
int http_query_all(const struct http_req *r, const char *key,
		   struct strlist *out);

/* Reads up to len body bytes: >0, 0 at the end, -1 on failure. Matches
 * upload_read_fn. */
long http_read_body(void *req, char *buf, size_t len);
/* Reads the whole body if it is at most max bytes: 0, 1 when it is
 * larger (reading stops), -1 on failure. */
int http_read_all(struct http_req *r, size_t max, struct buf *out);

void http_header(struct http_req *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sends the status, queued headers and body (omitted for HEAD, but its
 * length still announced unless content_length_override >= 0). */
int http_respond(struct http_req *r, int status, const char *content_type,
		 const void *body, size_t len);
/* Like http_respond for a HEAD-able resource whose body is not sent by
 * the worker: announces length, sends no body. */
int http_respond_head(struct http_req *r, int status, const char *content_type,
		      long long length);
/* Sends doc (taken over, even on failure) as a 200 of content_type. */
int http_respond_json(struct http_req *r, const char *content_type, json_t *doc);
/* Sends the spec's error body for e, with the status the spec pairs
 * with its code (the table in http.c); an ERR_INTERNAL is a 500 whose
 * detail goes to the log, never to the client. */
int http_error(struct http_req *r, const struct err *e);
int http_fail(struct http_req *r, enum err_code code, const char *msg);
/* Answers that are the front end's, not the registry's: the URL names no
 * endpoint (404 NOT_FOUND), or the endpoint lacks the method (405). */
enum http_route { HTTP_NO_ENDPOINT, HTTP_NO_METHOD };
int http_route_fail(struct http_req *r, enum http_route what, const char *msg);
/* The media type of a Content-Type value, without parameters or blanks,
 * into out ("" for none). */
void http_bare_type(const char *ct, char *out, size_t n);
/* Writes raw body bytes after http_respond_head(). */
int http_write(struct http_req *r, const void *data, size_t len);

/* A Range request header against a blob of size bytes: 1 with [start,
 * end] set, 0 when there is no (usable) range, -1 when unsatisfiable. */
int http_parse_range(const char *h, long long size, long long *start,
		     long long *end);
/* A PATCH's Content-Range ("a-b", "bytes a-b", optionally "/total"):
 * 0 with a <= b set, -1 when malformed. */
int http_parse_content_range(const char *h, long long *a, long long *b);

#endif
