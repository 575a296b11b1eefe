/*
 * name: validation of everything a client puts in a URL path.
 *
 * Contract: each function returns 0 when the string is valid and -1 with
 * the spec's error (NAME_INVALID, TAG_INVALID, BLOB_UPLOAD_UNKNOWN) when it
 * is not. A string that passes can be used as a path component: none of
 * the accepted alphabets contains '/', '%', NUL, or a component made only of
 * dots, and repository components never begin with '_' (so "_uploads",
 * "_layers" and "_manifests" cannot be named).
 */
#ifndef BERTH_NAME_H
#define BERTH_NAME_H

#include <stddef.h>
#include "err.h"

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128
#define UPLOAD_ID_LEN 36

/* <component>(/<component>)*, component [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*,
 * at most 255 characters in all. len is the length of s to look at. */
int name_repo_valid(const char *s, size_t len, struct err *e);
/* [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127} */
int name_tag_valid(const char *s, struct err *e);
/* The upload ids Berth hands out: a lowercase UUID (8-4-4-4-12 hex). */
int name_upload_id_valid(const char *s, struct err *e);

#endif
