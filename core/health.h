/*
 * health: can this process write the store and read it back, now?
 *
 * Contract: health_check() writes a small probe file of Berth's own
 * (_berth/health/, this module's), reads it back, compares and removes
 * it; it answers with what a load balancer or an operator needs: healthy,
 * or which kind of trouble, with a message safe to show anyone (no path)
 * and the path and errno for the log. It does not cache: a caller that is
 * asked often keeps the answer for a second or two.
 */
#ifndef BERTH_HEALTH_H
#define BERTH_HEALTH_H

#include "store.h"

enum health_state {
	HEALTH_OK,
	HEALTH_READONLY,    /* storage.maintenance.readonly: refusing writes */
	HEALTH_FULL,        /* ENOSPC / EDQUOT */
	HEALTH_UNWRITABLE,  /* permissions, a read-only filesystem */
	HEALTH_BROKEN       /* I/O error, damaged layout, read back wrong */
};

struct health {
	enum health_state state;
	char reason[200];   /* for the answer */
	char detail[1024];  /* for the log */
};

/* readonly: the configuration's read-only mode (reported, not probed). */
void health_check(const struct store *st, int readonly, struct health *h);
/* "ok", "read-only", "full", "unwritable", "error" */
const char *health_state_name(enum health_state s);

#endif
