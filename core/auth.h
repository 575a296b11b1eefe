/*
 * auth: checking a user and password against an htpasswd file.
 *
 * The web server normally authenticates too; when auth.htpasswd is
 * configured Berth checks the Authorization header itself on every request
 * as well. It cannot trust REMOTE_USER for that: nginx fills $remote_user
 * from the client's header whether or not auth_basic checked it, so a site
 * that lost its auth_basic line would otherwise let anyone in.
 *
 * Contract: auth_check() returns 0 only when the file has the user and the
 * password hashes to its entry with crypt(3) (libxcrypt: bcrypt $2y$/$2b$,
 * sha-crypt $5$/$6$, yescrypt $y$). Anything else, including an unreadable
 * file or a hash scheme libxcrypt lacks ($apr1$, {SHA}), is ERR_UNAUTHORIZED
 * with the reason in detail. auth_hash() makes a bcrypt entry for
 * `berth-fcgi -p` (the htpasswd line Makefile writes).
 */
#ifndef BERTH_AUTH_H
#define BERTH_AUTH_H

#include "buf.h"
#include "err.h"

int auth_check(const char *htpasswd, const char *user, const char *pass,
	       struct err *e);
/* Appends "user:<bcrypt hash>" to out. */
int auth_hash(const char *user, const char *pass, struct buf *out,
	      struct err *e);

#endif
