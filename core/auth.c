/*
 * auth: htpasswd lookups with libxcrypt. The file is read on every check,
 * so a user added with htpasswd takes effect at once in every worker.
 */
#include "auth.h"

#include <crypt.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "store.h"
#include "banned.h"

int auth_check(const char *htpasswd, const char *user, const char *pass,
	       struct err *e)
{
	struct buf f = BUF_INIT;
	struct crypt_data cd;
	struct err fe = ERR_INIT;
	size_t ulen = strlen(user);
	char *line, *next;
	int r = -1;

	if (store_read_file(htpasswd, 1u << 20, &f, &fe) < 0) {
		err_set(e, ERR_UNAUTHORIZED, "authentication required");
		snprintf(e->detail, sizeof(e->detail), "htpasswd %s unreadable",
			 htpasswd);
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
		err_set(e, ERR_UNAUTHORIZED, "authentication required");
	return r;
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
