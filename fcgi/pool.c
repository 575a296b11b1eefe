/*
 * pool: workers, their supervisor, and the election that replaces a dead
 * supervisor (see pool.h for the contract).
 *
 * Signals. A worker that gets SIGTERM/SIGINT while it serves a request
 * exits once the request is answered, so a request is never cut in half;
 * while it waits for the next request it leaves at once (the handler only
 * sets flags and wakes the wait; see wait_setup()). The
 * supervisor passes SIGTERM on and exits when the last worker has.
 * SIGHUP/SIGUSR1 reopen the log (logrotate), in every process.
 *
 * The election. The lock is an abstract unix socket named after the
 * listening socket's inode: one pool per listening socket, freed by the
 * kernel when the last descriptor of it closes, whatever killed its
 * holder. Only the supervisor holds it: a worker or the purger closes its
 * inherited copy at once, or the name would outlive a dead supervisor.
 * When a supervisor dies its workers get SIGUSR2 (PR_SET_PDEATHSIG); in
 * the handler (so a worker busy with a 1 GiB body does not delay it) each
 * tries to bind the name, and the one that can forks twice, so the new
 * supervisor is nobody's worker, and executes this program anew with the
 * same arguments and the lock as fd 3 (BERTH_POOL_LOCK_FD), every other
 * descriptor above it closed. Everything on that path is
 * async-signal-safe (socket, bind, fork, sigprocmask, dup2, close_range,
 * execve, waitpid, close); the arguments and environment it needs are
 * built beforehand. Each orphan then leaves as on SIGTERM, and tries the
 * election once more as it leaves: if the new supervisor died before it
 * could start workers, the name is free again and the last orphans start
 * another. A worker told to stop (SIGTERM) does not take part: a pool
 * being stopped is not restarted by its own workers. Under systemd
 * (INVOCATION_ID set) there is no election: the service manager restarts
 * the pool, and its socket keeps the connections meanwhile.
 */
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "log.h"
#include "../core/gc.h"
#include "../core/metrics.h"
#include "../core/policy.h"
#include "../core/quota.h"
#include "../core/banned.h"

extern char **environ;

#define POOL_LOCK_FD 3
#define POOL_LOCK_ENV "BERTH_POOL_LOCK_FD"

static struct sockaddr_un lock_addr;
static socklen_t lock_len;       /* 0: no election (not a pool of ours) */
static int lock_fd = -1;         /* held by the supervisor only */
static char **next_argv, **next_envp;
static char next_path[4096];     /* this program, as ps and pgrep name it */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

/* --- the election ---------------------------------------------------- */

/* The lock's name: one per listening socket (fd 0). */
static int lock_name(void)
{
	struct stat sb;
	int n;

	if (fstat(0, &sb) < 0)
		return -1;
	memset(&lock_addr, 0, sizeof(lock_addr));
	lock_addr.sun_family = AF_UNIX;
	/* sun_path[0] stays NUL: an abstract name, no file anywhere. */
	n = snprintf(lock_addr.sun_path + 1, sizeof(lock_addr.sun_path) - 1,
		     "berth-pool-%llx-%llx", (unsigned long long)sb.st_dev,
		     (unsigned long long)sb.st_ino);
	lock_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	return 0;
}

/* A bound lock, or -1 (errno EADDRINUSE: someone holds it). */
static int lock_take(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&lock_addr, lock_len) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Async-signal-safe: called from the SIGUSR2 handler. */
static void pool_elect(void)
{
	sigset_t none;
	pid_t pid;
	int fd;

	if (!lock_len || !next_argv)
		return;
	fd = lock_take();
	if (fd < 0)
		return; /* another orphan won, or the new supervisor runs */
	pid = fork();
	if (pid == 0) {
		if (fork() != 0)
			_exit(0);
		/* Not a worker any more: no parent-death signal, no signal
		 * blocked by the handler we were forked from. */
		prctl(PR_SET_PDEATHSIG, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (fd != POOL_LOCK_FD) {
			if (dup2(fd, POOL_LOCK_FD) < 0)
				_exit(127);
		} else if (fcntl(fd, F_SETFD, 0) < 0) {
			_exit(127);
		}
		/* Only the socket, the log and the lock go on: the connection
		 * of a request this worker was serving (libfcgi does not mark
		 * it close-on-exec) must not live on in the next pool. */
		if (close_range(POOL_LOCK_FD + 1, ~0U, 0) < 0) {
			int i;

			for (i = POOL_LOCK_FD + 1; i < 1024; i++)
				close(i);
		}
		/* By its path, so ps names it as before; by the running
		 * file if that path is gone (the package was removed). */
		if (next_path[0])
			execve(next_path, next_argv, next_envp);
		execve("/proc/self/exe", next_argv, next_envp);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	close(fd);
}

/* The arguments and environment of the next supervisor, built before any
 * signal can ask for them. */
static int pool_prepare_next(char **argv)
{
	size_t n = 0, i, j = 0;
	static char lockvar[] = POOL_LOCK_ENV "=3";

	while (environ[n])
		n++;
	next_envp = calloc(n + 2, sizeof(char *));
	if (!next_envp)
		return -1;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], POOL_LOCK_ENV "=", sizeof(POOL_LOCK_ENV)))
			next_envp[j++] = environ[i];
	next_envp[j] = lockvar;
	next_argv = argv;
	n = (size_t)readlink("/proc/self/exe", next_path, sizeof(next_path) - 1);
	if (n >= sizeof(next_path) - 1)
		n = 0; /* cannot tell (or too long): the running file, then */
	next_path[n] = 0;
	return 0;
}

