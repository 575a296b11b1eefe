/*
 * buf: growable NUL-terminated buffer. See buf.h for the contract.
 * Growth is geometric so that appending a byte at a time stays linear.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

char buf_empty[1];

void buf_init(struct buf *b)
{
	b->s = buf_empty;
	b->len = 0;
	b->cap = 0;
}

void buf_free(struct buf *b)
{
	if (b->cap)
		free(b->s);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	buf_truncate(b, 0);
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len > b->len)
		return;
	b->len = len;
	if (b->cap)
		b->s[len] = 0;
}

int buf_grow(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > (size_t)-1 - b->len - 1)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
	p = realloc(b->cap ? b->s : NULL, cap);
	if (!p)
		return -1;
	if (!b->cap)
		p[0] = 0;
	b->s = p;
	b->cap = cap;
	return 0;
}

int buf_add(struct buf *b, const void *data, size_t len)
{
	if (buf_grow(b, len) < 0)
		return -1;
	if (len)
		memcpy(b->s + b->len, data, len);
	b->len += len;
	b->s[b->len] = 0;
	return 0;
}

int buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

/* As git's strbuf_vaddf: format into the room there is (made at least
 * 128 bytes), and only when that was too small grow and format again.
 * Measuring first with vsnprintf(NULL, 0) formatted everything twice:
 * paths and headers are built this way on every request. */
int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	size_t room;
	int n;

	if (buf_grow(b, 128) < 0)
		return -1;
	room = b->cap - b->len;
	va_copy(cp, ap);
	n = vsnprintf(b->s + b->len, room, fmt, cp);
	va_end(cp);
	if (n < 0) {
		b->s[b->len] = 0;
		return -1;
	}
	if ((size_t)n >= room) {
		if (buf_grow(b, (size_t)n) < 0) {
			b->s[b->len] = 0;
			return -1;
		}
		vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len += (size_t)n;
	return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

void buf_vsay(void (*fn)(void *ctx, const char *line), void *ctx,
	      const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;

	if (fn && buf_vaddf(&b, fmt, ap) == 0)
		fn(ctx, b.s);
	buf_free(&b);
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *s;

	if (!b->cap && buf_grow(b, 0) < 0)
		return NULL;
	s = b->s;
	if (len)
		*len = b->len;
	buf_init(b);
	return s;
}
