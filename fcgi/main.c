/*
 * berth-fcgi: the FastCGI program. spawn-fcgi, systemd (socket
 * activation) or mod_fcgid hands it the listening socket; it forks a pool
 * of workers that each accept and serve one request at a time with
 * libfcgi, and stays behind as a small supervisor (fcgi/pool.c). With
 * -w 0 it serves in its own process, which is what mod_fcgid wants (it
 * manages the processes itself).
 *
 * The socket: fd 0, as spawn-fcgi and mod_fcgid pass it; or, when
 * LISTEN_PID names this process, the one socket systemd passes as fd 3
 * (LISTEN_FDS, sd_listen_fds(3)'s protocol, read without libsystemd),
 * moved to fd 0 so the rest of the program knows one convention.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handlers.h"
#include "log.h"
#include "pool.h"
#include "../core/auth.h"
#include "../core/events.h"
#include "../core/banned.h"

extern char **environ;

/* systemd's socket, if it passed one to this process: moved to fd 0.
 * Returns 0 (none passed, or moved), -1 with a message when what was
 * passed cannot be served. */
static int listen_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end;
	long p, n;

	if (!pid || !fds)
		return 0;
	p = strtol(pid, &end, 10);
	if (*end || p != (long)getpid())
		return 0; /* meant for another process (our parent's) */
	n = strtol(fds, &end, 10);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (*end || n != 1) {
		fprintf(stderr, "berth-fcgi: systemd passed %s sockets; berth.socket "
			"must listen on exactly one\n", fds);
		return -1;
	}
	if (dup2(3, 0) < 0) {
		fprintf(stderr, "berth-fcgi: cannot take the socket from systemd: %s\n",
			strerror(errno));
		return -1;
	}
	close(3);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: berth-fcgi [-c config.yml] [-w workers] [-l logfile] [-P pidfile] [-t]\n"
		"       berth-fcgi -p user   (reads a password on stdin, prints an htpasswd line)\n"
		"  -c  registry:2 config file (REGISTRY_* environment overrides apply)\n"
		"  -w  worker processes (0: serve in this process, for mod_fcgid)\n"
		"  -l  request log file (default: berth.logfile, else stderr)\n"
		"  -P  pid file of the supervisor, kept current when a successor takes over\n"
		"  -t  check the configuration, print it and exit\n"
		"The FastCGI listening socket is fd 0, as spawn-fcgi and mod_fcgid pass it,\n"
		"or the socket systemd passes (LISTEN_FDS).\n");
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
	const char *cfgpath = NULL, *logpath = NULL, *pidfile = NULL;
	long workers = -1;
	int test = 0, opt, rc;
	struct config cfg;
	struct buf warn = BUF_INIT, dump = BUF_INIT;
	struct err e = ERR_INIT;
	struct app a;
	struct pool_opts po;
	struct stat sb;
	char fstype[64];
	char *end;

	while ((opt = getopt(argc, argv, "c:w:l:P:tp:h")) != -1) {
		switch (opt) {
		case 'c': cfgpath = optarg; break;
		case 'l': logpath = optarg; break;
		case 'P': pidfile = optarg; break;
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
	/* Before anything opens a file: systemd's socket is fd 3. */
	if (!test && listen_fds() < 0)
		return 1;
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
	if (log_open(logpath, cfg.log_json) < 0) {
		fprintf(stderr, "berth-fcgi: cannot open log %s: %s\n", logpath,
			strerror(errno));
		return 1;
	}
	if (store_open(&a.st, cfg.rootdirectory, &e) < 0) {
		fprintf(stderr, "berth-fcgi: storage %s: %s %s\n",
			cfg.rootdirectory, e.msg, e.detail);
		return 1;
	}
	/* Refused here, before any request: a filesystem that lacks what
	 * the store relies on would not fail loudly, it would let writers
	 * replace each other's blobs and tags (core/fsprobe.h). */
	if (store_check_fs(&a.st, fstype, sizeof(fstype), &e) < 0) {
		fprintf(stderr, "berth-fcgi: storage %s (%s): %s (%s); refusing "
			"to start: see \"What Berth asks of a filesystem\" in "
			"docs/design.md\n", cfg.rootdirectory, fstype, e.msg, e.detail);
		log_line("refusing to start: storage %s (%s): %s (%s)",
			 cfg.rootdirectory, fstype, e.msg, e.detail);
		return 1;
	}
	log_line("storage %s on %s: filesystem checks passed",
		 cfg.rootdirectory, fstype);
	if (events_open(&a.ev, &a.st, &cfg, &e) < 0) {
		fprintf(stderr, "berth-fcgi: event log: %s %s\n", e.msg, e.detail);
		return 1;
	}
	a.cfg = &cfg;
	if (fstat(0, &sb) < 0 || !S_ISSOCK(sb.st_mode)) {
		fprintf(stderr, "berth-fcgi: fd 0 is not a socket: start me "
			"with spawn-fcgi, systemd (berth.socket) or mod_fcgid\n");
		return 1;
	}
	if (workers < 0)
		workers = cfg.workers;
	a.supervised = workers > 0;
	if (workers == 0) {
		rc = pool_serve(&a);
	} else {
		po.workers = workers;
		po.pidfile = pidfile;
		po.argv = argv;
		rc = pool_supervise(&a, &po);
	}
	store_close(&a.st);
	config_free(&cfg);
	buf_free(&warn);
	return rc;
}
