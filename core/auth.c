/*
 * auth: htpasswd lookups with libxcrypt.
 *
 * bcrypt is slow on purpose (tens of milliseconds), and a docker pull is
 * dozens of requests, so each process remembers the credentials it has
 * verified: a SHA-256 of user and password, never the password. The memory
 * is only valid while the htpasswd file is unchanged (same inode, size and
 * mtime), so a user removed or a password changed takes effect on the next
 * request in every worker. It is a cache, not state: a new worker simply
 * verifies again.
 */
#include "auth.h"

#include <crypt.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <sys/stat.h>
#include <openssl/sha.h>

#include "fsutil.h"
#include "banned.h"

#define AUTH_CACHE 16

struct auth_seen {
	unsigned char key[SHA256_DIGEST_LENGTH];
	int used;
};

static struct {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct auth_seen seen[AUTH_CACHE];
	unsigned next;
} cache;

static int cred_key(const char *user, const char *pass,
		    unsigned char key[SHA256_DIGEST_LENGTH])
{
	struct buf b = BUF_INIT;

	/* user NUL password: no two pairs give the same input. */
	if (buf_add(&b, user, strlen(user) + 1) < 0 || buf_adds(&b, pass) < 0) {
		buf_free(&b);
		return -1;
	}
	SHA256((unsigned char *)b.s, b.len, key);
	OPENSSL_cleanse(b.s, b.len);
	buf_free(&b);
	return 0;
}

/* 1 when these credentials were verified against this very file. */
static int cache_hit(const struct stat *sb, const unsigned char *key)
{
	int i;

	if (sb->st_dev != cache.dev || sb->st_ino != cache.ino ||
	    sb->st_size != cache.size ||
	    sb->st_mtim.tv_sec != cache.mtime.tv_sec ||
	    sb->st_mtim.tv_nsec != cache.mtime.tv_nsec) {
		memset(&cache, 0, sizeof(cache));
		cache.dev = sb->st_dev;
		cache.ino = sb->st_ino;
		cache.size = sb->st_size;
		cache.mtime = sb->st_mtim;
		return 0;
	}
	for (i = 0; i < AUTH_CACHE; i++)
		if (cache.seen[i].used &&
		    CRYPTO_memcmp(cache.seen[i].key, key, SHA256_DIGEST_LENGTH) == 0)
			return 1;
	return 0;
}

static void cache_add(const unsigned char *key)
{
	struct auth_seen *s = &cache.seen[cache.next++ % AUTH_CACHE];

	memcpy(s->key, key, SHA256_DIGEST_LENGTH);
	s->used = 1;
}

int auth_check(const char *htpasswd, const char *user, const char *pass,
	       struct err *e)
{
	struct buf f = BUF_INIT;
	struct crypt_data cd;
	struct err fe = ERR_INIT;
	size_t ulen = strlen(user);
	unsigned char key[SHA256_DIGEST_LENGTH];
	struct stat sb;
	char *line, *next;
	int r = -1;

	int keyed = cred_key(user, pass, key) == 0;

	if (keyed && stat(htpasswd, &sb) == 0 && cache_hit(&sb, key))
		return 0;
	/* Fail closed: no readable password file, nobody gets in. */
	if (fs_read_file(htpasswd, 1u << 20, &f, &fe) <= 0) {
		err_set(e, ERR_UNAUTHORIZED, "authentication required");
		snprintf(e->detail, sizeof(e->detail), "htpasswd unreadable: %.400s",
			 fe.detail[0] ? fe.detail : htpasswd);
		buf_free(&f);
		return -1;
	}
	for (line = f.s; line && *line; line = next) {
		char *hash, *out;
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (strncmp(line, user, ulen) || line[ulen] != ':')
			continue;
		hash = line + ulen + 1;
		hash[strcspn(hash, "\r")] = 0;
		memset(&cd, 0, sizeof(cd));
		out = crypt_r(pass, hash, &cd);
		if (out && out[0] != '*' && strlen(out) == strlen(hash) &&
		    CRYPTO_memcmp(out, hash, strlen(hash)) == 0)
			r = 0;
		break;
	}
	buf_free(&f);
	if (r < 0)
		return err_set(e, ERR_UNAUTHORIZED, "authentication required");
	if (keyed)
		cache_add(key);
	return 0;
}

int auth_hash(const char *user, const char *pass, struct buf *out,
	      struct err *e)
{
	unsigned char rnd[16];
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	char *h;

	if (!*user || strchr(user, ':') || strchr(user, '\n'))
		return err_set(e, ERR_INTERNAL, "user names cannot hold ':'");
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    !crypt_gensalt_rn("$2y$", 10, (const char *)rnd, sizeof(rnd), salt,
			      sizeof(salt)))
		return err_set(e, ERR_INTERNAL, "cannot make a salt");
	memset(&cd, 0, sizeof(cd));
	h = crypt_r(pass, salt, &cd);
	if (!h || h[0] == '*')
		return err_set(e, ERR_INTERNAL, "bcrypt failed");
	if (buf_addf(out, "%s:%s\n", user, h) < 0)
		return err_sys(e, "out of memory");
	return 0;
}
