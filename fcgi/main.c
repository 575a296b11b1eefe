/*
 * berth-fcgi: the FastCGI program. spawn-fcgi (or any FastCGI spawner)
 * starts it with the listening socket on fd 0; it forks a pool of workers
 * that each accept and serve one request at a time with libfcgi, and stays
 * behind as a small supervisor that restarts a worker that dies, since
 * spawn-fcgi does not. With -w 0 it serves in its own process, which is
 * what mod_fcgid wants (it manages the processes itself).
 *
 * Signals: SIGTERM/SIGINT to the supervisor are passed to the workers,
 * which finish the request in hand and exit; the supervisor exits when the
 * last one has. A worker that gets SIGTERM while it serves a request exits
 * once the request is answered, so a request is never cut in half; while
 * it waits for the next request the signal ends it at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "handlers.h"
#include "../core/auth.h"
#include "../core/gc.h"
#include "../core/banned.h"

extern char **environ;

static int log_fd = 2;
static pid_t log_pid; /* 0: ask again (a fork happened) */

static void log_forked(void)
{
	log_pid = 0;
}

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	static char when[40];
	static time_t when_sec = -1;
	static int atfork;
	struct timespec ts;
	struct tm tm;
	va_list ap;

	/* Every request logs a line: the second's text and the pid are
	 * computed when they change, not per line. */
	if (!atfork)
		atfork = pthread_atfork(NULL, NULL, log_forked) == 0 ? 1 : -1;
	if (!log_pid || atfork < 0)
		log_pid = getpid();
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != when_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		when_sec = ts.tv_sec;
	}
	buf_addf(&b, "%s.%03ldZ [%d] ", when, ts.tv_nsec / 1000000, (int)log_pid);
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	buf_addch(&b, '\n');
	/* One write per line: O_APPEND keeps lines of all workers whole. */
	if (write(log_fd, b.s, b.len) < 0) {
		/* Nowhere left to report a failing log; keep serving. */
	}
	buf_free(&b);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The access line (unless log.accesslog.disabled), then what went wrong:
 * the inside story of a 5xx always (it is never sent to the client), and
 * of a refused request at log.level debug. */
static void log_request(const struct config *cfg, const struct http_req *r,
			double secs)
{
	/* Milliseconds in integers: %f costs more than the rest of the line. */
	long long ms = (long long)(secs * 1000.0 + 0.5);

	if (!cfg->accesslog_disabled)
		log_line("%s %s%s%s %d %lld %lld.%03llds %s", r->method, r->path,
			 r->query[0] ? "?" : "", r->query, r->status,
			 r->bytes < 0 || r->head ? 0 : r->bytes, ms / 1000, ms % 1000,
			 r->user ? r->user : "-");
	if (r->status >= 500 && r->detail[0])
		log_line("error: %s %s: %s", r->method, r->path, r->detail);
	else if (r->errcode && cfg->log_level >= CONFIG_LOG_DEBUG)
		log_line("debug: %s %s: %s %s", r->method, r->path, r->errcode,
			 r->detail);
}

static int purge_due(struct app *a);
static void purge_work(struct app *a);

/* Set while a request is served: SIGTERM then only asks for an exit once
 * it is answered. A flag, not a blocked signal: two sigprocmask calls per
 * request cost more than the check (SA_RESTART keeps the request's own
 * system calls from seeing EINTR). */
static volatile sig_atomic_t serving, stop_after;

static void on_term_worker(int sig)
{
	(void)sig;
	if (!serving)
		_exit(0);
	stop_after = 1;
}

static int serve(struct app *a)
{
	FCGX_Request fr;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term_worker;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	sigaction(SIGPIPE, &sa, NULL);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_line("error: cannot initialise libfcgi");
		return 1;
	}
	for (;;) {
		struct http_req r;
		double t0;

		if (FCGX_Accept_r(&fr) < 0)
			continue;
		serving = 1;
		t0 = now_s();
		if (http_req_init(&r, &fr, a->cfg) < 0) {
			log_line("error: out of memory");
		} else {
			router_handle(a, &r);
			log_request(a->cfg, &r, now_s() - t0);
			http_req_free(&r);
		}
		FCGX_Finish_r(&fr);
		/* Without a supervisor (mod_fcgid), requests drive the purge;
		 * the grandchild is reparented, so nothing waits for it. */
		if (!a->supervised && purge_due(a)) {
			pid_t c = fork();
			if (c == 0) {
				if (fork() == 0)
					purge_work(a);
				_exit(0);
			}
			if (c > 0)
				waitpid(c, NULL, 0);
		}
		serving = 0;
		if (stop_after)
			_exit(0);
	}
}

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void on_chld(int sig)
{
	(void)sig;
}

static pid_t spawn(struct app *a)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* The pool goes down with its supervisor. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(0);
		_exit(serve(a));
	}
	return pid;
}

static void log_purge(void *ctx, const char *line)
{
	log_line("purge: %s%s", (const char *)ctx, line);
}

/* 1 when an upload purge is due (core keeps the timer in the store). */
static int purge_due(struct app *a)
{
	static time_t looked;
	struct err e = ERR_INIT;
	time_t now = time(NULL);
	int r;

	if (!a->cfg->purge_enabled)
		return 0;
	/* At most once a second per process: without a supervisor this
	 * runs after every request, and the interval is hours. */
	if (now == looked)
		return 0;
	looked = now;
	r = gc_purge_due(&a->st, a->cfg->purge_interval, &e);
	if (r < 0)
		log_line("purge: cannot read the purge stamp: %s", e.detail);
	return r > 0;
}