/* The lock handed over by the previous supervisor, or a new one. Without
 * it the pool still serves; only the election is off. */
static void pool_lock(void)
{
	const char *v = getenv(POOL_LOCK_ENV);
	struct stat sb;
	double until;

	/* systemd supervises this process (Restart=always) and holds the
	 * socket: a successor of ours would only race its restart. The
	 * orphans then just finish their request and exit. */
	if (getenv("INVOCATION_ID")) {
		unsetenv(POOL_LOCK_ENV);
		return;
	}
	if (lock_name() < 0) {
		log_line("supervisor: cannot stat the listening socket: %s; "
			 "no successor if I die", strerror(errno));
		return;
	}
	if (v && !strcmp(v, "3") && fstat(POOL_LOCK_FD, &sb) == 0 && S_ISSOCK(sb.st_mode)) {
		lock_fd = POOL_LOCK_FD;
		fcntl(lock_fd, F_SETFD, FD_CLOEXEC);
		unsetenv(POOL_LOCK_ENV);
		log_line("supervisor: took over the pool");
		return;
	}
	unsetenv(POOL_LOCK_ENV);
	/* A predecessor's workers may still hold it for a moment. */
	for (until = now_s() + 2; (lock_fd = lock_take()) < 0 && errno == EADDRINUSE &&
				  now_s() < until;)
		usleep(50000);
	if (lock_fd < 0)
		log_line("supervisor: the pool lock is held (%s): another supervisor "
			 "serves this socket; serving too, without a successor",
			 strerror(errno));
}

/* --- a worker -------------------------------------------------------- */

/* Set while a request is served: SIGTERM then only asks for an exit once
 * it is answered. A flag, not a blocked signal: two sigprocmask calls per
 * request cost more than the check (SA_RESTART keeps the request's own
 * system calls from seeing EINTR). */
static volatile sig_atomic_t stop_after, stopped, orphaned;
/* Written by a handler so that the wait for the next connection sees the
 * signal even when it came just before the wait began (self-pipe). */
static int wake_fd[2] = { -1, -1 };

static void wake(void)
{
	int saved = errno;

	if (wake_fd[1] >= 0 && write(wake_fd[1], "x", 1) < 0) {
		/* Full: a wake-up is pending already. */
	}
	errno = saved;
}

static void on_term_worker(int sig)
{
	(void)sig;
	stopped = 1;
	stop_after = 1;
	wake();
}

static void on_orphan(int sig)
{
	(void)sig;
	if (orphaned || stopped)
		return;
	orphaned = 1;
	pool_elect();
	stop_after = 1;
	wake();
}

/* A worker told to go: it leaves between requests, never in one, and an
 * orphan tries the election once more on its way out. */
static void leave(void)
{
	if (orphaned && !stopped)
		pool_elect();
	_exit(0);
}

static void on_hup(int sig)
{
	(void)sig;
	log_reopen_soon();
}

static int purge_due(struct app *a);
static void purge_work(struct app *a);
static int retention_due(struct app *a);
static void retention_work(struct app *a);
static void detach(struct app *a, void (*work)(struct app *));

/* This process's metrics slot (metrics.h); without one it counts
 * nothing and says so once. */
