/*
 * log: one line per write(2), O_APPEND, text or JSON (see log.h).
 *
 * Every request logs a line, so the fixed parts are cheap: the second's
 * text and the pid are computed when they change, not per line, and the
 * text format is built with one buf_addf. JSON lines are built by jansson
 * (never by hand: paths and user names are client input).
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "../core/banned.h"

static int log_fd = 2;
static int log_json;
static char *log_path;         /* NULL: stderr, nothing to reopen */
static pid_t log_pid;          /* 0: ask again (a fork happened) */
static volatile sig_atomic_t log_reopen_due;

static void log_forked(void)
{
	log_pid = 0;
}

int log_open(const char *path, int json)
{
	int fd;

	log_json = json;
	pthread_atfork(NULL, NULL, log_forked);
	if (!path || !*path)
		return 0;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	log_path = strdup(path);
	if (!log_path) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	log_fd = fd;
	/* spawn-fcgi leaves stderr nowhere; whatever a library or a
	 * sanitizer has to say about a dying worker goes to the log. */
	dup2(log_fd, 2);
	return 0;
}

void log_reopen_soon(void)
{
	log_reopen_due = 1;
}

/* logrotate has moved the file away: a new one by the same path. When it
 * cannot be opened the old descriptor stays (lines still go somewhere). */
static void log_reopen(void)
{
	int fd;

	log_reopen_due = 0;
	if (!log_path)
		return;
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	dup2(fd, log_fd);
	dup2(fd, 2);
	close(fd);
}

/* "2026-12-02T18:13:23.123Z" */
static const char *log_when(void)
{
	static char when[40], full[64];
	static time_t when_sec = -1;
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != when_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		when_sec = ts.tv_sec;
	}
	snprintf(full, sizeof(full), "%s.%03ldZ", when, ts.tv_nsec / 1000000);
	return full;
}

static void log_write(const char *s, size_t len)
{
	if (log_reopen_due)
		log_reopen();
	if (write(log_fd, s, len) < 0) {
		/* Nowhere left to report a failing log; keep serving. */
	}
}

/* A JSON object as one line: its text and a newline in one write. */
static void log_write_json(json_t *o)
{
	char *s;
	size_t n;

	if (!o)
		return;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		return;
	n = strlen(s);
	s[n] = '\n'; /* json_dumps's NUL: the line is written by length */
	log_write(s, n + 1);
	free(s);
}

static void log_vline(const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;

	if (!log_pid)
		log_pid = getpid();
	if (log_json) {
		if (buf_vaddf(&b, fmt, ap) == 0)
			log_write_json(json_pack("{s:s, s:i, s:s%}", "time", log_when(),
						 "pid", (int)log_pid, "msg", b.s, b.len));
	} else {
		buf_addf(&b, "%s [%d] ", log_when(), (int)log_pid);
		buf_vaddf(&b, fmt, ap);
		buf_addch(&b, '\n');
		log_write(b.s, b.len);
	}
	buf_free(&b);
}

void log_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(fmt, ap);
	va_end(ap);
}

/* The web server's id for the request (nginx's $request_id, Apache's
 * mod_unique_id), or one of ours, so a JSON line can be matched with the
 * web server's own log. */
static const char *log_request_id(const struct http_req *r, char *out, size_t n)
{
	const char *id = http_param(r, "REQUEST_ID");
	unsigned char raw[12];
	size_t i;

	if (!id || !*id)
		id = http_param(r, "UNIQUE_ID");
	if (id && *id)
		return id;
	if (n < 2 * sizeof(raw) + 1 || RAND_bytes(raw, sizeof(raw)) != 1)
		return "-";
	for (i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return out;
}

static void log_access_json(const struct http_req *r, long long bytes, double secs)
{
	char idbuf[32];
	json_t *o;

	if (!log_pid)
		log_pid = getpid();
	o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:i, s:I, s:f, s:s?, s:s}",
		      "time", log_when(), "pid", (int)log_pid, "msg", "request",
		      "method", r->method, "path", r->path, "query", r->query,
		      "status", r->status, "bytes", (json_int_t)bytes,
		      "duration", secs, "user", r->user,
		      "request_id", log_request_id(r, idbuf, sizeof(idbuf)));
	log_write_json(o);
}

void log_request(const struct config *cfg, const struct http_req *r, double secs)
{
	long long bytes = r->bytes < 0 || r->head ? 0 : r->bytes;

	if (!cfg->accesslog_disabled) {
		if (log_json) {
			log_access_json(r, bytes, secs);
		} else {
			/* Milliseconds in integers: %f costs more than the
			 * rest of the line. */
			long long ms = (long long)(secs * 1000.0 + 0.5);

			log_line("%s %s%s%s %d %lld %lld.%03llds %s", r->method, r->path,
				 r->query[0] ? "?" : "", r->query, r->status, bytes,
				 ms / 1000, ms % 1000, r->user ? r->user : "-");
		}
	}
	if (r->status >= 500 && r->detail[0])
		log_line("error: %s %s: %s", r->method, r->path, r->detail);
	else if (r->errcode && cfg->log_level >= CONFIG_LOG_DEBUG)
		log_line("debug: %s %s: %s %s", r->method, r->path, r->errcode,
			 r->detail);
}
