/*
 * metrics: one mapped slot file per counting process, summed on demand
 * (see metrics.h for the contract).
 *
 * A slot is a plain struct of 64-bit counters. Its layout is versioned by
 * the magic and size at its head: a slot of another layout (an older
 * Berth) is cleared when taken, never misread. The holder updates a
 * counter with a relaxed load and store (it is the only writer); a reader
 * loads each word relaxed. Whether a slot is held is asked of the lock
 * itself (a shared flock that fails while the holder lives), so a reader
 * knows which start times belong to live processes.
 */
#include "metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "banned.h"

#define M_MAGIC 0x3130544d48545242ULL /* "BRTHMT01", little-endian */
#define M_SLOTS_MAX 4096

static const char *const m_methods[] = {
	"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS", "other"
};
#define M_METHODS (sizeof(m_methods) / sizeof(m_methods[0]))
#define M_CODES 501 /* 100..599, and one for anything else */

/* Seconds; the last bucket (+Inf) is implicit. */
static const double m_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300
};
#define M_BUCKETS (sizeof(m_bounds) / sizeof(m_bounds[0]) + 1)

struct m_slot {
	uint64_t magic, size;
	uint64_t start_time; /* the holder's, unix seconds */
	uint64_t counters[METRICS__COUNT];
	uint64_t requests[M_METHODS][M_CODES];
	uint64_t buckets[M_BUCKETS]; /* not cumulative: one per range */
	uint64_t dur_ns;
	uint64_t dur_count;
};

static struct m_slot *m_mine;
static int m_fd = -1;

static uint64_t m_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void m_inc(uint64_t *p, uint64_t n)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* Slot n, locked and mapped: 1, 0 when it is someone else's (held, or a
 * file this user may not write), -1 with e. */
static int m_take(const char *dir, int n, struct err *e)
{
	char path[4096];
	struct stat sb;
	struct m_slot *s;
	int fd;

	snprintf(path, sizeof(path), "%s/slot-%d", dir, n);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return errno == EACCES || errno == EPERM ? 0 : err_sys(e, "open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return saved == EWOULDBLOCK ? 0 : err_sys(e, "flock %s", path);
	}
	if (fstat(fd, &sb) < 0) {
		err_sys(e, "fstat %s", path);
		goto fail;
	}
	if ((uint64_t)sb.st_size != sizeof(struct m_slot) &&
	    (ftruncate(fd, 0) < 0 || ftruncate(fd, sizeof(struct m_slot)) < 0)) {
		err_sys(e, "ftruncate %s", path);
		goto fail;
	}
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED) {
		err_sys(e, "mmap %s", path);
		goto fail;
	}
	if (s->magic != M_MAGIC || s->size != sizeof(*s)) {
		memset(s, 0, sizeof(*s));
		s->magic = M_MAGIC;
		s->size = sizeof(*s);
	}
	__atomic_store_n(&s->start_time, (uint64_t)time(NULL), __ATOMIC_RELAXED);
	m_mine = s;
	m_fd = fd;
	return 1;
fail:
	close(fd);
	return -1;
}

