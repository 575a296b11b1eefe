/*
 * auth: htpasswd lookups with libxcrypt; see auth.h.
 *
 * bcrypt is slow on purpose (tens of milliseconds), and a docker pull is
 * dozens of requests, so each process remembers the credentials it has
 * verified. The memory is a cache, not state: a new worker verifies again.
 */
#include "auth.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "fsutil.h"
#include "banned.h"

#define AUTH_CACHE 64
#define HTPASSWD_MAX (4u << 20)

struct auth_seen {
	unsigned char mac[SHA256_DIGEST_LENGTH];
	time_t when;
	int used;
};

static struct {
	int keyed;
	unsigned char key[32];
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct auth_seen seen[AUTH_CACHE];
	unsigned next;
} cache;

/* A keyed hash of user NUL password under this process's own random key:
 * what the cache holds instead of the password. SHA-256 of key, user NUL
 * password: keyed by a secret no other process has; it is compared for
 * equality only, so the length extension HMAC guards against plays no
 * part. The digest and its context are fetched once: SHA256() fetches the
 * algorithm on every call, which cost more than the rest of a cache hit. */
static int cred_mac(const char *user, const char *pass,
		    unsigned char mac[SHA256_DIGEST_LENGTH])
{
	static EVP_MD *md;
	static EVP_MD_CTX *ctx;
	unsigned int len = SHA256_DIGEST_LENGTH;

	if (!cache.keyed) {
		if (RAND_bytes(cache.key, sizeof(cache.key)) != 1)
			return -1;
		cache.keyed = 1;
	}
	if (!md && !(md = EVP_MD_fetch(NULL, "SHA256", NULL)))
		return -1;
	if (!ctx && !(ctx = EVP_MD_CTX_new()))
		return -1;
	if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, cache.key, sizeof(cache.key)) != 1 ||
	    EVP_DigestUpdate(ctx, user, strlen(user) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, pass, strlen(pass)) != 1 ||
	    EVP_DigestFinal_ex(ctx, mac, &len) != 1 || len != SHA256_DIGEST_LENGTH)
		return -1;
	return 0;
}

/* 1 when these credentials were verified against this very file lately. */
static int cache_hit(const struct stat *sb, const unsigned char *mac, time_t now)
{
	int i;

	if (sb->st_dev != cache.dev || sb->st_ino != cache.ino ||
	    sb->st_size != cache.size ||
	    sb->st_mtim.tv_sec != cache.mtime.tv_sec ||
	    sb->st_mtim.tv_nsec != cache.mtime.tv_nsec) {
		memset(cache.seen, 0, sizeof(cache.seen));
		cache.dev = sb->st_dev;
		cache.ino = sb->st_ino;
		cache.size = sb->st_size;
		cache.mtime = sb->st_mtim;
		return 0;
	}
	for (i = 0; i < AUTH_CACHE; i++)
		if (cache.seen[i].used && now - cache.seen[i].when < AUTH_REMEMBER &&
		    CRYPTO_memcmp(cache.seen[i].mac, mac, SHA256_DIGEST_LENGTH) == 0)
			return 1;
	return 0;
}

static void cache_add(const unsigned char *mac, time_t now)
{
	struct auth_seen *s = &cache.seen[cache.next++ % AUTH_CACHE];

	memcpy(s->mac, mac, SHA256_DIGEST_LENGTH);
	s->when = now;
	s->used = 1;
}

/* The format of a hash, or NULL when Berth does not accept it. */
static const char *format_of(const char *hash)
{
	if (!strncmp(hash, "$2y$", 4) || !strncmp(hash, "$2b$", 4) ||
	    !strncmp(hash, "$2a$", 4))
		return "bcrypt";
	if (!strncmp(hash, "$6$", 3))
		return "sha512-crypt";
	if (!strncmp(hash, "$5$", 3))
		return "sha256-crypt";
	return NULL;
}

/* A bcrypt setting to burn time on when the user does not exist. */
static const char dummy_setting[] = "$2y$10$CwTycUXWue0Thq9StjUM0u";

