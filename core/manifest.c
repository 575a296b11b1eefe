/*
 * manifest: validation (refs.c, strict) and storage through store.c: the
 * blob, the revision link, the tag, the referrers entry, the catalog.
 */
#include "manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "catalog.h"
#include "referrers.h"
#include "name.h"
#include "policy.h"
#include "quota.h"
#include "strlist.h"
#include "banned.h"

int manifest_ref_parse(const char *s, struct manifest_ref *ref, struct err *e)
{
	memset(ref, 0, sizeof(*ref));
	if (strchr(s, ':')) {
		ref->is_digest = 1;
		return digest_parse(s, &ref->digest, e);
	}
	if (name_tag_valid(s, e) < 0)
		return -1;
	snprintf(ref->tag, sizeof(ref->tag), "%s", s);
	return 0;
}

/* The manifest's media type from its mediaType field and what the client
 * declared; refuses disagreements. */
static int decide_type(struct refs *m, const char *declared, struct err *e)
{
	if (!strcmp(declared, MT_DOCKER_V1) || !strcmp(declared, MT_DOCKER_V1_SIGNED))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "Docker schema1 manifests are not supported: "
			       "push with a client that writes schema2 or OCI "
			       "(docker 1.10 or later, podman, skopeo)");
	if (m->typed) {
		if (declared[0] && strcmp(declared, m->media_type))
			return err_set(e, ERR_MANIFEST_INVALID,
				       "mediaType %s does not match the declared type %s",
				       m->media_type, declared);
		return 0;
	}
	if (!refs_known_type(declared))
		return 0; /* the type follows from the shape */
	if (!strcmp(declared, MT_DOCKER_MANIFEST) || !strcmp(declared, MT_DOCKER_LIST))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "Docker manifests must carry mediaType");
	/* Without mediaType the shape must agree with the type. */
	if (refs_is_index_type(declared) != (m->kind == REFS_INDEX))
		return err_set(e, ERR_MANIFEST_INVALID,
			       "manifest does not match the declared type %s", declared);
	snprintf(m->media_type, sizeof(m->media_type), "%s", declared);
	return 0;
}

/* The repository must link d (touching it, so gc spares it). */
static int need(const struct store *st, const char *name,
		enum store_link_kind kind, const struct refs_desc *d,
		const char *what, struct err *e)
{
	char s[DIGEST_STR_MAX];
	int r;

	/* Non-distributable (foreign) layers live elsewhere. */
	if (d->foreign && kind == STORE_LAYER)
		return 0;
	r = store_link_touch(st, name, kind, &d->digest, e);
	if (r != 0)
		return r > 0 ? 0 : -1;
	digest_format(&d->digest, s);
	return err_set(e, ERR_MANIFEST_BLOB_UNKNOWN, "%s %s unknown to registry",
		       what, s);
}

static int check_refs(const struct store *st, const char *name,
		      const struct refs *m, struct err *e)
{
	size_t i;

	if (m->kind == REFS_INDEX) {
		for (i = 0; i < m->nchildren; i++)
			if (need(st, name, STORE_REVISION, &m->children[i], "manifest", e) < 0)
				return -1;
		return 0;
	}
	if (m->has_config &&
	    need(st, name, STORE_LAYER, &m->config, "config blob", e) < 0)
		return -1;
	for (i = 0; i < m->nlayers; i++)
		if (need(st, name, STORE_LAYER, &m->layers[i], "blob", e) < 0)
			return -1;
	return 0;
}

/* Records the manifest in its subject's referrers, with the descriptor the
 * referrers API answers: artifactType is the manifest's, else its config's
 * mediaType. */
