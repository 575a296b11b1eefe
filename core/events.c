/*
 * events: the event files of events.h. The line is built whole with
 * jansson, then written with one write() to a file opened O_APPEND for
 * that event alone, so no descriptor outlives a rotation by another
 * process of the host.
 */
#include "events.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "fsutil.h"
#include "uuid.h"
#include "banned.h"

struct events {
	char *dir;
	char host[64];
	char *current;   /* <dir>/events-<host>.jsonl */
	int pulls;
	long long maxsize;
	long keep;
};

struct events_seen {
	dev_t dev;
	ino_t ino;
	off_t done;
};

int events_dir(const struct store *st, const struct config *c,
	       struct buf *dir, struct err *e)
{
	buf_reset(dir);
	if (c->events_dir && c->events_dir[0])
		return buf_adds(dir, c->events_dir) < 0 ? err_sys(e, "out of memory") : 0;
	return store_berth_path(st, "events", dir, e);
}

int events_open(struct events **out, const struct store *st,
		const struct config *c, struct err *e)
{
	struct events *ev;
	struct buf dir = BUF_INIT, cur = BUF_INIT;
	char *h;

	*out = NULL;
	if (!c->events_enabled)
		return 0;
	if (!(ev = calloc(1, sizeof(*ev))))
		return err_sys(e, "out of memory");
	/* The host's name makes its file; anything a file name should not
	 * hold becomes '_'. */
	if (gethostname(ev->host, sizeof(ev->host) - 1) < 0 || !ev->host[0])
		snprintf(ev->host, sizeof(ev->host), "localhost");
	for (h = ev->host; *h; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		      (*h >= '0' && *h <= '9') || *h == '.' || *h == '-'))
			*h = '_';
	ev->pulls = c->events_pulls;
	ev->maxsize = c->events_maxsize;
	ev->keep = c->events_keep;
	if (events_dir(st, c, &dir, e) < 0 ||
	    buf_addf(&cur, "%s/events-%s.jsonl", dir.s, ev->host) < 0) {
		if (!e->msg[0])
			err_sys(e, "out of memory");
		buf_free(&dir);
		buf_free(&cur);
		free(ev);
		return -1;
	}
	ev->dir = buf_detach(&dir, NULL);
	ev->current = buf_detach(&cur, NULL);
	if (!ev->dir || !ev->current) {
		events_close(ev);
		return err_sys(e, "out of memory");
	}
	*out = ev;
	return 0;
}

void events_close(struct events *ev)
{
	if (!ev)
		return;
	free(ev->dir);
	free(ev->current);
	free(ev);
}

int events_pulls(const struct events *ev)
{
	return ev && ev->pulls;
}

/* RFC 3339 in UTC with nanoseconds: fixed width, so timestamps sort as
 * strings. */
static void stamp(char out[40])
{
	struct timespec ts;
	struct tm tm;
	char sec[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 40, "%s.%09ldZ", sec, ts.tv_nsec);
}

static int set_str(json_t *o, const char *k, const char *v)
{
	return v ? json_object_set_new(o, k, json_string(v)) : 0;
}

/* The event's JSON, or NULL with e set. */
static char *build_line(const char *action, const struct events_target *t,
			const struct events_request *rq, const char *actor,
			const char *host, struct err *e)
{
	char id[UUID_LEN + 1], ts[40], ds[DIGEST_STR_MAX];
	json_t *ev = json_object(), *tg = json_object(), *req = json_object(),
	       *ac = json_object(), *src = json_object();
	char *s = NULL;
	int r = 0;

	if (!ev || !tg || !req || !ac || !src) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (uuid_new(id, e) < 0)
		goto out;
	stamp(ts);
	r |= set_str(ev, "id", id);
	r |= set_str(ev, "timestamp", ts);
	r |= set_str(ev, "action", action);
	r |= set_str(tg, "mediaType", t->media_type);
	if (t->digest) {
		digest_format(t->digest, ds);
		r |= set_str(tg, "digest", ds);
	}
	if (t->size >= 0) {
		r |= json_object_set_new(tg, "size", json_integer(t->size));
		r |= json_object_set_new(tg, "length", json_integer(t->size));
	}
	r |= set_str(tg, "repository", t->repository);
	r |= set_str(tg, "tag", t->tag);
	if (rq) {
		r |= set_str(req, "id", rq->id);
		r |= set_str(req, "addr", rq->addr);
		r |= set_str(req, "host", rq->host);
		r |= set_str(req, "method", rq->method);
		r |= set_str(req, "useragent", rq->useragent);
	}
	r |= set_str(ac, "name", actor);
	r |= set_str(src, "addr", host);
	r |= json_object_set(ev, "target", tg);
	r |= json_object_set(ev, "request", req);
	r |= json_object_set(ev, "actor", ac);
	r |= json_object_set(ev, "source", src);
	if (r == 0)
		s = json_dumps(ev, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!s)
		err_sys(e, "out of memory");
out:
	json_decref(ev);
	json_decref(tg);
	json_decref(req);
	json_decref(ac);
	json_decref(src);
	return s;
}