int metrics_open(const char *dir, struct err *e)
{
	int n, r;

	metrics_close();
	if (!dir || !*dir)
		return err_set(e, ERR_INTERNAL, "no run directory");
	if (fs_mkdirs(dir, e) < 0)
		return -1;
	for (n = 0; n < M_SLOTS_MAX; n++) {
		r = m_take(dir, n, e);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	return err_set(e, ERR_INTERNAL, "every metrics slot is taken");
}

void metrics_close(void)
{
	/* A slot inherited across fork is the parent's: unmapped and
	 * closed here, it stays the parent's (its lock is the parent's open
	 * file, which the parent still holds). */
	if (m_mine)
		munmap(m_mine, sizeof(*m_mine));
	if (m_fd >= 0)
		close(m_fd);
	m_mine = NULL;
	m_fd = -1;
}

void metrics_add(enum metrics_counter c, uint64_t n)
{
	if (m_mine && (unsigned)c < METRICS__COUNT)
		m_inc(&m_mine->counters[c], n);
}

void metrics_gc(int purge_only, long blobs, long manifests, long uploads, long long bytes)
{
	if (purge_only) {
		metrics_add(METRICS_PURGE_RUNS, 1);
		metrics_add(METRICS_PURGE_UPLOADS, uploads > 0 ? (uint64_t)uploads : 0);
		metrics_add(METRICS_PURGE_BYTES, bytes > 0 ? (uint64_t)bytes : 0);
		return;
	}
	metrics_add(METRICS_GC_RUNS, 1);
	metrics_add(METRICS_GC_BLOBS, blobs > 0 ? (uint64_t)blobs : 0);
	metrics_add(METRICS_GC_MANIFESTS, manifests > 0 ? (uint64_t)manifests : 0);
	metrics_add(METRICS_GC_BYTES, bytes > 0 ? (uint64_t)bytes : 0);
	/* A collection purges old uploads too. */
	metrics_add(METRICS_PURGE_UPLOADS, uploads > 0 ? (uint64_t)uploads : 0);
}

void metrics_request(const char *method, int status, double secs)
{
	size_t m, b;
	int code;

	if (!m_mine)
		return;
	for (m = 0; m < M_METHODS - 1; m++)
		if (method && !strcmp(method, m_methods[m]))
			break;
	code = status >= 100 && status <= 599 ? status - 100 : M_CODES - 1;
	for (b = 0; b < M_BUCKETS - 1; b++)
		if (secs <= m_bounds[b])
			break;
	if (secs < 0)
		secs = 0;
	m_inc(&m_mine->requests[m][code], 1);
	m_inc(&m_mine->buckets[b], 1);
	m_inc(&m_mine->dur_ns, (uint64_t)(secs * 1e9));
	m_inc(&m_mine->dur_count, 1);
}

/* --- rendering --------------------------------------------------------- */

struct m_sum {
	uint64_t counters[METRICS__COUNT];
	uint64_t requests[M_METHODS][M_CODES];
	uint64_t buckets[M_BUCKETS];
	uint64_t dur_ns, dur_count;
	uint64_t oldest; /* start time of the oldest live holder, 0: none */
	long live;
};

/* Adds one slot file to the sum: 0 (added, or not a slot of ours), -1. */
static int m_sum_slot(const char *dir, const char *name, struct m_sum *t, struct err *e)
{
	char path[4096];
	const struct m_slot *s;
	struct stat sb;
	size_t i, j;
	int fd, live;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : err_sys(e, "open %s", path);
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return err_sys(e, "fstat %s", path);
	}
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != sizeof(*s)) {
		close(fd);
		return 0; /* being created, or another layout: nothing to add */
	}
	s = mmap(NULL, sizeof(*s), PROT_READ, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED) {
		close(fd);
		return err_sys(e, "mmap %s", path);
	}
	live = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd); /* drops the shared lock if we got it */
	if (m_load(&s->magic) == M_MAGIC && m_load(&s->size) == sizeof(*s)) {
		for (i = 0; i < METRICS__COUNT; i++)
			t->counters[i] += m_load(&s->counters[i]);
		for (i = 0; i < M_METHODS; i++)
			for (j = 0; j < M_CODES; j++)
				t->requests[i][j] += m_load(&s->requests[i][j]);
		for (i = 0; i < M_BUCKETS; i++)
			t->buckets[i] += m_load(&s->buckets[i]);
		t->dur_ns += m_load(&s->dur_ns);
		t->dur_count += m_load(&s->dur_count);
		if (live) {
			uint64_t st = m_load(&s->start_time);

			t->live++;
			if (st && (!t->oldest || st < t->oldest))
				t->oldest = st;
		}
	}
	munmap((void *)s, sizeof(*s));
	return 0;
}

