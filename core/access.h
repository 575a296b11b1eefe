/*
 * access: who may do what to which repository, from the `access` section
 * of config.yml (its full form is in the README): `groups` maps a group
 * name to a list of users; `repositories` is a list of entries, each with
 * a `match` pattern and the principals that may `pull`, `push` and
 * `delete`; the first entry whose pattern fits a repository decides. In a
 * pattern, one star stands for anything within one path component and two
 * stars for any number of components, zero included (so "team-a/" followed
 * by two stars fits team-a itself and everything below it).
 *
 * A principal is a user name, "@group", "*" (any authenticated user) or
 * "anonymous" (a request without credentials). push implies pull; delete
 * implies neither. A repository that no entry matches is closed to
 * everyone.
 *
 * Contract: access_parse() accepts exactly that form and fails naming
 * the file and line for anything else: an unknown key, an unknown group,
 * a principal that is not a string, a pattern that cannot match a
 * repository name. Without an access section (a NULL struct access) every
 * request that got past authentication may do everything, as before the
 * section existed.
 */
#ifndef BERTH_ACCESS_H
#define BERTH_ACCESS_H

#include <yaml.h>
#include "err.h"

enum access_right { ACCESS_PULL = 1, ACCESS_PUSH = 2, ACCESS_DELETE = 4 };

struct access;

/* node: the value of the `access` key in doc. */
int access_parse(yaml_document_t *doc, yaml_node_t *node, const char *file,
		 struct access **out, struct err *e);
void access_free(struct access *a);
/* 1 when user (NULL: anonymous) has right on repository repo, else 0. */
int access_allows(const struct access *a, const char *user, const char *repo,
		  enum access_right right);
/* 1 when some entry grants anonymous requests anything: then requests
 * without credentials are let in as anonymous (GET /v2/ answers them) even
 * where Berth checks passwords. 0 without an access section. */
int access_anonymous_welcome(const struct access *a);
/* Number of repository entries and groups, for `config check`. */
void access_counts(const struct access *a, size_t *rules, size_t *groups);
/* 1 when pat is a pattern some repository name can fit. */
int access_pattern_ok(const char *pat);
/* The glob of `match` described above. */
int access_match(const char *pattern, const char *name);

#endif
