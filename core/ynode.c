/* ynode: see ynode.h. */
#include "ynode.h"

#include <stdarg.h>
#include <stdio.h>

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
