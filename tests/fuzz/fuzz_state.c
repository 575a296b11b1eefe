/* libFuzzer target: the saved upload hash state (berthstate), which a
 * worker reads back from the store. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct err e = ERR_INIT;
	struct digest_hasher *h;
	struct digest d;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	h = digest_hasher_load(s, &e);
	if (h) {
		digest_hasher_update(h, data, size);
		if (digest_hasher_algs(h) & DIGEST_SHA256)
			digest_hasher_final(h, DIGEST_SHA256, &d, &e);
		if (digest_hasher_algs(h) & DIGEST_SHA512)
			digest_hasher_final(h, DIGEST_SHA512, &d, &e);
		digest_hasher_free(h);
	}
	free(s);
	return 0;
}
