/*
 * metrics: counters of every Berth process, summed for Prometheus.
 *
 * Workers share nothing in memory, so each process that counts takes a
 * slot: a fixed-size file <dir>/slot-<n> that it maps and holds an
 * exclusive flock(2) on while it lives. A process that dies (kill -9
 * included) frees its slot with its descriptors; the next process to
 * start takes the first free one and goes on adding to the same
 * counters, so sums survive worker restarts and never go down (until the
 * run directory itself is emptied, a reboot for /run: Prometheus sees a
 * counter reset, as after any restart). Only the holder writes a slot;
 * readers sum every slot with relaxed atomic loads (each counter is one
 * aligned 64-bit word: never torn).
 *
 * Contract: metrics_open() once per process that counts, after any
 * fork that would share its slot (a forked child calls metrics_open()
 * again: it takes a slot of its own). Without a slot (no directory, no
 * room) every metrics_add*() is a no-op and says nothing: counting never
 * fails a request. metrics_render() reads the directory and needs no
 * slot.
 */
#ifndef BERTH_METRICS_H
#define BERTH_METRICS_H

#include <stdint.h>
#include "buf.h"
#include "err.h"

enum metrics_counter {
	METRICS_BYTES_RECEIVED,
	METRICS_BYTES_SENT,
	METRICS_UPLOADS_STARTED,
	METRICS_UPLOADS_COMPLETED,
	METRICS_UPLOADS_CANCELLED,
	METRICS_BLOBS_WRITTEN,
	METRICS_MANIFESTS_WRITTEN,
	METRICS_GC_RUNS,
	METRICS_GC_BLOBS,
	METRICS_GC_MANIFESTS,
	METRICS_GC_BYTES,
	METRICS_PURGE_RUNS,
	METRICS_PURGE_UPLOADS,
	METRICS_PURGE_BYTES,
	METRICS__COUNT
};

/* Takes a slot in dir (created if missing). 0, or -1 with e: then the
 * process counts nothing. */
int metrics_open(const char *dir, struct err *e);
/* Gives the slot up (a process about to do something else). */
void metrics_close(void);
void metrics_add(enum metrics_counter c, uint64_t n);
/* One completed collection (berth gc) or upload purge, with what it
 * removed. */
void metrics_gc(int purge_only, long blobs, long manifests, long uploads, long long bytes);
/* One answered request: its method, status and duration in seconds. */
void metrics_request(const char *method, int status, double secs);
/* The Prometheus text exposition (format 0.0.4) of the sum of all slots
 * in dir: 0, or -1 with e when dir cannot be read. */
int metrics_render(const char *dir, struct buf *out, struct err *e);

#endif
