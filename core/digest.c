/*
 * digest: parsing of digests and hashing that survives a process boundary.
 *
 * OpenSSL 3 cannot serialise an EVP_MD_CTX, so the resumable hasher uses the
 * low-level SHA256_CTX / SHA512_CTX, whose fields are plain integers and a
 * byte block. Those structs are deprecated in OpenSSL 3 but still shipped
 * and are the only way to save a hash mid-stream; OPENSSL_SUPPRESS_DEPRECATED
 * below is the one place Berth silences that warning. The saved form writes
 * every integer as fixed-width hex, so it does not depend on endianness or
 * struct padding.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>

#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "banned.h"

struct digest_hasher {
	unsigned algs;
	SHA256_CTX s256;
	SHA512_CTX s512;
};

static size_t hex_len(enum digest_alg alg)
{
	return alg == DIGEST_SHA512 ? 128 : 64;
}

int digest_parse(const char *s, struct digest *d, struct err *e)
{
	enum digest_alg alg;
	const char *hex;
	size_t i, n;

	if (!strncmp(s, "sha256:", 7))
		alg = DIGEST_SHA256;
	else if (!strncmp(s, "sha512:", 7))
		alg = DIGEST_SHA512;
	else
		return err_set(e, ERR_DIGEST_INVALID,
			       "unsupported digest algorithm");
	hex = s + 7;
	n = strlen(hex);
	if (n != hex_len(alg))
		return err_set(e, ERR_DIGEST_INVALID,
			       "digest has the wrong length");
	for (i = 0; i < n; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') ||
		      (hex[i] >= 'a' && hex[i] <= 'f')))
			return err_set(e, ERR_DIGEST_INVALID,
				       "digest is not lowercase hex");
	d->alg = alg;
	memcpy(d->hex, hex, n + 1);
	return 0;
}

const char *digest_alg_name(enum digest_alg alg)
{
	return alg == DIGEST_SHA512 ? "sha512" : "sha256";
}

void digest_format(const struct digest *d, char out[DIGEST_STR_MAX])
{
	snprintf(out, DIGEST_STR_MAX, "%s:%s", digest_alg_name(d->alg), d->hex);
}

int digest_equal(const struct digest *a, const struct digest *b)
{
	return a->alg == b->alg && !strcmp(a->hex, b->hex);
}

static void to_hex(const unsigned char *md, size_t n, char *out)
{
	static const char x[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = x[md[i] >> 4];
		out[2 * i + 1] = x[md[i] & 15];
	}
	out[2 * n] = 0;
}

void digest_of(enum digest_alg alg, const void *data, size_t len,
	       struct digest *out)
{
	unsigned char md[SHA512_DIGEST_LENGTH];

	out->alg = alg;
	if (alg == DIGEST_SHA512) {
		SHA512(data, len, md);
		to_hex(md, SHA512_DIGEST_LENGTH, out->hex);
	} else {
		SHA256(data, len, md);
		to_hex(md, SHA256_DIGEST_LENGTH, out->hex);
	}
}

struct digest_hasher *digest_hasher_new(unsigned algs)
{
	struct digest_hasher *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->algs = algs;
	if (algs & DIGEST_SHA256)
		SHA256_Init(&h->s256);
	if (algs & DIGEST_SHA512)
		SHA512_Init(&h->s512);
	return h;
}

void digest_hasher_free(struct digest_hasher *h)
{
	free(h);
}

unsigned digest_hasher_algs(const struct digest_hasher *h)
{
	return h->algs;
}

void digest_hasher_update(struct digest_hasher *h, const void *data, size_t len)
{
	if (h->algs & DIGEST_SHA256)
		SHA256_Update(&h->s256, data, len);
	if (h->algs & DIGEST_SHA512)
		SHA512_Update(&h->s512, data, len);
}

int digest_hasher_final(struct digest_hasher *h, enum digest_alg alg,
			struct digest *out, struct err *e)
{
	unsigned char md[SHA512_DIGEST_LENGTH];

	if (!(h->algs & alg))
		return err_set(e, ERR_DIGEST_INVALID,
			       "%s was not computed for this upload",
			       digest_alg_name(alg));
	out->alg = alg;
	if (alg == DIGEST_SHA512) {
		SHA512_Final(md, &h->s512);
		to_hex(md, SHA512_DIGEST_LENGTH, out->hex);
	} else {
		SHA256_Final(md, &h->s256);
		to_hex(md, SHA256_DIGEST_LENGTH, out->hex);
	}
	h->algs &= ~(unsigned)alg;
	return 0;
}

/*
 * Saved form, one line per algorithm:
 *   s256 <h0..h7 %08x> <Nl %08x> <Nh %08x> <num %u> <data as 128 hex>
 *   s512 <h0..h7 %016x> <Nl %016x> <Nh %016x> <num %u> <data as 256 hex>
 * The block buffer is saved as bytes because OpenSSL fills it with memcpy.
 */
