/*
 * config: a table of every key registry:2 2.8 documents (and Berth's own),
 * each with a type and whether Berth acts on it, drives a walk of the
 * libyaml document tree. Keys whose values are free-form in registry:2
 * (notifications, middleware, storage drivers' parameters...) are typed
 * K_ANY: their subtree is accepted as a whole.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "access.h"
#include "policy.h"
#include "ynode.h"
#include "banned.h"

enum ktype { K_MAP, K_STR, K_BOOL, K_INT, K_DURATION, K_LEVEL, K_HEADERS,
	     K_ANY, K_DRIVER, K_WEBSERVER, K_ACCESS, K_POLICY, K_FORMATTER };

struct key {
	const char *path;
	enum ktype type;
	int acts;          /* Berth acts on it */
	const char *why;   /* for keys Berth ignores: what to do instead */
};

static const char ws_note[] = "the web server in front of Berth does this";

static const struct key keys[] = {
	{ "version", K_STR, 1, NULL },
	{ "log", K_MAP, 1, NULL },
	{ "log.level", K_LEVEL, 1, NULL },
	{ "log.formatter", K_FORMATTER, 1, NULL },
	{ "log.fields", K_ANY, 0, "Berth writes one plain line per request" },
	{ "log.hooks", K_ANY, 0, "no log hooks in Berth" },
	{ "log.accesslog", K_MAP, 1, NULL },
	{ "log.accesslog.disabled", K_BOOL, 1, NULL },
	{ "loglevel", K_LEVEL, 1, NULL },
	{ "storage", K_MAP, 1, NULL },
	{ "storage.filesystem", K_MAP, 1, NULL },
	{ "storage.filesystem.rootdirectory", K_STR, 1, NULL },
	{ "storage.filesystem.maxthreads", K_INT, 0, "each worker does one request at a time" },
	{ "storage.s3", K_DRIVER, 0, NULL },
	{ "storage.azure", K_DRIVER, 0, NULL },
	{ "storage.gcs", K_DRIVER, 0, NULL },
	{ "storage.swift", K_DRIVER, 0, NULL },
	{ "storage.oss", K_DRIVER, 0, NULL },
	{ "storage.inmemory", K_DRIVER, 0, NULL },
	{ "storage.delete", K_MAP, 1, NULL },
	{ "storage.delete.enabled", K_BOOL, 1, NULL },
	{ "storage.cache", K_ANY, 0, "Berth reads the filesystem directly, no cache" },
	{ "storage.maintenance", K_MAP, 1, NULL },
	{ "storage.maintenance.uploadpurging", K_MAP, 1, NULL },
	{ "storage.maintenance.uploadpurging.enabled", K_BOOL, 1, NULL },
	{ "storage.maintenance.uploadpurging.age", K_DURATION, 1, NULL },
	{ "storage.maintenance.uploadpurging.interval", K_DURATION, 1, NULL },
	{ "storage.maintenance.uploadpurging.dryrun", K_BOOL, 1, NULL },
	{ "storage.gc", K_MAP, 1, NULL },
	{ "storage.gc.graceperiod", K_DURATION, 1, NULL },
	{ "storage.maintenance.readonly", K_MAP, 1, NULL },
	{ "storage.maintenance.readonly.enabled", K_BOOL, 1, NULL },
	{ "storage.redirect", K_ANY, 0, "a filesystem store has nothing to redirect to" },
	{ "storage.tag", K_ANY, 0, "no tag lookup concurrency to tune" },
	{ "auth", K_MAP, 1, NULL },
	{ "auth.htpasswd", K_MAP, 1, NULL },
	{ "auth.htpasswd.realm", K_STR, 1, NULL },
	{ "auth.htpasswd.path", K_STR, 1, NULL },
	{ "auth.silly", K_ANY, 0, "authentication is the web server's job" },
	{ "auth.token", K_ANY, 0, "authentication is the web server's job" },
	{ "auth.none", K_ANY, 0, NULL },
	{ "http", K_MAP, 1, NULL },
	{ "http.addr", K_STR, 0, ws_note },
	{ "http.net", K_STR, 0, ws_note },
	{ "http.prefix", K_STR, 0, ws_note },
	{ "http.host", K_STR, 0, "Berth answers with relative Location headers" },
	{ "http.secret", K_STR, 0, "Berth keeps no client-side upload state to sign" },
	{ "http.relativeurls", K_BOOL, 0, "Berth always sends relative Location headers" },
	{ "http.draintimeout", K_DURATION, 0, "SIGTERM lets each request finish" },
	{ "http.tls", K_ANY, 0, ws_note },
	{ "http.debug", K_ANY, 0, ws_note },
	{ "http.headers", K_HEADERS, 1, NULL },
	{ "http.http2", K_ANY, 0, ws_note },
	{ "http.h2c", K_ANY, 0, ws_note },
	{ "notifications", K_ANY, 0, "Berth sends no notifications" },
	{ "redis", K_ANY, 0, "Berth keeps no cache" },
	{ "health", K_ANY, 0, "check GET /v2/ through the web server" },
	{ "proxy", K_ANY, 0, "Berth is not a pull-through cache" },
	{ "compatibility", K_ANY, 0, "schema1 is refused" },
	{ "validation", K_ANY, 0, "Berth validates every manifest" },
	{ "middleware", K_ANY, 0, "no middleware in Berth" },
	{ "reporting", K_ANY, 0, "no reporting in Berth" },
	{ "policy", K_POLICY, 1, NULL },
	{ "catalog", K_MAP, 1, NULL },
	{ "catalog.maxentries", K_INT, 1, NULL },
	{ "berth", K_MAP, 1, NULL },
	{ "berth.webserver", K_WEBSERVER, 1, NULL },
	{ "berth.internalprefix", K_STR, 1, NULL },
	{ "berth.logfile", K_STR, 1, NULL },
	{ "berth.workers", K_INT, 1, NULL },
	{ "berth.rundirectory", K_STR, 1, NULL },
	{ "berth.trustremoteuser", K_BOOL, 1, NULL },
	{ "berth.events", K_MAP, 1, NULL },
	{ "berth.events.enabled", K_BOOL, 1, NULL },
	{ "berth.events.directory", K_STR, 1, NULL },
	{ "berth.events.pulls", K_BOOL, 1, NULL },
	{ "berth.events.maxsize", K_INT, 1, NULL },
	{ "berth.events.keep", K_INT, 1, NULL },
	{ "access", K_ACCESS, 1, NULL },
};

