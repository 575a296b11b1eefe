/*
 * auth: htpasswd files with libxcrypt: checking a user's password, and
 * the edits behind `berth user`.
 *
 * The web server may authenticate too; when auth.htpasswd is configured
 * Berth checks the Authorization header itself on every request. It
 * cannot trust REMOTE_USER for that: nginx fills $remote_user from the
 * client's header whether or not auth_basic checked it, so a site that
 * lost its auth_basic line would otherwise let anyone in.
 *
 * Formats: bcrypt ($2y$, $2b$, $2a$), sha512-crypt ($6$) and sha256-crypt
 * ($5$). A user whose line has another format ($apr1$, {SHA}, plain text)
 * is refused, with the file and line in detail.
 *
 * Contract: auth_check() returns 0 only when the file has the user and the
 * password hashes to its entry. Anything else, an unreadable file included,
 * is ERR_UNAUTHORIZED with the reason in detail (for the log, never the
 * client). A credential once verified is remembered by this process for
 * AUTH_REMEMBER seconds at most, as an HMAC under a key that only this
 * process holds (never the password, never on disk), and only while the
 * file's inode, size and mtime stay the same: a password changed or a
 * user removed takes effect on the next request. A user that does not
 * exist costs as much bcrypt as one that does, so timing does not tell
 * which names exist.
 */
#ifndef BERTH_AUTH_H
#define BERTH_AUTH_H

#include "buf.h"
#include "err.h"
#include "strlist.h"

#define AUTH_REMEMBER 300
#define AUTH_COST_DEFAULT 10

int auth_check(const char *htpasswd, const char *user, const char *pass,
	       struct err *e);
/* Appends "user:<bcrypt hash of the given cost>\n" to out. */
int auth_hash(const char *user, const char *pass, int cost, struct buf *out,
	      struct err *e);

enum auth_edit { AUTH_ADD, AUTH_PASSWD, AUTH_DEL };
/* Adds a user (refused when present), sets a password (refused when
 * absent) or removes a user (refused when absent), rewriting the file
 * atomically (temp file, fsync, rename, fsync of the directory) with its
 * owner and mode, every other line kept as it was. pass is unused for
 * AUTH_DEL. A file that does not exist yet is created (mode 0640) by
 * AUTH_ADD. */
int auth_edit(const char *htpasswd, enum auth_edit op, const char *user,
	      const char *pass, int cost, struct err *e);
/* One "user<TAB>format" per entry ("bcrypt", "sha512-crypt",
 * "sha256-crypt", or "unsupported (line N)"). */
int auth_list(const char *htpasswd, struct strlist *out, struct err *e);

#endif
