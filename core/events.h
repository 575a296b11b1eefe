/*
 * events: the registry's record of what happened to its images, one JSON
 * line per event in registry:2's notification envelope (id, timestamp,
 * action, target {mediaType, digest, size, length, repository, tag},
 * request {id, addr, host, method, useragent}, actor {name}, source
 * {addr}), for auditors and for followers that deliver it elsewhere.
 *
 *   <directory>/events-<host>.jsonl                      being written
 *   <directory>/events-<host>-<UTC time>-<pid>.jsonl     rotated
 *
 * <directory> is berth.events.directory, else the store's _berth/events
 * (store.h). Each host writes its own file: O_APPEND makes one write() a
 * whole line among the processes of one host, but not among NFS clients,
 * which each append at the size they last saw. Every event is one
 * open(O_APPEND), one write() of the whole line, and for a push or a
 * delete an fdatasync before the client's answer, so an acknowledged
 * push is on record; pulls are not synced (they change nothing). When
 * the file would pass berth.events.maxsize it is renamed to a rotated
 * name first and the oldest rotated files of the host beyond
 * berth.events.keep are removed. A line cut short by a full disk is
 * ended there, so it never joins the next one; readers skip it.
 *
 * Contract: events_emit() answers -1 with e filled when the line could not
 * be written; the caller decides (a request that already changed the
 * store logs it and answers as it would have). A NULL struct events (off)
 * takes every call and does nothing. events_read() gives every line of
 * every host, merged by timestamp.
 */
#ifndef BERTH_EVENTS_H
#define BERTH_EVENTS_H

#include <stddef.h>
#include "config.h"
#include "digest.h"
#include "err.h"
#include "store.h"
#include "strlist.h"

struct events;

struct events_target {
	const char *media_type;       /* may be NULL */
	const struct digest *digest;  /* may be NULL (not known) */
	long long size;               /* < 0: not known */
	const char *repository;       /* may be NULL (a blob gc removed) */
	const char *tag;              /* may be NULL */
};

struct events_request {
	const char *id, *addr, *host, *method, *useragent;  /* each may be NULL */
};

/* NULL in *out (and 0) when berth.events.enabled is false. */
int events_open(struct events **out, const struct store *st,
		const struct config *c, struct err *e);
void events_close(struct events *ev);
/* Whether manifest pulls are recorded (berth.events.pulls). */
int events_pulls(const struct events *ev);
/* action: "push", "pull" or "delete"; rq NULL for the CLI's own. */
int events_emit(struct events *ev, const char *action,
		const struct events_target *t, const struct events_request *rq,
		const char *actor, struct err *e);
/* The "delete" event of what gc or retention removed (no request). One
 * that cannot be written is handed to say (may be NULL) as a line, and
 * the caller goes on: what it records has happened already. ev NULL:
 * nothing. */
void events_removal(struct events *ev, const struct events_target *t,
		    const char *actor, void (*say)(void *ctx, const char *line),
		    void *ctx);

/* The directory events are written to (dir is reset first). */
int events_dir(const struct store *st, const struct config *c,
	       struct buf *dir, struct err *e);
/* Where a reader of dir has got to: per file (by inode, so a rotated
 * file is still the one read so far), the bytes read. */
struct events_cursor {
	struct events_seen *seen;
	size_t n;
};
#define EVENTS_CURSOR_INIT { NULL, 0 }
/* The complete lines written to the files of dir since the cursor's last
 * call (all of them at the first), whose timestamp is not before since
 * (NULL: any), merged oldest first into out: 0, -1. A missing dir holds
 * no events. Lines that are not events (no timestamp) are skipped. */
int events_read(const char *dir, const char *since, struct events_cursor *cur,
		struct strlist *out, struct err *e);
void events_cursor_free(struct events_cursor *cur);

#endif
