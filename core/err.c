/*
 * err: filling a struct err. What a code looks like to a client (status,
 * code string) is fcgi/http.c's table.
 */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "banned.h"

int err_set(struct err *e, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->detail[0] = 0;
	return -1;
}

int err_sys(struct err *e, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;
	size_t n;

	e->code = ERR_INTERNAL;
	snprintf(e->msg, sizeof(e->msg), "internal storage error");
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	n = strlen(e->detail);
	if (saved && n < sizeof(e->detail))
		snprintf(e->detail + n, sizeof(e->detail) - n, ": %s",
			 strerror(saved));
	errno = saved;
	return -1;
}