static int add_referrer(const struct store *st, const char *name,
			const struct refs *m, const struct manifest_info *mi,
			size_t len, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	json_t *desc, *at, *ann;
	int r;

	digest_format(&mi->digest, ds);
	desc = json_pack("{s:s,s:s,s:I}", "mediaType", mi->media_type, "digest",
			 ds, "size", (json_int_t)len);
	if (!desc)
		return err_sys(e, "out of memory");
	at = json_object_get(m->doc, "artifactType");
	if (!json_is_string(at))
		at = json_object_get(json_object_get(m->doc, "config"), "mediaType");
	if (json_is_string(at))
		json_object_set(desc, "artifactType", at);
	ann = json_object_get(m->doc, "annotations");
	if (json_is_object(ann))
		json_object_set(desc, "annotations", ann);
	r = referrers_add(st, name, &mi->subject, &mi->digest, desc, e);
	json_decref(desc);
	return r;
}

/* The tags a push applies: the reference's, or the ?tag= ones with a
 * digest reference, each once. */
static int push_tags(const struct manifest_ref *ref,
		     const struct manifest_opts *o, struct strlist *out,
		     struct err *e)
{
	size_t i, j;

	if (!ref->is_digest && strlist_add(out, ref->tag) < 0)
		return err_sys(e, "out of memory");
	if (!o || !o->ntags)
		return 0;
	if (!ref->is_digest)
		return err_set(e, ERR_TAG_INVALID, "tag parameters need a digest "
			       "reference, not the tag %s", ref->tag);
	if (o->ntags > MANIFEST_TAGS_MAX)
		return err_set(e, ERR_TAG_INVALID, "more than %u tags in one push",
			       MANIFEST_TAGS_MAX);
	for (i = 0; i < o->ntags; i++) {
		if (name_tag_valid(o->tags[i], e) < 0)
			return -1;
		for (j = 0; j < out->n && strcmp(out->items[j], o->tags[i]); j++)
			;
		if (j == out->n && strlist_add(out, o->tags[i]) < 0)
			return err_sys(e, "out of memory");
	}
	return 0;
}

static int immutable_refusal(const char *name, const char *tag,
			     const char *rule, const struct digest *cur,
			     struct err *e)
{
	char ds[DIGEST_STR_MAX];

	digest_format(cur, ds);
	return err_set(e, ERR_DENIED, "tag %s of %s is immutable under %s: it "
		       "names %s", tag, name, rule, ds);
}

/* Before anything is stored: no immutable tag of the push names another
 * manifest already. */
static int immutable_check(const struct store *st, const char *name,
			   const struct policy *pol, const struct strlist *tags,
			   const struct digest *d, struct err *e)
{
	struct digest cur;
	const char *rule;
	size_t i;
	int r;

	for (i = 0; i < tags->n; i++) {
		if (!(rule = policy_immutable(pol, name, tags->items[i])))
			continue;
		r = store_tag_get(st, name, tags->items[i], &cur, e);
		if (r < 0)
			return -1;
		if (r > 0 && !digest_equal(&cur, d))
			return immutable_refusal(name, tags->items[i], rule, &cur, e);
	}
	return 0;
}

/* The manifest is stored; now its tags. An immutable one is created
 * exclusively (store_tag_set_new), so a concurrent push of another
 * manifest under it, on any host, loses cleanly. */
static int apply_tags(const struct store *st, const char *name,
		      const struct policy *pol, const struct strlist *tags,
		      size_t from, const struct digest *d, struct err *e)
{
	struct digest cur;
	const char *rule;
	size_t i;
	int r;

	for (i = from; i < tags->n; i++) {
		if (!(rule = policy_immutable(pol, name, tags->items[i]))) {
			if (store_tag_set(st, name, tags->items[i], d, e) < 0)
				return -1;
			continue;
		}
		r = store_tag_set_new(st, name, tags->items[i], d, e);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (store_tag_get(st, name, tags->items[i], &cur, e) < 0)
				return -1;
			return immutable_refusal(name, tags->items[i], rule, &cur, e);
		}
	}
	return 0;
}

int manifest_put(const struct store *st, const char *name,
		 const struct manifest_ref *ref, const char *media_type,
		 const char *body, size_t len, struct manifest_info *out,
		 struct err *e)
{
	return manifest_push(st, name, ref, media_type, body, len, NULL, out, e);
}

