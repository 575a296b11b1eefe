/*
 * ynode: the few helpers every parser of a config.yml section (access,
 * policy) needs on top of a libyaml document: a node by id, a scalar's
 * text, a duration, and an error that names the file, the line and the
 * section.
 *
 * Contract: ynode_scalar() is NULL for anything but a scalar node;
 * ynode_fail() fills e with "<file>:<line>: <section>: <message>" and
 * returns -1 (ERR_INTERNAL: a config error is the operator's, not a
 * client's).
 */
#ifndef BERTH_YNODE_H
#define BERTH_YNODE_H

#include <yaml.h>
#include "err.h"

yaml_node_t *ynode_get(yaml_document_t *doc, int id);
const char *ynode_scalar(const yaml_node_t *n);
int ynode_fail(struct err *e, const char *file, const char *section,
	       const yaml_node_t *at, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* A duration as registry:2 writes them (Go's 1h30m, 10s, 500ms; a bare
 * number is nanoseconds): 0 with seconds set, -1 for anything else. */
int ynode_duration(const char *s, double *seconds);

#endif
