/*
 * sink: a request body's bytes written to an upload's data file at the
 * disk's speed, not the page cache's.
 *
 * Written the ordinary way, every byte of a push is copied into the page
 * cache (write(2): ~12% of the machine during a push) and copied out again
 * by writeback, and the worker waits for each write before reading on. On
 * Linux the sink writes whole aligned pieces of SINK_PIECE bytes with
 * O_DIRECT through Linux AIO instead: the disk reads them straight from
 * the worker's buffer while the worker reads and hashes the next piece
 * into a second buffer (measured on this project's disk: 1.2-1.8 GB/s
 * against 290-400 MB/s through the page cache; docs/performance.md).
 *
 * Everything that cannot go that way goes the ordinary way, with the same
 * result: a body under one piece, the bytes before the first aligned
 * offset, the last partial piece, a filesystem without O_DIRECT (tmpfs) or
 * a system without AIO (io_setup fails), and a piece the kernel refuses
 * (EINVAL: rewritten through the page cache, and the sink stays there).
 * Ordinary writes are handed to writeback as they come (fs_write_behind),
 * so the final fdatasync never has a GiB to flush alone.
 *
 * Extending a file with O_DIRECT makes ext4 finish each write inside
 * io_submit (it updates the size only after the data), which would make
 * the writes synchronous again; so the sink first extends the file with
 * ftruncate (to the body's known end, or 64 MiB at a time) and writes
 * inside it. sink_finish() cuts the file back to the last byte written.
 * A crash meanwhile leaves a longer file, which upload_open() cuts back
 * to the saved offset as it does for any request that died.
 *
 * Contract: the caller reads into sink_buf(), hashes, and calls sink_put()
 * with how many bytes it put there; nothing is durable until the caller's
 * fdatasync after sink_finish(). sink_finish() returns 0 when every byte
 * is written and the file ends at the last of them. sink_free() waits
 * for writes still in flight, so after it returns nothing the sink started
 * can touch the file again (the caller may then cut it). A failed sink_put
 * or sink_finish leaves the sink only fit to be freed.
 */
#ifndef BERTH_SINK_H
#define BERTH_SINK_H

#include <stddef.h>
#include <sys/types.h>
#include "err.h"

#define SINK_PIECE (1 << 20)

struct sink;

/* fd: the data file, open for writing, at path; bytes go from off on;
 * total: how many the body has, or -1 when unknown. */
int sink_open(int fd, const char *path, off_t off, long long total,
	      struct sink **out, struct err *e);
/* Where the next bytes go, and how many fit (never 0). */
char *sink_buf(struct sink *s, size_t *room);
/* n (<= room) bytes were put into sink_buf(). */
int sink_put(struct sink *s, size_t n, struct err *e);
int sink_finish(struct sink *s, struct err *e);
void sink_free(struct sink *s);
/* 1 when some piece went out with O_DIRECT (for the tests). */
int sink_went_direct(const struct sink *s);

#endif
