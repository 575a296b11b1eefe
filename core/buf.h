/*
 * buf: the one growable string/byte buffer of Berth (after git's strbuf).
 *
 * Contract: a struct buf is always NUL-terminated (b->s[b->len] == 0) once
 * initialised with BUF_INIT or buf_init(), so it can be passed to libc path
 * functions directly. Every function that can allocate returns 0 on success
 * and -1 when memory runs out; on failure the buffer keeps its old content.
 * buf_free() releases the memory and leaves an empty, reusable buffer.
 */
#ifndef BERTH_BUF_H
#define BERTH_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *s;     /* never NULL: points at buf_empty when nothing is allocated */
	size_t len;
	size_t cap;  /* 0 while s == buf_empty */
};

extern char buf_empty[1];
#define BUF_INIT { buf_empty, 0, 0 }

void buf_init(struct buf *b);
void buf_free(struct buf *b);
/* Keeps the allocation, drops the content. */
void buf_reset(struct buf *b);
/* Drops everything from position len on; len must not exceed b->len. */
void buf_truncate(struct buf *b, size_t len);
/* Makes room for extra more bytes (plus the NUL) without changing len. */
int buf_grow(struct buf *b, size_t extra);
int buf_add(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addch(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Formats one line and hands it to fn (when fn is set): how core/ reports
 * progress to whoever runs it (the CLI prints, the supervisor logs). */
void buf_vsay(void (*fn)(void *ctx, const char *line), void *ctx,
	      const char *fmt, va_list ap);
/* Hands the allocation to the caller (who frees it) and resets b. */
char *buf_detach(struct buf *b, size_t *len);

#endif
