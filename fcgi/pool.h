/*
 * pool: the processes of berth-fcgi around one listening socket (fd 0).
 *
 * Contract: pool_serve() is one worker: it accepts and answers requests
 * one at a time until it is told to stop (SIGTERM/SIGINT: the request in
 * hand is finished first). pool_supervise() forks `workers` of them and
 * stays behind as their supervisor: it restarts a worker that dies, runs
 * the upload purge on its interval, passes SIGTERM on (then waits for the
 * pool to drain) and SIGHUP/SIGUSR1 (reopen the log) to every worker.
 *
 * No process of the pool is a single point of failure. A worker learns of
 * its supervisor's death from the kernel (PR_SET_PDEATHSIG), however the
 * supervisor died, kill -9 included; the orphaned workers elect one of
 * themselves by binding the pool's lock (an abstract unix socket named
 * after the listening socket, which the kernel frees when its holder
 * dies), and the winner starts this program anew as the next supervisor,
 * passing it the lock; every orphan finishes the request in hand and
 * exits. The listening socket never closes meanwhile (every process holds
 * it), so connections wait in its backlog: none is refused.
 */
#ifndef BERTH_POOL_H
#define BERTH_POOL_H

#include "handlers.h"

struct pool_opts {
	long workers;
	const char *pidfile; /* -P: the supervisor's pid, kept current; or NULL */
	char **argv;         /* how this program was started, to start it anew */
};

int pool_serve(struct app *a);
/* Returns the exit status for main: 0 after a clean stop. */
int pool_supervise(struct app *a, const struct pool_opts *o);

#endif
