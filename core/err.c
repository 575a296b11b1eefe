/*
 * err: error codes of the distribution spec and their HTTP statuses.
 * The status table lives here, not in fcgi/, because the spec binds each
 * code to a status whatever the front end is.
 */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "banned.h"

static const struct {
	const char *name;
	int status;
} codes[] = {
	[ERR_NONE] = { "", 200 },
	[ERR_BLOB_UNKNOWN] = { "BLOB_UNKNOWN", 404 },
	[ERR_BLOB_UPLOAD_INVALID] = { "BLOB_UPLOAD_INVALID", 400 },
	[ERR_BLOB_UPLOAD_UNKNOWN] = { "BLOB_UPLOAD_UNKNOWN", 404 },
	[ERR_DIGEST_INVALID] = { "DIGEST_INVALID", 400 },
	[ERR_MANIFEST_BLOB_UNKNOWN] = { "MANIFEST_BLOB_UNKNOWN", 400 },
	[ERR_MANIFEST_INVALID] = { "MANIFEST_INVALID", 400 },
	[ERR_MANIFEST_UNKNOWN] = { "MANIFEST_UNKNOWN", 404 },
	[ERR_NAME_INVALID] = { "NAME_INVALID", 400 },
	[ERR_NAME_UNKNOWN] = { "NAME_UNKNOWN", 404 },
	[ERR_SIZE_INVALID] = { "SIZE_INVALID", 400 },
	[ERR_TAG_INVALID] = { "TAG_INVALID", 400 },
	[ERR_UNAUTHORIZED] = { "UNAUTHORIZED", 401 },
	[ERR_DENIED] = { "DENIED", 403 },
	[ERR_UNSUPPORTED] = { "UNSUPPORTED", 405 },
	[ERR_RANGE_INVALID] = { "BLOB_UPLOAD_INVALID", 416 },
	[ERR_TOO_LARGE] = { "MANIFEST_INVALID", 413 },
	[ERR_PAGINATION_NUMBER_INVALID] = { "PAGINATION_NUMBER_INVALID", 400 },
	[ERR_NOT_FOUND] = { "NOT_FOUND", 404 },
	[ERR_METHOD] = { "UNSUPPORTED", 405 },
	[ERR_BUSY] = { "BLOB_UPLOAD_INVALID", 409 },
	[ERR_INTERNAL] = { "UNKNOWN", 500 },
};

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

const char *err_code_name(enum err_code code)
{
	if ((unsigned)code >= sizeof(codes) / sizeof(codes[0]))
		return "UNKNOWN";
	return codes[code].name;
}

int err_http_status(enum err_code code)
{
	if ((unsigned)code >= sizeof(codes) / sizeof(codes[0]))
		return 500;
	return codes[code].status;
}
