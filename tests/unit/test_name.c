#include <string.h>

#include "t.h"
#include "../../core/buf.h"
#include "../../core/digest.h"
#include "../../core/name.h"

static int repo_ok(const char *s)
{
	struct err e = ERR_INIT;
	return name_repo_valid(s, strlen(s), &e) == 0;
}

static int tag_ok(const char *s)
{
	struct err e = ERR_INIT;
	return name_tag_valid(s, &e) == 0;
}

/* buf_addf formats into the room it has and grows only when that was
 * short: both paths, and appends after them. */
static void test_buf(void)
{
	struct buf b = BUF_INIT;
	char big[1000];
	size_t i;

	for (i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('a' + i % 26);
	big[sizeof(big) - 1] = 0;
	CHECK(buf_addf(&b, "%s/%d", "x", 42) == 0 && !strcmp(b.s, "x/42") && b.len == 4);
	CHECK(buf_addf(&b, "[%s]", big) == 0 && b.len == 4 + 2 + 999);
	CHECK(b.s[4] == '[' && b.s[5 + 999] == ']' && b.s[b.len] == 0);
	CHECK(!strncmp(b.s + 5, big, 999));
	CHECK(buf_addf(&b, "%c", 'z') == 0 && b.s[b.len - 1] == 'z' && b.s[b.len] == 0);
	buf_reset(&b);
	CHECK(buf_addf(&b, "%s", "") == 0 && b.len == 0 && b.s[0] == 0);
	buf_free(&b);
}

void test_name(void)
{
	struct err e = ERR_INIT;
	char big[300];

	test_buf();

	CHECK(repo_ok("busybox"));
	CHECK(repo_ok("library/busybox"));
	CHECK(repo_ok("a/b/c-d/e.f/g__h/i_j/k---l"));
	CHECK(repo_ok("0"));
	CHECK(!repo_ok(""));
	CHECK(!repo_ok("Busybox"));
	CHECK(!repo_ok("a//b"));
	CHECK(!repo_ok("/a"));
	CHECK(!repo_ok("a/"));
	CHECK(!repo_ok(".."));
	CHECK(!repo_ok("a/../b"));
	CHECK(!repo_ok("a/_uploads"));
	CHECK(!repo_ok("a/_layers/b"));
	CHECK(!repo_ok("a___b"));
	CHECK(!repo_ok("a.-b"));
	CHECK(!repo_ok("a%2eb"));
	CHECK(!repo_ok("a-"));
	CHECK(!repo_ok("-a"));
	CHECK(name_repo_valid("ab\0c", 4, &e) < 0 && e.code == ERR_NAME_INVALID);
	memset(big, 'a', 255);
	big[255] = 0;
	CHECK(repo_ok(big));
	big[255] = 'a';
	big[256] = 0;
	CHECK(!repo_ok(big));

	CHECK(tag_ok("latest"));
	CHECK(tag_ok("v1.2.3-rc_1"));
	CHECK(tag_ok("_x"));
	CHECK(!tag_ok(".hidden"));
	CHECK(!tag_ok("-x"));
	CHECK(!tag_ok(""));
	CHECK(!tag_ok("a/b"));
	CHECK(!tag_ok("a:b"));
	memset(big, 'a', 128);
	big[128] = 0;
	CHECK(tag_ok(big));
	big[128] = 'a';
	big[129] = 0;
	CHECK(!tag_ok(big));

	CHECK(name_upload_id_valid("0f8fad5b-d9cb-469f-a165-70867728950e", &e) == 0);
	CHECK(name_upload_id_valid("0f8fad5b-d9cb-469f-a165-70867728950", &e) < 0);
	CHECK(name_upload_id_valid("../8fad5b-d9cb-469f-a165-70867728950e", &e) < 0);
	CHECK(e.code == ERR_BLOB_UPLOAD_UNKNOWN);
}

void test_digest(void)
{
	struct digest d, d2;
	struct err e = ERR_INIT;
	struct buf saved = BUF_INIT;
	struct digest_hasher *h, *h2;
	char s[DIGEST_STR_MAX];
	static const char abc256[] =
		"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	char data[1000];
	size_t i;

	CHECK(digest_parse(abc256, &d, &e) == 0);
	digest_of(DIGEST_SHA256, "abc", 3, &d2);
	CHECK(digest_equal(&d, &d2));
	digest_format(&d2, s);
	CHECK(!strcmp(s, abc256));
	CHECK(digest_parse("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", &d, &e) < 0);
	CHECK(e.code == ERR_DIGEST_INVALID);
	CHECK(digest_parse("sha256:abc", &d, &e) < 0);
	CHECK(digest_parse("md5:d41d8cd98f00b204e9800998ecf8427e", &d, &e) < 0);
	CHECK(digest_parse("sha256:../../../../etc/passwd", &d, &e) < 0);
	CHECK(digest_parse("", &d, &e) < 0);

	/* Save/load mid-stream gives the same digest as one pass. */
	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7);
	h = digest_hasher_new(DIGEST_SHA256 | DIGEST_SHA512);
	digest_hasher_update(h, data, 333);
	CHECK(digest_hasher_save(h, &saved) == 0);
	digest_hasher_free(h);
	h2 = digest_hasher_load(saved.s, &e);
	CHECK(h2 != NULL);
	if (h2) {
		digest_hasher_update(h2, data + 333, sizeof(data) - 333);
		CHECK(digest_hasher_final(h2, DIGEST_SHA256, &d, &e) == 0);
		digest_of(DIGEST_SHA256, data, sizeof(data), &d2);
		CHECK(digest_equal(&d, &d2));
		CHECK(digest_hasher_final(h2, DIGEST_SHA512, &d, &e) == 0);
		digest_of(DIGEST_SHA512, data, sizeof(data), &d2);
		CHECK(digest_equal(&d, &d2));
		digest_hasher_free(h2);
	}
	CHECK(digest_hasher_load("s256 zz", &e) == NULL);
	CHECK(digest_hasher_load("", &e) == NULL);
	saved.s[10] = 'x';
	CHECK(digest_hasher_load(saved.s, &e) == NULL);
	buf_free(&saved);
}