int manifest_push(const struct store *st, const char *name,
		  const struct manifest_ref *ref, const char *media_type,
		  const char *body, size_t len, const struct manifest_opts *o,
		  struct manifest_info *out, struct err *e)
{
	const struct policy *pol = o ? o->policy : NULL;
	struct strlist tags = STRLIST_INIT;
	const char *fast_tag;
	struct refs m;
	int r = -1;

	memset(out, 0, sizeof(*out));
	memset(&m, 0, sizeof(m));
	if (push_tags(ref, o, &tags, e) < 0)
		goto out;
	if (len > MANIFEST_MAX) {
		err_set(e, ERR_TOO_LARGE, "manifest is larger than %u bytes",
			MANIFEST_MAX);
		goto out;
	}
	if (refs_parse(body, len, REFS_STRICT, &m, e) < 0 ||
	    decide_type(&m, media_type ? media_type : "", e) < 0)
		goto out;
	snprintf(out->media_type, sizeof(out->media_type), "%s", m.media_type);
	if (m.has_subject) {
		out->has_subject = 1;
		out->subject = m.subject.digest;
	}
	if (check_refs(st, name, &m, e) < 0)
		goto out;
	if (ref->is_digest) {
		digest_of(ref->digest.alg, body, len, &out->digest);
		if (!digest_equal(&out->digest, &ref->digest)) {
			err_set(e, ERR_DIGEST_INVALID,
				"manifest does not hash to the digest in the URL");
			goto out;
		}
	} else {
		digest_of(DIGEST_SHA256, body, len, &out->digest);
	}
	if (immutable_check(st, name, pol, &tags, &out->digest, e) < 0 ||
	    quota_charge(st, pol, name, &out->digest, (long long)len, e) < 0)
		goto out;
	/* The first tag goes with the manifest's own writes (store_put.c's
	 * batched fsyncs) unless it must be created exclusively. */
	fast_tag = tags.n && !policy_immutable(pol, name, tags.items[0]) ?
		tags.items[0] : NULL;
	if (store_manifest_put(st, name, &out->digest, body, len, fast_tag, e) < 0 ||
	    apply_tags(st, name, pol, &tags, fast_tag ? 1 : 0, &out->digest, e) < 0)
		goto out;
	if (out->has_subject && add_referrer(st, name, &m, out, len, e) < 0)
		goto out;
	if (catalog_add(st, name, e) < 0)
		goto out;
	if (o && o->applied) {
		strlist_free(o->applied);
		*o->applied = tags;
		tags = (struct strlist)STRLIST_INIT;
	}
	r = 0;
out:
	strlist_free(&tags);
	refs_free(&m);
	return r;
}

/* NAME_UNKNOWN when the repository is absent, else MANIFEST_UNKNOWN. */
static int unknown(const struct store *st, const char *name, struct err *e)
{
	int r = store_repo_exists(st, name, e);

	if (r < 0)
		return -1;
	if (r == 0)
		return err_set(e, ERR_NAME_UNKNOWN,
			       "repository name not known to registry");
	return err_set(e, ERR_MANIFEST_UNKNOWN, "manifest unknown");
}

int manifest_get(const struct store *st, const char *name,
		 const struct manifest_ref *ref, struct buf *body,
		 struct manifest_info *out, struct err *e)
{
	struct buf local = BUF_INIT;
	struct buf *b = body ? body : &local;
	char ds[DIGEST_STR_MAX];
	int r = -1, found;

