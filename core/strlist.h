/*
 * strlist: a growable list of owned C strings, for directory listings,
 * tag and repository names and digests.
 *
 * Contract: a zeroed struct strlist (STRLIST_INIT) is an empty list.
 * strlist_add() copies its argument and returns -1 when memory runs out
 * (the list is unchanged then); strlist_free() releases everything and
 * leaves an empty, reusable list.
 */
#ifndef BERTH_STRLIST_H
#define BERTH_STRLIST_H

#include <stddef.h>

struct strlist {
	char **items;
	size_t n, cap;
};

#define STRLIST_INIT { NULL, 0, 0 }

void strlist_free(struct strlist *l);
int strlist_add(struct strlist *l, const char *s);
/* The first n bytes of s (or up to its NUL), as a string of its own. */
int strlist_addn(struct strlist *l, const char *s, size_t n);
/* Drops the items from n on (a listing started again). */
void strlist_truncate(struct strlist *l, size_t n);
/* strcmp order. */
void strlist_sort(struct strlist *l);
/* Whether s is in l, which strlist_sort() has sorted. */
int strlist_has_sorted(const struct strlist *l, const char *s);

#endif
