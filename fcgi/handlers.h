/*
 * handlers: one function per endpoint of the distribution spec. Each maps
 * the request onto core/ calls and the result onto an answer; none touches
 * a file itself.
 *
 * Contract: the router has validated the repository name (and nothing
 * else); a handler validates the rest of its own input, answers exactly
 * once, and returns 0 (-1 only when the answer itself could not be sent).
 */
#ifndef BERTH_HANDLERS_H
#define BERTH_HANDLERS_H

#include "http.h"
#include "../core/store.h"

struct app {
	const struct config *cfg;
	struct store st;
	struct events *ev;  /* the event log (events.h); NULL: off */
	int supervised;   /* a supervisor of ours runs the workers */
};

struct events_target;
/* Records action on t for request r in the event log; a failure to
 * write it is logged, never the client's answer: the store has changed
 * already. */
void h_event(struct app *a, struct http_req *r, const char *action,
	     const struct events_target *t);

int h_blob(struct app *a, struct http_req *r, const char *name, const char *dg);
int h_upload_start(struct app *a, struct http_req *r, const char *name);
int h_upload(struct app *a, struct http_req *r, const char *name, const char *id);
int h_manifest(struct app *a, struct http_req *r, const char *name,
	       const char *ref);
int h_tags(struct app *a, struct http_req *r, const char *name);
int h_catalog(struct app *a, struct http_req *r);
int h_referrers(struct app *a, struct http_req *r, const char *name,
		const char *dg);

/* GET /healthz and GET /metrics: answered without credentials (the
 * sites restrict /metrics). */
int h_health(struct app *a, struct http_req *r);
int h_metrics(struct app *a, struct http_req *r);

/* Dispatches one request (routing, auth, read-only mode). */
int router_handle(struct app *a, struct http_req *r);

#endif