static int rotated_name(const char *name, const char *host)
{
	size_t n = strlen(host);

	return !strncmp(name, "events-", 7) && !strncmp(name + 7, host, n) &&
	       name[7 + n] == '-' && strlen(name) > 6 &&
	       !strcmp(name + strlen(name) - 6, ".jsonl");
}

/* The host's rotated files beyond keep, oldest first (their names sort by
 * time), go. A failure only leaves a file more. */
static void prune(struct events *ev)
{
	struct strlist l = STRLIST_INIT, mine = STRLIST_INIT;
	struct err ie = ERR_INIT;
	struct buf p = BUF_INIT;
	size_t i;

	if (fs_list(ev->dir, FS_LIST_NODOT, &l, &ie) <= 0)
		goto out;
	for (i = 0; i < l.n; i++)
		if (rotated_name(l.items[i], ev->host) && strlist_add(&mine, l.items[i]) < 0)
			goto out;
	strlist_sort(&mine);
	for (i = 0; i + (size_t)ev->keep < mine.n; i++) {
		buf_reset(&p);
		if (buf_addf(&p, "%s/%s", ev->dir, mine.items[i]) == 0)
			unlink(p.s);
	}
out:
	buf_free(&p);
	strlist_free(&l);
	strlist_free(&mine);
}

static int rotate(struct events *ev, struct err *e)
{
	struct buf to = BUF_INIT;
	char ts[40];
	int r = 0;

	stamp(ts);
	if (buf_addf(&to, "%s/events-%s-%s-%ld.jsonl", ev->dir, ev->host, ts,
		     (long)getpid()) < 0)
		return err_sys(e, "out of memory");
	/* Another process of this host may have rotated it a moment ago:
	 * then there is nothing to rename, and the new file is small. */
	if (rename(ev->current, to.s) < 0 && errno != ENOENT)
		r = err_sys(e, "rename %s", ev->current);
	buf_free(&to);
	if (r == 0)
		prune(ev);
	return r;
}

int events_emit(struct events *ev, const char *action,
		const struct events_target *t, const struct events_request *rq,
		const char *actor, struct err *e)
{
	char *line;
	size_t len;
	struct stat sb;
	ssize_t n;
	int fd = -1, r = -1, tries;

	if (!ev)
		return 0;
	if (!(line = build_line(action, t, rq, actor, ev->host, e)))
		return -1;
	len = strlen(line);
	line[len++] = '\n';   /* json_dumps left room: it ends with NUL */
	for (tries = 0; tries < 2; tries++) {
		fd = open(ev->current, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 && errno == ENOENT && tries == 0) {
			if (fs_mkdirs(ev->dir, e) < 0)
				goto out;
			continue;
		}
		if (fd < 0) {
			err_sys(e, "open %s", ev->current);
			goto out;
		}
		if (fstat(fd, &sb) < 0) {
			err_sys(e, "fstat %s", ev->current);
			goto out;
		}
		if (tries == 0 && sb.st_size > 0 &&
		    (long long)sb.st_size + (long long)len > ev->maxsize) {
			close(fd);
			fd = -1;
			if (rotate(ev, e) < 0)
				goto out;
			continue;
		}
		break;
	}
	if (fd < 0) {
		err_sys(e, "open %s", ev->current);
		goto out;
	}
	n = write(fd, line, len);
	if (n != (ssize_t)len) {
		int saved = n < 0 ? errno : ENOSPC;
		/* A short line must not join the next one: end it, and
		 * readers skip it (it is no JSON). Truncating it away could
		 * cut a line another process appended meanwhile. */
		if (n > 0 && write(fd, "\n", 1) != 1)
			saved = errno;
		errno = saved;
		err_sys(e, "write %s", ev->current);
		goto out;
	}
	/* A push or a delete is on record before it is acknowledged. */
	if (strcmp(action, "pull") && fdatasync(fd) < 0) {
		err_sys(e, "fdatasync %s", ev->current);
		goto out;
	}
	r = 0;
out:
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = err_sys(e, "close %s", ev->current);
	free(line);
	return r;
}

/* ---- reading ---- */

struct stamped {
	char ts[40];
	char *line;
	size_t order;
};

