/* libFuzzer target: what fcgi/http.c parses from client headers and the
 * query string: Range, Content-Range, and percent-decoded query values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../fcgi/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct http_req r;
	struct buf v = BUF_INIT;
	long long a, b;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (http_parse_range(s, 1000, &a, &b) == 1 && (a < 0 || b >= 1000 || a > b))
		abort();
	if (http_parse_content_range(s, &a, &b) == 0 && (a > b || a < 0))
		abort();
	memset(&r, 0, sizeof(r));
	r.query = s;
	if (http_query(&r, "digest", &v) == 1 && memchr(v.s, 0, v.len))
		abort();
	http_query(&r, "n", &v);
	http_query(&r, "last", &v);
	buf_free(&v);
	free(s);
	return 0;
}