/* storage.maintenance.uploadpurging, as registry:2 does it: on every
 * interval, in a child so no request and no supervisor waits for it. */
static void purge_work(struct app *a)
{
	struct gc_opts o = { 0 };
	struct gc_stats s;
	struct err e = ERR_INIT;

	o.purge_uploads = 1;
	o.dry_run = a->cfg->purge_dryrun;
	o.upload_age = a->cfg->purge_age;
	o.say = log_purge;
	o.ctx = o.dry_run ? "would remove " : "removed ";
	if (gc_run(&a->st, &o, &s, &e) < 0)
		log_line("purge: failed: %s %s", e.msg, e.detail);
}

static pid_t purge(struct app *a)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		purge_work(a);
		_exit(0);
	}
	return pid;
}

static int supervise(struct app *a, long n)
{
	pid_t *kids = calloc((size_t)n, sizeof(pid_t));
	double *born = calloc((size_t)n, sizeof(double));
	struct sigaction sa;
	sigset_t none;
	long i, alive;
	double next_purge;
	pid_t purger = 0;

	if (!kids || !born) {
		log_line("error: out of memory");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	for (i = 0; i < n; i++) {
		kids[i] = spawn(a);
		born[i] = now_s();
	}
	log_line("supervisor: %ld workers started", n);
	sigemptyset(&none);
	next_purge = now_s() + 1;
	while (!stopping) {
		int st;
		pid_t pid;

		if (now_s() >= next_purge) {
			if (purger <= 0 && purge_due(a))
				purger = purge(a);
			next_purge = now_s() + 1;
		}
		pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0) {
			sleep(1); /* interrupted at once by SIGCHLD/SIGTERM */
			continue;
		}
		if (pid == purger) {
			purger = 0;
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
	log_line("supervisor: stopped");
	free(kids);
	free(born);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: berth-fcgi [-c config.yml] [-w workers] [-l logfile] [-t]\n"
		"       berth-fcgi -p user   (reads a password on stdin, prints an htpasswd line)\n"
		"  -c  registry:2 config file (REGISTRY_* environment overrides apply)\n"
		"  -w  worker processes (0: serve in this process, for mod_fcgid)\n"
		"  -l  request log file (default: berth.logfile, else stderr)\n"
		"  -t  check the configuration, print it and exit\n"
		"The FastCGI listening socket is fd 0, as spawn-fcgi and mod_fcgid pass it.\n");
}

static int hash_password(const char *user)
{
	char pass[1024];
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	size_t n;

	if (!fgets(pass, sizeof(pass), stdin)) {
		fprintf(stderr, "berth-fcgi: no password on stdin\n");
		return 1;
	}
	n = strcspn(pass, "\r\n");
	pass[n] = 0;
	if (auth_hash(user, pass, AUTH_COST_DEFAULT, &out, &e) < 0) {
		fprintf(stderr, "berth-fcgi: %s\n", e.msg);
		return 1;
	}
	fputs(out.s, stdout);
	buf_free(&out);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cfgpath = NULL, *logpath = NULL;
	long workers = -1;
	int test = 0, opt, rc;
	struct config cfg;
	struct buf warn = BUF_INIT, dump = BUF_INIT;
	struct err e = ERR_INIT;
	struct app a;
	struct stat sb;
	char *end;

	while ((opt = getopt(argc, argv, "c:w:l:tp:h")) != -1) {
		switch (opt) {
		case 'c': cfgpath = optarg; break;
		case 'l': logpath = optarg; break;
		case 't': test = 1; break;
		case 'p': return hash_password(optarg);
		case 'w':
			workers = strtol(optarg, &end, 10);
			if (*end || workers < 0 || workers > 1024) {
				fprintf(stderr, "berth-fcgi: -w wants 0 to 1024\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (config_load(cfgpath, environ, &cfg, &warn, &e) < 0) {
		fprintf(stderr, "berth-fcgi: %s\n", e.msg[0] ? e.msg : e.detail);
		return 1;
	}
	if (warn.len)
		fprintf(stderr, "%s", warn.s);
	if (test) {
		config_dump(&cfg, &dump);
		fputs(dump.s, stdout);
		printf("configuration ok\n");
		return 0;
	}
	if (!logpath && cfg.logfile[0])
		logpath = cfg.logfile;
	if (logpath) {
		log_fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (log_fd < 0) {
			fprintf(stderr, "berth-fcgi: cannot open log %s: %s\n",
				logpath, strerror(errno));
			return 1;
		}
		/* spawn-fcgi leaves stderr nowhere; whatever a library or a
		 * sanitizer has to say about a dying worker goes to the log. */
		dup2(log_fd, 2);
	}
	if (store_open(&a.st, cfg.rootdirectory, &e) < 0) {
		fprintf(stderr, "berth-fcgi: storage %s: %s %s\n",
			cfg.rootdirectory, e.msg, e.detail);
		return 1;
	}
	a.cfg = &cfg;
	if (fstat(0, &sb) < 0 || !S_ISSOCK(sb.st_mode)) {
		fprintf(stderr, "berth-fcgi: fd 0 is not a socket: start me "
			"with spawn-fcgi or mod_fcgid\n");
		return 1;
	}
	if (workers < 0)
		workers = cfg.workers;
	a.supervised = workers > 0;
	if (workers == 0)
		rc = serve(&a);
	else
		rc = supervise(&a, workers);
	store_close(&a.st);
	config_free(&cfg);
	buf_free(&warn);
	return rc;
}
