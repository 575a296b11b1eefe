/* libFuzzer target: a sorted snapshot file (catalog, tags), which a
 * worker maps from the store. Input: the name to page after, a newline,
 * then the file. The directory's mtime is taken from the file's header,
 * so inputs get past it to the lines. Whatever the bytes, a page is
 * strictly increasing, after last, and at most n long. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strlist out = STRLIST_INIT;
	struct timespec mt = { 0, 0 };
	const uint8_t *nl = memchr(data, '\n', size);
	char *last, *file;
	long long sec, nsec;
	size_t flen, i, n = 3;
	int more = 0, r;

	if (!nl || nl - data > 255)
		return 0;
	last = strndup((const char *)data, (size_t)(nl - data));
	flen = size - (size_t)(nl + 1 - data);
	file = malloc(flen + 1);
	if (!last || !file)
		abort();
	memcpy(file, nl + 1, flen);
	file[flen] = 0;
	if (sscanf(file, "berth-snapshot 1 %lld.%lld", &sec, &nsec) == 2) {
		mt.tv_sec = (time_t)sec;
		mt.tv_nsec = (long)nsec;
	}
	r = snapshot_page_mem(file, flen, &mt, *last ? last : NULL, n, &out, &more);
	if (r <= 0 && out.n)
		abort();
	if (out.n > n || (more && out.n != n))
		abort();
	for (i = 0; i < out.n; i++) {
		if (*last && strcmp(out.items[i], last) <= 0)
			abort();
		if (i && strcmp(out.items[i - 1], out.items[i]) >= 0)
			abort();
	}
	strlist_free(&out);
	free(last);
	free(file);
	return 0;
}