static void count_open(struct app *a, const char *who)
{
	struct buf dir = BUF_INIT;
	struct err e = ERR_INIT;

	if (buf_addf(&dir, "%s/metrics", a->cfg->rundirectory) < 0 ||
	    metrics_open(dir.s, &e) < 0)
		log_line("%s: no metrics slot (%s%s%s): not counted in /metrics", who,
			 e.msg, e.detail[0] ? ": " : "", e.detail);
	buf_free(&dir);
}

/* The wait for the next connection: an epoll of the listening socket
 * (EPOLLEXCLUSIVE: one idle worker is woken per connection, as a blocking
 * accept would) and of the self-pipe, with the listening socket
 * non-blocking, so that accept itself never blocks. Blocking in accept
 * instead, a worker told to stop could not tell "waiting" from "holding a
 * connection libfcgi is still reading" (the handler exited in the latter
 * too: nginx's 502). Returns the epoll descriptor, or -1 (then the worker
 * blocks in accept, and a stop waits for the next request's end). */
static int wait_setup(void)
{
	struct epoll_event ev;
	int ep, fl;

	if (pipe2(wake_fd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = 0;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) < 0)
		goto fail;
	ev.events = EPOLLIN;
	ev.data.fd = wake_fd[0];
	if (epoll_ctl(ep, EPOLL_CTL_ADD, wake_fd[0], &ev) < 0)
		goto fail;
	fl = fcntl(0, F_GETFL);
	if (fl < 0 || fcntl(0, F_SETFL, fl | O_NONBLOCK) < 0)
		goto fail;
	return ep;
fail:
	close(ep);
	return -1;
}

/* 1 when a connection may be waiting, 0 when not (woken, or a timeout). */
static int wait_connection(int ep)
{
	struct epoll_event ev[2];
	char drain[64];
	int n, i, ready = 0;

	n = epoll_wait(ep, ev, 2, 1000);
	for (i = 0; i < n; i++) {
		if (ev[i].data.fd == 0)
			ready = 1;
		else
			while (read(wake_fd[0], drain, sizeof(drain)) > 0)
				;
	}
	return ready;
}

int pool_serve(struct app *a)
{
	FCGX_Request fr;
	int ep;

	on(SIGTERM, on_term_worker, SA_RESTART);
	on(SIGINT, on_term_worker, SA_RESTART);
	on(SIGUSR2, on_orphan, SA_RESTART);
	on(SIGHUP, on_hup, SA_RESTART);
	on(SIGUSR1, on_hup, SA_RESTART);
	on(SIGPIPE, SIG_IGN, 0);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_line("error: cannot initialise libfcgi");
		return 1;
	}
	count_open(a, "worker");
	ep = wait_setup();
	if (ep < 0)
		log_line("worker: cannot set up the wait for connections (%s): a stop "
			 "waits for the next request", strerror(errno));
	for (;;) {
		struct http_req r;
		double t0;

		if (stop_after)
			leave();
		if (ep >= 0 && !wait_connection(ep))
			continue;
		if (stop_after)
			leave();
		/* EAGAIN: another worker took it. */
		if (FCGX_Accept_r(&fr) < 0) {
			if (ep < 0) { /* others may have made the socket non-blocking */
				struct pollfd p = { 0, POLLIN, 0 };

				poll(&p, 1, 1000);
			}
			continue;
		}
		t0 = now_s();
		if (http_req_init(&r, &fr, a->cfg) < 0) {
			log_line("error: out of memory");
			metrics_request("other", 500, now_s() - t0);
		} else {
			double secs;

			router_handle(a, &r);
			secs = now_s() - t0;
			log_request(a->cfg, &r, secs);
			metrics_request(r.method, r.status, secs);
			metrics_add(METRICS_BYTES_RECEIVED, (uint64_t)r.received);
			if (r.bytes > 0 && !r.head)
				metrics_add(METRICS_BYTES_SENT, (uint64_t)r.bytes);
			http_req_free(&r);
		}
		FCGX_Finish_r(&fr);
		/* Without a supervisor (mod_fcgid), requests drive the purge;
		 * the grandchild is reparented, so nothing waits for it. */
		if (!a->supervised && purge_due(a))
			detach(a, purge_work);
		if (!a->supervised && retention_due(a))
			detach(a, retention_work);
	}
}

/* --- the upload purge and retention --------------------------------- */

