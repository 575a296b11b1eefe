/* ynode: see ynode.h. */
#include "ynode.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

yaml_node_t *ynode_get(yaml_document_t *doc, int id)
{
	return yaml_document_get_node(doc, id);
}

const char *ynode_scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int ynode_fail(struct err *e, const char *file, const char *section,
	       const yaml_node_t *at, const char *fmt, ...)
{
	char m[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	return err_set(e, ERR_INTERNAL, "%s:%zu: %s: %s", file,
		       at ? at->start_mark.line + 1 : 0, section, m);
}

/* Go's time.ParseDuration subset that registry:2 configs use: 1h30m, 10s,
 * 500ms; a bare number counts as nanoseconds, as Go's yaml does. */
int ynode_duration(const char *s, double *seconds)
{
	double total = 0;
	const char *p = s;

	if (!*p)
		return -1;
	if (isdigit((unsigned char)*s) && strspn(s, "0123456789") == strlen(s)) {
		*seconds = strtod(s, NULL) / 1e9;
		return 0;
	}
	while (*p) {
		char *end;
		double v;
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -1;
		v = strtod(p, &end);
		p = end;
		if (!strncmp(p, "ns", 2)) { v /= 1e9; p += 2; }
		else if (!strncmp(p, "us", 2)) { v /= 1e6; p += 2; }
		else if (!strncmp(p, "ms", 2)) { v /= 1e3; p += 2; }
		else if (*p == 's') { p++; }
		else if (*p == 'm') { v *= 60; p++; }
		else if (*p == 'h') { v *= 3600; p++; }
		else return -1;
		total += v;
	}
	*seconds = total;
	return 0;
}
