/*
 * referrers: one small JSON file per (subject, referrer) pair; see
 * referrers.h. The entries are sorted by file name (the referrer digest)
 * so the answer is stable.
 */
#include "referrers.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"
#include "banned.h"

static int subject_dir(const struct store *st, const char *name,
		       const struct digest *subject, struct buf *out)
{
	return buf_addf(out, "%s/repositories/%s/_referrers/%s/%s", st->root,
			name, digest_alg_name(subject->alg), subject->hex);
}

static int entry_name(const struct digest *d, struct buf *out)
{
	return buf_addf(out, "%s-%s", digest_alg_name(d->alg), d->hex);
}

int referrers_add(const struct store *st, const char *name,
		  const struct digest *subject, const struct digest *referrer,
		  json_t *desc, struct err *e)
{
	struct buf dir = BUF_INIT, file = BUF_INIT;
	char *s = json_dumps(desc, JSON_COMPACT | JSON_SORT_KEYS);
	int r = -1;

	if (!s || subject_dir(st, name, subject, &dir) < 0 ||
	    entry_name(referrer, &file) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	r = store_write_file(dir.s, file.s, s, strlen(s), e);
out:
	free(s);
	buf_free(&dir);
	buf_free(&file);
	return r;
}

int referrers_remove(const struct store *st, const char *name,
		     const struct digest *subject, const struct digest *referrer,
		     struct err *e)
{
	struct buf dir = BUF_INIT;
	int r = 0;

	if (subject_dir(st, name, subject, &dir) < 0 ||
	    buf_addch(&dir, '/') < 0 || entry_name(referrer, &dir) < 0) {
		buf_free(&dir);
		return err_sys(e, "out of memory");
	}
	if (unlink(dir.s) < 0 && errno != ENOENT)
		r = err_sys(e, "unlink %s", dir.s);
	buf_free(&dir);
	return r;
}

int referrers_list(const struct store *st, const char *name,
		   const struct digest *subject, const char *artifact_type,
		   json_t **out, struct err *e)
{
	struct buf dir = BUF_INIT, p = BUF_INIT, body = BUF_INIT;
	struct store_list names = { 0 };
	json_t *manifests = json_array();
	struct dirent *de;
	size_t i;
	DIR *d;
	int r = -1;

	*out = NULL;
	if (!manifests || subject_dir(st, name, subject, &dir) < 0) {
		err_sys(e, "out of memory");
		goto out;
	}
	d = opendir(dir.s);
	if (d) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.' && store_list_add(&names, de->d_name) < 0) {
				closedir(d);
				err_sys(e, "out of memory");
				goto out;
			}
		closedir(d);
	}
	store_list_sort(&names);
	for (i = 0; i < names.n; i++) {
		struct err ignore = ERR_INIT;
		struct digest rd;
		json_t *desc, *at;
		const char *dg;

		buf_reset(&p);
		buf_reset(&body);
		if (buf_addf(&p, "%s/%s", dir.s, names.items[i]) < 0 ||
		    store_read_file(p.s, 1 << 20, &body, &ignore) < 0)
			continue;
		desc = json_loadb(body.s, body.len, 0, NULL);
		if (!json_is_object(desc)) {
			json_decref(desc);
			continue;
		}
		dg = json_string_value(json_object_get(desc, "digest"));
		if (!dg || digest_parse(dg, &rd, &ignore) < 0 ||
		    !store_link_exists(st, name, STORE_REVISION, &rd)) {
			json_decref(desc);
			continue;
		}
		at = json_object_get(desc, "artifactType");
		if (artifact_type && (!json_is_string(at) ||
				      strcmp(json_string_value(at), artifact_type))) {
			json_decref(desc);
			continue;
		}
		json_array_append_new(manifests, desc);
	}
	*out = json_pack("{s:i,s:s,s:o}", "schemaVersion", 2, "mediaType",
			 MT_OCI_INDEX, "manifests", manifests);
	manifests = NULL;
	if (!*out) {
		err_sys(e, "out of memory");
		goto out;
	}
	r = 0;
out:
	json_decref(manifests);
	store_list_free(&names);
	buf_free(&dir);
	buf_free(&p);
	buf_free(&body);
	return r;
}

int referrers_remove_of(const struct store *st, const char *name,
			const struct digest *d, struct err *e)
{
	struct buf body = BUF_INIT;
	struct err ignore = ERR_INIT;
	struct digest subject;
	json_t *root, *sd;
	int r = 0;

	if (store_blob_read(st, d, 64u << 20, &body, &ignore) < 0) {
		buf_free(&body);
		return 0; /* nothing to read, nothing was indexed from it */
	}
	root = json_loadb(body.s, body.len, 0, NULL);
	sd = json_object_get(json_object_get(root, "subject"), "digest");
	if (json_is_string(sd) &&
	    digest_parse(json_string_value(sd), &subject, &ignore) == 0)
		r = referrers_remove(st, name, &subject, d, e);
	json_decref(root);
	buf_free(&body);
	return r;
}