int auth_check(const char *htpasswd, const char *user, const char *pass,
	       struct err *out_e)
{
	struct err le = ERR_INIT, *e = &le;
	struct buf f = BUF_INIT;
	struct crypt_data cd;
	struct err fe = ERR_INIT;
	size_t ulen = strlen(user), n = 0;
	unsigned char mac[SHA256_DIGEST_LENGTH];
	const char *decoy = NULL;
	time_t now = time(NULL);
	struct stat sb;
	char *line, *next, *out;
	int r = -1, found = 0, macd;

	macd = cred_mac(user, pass, mac) == 0;
	if (macd && stat(htpasswd, &sb) == 0 && cache_hit(&sb, mac, now))
		return 0;
	/* Fail closed: no readable password file, nobody gets in. */
	if (fs_read_file(htpasswd, HTPASSWD_MAX, &f, &fe) <= 0) {
		err_set(e, ERR_UNAUTHORIZED, "authentication required");
		snprintf(e->detail, sizeof(e->detail), "htpasswd unreadable: %.400s",
			 fe.detail[0] ? fe.detail : htpasswd);
		buf_free(&f);
		*out_e = le;
		return -1;
	}
	err_set(e, ERR_UNAUTHORIZED, "authentication required");
	for (line = f.s; line && *line; line = next) {
		char *hash;
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		n++;
		line[strcspn(line, "\r")] = 0;
		hash = strchr(line, ':');
		if (!hash)
			continue;
		hash++;
		if (!decoy && format_of(hash) && !strcmp(format_of(hash), "bcrypt"))
			decoy = hash; /* the same cost as real entries */
		if ((size_t)(hash - 1 - line) != ulen || strncmp(line, user, ulen))
			continue;
		found = 1;
		if (!format_of(hash)) {
			snprintf(e->detail, sizeof(e->detail),
				 "%.300s:%zu: user %.100s has a hash format Berth does not "
				 "accept (use bcrypt: berth user passwd)", htpasswd, n, user);
			break;
		}
		memset(&cd, 0, sizeof(cd));
		out = crypt_r(pass, hash, &cd);
		if (out && out[0] != '*' && strlen(out) == strlen(hash) &&
		    CRYPTO_memcmp(out, hash, strlen(hash)) == 0)
			r = 0;
		else
			snprintf(e->detail, sizeof(e->detail), "wrong password for %.100s", user);
		break;
	}
	if (!found) {
		/* As slow as a real check: which users exist stays unknown. */
		memset(&cd, 0, sizeof(cd));
		out = crypt_r(pass, decoy ? decoy : dummy_setting, &cd);
		(void)out;
		snprintf(e->detail, sizeof(e->detail), "no user %.100s in %.300s", user,
			 htpasswd);
	}
	OPENSSL_cleanse(f.s, f.len);
	buf_free(&f);
	if (r < 0) {
		*out_e = le;
		return -1;
	}
	if (macd && stat(htpasswd, &sb) == 0) {
		cache_hit(&sb, mac, now); /* (re)binds the cache to this file */
		cache_add(mac, now);
	}
	return 0;
}

static int valid_user(const char *user, struct err *e)
{
	const char *c;

	if (!*user || strlen(user) > 255)
		return err_set(e, ERR_INTERNAL, "a user name has 1 to 255 characters");
	for (c = user; *c; c++)
		if (*c == ':' || *c == '\n' || *c == '\r' || (unsigned char)*c < 32)
			return err_set(e, ERR_INTERNAL,
				       "a user name cannot hold ':' or control characters");
	return 0;
}

int auth_hash(const char *user, const char *pass, int cost, struct buf *out,
	      struct err *e)
{
	unsigned char rnd[16];
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	char *h;

	if (valid_user(user, e) < 0)
		return -1;
	if (cost < 4 || cost > 31)
		return err_set(e, ERR_INTERNAL, "the bcrypt cost is 4 to 31");
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    !crypt_gensalt_rn("$2y$", (unsigned long)cost, (const char *)rnd,
			      sizeof(rnd), salt, sizeof(salt)))
		return err_set(e, ERR_INTERNAL, "cannot make a salt");
	memset(&cd, 0, sizeof(cd));
	h = crypt_r(pass, salt, &cd);
	if (!h || h[0] == '*')
		return err_set(e, ERR_INTERNAL, "bcrypt failed");
	if (buf_addf(out, "%s:%s\n", user, h) < 0)
		return err_sys(e, "out of memory");
	return 0;
}

