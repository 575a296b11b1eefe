/*
 * auth: checking a user and password against an htpasswd file.
 *
 * The web server normally authenticates and hands Berth REMOTE_USER; this
 * is the second line, used when auth.htpasswd is configured but the request
 * arrived without REMOTE_USER (a web server site without auth_basic), so a
 * misconfigured front end does not open the registry to everyone.
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