	memset(out, 0, sizeof(*out));
	if (ref->is_digest) {
		out->digest = ref->digest;
	} else {
		found = store_tag_get(st, name, ref->tag, &out->digest, e);
		if (found <= 0)
			return found < 0 ? -1 : unknown(st, name, e);
	}
	found = store_link_exists(st, name, STORE_REVISION, &out->digest, e);
	if (found <= 0)
		return found < 0 ? -1 : unknown(st, name, e);
	found = store_blob_read(st, &out->digest, REFS_READ_MAX, b, e);
	if (found == 0) {
		err_set(e, ERR_MANIFEST_UNKNOWN, "manifest unknown");
		goto out;
	}
	digest_format(&out->digest, ds);
	if (found < 0) {
		if (e->code == ERR_TOO_LARGE) {
			errno = 0;
			err_sys(e, "stored manifest %s is over the read limit", ds);
		}
		goto out;
	}
	if (refs_media_type(b->s, b->len, out->media_type,
			    sizeof(out->media_type)) < 0) {
		errno = 0;
		err_sys(e, "stored manifest %s is not JSON", ds);
		goto out;
	}
	r = 0;
out:
	buf_free(&local);
	return r;
}

int manifest_delete(const struct store *st, const char *name,
		    const struct manifest_ref *ref, const struct policy *pol,
		    struct digest *removed, struct err *e)
{
	struct strlist tags = STRLIST_INIT, mine = STRLIST_INIT;
	struct digest d, was;
	const char *rule;
	size_t i;
	int r = -1, found;

	if (removed)
		*removed = ref->is_digest ? ref->digest : (struct digest){ 0 };
	if (!ref->is_digest) {
		if ((rule = policy_immutable(pol, name, ref->tag))) {
			found = store_tag_get(st, name, ref->tag, &d, e);
			if (found < 0)
				return -1;
			if (found > 0)
				return immutable_refusal(name, ref->tag, rule, &d, e);
		}
		found = store_tag_remove(st, name, ref->tag, &was, e);
		if (found <= 0)
			return found < 0 ? -1 :
				err_set(e, ERR_MANIFEST_UNKNOWN, "manifest unknown");
		if (removed)
			*removed = was;
		return catalog_drop_if_empty(st, name, e);
	}
	found = store_link_exists(st, name, STORE_REVISION, &ref->digest, e);
	if (found <= 0)
		return found < 0 ? -1 :
			err_set(e, ERR_MANIFEST_UNKNOWN, "manifest unknown");
	/* Tags first: a tag must never name a manifest the repository no
	 * longer has. A tag that cannot be read stops the delete: it may
	 * point here. */
	if (store_tags(st, name, &tags, e) < 0)
		goto out;
	for (i = 0; i < tags.n; i++) {
		found = store_tag_get(st, name, tags.items[i], &d, e);
		if (found < 0)
			goto out;
		if (found == 0 || !digest_equal(&d, &ref->digest))
			continue;
		/* An immutable tag naming it keeps the manifest whole: nothing
		 * is removed, not even its other tags. */
		if ((rule = policy_immutable(pol, name, tags.items[i]))) {
			immutable_refusal(name, tags.items[i], rule, &d, e);
			goto out;
		}
		if (strlist_add(&mine, tags.items[i]) < 0) {
			err_sys(e, "out of memory");
			goto out;
		}
	}
	for (i = 0; i < mine.n; i++)
		if (store_tag_remove(st, name, mine.items[i], NULL, e) < 0)
			goto out;
	if (referrers_remove_of(st, name, &ref->digest, e) < 0)
		goto out;
	found = store_link_remove(st, name, STORE_REVISION, &ref->digest, e);
	if (found < 0)
		goto out;
	if (found == 0) {
		err_set(e, ERR_MANIFEST_UNKNOWN, "manifest unknown");
		goto out;
	}
	r = catalog_drop_if_empty(st, name, e);
out:
	strlist_free(&tags);
	strlist_free(&mine);
	return r;
}

int manifest_tags(const struct store *st, const char *name, const char *last,
		  long n, struct strlist *out, int *more, struct err *e)
{
	int r = store_tags_page(st, name, last, n < 0 ? (size_t)-1 : (size_t)n,
				out, more, e);

	if (r < 0)
		return -1;
	return r ? 0 : err_set(e, ERR_NAME_UNKNOWN,
			       "repository name not known to registry");
}
