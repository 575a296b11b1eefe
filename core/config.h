/*
 * config: registry:2's config.yml, read with libyaml, plus the
 * REGISTRY_<PATH> environment overrides, plus Berth's own `berth:` section.
 *
 * Contract: config_load() either fills a complete struct config or fails
 * with a message naming the file, the line and the key. Every key that
 * registry:2 2.8 knows is accepted; the ones Berth does not act on (the web
 * server does TLS and listening; caches and health checks do not apply)
 * produce a warning line in *warnings. A key neither knows, a malformed
 * file, a bad value or a storage driver other than filesystem is an error,
 * so a typo never silently changes what the registry does.
 */
#ifndef BERTH_CONFIG_H
#define BERTH_CONFIG_H

#include <stddef.h>
#include "buf.h"
#include "err.h"

struct access;
struct policy;

enum config_webserver {
	CONFIG_WS_NGINX,   /* blob bytes via X-Accel-Redirect */
	CONFIG_WS_APACHE,  /* blob bytes via X-Sendfile */
	CONFIG_WS_NONE,    /* the worker streams blob bytes itself */
};

struct config_header {
	char *name;
	char **values;
	size_t nvalues;
};

struct config {
	char *rootdirectory;        /* storage.filesystem.rootdirectory */
	int delete_enabled;         /* storage.delete.enabled */
	int readonly;               /* storage.maintenance.readonly.enabled */
	int log_level;              /* 0 error .. 3 debug (log.level) */
	int accesslog_disabled;     /* log.accesslog.disabled */
	int log_json;               /* log.formatter: json (or logstash) */
	char *htpasswd_realm;       /* auth.htpasswd.realm */
	char *htpasswd_path;        /* auth.htpasswd.path */
	struct config_header *headers; /* http.headers */
	size_t nheaders;
	enum config_webserver webserver; /* berth.webserver */
	char *internal_prefix;      /* berth.internalprefix */
	char *logfile;              /* berth.logfile ("" = stderr) */
	char *rundirectory;         /* berth.rundirectory: metrics slots */
	long workers;               /* berth.workers */
	int trust_remote_user;      /* berth.trustremoteuser: the web server's
				     * REMOTE_USER names the user (only
				     * without auth.htpasswd) */
	long catalog_maxentries;    /* catalog.maxentries */
	double gc_grace;            /* storage.gc.graceperiod, seconds */
	int purge_enabled;          /* storage.maintenance.uploadpurging.enabled */
	double purge_age;           /* ...uploadpurging.age, seconds */
	double purge_interval;      /* ...uploadpurging.interval, seconds */
	int purge_dryrun;           /* ...uploadpurging.dryrun */
	struct access *access;      /* access (access.h); NULL: none */
	struct policy *policy;      /* policy (policy.h); NULL: none */
	int events_enabled;         /* berth.events.enabled (events.h) */
	char *events_dir;           /* berth.events.directory; "": in the store */
	int events_pulls;           /* berth.events.pulls: manifest GETs too */
	long events_maxsize;        /* berth.events.maxsize: rotate at, bytes */
	long events_keep;           /* berth.events.keep: rotated files kept */
};

enum { CONFIG_LOG_ERROR, CONFIG_LOG_WARN, CONFIG_LOG_INFO, CONFIG_LOG_DEBUG };

/* path may be NULL: defaults and environment only. env is an environ-style
 * array (NULL-terminated) so tests can pass their own. */
int config_load(const char *path, char *const *env, struct config *c,
		struct buf *warnings, struct err *e);
void config_free(struct config *c);
/* Writes every effective setting, one "key: value" per line. */
int config_dump(const struct config *c, struct buf *out);

#endif