static const struct key *find_key(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].path, path))
			return &keys[i];
	return NULL;
}

struct ctx {
	struct config *c;
	struct buf *warn;
	struct err *e;
	const char *file;
	yaml_document_t *doc;
};

static int fail(struct ctx *x, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct ctx *x, size_t line, const char *fmt, ...)
{
	char m[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	if (line)
		return err_set(x->e, ERR_INTERNAL, "%s:%zu: %s", x->file, line, m);
	return err_set(x->e, ERR_INTERNAL, "%s: %s", x->file, m);
}

static int parse_bool(const char *s, int *out)
{
	static const char *yes[] = { "true", "yes", "on", "y" };
	static const char *no[] = { "false", "no", "off", "n" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int parse_int(const char *s, long *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_level(const char *s, int *out)
{
	static const struct { const char *n; int v; } lv[] = {
		{ "panic", CONFIG_LOG_ERROR }, { "fatal", CONFIG_LOG_ERROR },
		{ "error", CONFIG_LOG_ERROR }, { "warn", CONFIG_LOG_WARN },
		{ "warning", CONFIG_LOG_WARN }, { "info", CONFIG_LOG_INFO },
		{ "debug", CONFIG_LOG_DEBUG }, { "trace", CONFIG_LOG_DEBUG },
	};
	size_t i;

	for (i = 0; i < sizeof(lv) / sizeof(lv[0]); i++)
		if (!strcasecmp(s, lv[i].n)) {
			*out = lv[i].v;
			return 0;
		}
	return -1;
}

static int set_str(char **dst, const char *v)
{
	char *c = strdup(v);

	if (!c)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}

/* Applies one scalar value to the key it belongs to. line 0: from env. */
static int apply(struct ctx *x, const struct key *k, const char *v, size_t line)
{
	struct config *c = x->c;
	long n;
	double d;
	int b;

	switch (k->type) {
	case K_BOOL:
		if (parse_bool(v, &b) < 0)
			return fail(x, line, "%s: '%s' is not a boolean", k->path, v);
		if (!strcmp(k->path, "storage.delete.enabled"))
			c->delete_enabled = b;
		else if (!strcmp(k->path, "storage.maintenance.readonly.enabled"))
			c->readonly = b;
		else if (!strcmp(k->path, "log.accesslog.disabled"))
			c->accesslog_disabled = b;
		else if (!strcmp(k->path, "storage.maintenance.uploadpurging.enabled"))
			c->purge_enabled = b;
		else if (!strcmp(k->path, "storage.maintenance.uploadpurging.dryrun"))
			c->purge_dryrun = b;
		else if (!strcmp(k->path, "berth.trustremoteuser"))
			c->trust_remote_user = b;
		else if (!strcmp(k->path, "berth.events.enabled"))
			c->events_enabled = b;
		else if (!strcmp(k->path, "berth.events.pulls"))
			c->events_pulls = b;
		return 0;
	case K_INT:
		if (parse_int(v, &n) < 0)
			return fail(x, line, "%s: '%s' is not a number", k->path, v);
		if (!strcmp(k->path, "catalog.maxentries")) {
			if (n < 1 || n > 100000)
				return fail(x, line, "%s: must be 1 to 100000",
					    k->path);
			c->catalog_maxentries = n;
		}
		if (!strcmp(k->path, "berth.workers")) {
			if (n < 1 || n > 1024)
				return fail(x, line, "%s: must be 1 to 1024",
					    k->path);
			c->workers = n;
		}
		if (!strcmp(k->path, "berth.events.maxsize")) {
			if (n < 4096 || n > (1L << 40))
				return fail(x, line, "%s: must be 4096 bytes to 1 TiB",
					    k->path);
			c->events_maxsize = n;
		}
		if (!strcmp(k->path, "berth.events.keep")) {
			if (n < 0 || n > 10000)
				return fail(x, line, "%s: must be 0 to 10000", k->path);
			c->events_keep = n;
		}
		return 0;
	case K_DURATION:
		if (ynode_duration(v, &d) < 0)
			return fail(x, line, "%s: '%s' is not a duration", k->path, v);
		if (!strcmp(k->path, "storage.gc.graceperiod"))
			c->gc_grace = d;
		else if (!strcmp(k->path, "storage.maintenance.uploadpurging.age"))
			c->purge_age = d;
		else if (!strcmp(k->path, "storage.maintenance.uploadpurging.interval")) {
			if (d < 1)
				return fail(x, line, "%s: must be at least 1s", k->path);
			c->purge_interval = d;
		}
		return 0;
	case K_LEVEL:
		if (parse_level(v, &c->log_level) < 0)
			return fail(x, line, "%s: '%s' is not a log level", k->path, v);
		return 0;
	case K_FORMATTER:
		/* registry:2's logstash is JSON with its own field names:
		 * shippers that take it take Berth's JSON lines too. */
		if (!strcmp(v, "text"))
			c->log_json = 0;
		else if (!strcmp(v, "json") || !strcmp(v, "logstash"))
			c->log_json = 1;
		else
			return fail(x, line, "%s: '%s' is not text, json or logstash",
				    k->path, v);
		return 0;
	case K_WEBSERVER:
		if (!strcmp(v, "nginx"))
			c->webserver = CONFIG_WS_NGINX;
		else if (!strcmp(v, "apache"))
			c->webserver = CONFIG_WS_APACHE;
		else if (!strcmp(v, "none"))
			c->webserver = CONFIG_WS_NONE;
		else
			return fail(x, line, "%s: '%s' is not nginx, apache or none",
				    k->path, v);
		return 0;
	case K_STR:
		if (!strcmp(k->path, "version")) {
			if (strcmp(v, "0.1"))
				return fail(x, line, "version: '%s' is not 0.1", v);
			return 0;
		}
		if (!strcmp(k->path, "storage.filesystem.rootdirectory")) {
			if (v[0] != '/')
				return fail(x, line, "%s: '%s' is not an absolute path",
					    k->path, v);
			return set_str(&c->rootdirectory, v) < 0 ?
				err_sys(x->e, "out of memory") : 0;
		}
		if ((!strcmp(k->path, "berth.rundirectory") ||
		     !strcmp(k->path, "berth.events.directory")) && v[0] != '/')
			return fail(x, line, "%s: '%s' is not an absolute path", k->path, v);
		if (!strcmp(k->path, "berth.internalprefix")) {
			if (v[0] != '/' || v[strlen(v) - 1] != '/')
				return fail(x, line, "%s: must begin and end with /",
					    k->path);
			return set_str(&c->internal_prefix, v) < 0 ?
				err_sys(x->e, "out of memory") : 0;
		}
		{
			char **dst = !strcmp(k->path, "auth.htpasswd.realm") ?
					     &c->htpasswd_realm :
				     !strcmp(k->path, "auth.htpasswd.path") ?
					     &c->htpasswd_path :
				     !strcmp(k->path, "berth.logfile") ?
					     &c->logfile :
				     !strcmp(k->path, "berth.rundirectory") ?
					     &c->rundirectory :
				     !strcmp(k->path, "berth.events.directory") ?
					     &c->events_dir : NULL;
			if (dst && set_str(dst, v) < 0)
				return err_sys(x->e, "out of memory");
		}
		return 0;
	default:
		return fail(x, line, "%s: expected a mapping, not a value", k->path);
	}
}

static int note_ignored(struct ctx *x, const struct key *k, size_t line)
{
	if (!k->why)
		return 0;
	if (line)
		return buf_addf(x->warn, "%s:%zu: %s is accepted but not used: %s\n",
				x->file, line, k->path, k->why);
	return buf_addf(x->warn, "environment: %s is accepted but not used: %s\n",
			k->path, k->why);
}

static int add_header(struct ctx *x, const char *name, yaml_node_t *seq,
		      size_t line)
{
	struct config *c = x->c;
	struct config_header *h, *arr;
	yaml_node_item_t *it;

	if (seq->type != YAML_SEQUENCE_NODE)
		return fail(x, line, "http.headers.%s: expected a list of values",
			    name);
	arr = realloc(c->headers, (c->nheaders + 1) * sizeof(*arr));
	if (!arr)
		return err_sys(x->e, "out of memory");
	c->headers = arr;
	h = &arr[c->nheaders++];
	memset(h, 0, sizeof(*h));
	if (!(h->name = strdup(name)))
		return err_sys(x->e, "out of memory");
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
	     it++) {
		yaml_node_t *v = yaml_document_get_node(x->doc, *it);
		char **vals;
		if (!v || v->type != YAML_SCALAR_NODE)
			return fail(x, v ? v->start_mark.line + 1 : line,
				    "http.headers.%s: values must be scalars", name);
		vals = realloc(h->values, (h->nvalues + 1) * sizeof(char *));
		if (!vals)
			return err_sys(x->e, "out of memory");
		h->values = vals;
		if (!(h->values[h->nvalues] = strdup((char *)v->data.scalar.value)))
			return err_sys(x->e, "out of memory");
		h->nvalues++;
	}
	return 0;
}

static int is_null(yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (n->data.scalar.length == 0 || !strcmp((char *)n->data.scalar.value, "~") ||
		!strcmp((char *)n->data.scalar.value, "null"));
}

static int walk_map(struct ctx *x, yaml_node_t *map, const char *prefix);

static int walk_value(struct ctx *x, const struct key *k, yaml_node_t *v,
		      const char *path, size_t line)
{
	if (!k->acts && note_ignored(x, k, line) < 0)
		return err_sys(x->e, "out of memory");
	switch (k->type) {
	case K_ANY:
		return 0;
	case K_DRIVER:
		return fail(x, line, "%s: Berth stores on a filesystem only "
			    "(use storage.filesystem)", path);
	case K_MAP:
		if (is_null(v))
			return 0;
		if (v->type != YAML_MAPPING_NODE)
			return fail(x, line, "%s: expected a mapping", path);
		return walk_map(x, v, path);
	case K_ACCESS:
		if (x->c->access)
			return fail(x, line, "access appears twice");
		return access_parse(x->doc, v, x->file, &x->c->access, x->e);
	case K_POLICY:
		if (x->c->policy)
			return fail(x, line, "policy appears twice");
		if (is_null(v))
			return 0;
		return policy_parse(x->doc, v, x->file, x->warn, &x->c->policy, x->e);
	case K_HEADERS: {
		yaml_node_pair_t *p;
		if (is_null(v))
			return 0;
		if (v->type != YAML_MAPPING_NODE)
			return fail(x, line, "%s: expected a mapping", path);
		for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
			yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
			yaml_node_t *vn = yaml_document_get_node(x->doc, p->value);
			if (!kn || !vn || kn->type != YAML_SCALAR_NODE)
				return fail(x, line, "%s: bad header entry", path);
			if (add_header(x, (char *)kn->data.scalar.value, vn,
				       kn->start_mark.line + 1) < 0)
				return -1;
		}
		return 0;
	}
	default:
		if (v->type != YAML_SCALAR_NODE)
			return fail(x, line, "%s: expected a single value", path);
		return apply(x, k, (char *)v->data.scalar.value, line);
	}
}

static int walk_map(struct ctx *x, yaml_node_t *map, const char *prefix)
{
	yaml_node_pair_t *p, *q;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(x->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(x->doc, p->value);
		struct buf path = BUF_INIT;
		const struct key *k;
		int r;

		if (!kn || !vn || kn->type != YAML_SCALAR_NODE)
			return fail(x, kn ? kn->start_mark.line + 1 : 0,
				    "keys must be plain names");
		for (q = map->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *o = yaml_document_get_node(x->doc, q->key);
			if (o && o->type == YAML_SCALAR_NODE &&
			    !strcmp((char *)o->data.scalar.value,
				    (char *)kn->data.scalar.value))
				return fail(x, kn->start_mark.line + 1,
					    "key %s appears twice",
					    (char *)kn->data.scalar.value);
		}
		if ((prefix[0] && buf_addf(&path, "%s.", prefix) < 0) ||
		    buf_adds(&path, (char *)kn->data.scalar.value) < 0)
			return err_sys(x->e, "out of memory");
		k = find_key(path.s);
		if (!k)
			r = fail(x, kn->start_mark.line + 1, "unknown key %s", path.s);
		else
			r = walk_value(x, k, vn, path.s, kn->start_mark.line + 1);
		buf_free(&path);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int load_file(struct ctx *x, const char *path)
{
	FILE *f = fopen(path, "rb");
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int r = -1;

	if (!f)
		return fail(x, 0, "cannot open: %s", strerror(errno));
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		return err_sys(x->e, "out of memory");
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		fail(x, parser.problem_mark.line + 1, "malformed YAML: %s",
		     parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		fclose(f);
		return -1;
	}
	x->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root)
		fail(x, 0, "the file is empty");
	else if (root->type != YAML_MAPPING_NODE)
		fail(x, root->start_mark.line + 1, "expected a mapping at the top");
	else
		r = walk_map(x, root, "");
	x->doc = NULL;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return r;
}

/* REGISTRY_STORAGE_DELETE_ENABLED=true -> storage.delete.enabled */
static int load_env(struct ctx *x, char *const *env)
{
	for (; env && *env; env++) {
		const char *eq = strchr(*env, '='), *v;
		struct buf path = BUF_INIT;
		const struct key *k;
		const char *p;
		int r = 0;

		if (strncmp(*env, "REGISTRY_", 9) || !eq)
			continue;
		v = eq + 1;
		for (p = *env + 9; p < eq; p++)
			if (buf_addch(&path, *p == '_' ? '.' :
				      (char)tolower((unsigned char)*p)) < 0)
				return err_sys(x->e, "out of memory");
		k = find_key(path.s);
		/* REGISTRY_HTTP_TLS_CERTIFICATE: inside a free-form section. */
		while (!k) {
			char *dot = strrchr(path.s, '.');
			if (!dot)
				break;
			buf_truncate(&path, (size_t)(dot - path.s));
			k = find_key(path.s);
			if (k && k->type != K_ANY && k->type != K_DRIVER)
				k = NULL;
			if (k)
				break;
		}
		x->file = "environment";
		if (!k) {
			r = buf_addf(x->warn, "environment: ignoring unknown "
				     "variable %.*s\n", (int)(eq - *env), *env);
		} else if (!strcmp(path.s, "storage")) {
			if (strcmp(v, "filesystem"))
				r = fail(x, 0, "REGISTRY_STORAGE=%s: Berth stores on "
					 "a filesystem only", v);
		} else if (!strcmp(path.s, "auth")) {
			if (strcmp(v, "htpasswd"))
				r = buf_addf(x->warn, "environment: REGISTRY_AUTH=%s "
					     "is not used: authentication is the "
					     "web server's job\n", v);
		} else if (k->type == K_DRIVER) {
			r = fail(x, 0, "%s: Berth stores on a filesystem only", path.s);
		} else if (k->type == K_ACCESS || k->type == K_POLICY) {
			r = fail(x, 0, "%.*s: the %s section is read from "
				 "config.yml only", (int)(eq - *env), *env, k->path);
		} else if (k->type == K_MAP || k->type == K_ANY ||
			   k->type == K_HEADERS) {
			r = note_ignored(x, k, 0);
		} else {
			if (!k->acts)
				r = note_ignored(x, k, 0);
			if (r == 0)
				r = apply(x, k, v, 0);
		}
		buf_free(&path);
		if (r < 0)
			return -1;
	}
	return 0;
}

int config_load(const char *path, char *const *env, struct config *c,
		struct buf *warnings, struct err *e)
{
	struct ctx x = { c, warnings, e, path ? path : "defaults", NULL };

	memset(c, 0, sizeof(*c));
	c->log_level = CONFIG_LOG_INFO;
	c->webserver = CONFIG_WS_NGINX;
	c->workers = 4;
	c->catalog_maxentries = 1000;
	c->gc_grace = 3600;
	/* registry:2's defaults for upload purging. */
	c->purge_enabled = 1;
	c->purge_age = 168 * 3600;
	c->purge_interval = 24 * 3600;
	c->events_enabled = 1;
	c->events_maxsize = 64L << 20;
	c->events_keep = 8;
	if (set_str(&c->rootdirectory, "/var/lib/registry") < 0 ||
	    set_str(&c->events_dir, "") < 0 ||
	    set_str(&c->internal_prefix, "/_berth/") < 0 ||
	    set_str(&c->logfile, "") < 0 ||
	    set_str(&c->rundirectory, "/run/berth") < 0) {
		config_free(c);
		return err_sys(e, "out of memory");
	}
	if ((path && load_file(&x, path) < 0) || load_env(&x, env) < 0) {
		config_free(c);
		return -1;
	}
	/* Legal, but seldom what was meant: say so at start-up. */
	if (c->access && !c->htpasswd_path && !c->trust_remote_user &&
	    buf_adds(warnings, "access: there is no auth.htpasswd and "
		     "berth.trustremoteuser is false, so every request is "
		     "anonymous and gets only what anonymous is granted\n") < 0)
		goto oom;
	if (c->htpasswd_path && c->trust_remote_user &&
	    buf_adds(warnings, "berth.trustremoteuser is not used: Berth checks "
		     "auth.htpasswd itself\n") < 0)
		goto oom;
	return 0;
oom:
	config_free(c);
	return err_sys(e, "out of memory");
}

void config_free(struct config *c)
{
	size_t i, j;

	for (i = 0; i < c->nheaders; i++) {
		for (j = 0; j < c->headers[i].nvalues; j++)
			free(c->headers[i].values[j]);
		free(c->headers[i].values);
		free(c->headers[i].name);
	}
	free(c->headers);
	free(c->rootdirectory);
	free(c->htpasswd_realm);
	free(c->htpasswd_path);
	free(c->internal_prefix);
	free(c->logfile);
	free(c->rundirectory);
	free(c->events_dir);
	access_free(c->access);
	policy_free(c->policy);
	memset(c, 0, sizeof(*c));
}

int config_dump(const struct config *c, struct buf *out)
{
	static const char *levels[] = { "error", "warn", "info", "debug" };
	static const char *ws[] = { "nginx", "apache", "none" };
	size_t i, j;
	int r = 0;

	r |= buf_addf(out, "storage.filesystem.rootdirectory: %s\n", c->rootdirectory);
	r |= buf_addf(out, "storage.delete.enabled: %s\n",
		      c->delete_enabled ? "true" : "false");
	r |= buf_addf(out, "storage.maintenance.readonly.enabled: %s\n",
		      c->readonly ? "true" : "false");
	r |= buf_addf(out, "log.level: %s\n", levels[c->log_level]);
	r |= buf_addf(out, "log.formatter: %s\n", c->log_json ? "json" : "text");
	r |= buf_addf(out, "log.accesslog.disabled: %s\n",
		      c->accesslog_disabled ? "true" : "false");
	r |= buf_addf(out, "auth.htpasswd.realm: %s\n",
		      c->htpasswd_realm ? c->htpasswd_realm : "");
	r |= buf_addf(out, "auth.htpasswd.path: %s\n",
		      c->htpasswd_path ? c->htpasswd_path : "");
	for (i = 0; i < c->nheaders; i++) {
		r |= buf_addf(out, "http.headers.%s:", c->headers[i].name);
		for (j = 0; j < c->headers[i].nvalues; j++)
			r |= buf_addf(out, " [%s]", c->headers[i].values[j]);
		r |= buf_adds(out, "\n");
	}
	r |= buf_addf(out, "storage.gc.graceperiod: %gs\n", c->gc_grace);
	r |= buf_addf(out, "storage.maintenance.uploadpurging: enabled=%s age=%gs interval=%gs dryrun=%s\n",
		      c->purge_enabled ? "true" : "false", c->purge_age,
		      c->purge_interval, c->purge_dryrun ? "true" : "false");
	r |= buf_addf(out, "catalog.maxentries: %ld\n", c->catalog_maxentries);
	r |= buf_addf(out, "berth.webserver: %s\n", ws[c->webserver]);
	r |= buf_addf(out, "berth.internalprefix: %s\n", c->internal_prefix);
	r |= buf_addf(out, "berth.logfile: %s\n", c->logfile[0] ? c->logfile : "(stderr)");
	r |= buf_addf(out, "berth.workers: %ld\n", c->workers);
	r |= buf_addf(out, "berth.rundirectory: %s\n", c->rundirectory);
	r |= buf_addf(out, "berth.trustremoteuser: %s\n",
		      c->trust_remote_user ? "true" : "false");
	r |= buf_addf(out, "berth.events: enabled=%s directory=%s pulls=%s maxsize=%ld keep=%ld\n",
		      c->events_enabled ? "true" : "false",
		      c->events_dir[0] ? c->events_dir : "(in the store)",
		      c->events_pulls ? "true" : "false", c->events_maxsize, c->events_keep);
	if (c->access) {
		size_t nr, ng;
		access_counts(c->access, &nr, &ng);
		r |= buf_addf(out, "access: %zu repository entries, %zu groups\n", nr, ng);
	} else {
		r |= buf_adds(out, "access: (none: every authenticated user may do everything)\n");
	}
	r |= buf_addf(out, "policy.immutable: %zu rules\n",
		      policy_immutable_count(c->policy));
	r |= buf_addf(out, "policy.quota: %zu rules\n", policy_quota_count(c->policy));
	r |= buf_addf(out, "policy.retention: %zu rules, ", policy_retention_count(c->policy));
	if (policy_retention_interval(c->policy) > 0)
		r |= buf_addf(out, "applied every %.0fs by the supervisor\n",
			      policy_retention_interval(c->policy));
	else
		r |= buf_adds(out, "applied by `berth gc --retention` only\n");
	return r ? -1 : 0;
}
