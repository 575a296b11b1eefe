/*
 * strlist: see strlist.h. Capacity doubles, so adding n names is O(n).
 */
#include "strlist.h"

#include <stdlib.h>
#include <string.h>

#include "banned.h"

void strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}

int strlist_addn(struct strlist *l, const char *s, size_t n)
{
	char *c;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		char **p = realloc(l->items, cap * sizeof(*p));
		if (!p)
			return -1;
		l->items = p;
		l->cap = cap;
	}
	c = strndup(s, n);
	if (!c)
		return -1;
	l->items[l->n++] = c;
	return 0;
}

int strlist_add(struct strlist *l, const char *s)
{
	return strlist_addn(l, s, strlen(s));
}

void strlist_truncate(struct strlist *l, size_t n)
{
	while (l->n > n)
		free(l->items[--l->n]);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strlist_sort(struct strlist *l)
{
	/* qsort's pointer must not be NULL, even for no items. */
	if (l->n > 1)
		qsort(l->items, l->n, sizeof(char *), cmp_str);
}

int strlist_has_sorted(const struct strlist *l, const char *s)
{
	return l->n && bsearch(&s, l->items, l->n, sizeof(char *), cmp_str) != NULL;
}
