/*
 * h_service: the endpoints that are about the service, not the registry:
 * GET /healthz (for load balancers, the compose healthcheck and the
 * systemd unit: no credentials) and GET /metrics (Prometheus; the shipped
 * sites let only loopback and an allow-list reach it).
 */
#include "handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/health.h"
#include "../core/metrics.h"
#include "../core/banned.h"

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int only_get(struct http_req *r)
{
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) {
		http_route_fail(r, HTTP_NO_METHOD, "method not allowed");
		return -1;
	}
	return 0;
}

/* A probe per worker every 1.5 s at most: a load balancer polling every
 * worker once a second costs one small file write per worker, not one
 * per poll. */
#define HEALTH_CACHE_SECONDS 1.5

int h_health(struct app *a, struct http_req *r)
{
	static struct health h;
	static double at = -1;
	double now = mono_now();
	json_t *doc;
	char *s;
	int rc, ok;

	if (only_get(r) < 0)
		return 0;
	if (at < 0 || now - at >= HEALTH_CACHE_SECONDS) {
		health_check(&a->st, a->cfg->readonly, &h);
		at = now;
	}
	ok = h.state == HEALTH_OK;
	doc = ok ? json_pack("{s:s}", "status", "ok")
		 : json_pack("{s:s, s:s}", "status", health_state_name(h.state),
			     "reason", h.reason);
	s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!s)
		return http_fail(r, ERR_INTERNAL, "out of memory");
	if (!ok)
		snprintf(r->detail, sizeof(r->detail), "%s", h.detail[0] ? h.detail : h.reason);
	http_header(r, "Cache-Control", "no-store");
	rc = http_respond(r, ok ? 200 : 503, "application/json", s, strlen(s));
	free(s);
	return rc;
}

int h_metrics(struct app *a, struct http_req *r)
{
	static const char unavailable[] =
		"{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":\"metrics are not available\"}]}";
	struct buf dir = BUF_INIT, out = BUF_INIT;
	struct err e = ERR_INIT;
	int rc;

	if (only_get(r) < 0)
		return 0;
	if (buf_addf(&dir, "%s/metrics", a->cfg->rundirectory) < 0 ||
	    metrics_render(dir.s, &out, &e) < 0) {
		snprintf(r->detail, sizeof(r->detail), "%s", e.detail[0] ? e.detail : e.msg);
		rc = http_respond(r, 503, "application/json", unavailable, sizeof(unavailable) - 1);
	} else {
		http_header(r, "Cache-Control", "no-store");
		rc = http_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", out.s,
				  out.len);
	}
	buf_free(&dir);
	buf_free(&out);
	return rc;
}
