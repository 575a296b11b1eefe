/* libFuzzer target: the grammars of every identifier a client puts in a
 * URL (repository name, tag, digest, upload id, manifest reference). An
 * accepted string must never be usable to leave its directory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/digest.h"
#include "../../core/manifest.h"
#include "../../core/name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct err e = ERR_INIT;
	struct digest d;
	struct manifest_ref ref;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (name_repo_valid(s, size, &e) == 0 &&
	    (strstr(s, "..") || strchr(s, '%') || s[0] == '/' || strstr(s, "/_") ||
	     strlen(s) != size))
		abort();
	if (name_tag_valid(s, &e) == 0 && (strchr(s, '/') || s[0] == '.'))
		abort();
	if (digest_parse(s, &d, &e) == 0 && (strchr(s + 7, '/') || strchr(s + 7, '.')))
		abort();
	if (name_upload_id_valid(s, &e) == 0 && strchr(s, '/'))
		abort();
	manifest_ref_parse(s, &ref, &e);
	free(s);
	return 0;
}