/* Runs work in a grandchild: reparented, nothing waits for it. */
static void detach(struct app *a, void (*work)(struct app *))
{
	pid_t c = fork();

	if (c == 0) {
		if (fork() == 0) {
			work(a);
			_exit(0);
		}
		_exit(0);
	}
	if (c > 0)
		waitpid(c, NULL, 0);
}

static void log_purge(void *ctx, const char *line)
{
	log_line("purge: %s%s", (const char *)ctx, line);
}

/* 1 when a timer that core keeps in the store (gc.h) says a run is due.
 * At most one look a second per process: without a supervisor this runs
 * after every request, and the intervals are hours. */
static int timer_due(struct app *a, const char *what, double interval,
		     int (*due)(const struct store *, double, struct err *),
		     time_t *looked)
{
	struct err e = ERR_INIT;
	time_t now = time(NULL);
	int r;

	if (now == *looked)
		return 0;
	*looked = now;
	r = due(&a->st, interval, &e);
	if (r < 0)
		log_line("%s: cannot read its stamp: %s", what, e.detail);
	return r > 0;
}

static int purge_due(struct app *a)
{
	static time_t looked;

	return a->cfg->purge_enabled &&
	       timer_due(a, "purge", a->cfg->purge_interval, gc_purge_due, &looked);
}

/* What the timed jobs share: one gc_run() in this detached child, its
 * failure logged as "<what>: failed: …", what it removed counted in the
 * metrics. 0 when it ran to the end. */
static int maint_gc(struct app *a, const char *what, const struct gc_opts *o,
		    struct gc_stats *s)
{
	struct err e = ERR_INIT;

	count_open(a, what);
	if (gc_run(&a->st, o, s, &e) < 0) {
		log_line("%s: failed: %s %s", what, e.msg, e.detail);
		return -1;
	}
	if (!o->dry_run)
		metrics_gc(1, s->blobs, s->manifests, s->uploads, s->bytes);
	return 0;
}

/* storage.maintenance.uploadpurging, as registry:2 does it: on every
 * interval, in a child so no request and no supervisor waits for it. */
static void purge_work(struct app *a)
{
	struct gc_opts o = { 0 };
	struct gc_stats s;

	o.purge_uploads = 1;
	o.dry_run = a->cfg->purge_dryrun;
	o.upload_age = a->cfg->purge_age;
	o.say = log_purge;
	o.ctx = o.dry_run ? "would remove " : "removed ";
	maint_gc(a, "purge", &o, &s);
	metrics_close();
}

static void log_retention(void *ctx, const char *line)
{
	log_line("retention: %s%s", (const char *)ctx, line);
}

/* policy.retention.interval: its stamp is shared by every host's pool. */
static int retention_due(struct app *a)
{
	static time_t looked;
	double interval = policy_retention_interval(a->cfg->policy);

	return interval > 0 && !a->cfg->readonly &&
	       timer_due(a, "retention", interval, gc_retention_due, &looked);
}

/* `berth gc --retention`, on the interval: the rules' tags and untagged
 * manifests, then the blobs nothing uses any more. */
static void retention_work(struct app *a)
{
	struct gc_opts o = { 0 };
	struct gc_stats s;
	struct err e = ERR_INIT;

	o.collect = 1;
	o.retention = a->cfg->policy;
	o.grace = a->cfg->gc_grace;
	o.say = log_retention;
	o.ctx = "removed ";
	o.events = a->ev;
	o.actor = "berth retention";
	if (maint_gc(a, "retention", &o, &s) == 0) {
		log_line("retention: removed %ld tags, %ld manifests, %ld blobs "
			 "(%lld bytes)", s.tags, s.manifests, s.blobs, s.bytes);
		if (quota_recount(&a->st, a->cfg->policy, log_retention, "", &e) < 0)
			log_line("retention: quota recount stopped: %s %s", e.msg, e.detail);
	}
	metrics_close();
}

/* --- the supervisor -------------------------------------------------- */

static volatile sig_atomic_t stopping, reopen;
static pid_t supervisor_pid;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void on_reopen(int sig)
{
	(void)sig;
	reopen = 1;
}

static void on_chld(int sig)
{
	(void)sig;
}

/* A child of the supervisor: it must not keep the lock's name alive. */
static void child_setup(int deathsig)
{
	if (lock_fd >= 0)
		close(lock_fd);
	prctl(PR_SET_PDEATHSIG, deathsig);
}