static int by_time(const void *a, const void *b)
{
	const struct stamped *x = a, *y = b;
	int c = strcmp(x->ts, y->ts);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static struct events_seen *seen_of(struct events_cursor *cur, const struct stat *sb)
{
	struct events_seen *v;
	size_t i;

	for (i = 0; i < cur->n; i++)
		if (cur->seen[i].dev == sb->st_dev && cur->seen[i].ino == sb->st_ino)
			return &cur->seen[i];
	v = realloc(cur->seen, (cur->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	cur->seen = v;
	v = &cur->seen[cur->n++];
	v->dev = sb->st_dev;
	v->ino = sb->st_ino;
	v->done = 0;
	return v;
}

/* The complete lines of path after the cursor, added to *all. */
static int read_file(const char *path, const char *since, struct events_cursor *cur,
		     struct stamped **all, size_t *n, struct err *e)
{
	struct stat sb;
	struct events_seen *seen;
	char *buf = NULL, *p, *nl;
	size_t len;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = -1;

	if (fd < 0)
		return errno == ENOENT ? 0 : err_sys(e, "open %s", path);
	if (fstat(fd, &sb) < 0) {
		err_sys(e, "fstat %s", path);
		goto out;
	}
	if (!(seen = seen_of(cur, &sb))) {
		err_sys(e, "out of memory");
		goto out;
	}
	if (sb.st_size <= seen->done) {
		r = 0;
		goto out;
	}
	len = (size_t)(sb.st_size - seen->done);
	if (!(buf = malloc(len + 1))) {
		err_sys(e, "out of memory");
		goto out;
	}
	got = pread(fd, buf, len, seen->done);
	if (got < 0) {
		err_sys(e, "read %s", path);
		goto out;
	}
	buf[got] = 0;
	for (p = buf; (nl = memchr(p, '\n', (size_t)(buf + got - p))); p = nl + 1) {
		struct stamped *v;
		json_t *j;
		const char *ts;

		*nl = 0;
		j = json_loads(p, 0, NULL);
		ts = json_string_value(json_object_get(j, "timestamp"));
		if (ts && strlen(ts) < 40 && (!since || strcmp(ts, since) >= 0)) {
			v = realloc(*all, (*n + 1) * sizeof(*v));
			if (!v || !(v[*n].line = strdup(p))) {
				if (v)
					*all = v;
				json_decref(j);
				err_sys(e, "out of memory");
				goto out;
			}
			*all = v;
			snprintf(v[*n].ts, sizeof(v[*n].ts), "%s", ts);
			v[*n].order = *n;
			(*n)++;
		}
		json_decref(j);
	}
	/* A line still being written stays for the next call. */
	seen->done += p - buf;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

static int is_event_file(const char *name)
{
	size_t n = strlen(name);

	return !strncmp(name, "events-", 7) && n > 13 && !strcmp(name + n - 6, ".jsonl");
}

int events_read(const char *dir, const char *since, struct events_cursor *cur,
		struct strlist *out, struct err *e)
{
	struct strlist names = STRLIST_INIT;
	struct stamped *all = NULL;
	struct buf p = BUF_INIT;
	size_t n = 0, i;
	int r = fs_list(dir, FS_LIST_NODOT, &names, e);

	if (r <= 0)
		goto out;
	/* Rotated files first, by name (their time), then the current
	 * ones: a rotation between the listing and the reads moves lines
	 * from a current file to a rotated one already read, by inode. */
	strlist_sort(&names);
	r = 0;
	for (i = 0; r == 0 && i < names.n; i++) {
		if (!is_event_file(names.items[i]))
			continue;
		buf_reset(&p);
		if (buf_addf(&p, "%s/%s", dir, names.items[i]) < 0)
			r = err_sys(e, "out of memory");
		else
			r = read_file(p.s, since, cur, &all, &n, e);
	}
	if (r == 0) {
		if (n > 1)
			qsort(all, n, sizeof(*all), by_time);
		for (i = 0; r == 0 && i < n; i++)
			if (strlist_add(out, all[i].line) < 0)
				r = err_sys(e, "out of memory");
	}
out:
	for (i = 0; i < n; i++)
		free(all[i].line);
	free(all);
	buf_free(&p);
	strlist_free(&names);
	return r < 0 ? -1 : 0;
}

void events_cursor_free(struct events_cursor *cur)
{
	free(cur->seen);
	cur->seen = NULL;
	cur->n = 0;
}

static void say_line(void (*say)(void *, const char *), void *ctx,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say_line(void (*say)(void *, const char *), void *ctx,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vsay(say, ctx, fmt, ap);
	va_end(ap);
}

void events_removal(struct events *ev, const struct events_target *t,
		    const char *actor, void (*say)(void *ctx, const char *line),
		    void *ctx)
{
	struct err e = ERR_INIT;

	if (ev && events_emit(ev, "delete", t, NULL, actor, &e) < 0)
		say_line(say, ctx, "(event not recorded: %s %s)", e.msg, e.detail);
}