/* Each counter's name and help line, in enum metrics_counter's order. */
static const struct {
	const char *name, *help;
} m_names[METRICS__COUNT] = {
	[METRICS_BYTES_RECEIVED] = { "berth_http_received_bytes_total", "Request body bytes read." },
	[METRICS_BYTES_SENT] = { "berth_http_sent_bytes_total",
				 "Response body bytes answered (blob bodies sent by the web server included)." },
	[METRICS_UPLOADS_STARTED] = { "berth_uploads_started_total", "Blob upload sessions started." },
	[METRICS_UPLOADS_COMPLETED] = { "berth_uploads_completed_total", "Blob upload sessions completed." },
	[METRICS_UPLOADS_CANCELLED] = { "berth_uploads_cancelled_total",
					"Blob upload sessions cancelled by their client." },
	[METRICS_BLOBS_WRITTEN] = { "berth_blobs_written_total", "Blobs stored (pushes, not mounts)." },
	[METRICS_MANIFESTS_WRITTEN] = { "berth_manifests_written_total", "Manifests stored." },
	[METRICS_GC_RUNS] = { "berth_gc_runs_total", "Garbage collections that completed." },
	[METRICS_GC_BLOBS] = { "berth_gc_removed_blobs_total", "Blobs garbage collection removed." },
	[METRICS_GC_MANIFESTS] = { "berth_gc_removed_manifests_total",
				   "Manifests garbage collection removed." },
	[METRICS_GC_BYTES] = { "berth_gc_reclaimed_bytes_total", "Bytes garbage collection freed." },
	[METRICS_PURGE_RUNS] = { "berth_upload_purge_runs_total", "Upload purges that completed." },
	[METRICS_PURGE_UPLOADS] = { "berth_upload_purge_removed_total", "Abandoned uploads purged." },
	[METRICS_PURGE_BYTES] = { "berth_upload_purge_reclaimed_bytes_total",
				  "Bytes the upload purge freed." },
};

static int m_counter(struct buf *o, const char *name, const char *help, uint64_t v)
{
	return buf_addf(o, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name,
			name, (unsigned long long)v);
}

static int m_gauge(struct buf *o, const char *name, const char *help, double v)
{
	return buf_addf(o, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name,
			name, v);
}

int metrics_render(const char *dir, struct buf *o, struct err *e)
{
	static struct m_sum t; /* 36 KiB: not on a worker's stack */
	const uint64_t *c = t.counters;
	struct dirent *de;
	uint64_t cum, done;
	size_t i, j;
	DIR *d;
	int r = 0;

	memset(&t, 0, sizeof(t));
	d = opendir(dir);
	if (!d)
		return err_sys(e, "opendir %s", dir);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "slot-", 5) && m_sum_slot(dir, de->d_name, &t, e) < 0) {
			closedir(d);
			return -1;
		}
	closedir(d);

	r |= buf_adds(o, "# HELP berth_http_requests_total Requests answered, by method and status.\n"
			 "# TYPE berth_http_requests_total counter\n");
	for (i = 0; i < M_METHODS; i++)
		for (j = 0; j < M_CODES; j++) {
			char code[8];

			if (!t.requests[i][j])
				continue;
			if (j == M_CODES - 1)
				snprintf(code, sizeof(code), "other");
			else
				snprintf(code, sizeof(code), "%zu", j + 100);
			r |= buf_addf(o, "berth_http_requests_total{method=\"%s\",code=\"%s\"} %llu\n",
				      m_methods[i], code, (unsigned long long)t.requests[i][j]);
		}
	r |= buf_adds(o, "# HELP berth_http_request_duration_seconds Time from a request's "
			 "acceptance to its answer.\n"
			 "# TYPE berth_http_request_duration_seconds histogram\n");
	for (cum = 0, i = 0; i < M_BUCKETS; i++) {
		cum += t.buckets[i];
		if (i < M_BUCKETS - 1)
			r |= buf_addf(o, "berth_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
				      m_bounds[i], (unsigned long long)cum);
		else
			r |= buf_addf(o, "berth_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
				      (unsigned long long)cum);
	}
	r |= buf_addf(o, "berth_http_request_duration_seconds_sum %.9f\n"
			 "berth_http_request_duration_seconds_count %llu\n",
		      (double)t.dur_ns / 1e9, (unsigned long long)t.dur_count);
	done = c[METRICS_UPLOADS_COMPLETED] + c[METRICS_UPLOADS_CANCELLED] + c[METRICS_PURGE_UPLOADS];
	r |= m_gauge(o, "berth_uploads_in_progress", "Upload sessions started and not yet "
		     "completed, cancelled or purged.",
		     c[METRICS_UPLOADS_STARTED] > done ? (double)(c[METRICS_UPLOADS_STARTED] - done) : 0);
	for (i = 0; i < METRICS__COUNT; i++)
		r |= m_counter(o, m_names[i].name, m_names[i].help, c[i]);
	r |= m_gauge(o, "berth_processes", "Berth processes counting now (workers, purges, "
		     "collections).", (double)t.live);
	if (t.oldest)
		r |= m_gauge(o, "process_start_time_seconds", "Start time of the oldest running "
			     "Berth process, in seconds since the epoch.", (double)t.oldest);
	return r ? err_set(e, ERR_INTERNAL, "out of memory") : 0;
}