/* Replaces the file with data, keeping its owner and mode (or 0640 for a
 * new one). */
static int rewrite(const char *path, const struct buf *data, const struct stat *old,
		   struct err *e)
{
	struct buf dir = BUF_INIT, tmp = BUF_INIT;
	char *slash;
	int r = -1;

	if (buf_adds(&dir, path) < 0)
		return err_sys(e, "out of memory");
	slash = strrchr(dir.s, '/');
	if (!slash) {
		buf_free(&dir);
		errno = 0;
		return err_sys(e, "%s: give the htpasswd file as an absolute path", path);
	}
	*slash = 0;
	if (fs_write_temp(dir.len && dir.s[0] ? dir.s : "/", "htpasswd", data->s,
			  data->len, FS_DURABLE, &tmp, e) < 0)
		goto out;
	if (chmod(tmp.s, old ? old->st_mode & 07777 : 0640) < 0 ||
	    (old && geteuid() == 0 && chown(tmp.s, old->st_uid, old->st_gid) < 0)) {
		err_sys(e, "set owner and mode of %s", tmp.s);
		unlink(tmp.s);
		goto out;
	}
	if (rename(tmp.s, path) < 0) {
		err_sys(e, "rename %s", path);
		unlink(tmp.s);
		goto out;
	}
	r = fs_fsync_dir(dir.s[0] ? dir.s : "/", e);
out:
	buf_free(&dir);
	buf_free(&tmp);
	return r;
}

int auth_edit(const char *htpasswd, enum auth_edit op, const char *user,
	      const char *pass, int cost, struct err *e)
{
	struct buf f = BUF_INIT, out = BUF_INIT;
	struct stat sb;
	size_t ulen = strlen(user);
	char *line, *next;
	int r = -1, found = 0, there;

	if (valid_user(user, e) < 0)
		return -1;
	there = fs_read_file(htpasswd, HTPASSWD_MAX, &f, e);
	if (there < 0)
		goto out;
	if (there && stat(htpasswd, &sb) < 0) {
		err_sys(e, "stat %s", htpasswd);
		goto out;
	}
	for (line = f.s; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!strncmp(line, user, ulen) && line[ulen] == ':') {
			found = 1;
			if (op == AUTH_PASSWD && auth_hash(user, pass, cost, &out, e) < 0)
				goto out;
			if (op != AUTH_ADD)
				continue;
		}
		if (buf_addf(&out, "%s\n", line) < 0) {
			err_sys(e, "out of memory");
			goto out;
		}
	}
	if (op == AUTH_ADD && found) {
		err_set(e, ERR_INTERNAL, "user %s exists already (use passwd)", user);
		goto out;
	}
	if (op != AUTH_ADD && !found) {
		err_set(e, ERR_INTERNAL, "no user %s in %s", user, htpasswd);
		goto out;
	}
	if (op == AUTH_ADD && auth_hash(user, pass, cost, &out, e) < 0)
		goto out;
	r = rewrite(htpasswd, &out, there ? &sb : NULL, e);
out:
	if (f.cap)
		OPENSSL_cleanse(f.s, f.len);
	buf_free(&f);
	buf_free(&out);
	return r;
}

int auth_list(const char *htpasswd, struct strlist *out, struct err *e)
{
	struct buf f = BUF_INIT, item = BUF_INIT;
	char *line, *next, *hash;
	size_t n = 0;
	int r = fs_read_file(htpasswd, HTPASSWD_MAX, &f, e);

	if (r == 0) {
		errno = ENOENT;
		r = err_sys(e, "read %s", htpasswd);
	}
	if (r < 0)
		goto out;
	r = 0;
	for (line = f.s; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		n++;
		line[strcspn(line, "\r")] = 0;
		if (!*line || line[0] == '#' || !(hash = strchr(line, ':')))
			continue;
		*hash++ = 0;
		buf_reset(&item);
		if (format_of(hash) ? buf_addf(&item, "%s\t%s", line, format_of(hash)) :
				      buf_addf(&item, "%s\tunsupported (line %zu)", line, n)) {
			r = err_sys(e, "out of memory");
			break;
		}
		if (strlist_add(out, item.s) < 0) {
			r = err_sys(e, "out of memory");
			break;
		}
	}
out:
	buf_free(&f);
	buf_free(&item);
	return r;
}