int digest_hasher_save(const struct digest_hasher *h, struct buf *out)
{
	char hex[2 * SHA512_CBLOCK + 1];
	int i, r = 0;

	if (h->algs & DIGEST_SHA256) {
		r |= buf_adds(out, "s256");
		for (i = 0; i < 8; i++)
			r |= buf_addf(out, " %08" PRIx32, (uint32_t)h->s256.h[i]);
		r |= buf_addf(out, " %08" PRIx32 " %08" PRIx32 " %u",
			      (uint32_t)h->s256.Nl, (uint32_t)h->s256.Nh,
			      h->s256.num);
		to_hex((const unsigned char *)h->s256.data, SHA256_CBLOCK, hex);
		r |= buf_addf(out, " %s\n", hex);
	}
	if (h->algs & DIGEST_SHA512) {
		r |= buf_adds(out, "s512");
		for (i = 0; i < 8; i++)
			r |= buf_addf(out, " %016" PRIx64, (uint64_t)h->s512.h[i]);
		r |= buf_addf(out, " %016" PRIx64 " %016" PRIx64 " %u",
			      (uint64_t)h->s512.Nl, (uint64_t)h->s512.Nh,
			      h->s512.num);
		to_hex(h->s512.u.p, SHA512_CBLOCK, hex);
		r |= buf_addf(out, " %s\n", hex);
	}
	return r ? -1 : 0;
}

static int unhex(const char *s, size_t n, unsigned char *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned v = 0;
		int k;
		for (k = 0; k < 2; k++) {
			char c = s[2 * i + k];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				return -1;
		}
		out[i] = (unsigned char)v;
	}
	return s[2 * n] == 0 || s[2 * n] == '\n' ? 0 : -1;
}

/* Reads n hex numbers separated by single spaces; advances *p. */
static int read_words(const char **p, int n, uint64_t *out)
{
	int i;

	for (i = 0; i < n; i++) {
		char *end;
		if (**p != ' ')
			return -1;
		(*p)++;
		if (!((**p >= '0' && **p <= '9') || (**p >= 'a' && **p <= 'f')))
			return -1;
		out[i] = strtoull(*p, &end, 16);
		*p = end;
	}
	return 0;
}

static int read_num(const char **p, unsigned limit, unsigned *out)
{
	char *end;
	unsigned long v;

	if (**p != ' ' || !((*p)[1] >= '0' && (*p)[1] <= '9'))
		return -1;
	v = strtoul(*p + 1, &end, 10);
	if (v >= limit || *end != ' ')
		return -1;
	*out = (unsigned)v;
	*p = end + 1;
	return 0;
}

struct digest_hasher *digest_hasher_load(const char *text, struct err *e)
{
	struct digest_hasher *h = digest_hasher_new(0);
	const char *p = text;
	uint64_t w[10];
	int i;

	if (!h) {
		err_sys(e, "out of memory");
		return NULL;
	}
	while (*p) {
		if (!strncmp(p, "s256", 4) && !(h->algs & DIGEST_SHA256)) {
			p += 4;
			if (read_words(&p, 10, w) < 0)
				goto bad;
			SHA256_Init(&h->s256);
			for (i = 0; i < 8; i++)
				h->s256.h[i] = (SHA_LONG)w[i];
			h->s256.Nl = (SHA_LONG)w[8];
			h->s256.Nh = (SHA_LONG)w[9];
			if (read_num(&p, SHA256_CBLOCK, &h->s256.num) < 0 ||
			    unhex(p, SHA256_CBLOCK, (unsigned char *)h->s256.data) < 0)
				goto bad;
			p += 2 * SHA256_CBLOCK;
			h->algs |= DIGEST_SHA256;
		} else if (!strncmp(p, "s512", 4) && !(h->algs & DIGEST_SHA512)) {
			p += 4;
			if (read_words(&p, 10, w) < 0)
				goto bad;
			SHA512_Init(&h->s512);
			for (i = 0; i < 8; i++)
				h->s512.h[i] = w[i];
			h->s512.Nl = w[8];
			h->s512.Nh = w[9];
			if (read_num(&p, SHA512_CBLOCK, &h->s512.num) < 0 ||
			    unhex(p, SHA512_CBLOCK, h->s512.u.p) < 0)
				goto bad;
			p += 2 * SHA512_CBLOCK;
			h->algs |= DIGEST_SHA512;
		} else {
			goto bad;
		}
		if (*p != '\n')
			goto bad;
		p++;
	}
	if (!h->algs)
		goto bad;
	return h;
bad:
	digest_hasher_free(h);
	err_set(e, ERR_BLOB_UPLOAD_INVALID, "upload state is damaged");
	return NULL;
}
