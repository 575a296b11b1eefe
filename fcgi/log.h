/*
 * log: berth-fcgi's log file, shared by the supervisor and every worker.
 *
 * Contract: log_open() once, before the pool forks; then any process
 * writes lines with log_line() (a message) or log_request() (the access
 * line of one request, then what went wrong inside). Each line is one
 * write(2) to a file opened O_APPEND, so lines of all processes stay
 * whole and in order. The format is log.formatter: "text" (the default,
 * one plain line) or "json" (one JSON object per line, for log shippers).
 *
 * Reopening for logrotate: log_reopen_soon() is async-signal-safe (a
 * signal handler calls it); the next line written reopens the file by its
 * path first. Writing a log line never fails the caller: a log that
 * cannot be written is not a reason to refuse a push.
 */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

#include "http.h"

/* path NULL or "": stderr (nothing to reopen). Returns 0, or -1 with
 * errno when the file cannot be opened. */
int log_open(const char *path, int json);
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The access line (unless log.accesslog.disabled), then the inside story
 * of a 5xx always (it is never sent to the client), and of a refused
 * request at log.level debug. secs: how long the request took. */
void log_request(const struct config *cfg, const struct http_req *r, double secs);
void log_reopen_soon(void);

#endif
