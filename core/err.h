/*
 * err: how core/ reports failure.
 *
 * Contract: every core function that can fail takes a struct err * as its
 * last argument, fills it and returns -1 (or NULL); on success it returns
 * 0 (or a pointer) and leaves the err untouched. The code is one of the
 * OCI distribution-spec error codes, or one of core's own conditions that
 * a front end presents its way (ERR_TOO_LARGE, ERR_RANGE_INVALID, ERR_BUSY,
 * ERR_INTERNAL for the machine's own failures: disk full, I/O errors).
 * Absence is not an error code: a lookup answers "absent" with its return
 * value (see fsutil.h, store.h), never by filling e. core knows no HTTP:
 * the statuses and the code strings sent to clients are fcgi/'s. The message is safe to show a client:
 * it never holds a filesystem path. Paths and errno text for the operator go
 * in err->detail, which the front end logs and never sends.
 */
#ifndef BERTH_ERR_H
#define BERTH_ERR_H

enum err_code {
	ERR_NONE = 0,
	ERR_BLOB_UNKNOWN,
	ERR_BLOB_UPLOAD_INVALID,
	ERR_BLOB_UPLOAD_UNKNOWN,
	ERR_DIGEST_INVALID,
	ERR_MANIFEST_BLOB_UNKNOWN,
	ERR_MANIFEST_INVALID,
	ERR_MANIFEST_UNKNOWN,
	ERR_NAME_INVALID,
	ERR_NAME_UNKNOWN,
	ERR_SIZE_INVALID,
	ERR_TAG_INVALID,
	ERR_UNAUTHORIZED,
	ERR_DENIED,
	ERR_UNSUPPORTED,
	ERR_RANGE_INVALID,      /* Content-Range does not continue an upload */
	ERR_TOO_LARGE,          /* a body or a file over its limit */
	ERR_PAGINATION_NUMBER_INVALID,
	ERR_BUSY,               /* another request holds the upload */
	ERR_INTERNAL,
	ERR__COUNT
};

struct err {
	enum err_code code;
	char msg[256];
	char detail[1024];
};

#define ERR_INIT { ERR_NONE, "", "" }

/* Fills e (message printf-style) and returns -1. */
int err_set(struct err *e, enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* ERR_INTERNAL with a generic message; detail names what failed, plus
 * strerror(errno) when errno is set. Returns -1. */
int err_sys(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
