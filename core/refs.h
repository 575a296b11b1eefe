/*
 * refs: the one reading of what a manifest references, used by manifest
 * PUT (which validates with it), gc (which keeps what it finds), fsck
 * (which checks it), the referrers index and the CLI.
 *
 * A manifest references: a config and layers (image manifest), child
 * manifests (index / manifest list), a subject (a referrer), or, in a
 * Docker schema1 manifest that an old registry:2 store may hold, its
 * fsLayers. Each reference is a descriptor: digest, media type, size, and
 * whether it is foreign (has urls: its bytes live elsewhere).
 *
 * Contract: refs_parse() in REFS_STRICT mode is the validation of a push:
 * it refuses (MANIFEST_INVALID) what the OCI image-spec and Docker schema2
 * refuse, schema1 included. REFS_STORED reads a manifest already in the
 * store and only needs each reference's digest; anything it cannot read
 * (not JSON, a descriptor without a usable digest) is an error, never "no
 * references": gc must not free what an unreadable manifest may need.
 * REFS_READ_MAX is the one limit on the size of a stored manifest that
 * anybody reads (registry:2 accepted larger manifests than Berth's push
 * limit, MANIFEST_MAX in manifest.h).
 */
#ifndef BERTH_REFS_H
#define BERTH_REFS_H

#include <stddef.h>
#include <jansson.h>
#include "digest.h"
#include "err.h"
#include "store.h"

#define REFS_READ_MAX (64u << 20)

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_V1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

enum refs_mode { REFS_STRICT, REFS_STORED };
enum refs_kind { REFS_IMAGE, REFS_INDEX, REFS_SCHEMA1 };

struct refs_desc {
	struct digest digest;
	char media_type[256];  /* "" when the descriptor has none (stored) */
	long long size;        /* -1 when unknown (schema1) */
	int foreign;           /* urls present: not expected in the store */
};

struct refs {
	enum refs_kind kind;
	char media_type[256];  /* the manifest's own: mediaType, else by shape */
	int typed;             /* it carries a mediaType field */
	int has_config;
	struct refs_desc config;
	struct refs_desc *layers;   /* image layers, schema1 fsLayers */
	size_t nlayers;
	struct refs_desc *children; /* index entries */
	size_t nchildren;
	int has_subject;
	struct refs_desc subject;
	json_t *doc;           /* the parsed document (artifactType, annotations) */
};

int refs_parse(const char *body, size_t len, enum refs_mode mode,
	       struct refs *out, struct err *e);
void refs_free(struct refs *r);
/* Reads and parses (REFS_STORED) manifest d from the store: 1, 0 when the
 * blob is absent, -1 when it cannot be read or parsed (e->detail names the
 * manifest and why). */
int refs_read(const struct store *st, const struct digest *d, struct refs *out,
	      struct err *e);
/* The media type of stored manifest bytes, as GET answers it: mediaType,
 * else schema1's, else by shape. -1 when the bytes are no JSON object. */
int refs_media_type(const char *body, size_t len, char *out, size_t outlen);
/* 1 for the four media types Berth accepts on push. */
int refs_known_type(const char *t);
int refs_is_index_type(const char *t);

#endif
