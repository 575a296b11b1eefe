/*
 * referrers: one small JSON file per (subject, referrer) pair, kept by the
 * store (store_referrer_*); see referrers.h. Entries come in referrer
 * digest order, so the answer is stable.
 */
#include "referrers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "refs.h"
#include "banned.h"

int referrers_add(const struct store *st, const char *name,
		  const struct digest *subject, const struct digest *referrer,
		  json_t *desc, struct err *e)
{
	char *s = json_dumps(desc, JSON_COMPACT | JSON_SORT_KEYS);
	int r;

	if (!s)
		return err_sys(e, "out of memory");
	r = store_referrer_put(st, name, subject, referrer, s, strlen(s), e);
	free(s);
	return r;
}

struct listing {
	const struct store *st;
	const char *name;
	const struct digest *subject;
	const char *artifact_type;
	json_t *manifests;
	struct err *e;
};

static int list_one(void *ctx, const struct digest *rd)
{
	struct listing *l = ctx;
	struct buf body = BUF_INIT;
	json_t *desc = NULL, *at;
	int r = store_referrer_read(l->st, l->name, l->subject, rd, &body, l->e);

	if (r <= 0)
		goto out; /* removed meanwhile (0), or an error (-1) */
	r = 0;
	desc = json_loadb(body.s, body.len, 0, NULL);
	if (!json_is_object(desc)) {
		char ds[DIGEST_STR_MAX];
		digest_format(rd, ds);
		errno = 0;
		r = err_sys(l->e, "damaged referrers entry for %s", ds);
		goto out;
	}
	/* An entry left by a crash or by another registry's delete: the
	 * repository no longer has that manifest. */
	r = store_link_exists(l->st, l->name, STORE_REVISION, rd, l->e);
	if (r <= 0)
		goto out;
	r = 0;
	at = json_object_get(desc, "artifactType");
	if (l->artifact_type && (!json_is_string(at) ||
				 strcmp(json_string_value(at), l->artifact_type)))
		goto out;
	if (json_array_append(l->manifests, desc) < 0)
		r = err_sys(l->e, "out of memory");
out:
	json_decref(desc);
	buf_free(&body);
	return r;
}

int referrers_list(const struct store *st, const char *name,
		   const struct digest *subject, const char *artifact_type,
		   json_t **out, struct err *e)
{
	struct listing l = { st, name, subject, artifact_type, json_array(), e };

	*out = NULL;
	if (!l.manifests)
		return err_sys(e, "out of memory");
	if (store_each_referrer(st, name, subject, list_one, &l, e) < 0) {
		json_decref(l.manifests);
		return -1;
	}
	*out = json_pack("{s:i,s:s,s:o}", "schemaVersion", 2, "mediaType",
			 MT_OCI_INDEX, "manifests", l.manifests);
	if (!*out)
		return err_sys(e, "out of memory");
	return 0;
}

int referrers_remove_of(const struct store *st, const char *name,
			const struct digest *d, struct err *e)
{
	struct refs m;
	int r = refs_read(st, d, &m, e);

	if (r == 0)
		return 0; /* nothing to read, nothing was indexed from it */
	if (r < 0)
		return -1;
	r = 0;
	if (m.has_subject &&
	    store_referrer_remove(st, name, &m.subject.digest, d, e) < 0)
		r = -1;
	refs_free(&m);
	return r;
}