static pid_t spawn(struct app *a)
{
	pid_t pid = fork();

	if (pid == 0) {
		child_setup(lock_len ? SIGUSR2 : SIGTERM);
		/* Orphaned already (the supervisor died before prctl)? */
		if (getppid() != supervisor_pid) {
			if (lock_len)
				pool_elect();
			_exit(0);
		}
		_exit(pool_serve(a));
	}
	return pid;
}

static pid_t maintain(struct app *a, const char *name, void (*work)(struct app *))
{
	pid_t pid = fork();

	if (pid == 0) {
		child_setup(SIGTERM);
		/* ps and pgrep tell it from a worker. */
		prctl(PR_SET_NAME, name);
		work(a);
		_exit(0);
	}
	return pid;
}

/* The pid file, replaced whole (a reader never sees half of it). */
static void write_pidfile(const char *path)
{
	char tmp[4096], line[32];
	int fd, n;

	n = snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return;
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, (size_t)n) != n || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		log_line("supervisor: cannot write the pid file %s: %s", path,
			 strerror(errno));
		unlink(tmp);
	}
}

/* Removed on a clean stop, unless a successor has written its own. */
static void remove_pidfile(const char *path)
{
	char line[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n > 0) {
		line[n] = 0;
		if (strtol(line, NULL, 10) == (long)getpid())
			unlink(path);
	}
}

int pool_supervise(struct app *a, const struct pool_opts *o)
{
	long n = o->workers;
	pid_t *kids = calloc((size_t)n, sizeof(pid_t));
	double *born = calloc((size_t)n, sizeof(double));
	sigset_t none;
	long i, alive;
	double next_purge;
	pid_t purger = 0, retainer = 0;

	if (!kids || !born || pool_prepare_next(o->argv) < 0) {
		log_line("error: out of memory");
		return 1;
	}
	supervisor_pid = getpid();
	/* No SA_RESTART: the signals interrupt the loop's sleep. */
	on(SIGTERM, on_term, 0);
	on(SIGINT, on_term, 0);
	on(SIGHUP, on_reopen, 0);
	on(SIGUSR1, on_reopen, 0);
	on(SIGCHLD, on_chld, 0);
	on(SIGPIPE, SIG_IGN, 0);
	on(SIGUSR2, SIG_IGN, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	pool_lock();
	if (o->pidfile)
		write_pidfile(o->pidfile);
	for (i = 0; i < n; i++) {
		kids[i] = spawn(a);
		born[i] = now_s();
	}
	log_line("supervisor: %ld workers started", n);
	next_purge = now_s() + 1;
	while (!stopping) {
		int st;
		pid_t pid;

		if (reopen) {
			reopen = 0;
			log_reopen_soon();
			log_line("supervisor: log reopened");
			for (i = 0; i < n; i++)
				if (kids[i] > 0)
					kill(kids[i], SIGHUP);
		}
		if (now_s() >= next_purge) {
			if (purger <= 0 && purge_due(a))
				purger = maintain(a, "berth-purge", purge_work);
			if (retainer <= 0 && retention_due(a))
				retainer = maintain(a, "berth-retain", retention_work);
			next_purge = now_s() + 1;
		}
		pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0) {
			sleep(1); /* interrupted at once by SIGCHLD/SIGTERM */
			continue;
		}
		if (pid == purger || pid == retainer) {
			if (pid == purger)
				purger = 0;
			else
				retainer = 0;
			continue;
		}
		for (i = 0; i < n; i++) {
			if (kids[i] != pid)
				continue;
			if (WIFSIGNALED(st))
				log_line("supervisor: worker %d killed by signal %d",
					 (int)pid, WTERMSIG(st));
			else
				log_line("supervisor: worker %d exited with %d",
					 (int)pid, WEXITSTATUS(st));
			/* A worker that dies at once would otherwise spin. */
			if (now_s() - born[i] < 1.0)
				sleep(1);
			if (!stopping) {
				kids[i] = spawn(a);
				born[i] = now_s();
			}
		}
	}
	log_line("supervisor: stopping, letting requests finish");
	for (i = 0; i < n; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	if (purger > 0) {
		kill(purger, SIGTERM);
		waitpid(purger, NULL, 0);
	}
	for (alive = n; alive > 0;) {
		pid_t pid = waitpid(-1, NULL, 0);
		if (pid < 0 && errno == ECHILD)
			break;
		if (pid > 0)
			alive--;
	}
	if (o->pidfile)
		remove_pidfile(o->pidfile);
	log_line("supervisor: stopped");
	free(kids);
	free(born);
	return 0;
}
