/* libFuzzer target: manifest validation and storage (manifest_put) on a
 * throwaway store, with the first line of the input as the declared media type, and the
 * reading of stored manifests (refs_parse REFS_STORED). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/manifest.h"

static struct store st;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = ERR_INIT;
	struct manifest_ref ref;
	struct manifest_info mi;
	const uint8_t *nl = memchr(data, '\n', size);
	char ct[128] = "";
	char mt[128];
	size_t n;

	if (!ready) {
		char dir[] = "/tmp/berth-fuzz-XXXXXX";
		if (!mkdtemp(dir) || store_open(&st, dir, &e) < 0)
			abort();
		ready = 1;
	}
	if (nl) {
		n = (size_t)(nl - data) < sizeof(ct) - 1 ? (size_t)(nl - data) : sizeof(ct) - 1;
		memcpy(ct, data, n);
		ct[n] = 0;
		if (memchr(ct, 0, n))
			return 0;
		size -= (size_t)(nl - data) + 1;
		data = nl + 1;
	}
	manifest_ref_parse("fuzz", &ref, &e);
	manifest_put(&st, "fuzz/repo", &ref, ct, (const char *)data, size, &mi, &e);
	refs_media_type((const char *)data, size, mt, sizeof(mt));
	{
		struct refs m;
		if (refs_parse((const char *)data, size, REFS_STORED, &m, &e) == 0 ||
		    m.doc)
			refs_free(&m);
	}
	return 0;
}
