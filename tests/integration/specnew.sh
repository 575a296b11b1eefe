#!/usr/bin/env bash
# What distribution-spec v1.1.1 and its main branch added since: a
# sha512 upload session (?digest-algorithm), OCI-Chunk-Min-Length, a
# mount without from (only from what the user may pull), Docker-Content-
# Digest on every manifest and blob GET and HEAD, tags in lexical order
# with n and last. docs/spec-differences.md names the source of each.
source "$(dirname "$0")/../lib.sh"
set -u
P=15127
{ stack_config_yaml $P; cat <<'YML'; } > "$OUT/cfg.yml"
access:
  repositories:
    - match: "secret/**"
      pull: [alice]
      push: [alice]
    - match: "**"
      pull: [tester, alice]
      push: [tester, alice]
YML
start_stack $P "$OUT/cfg.yml" || { not_ok "stack starts"; exit 1; }
printf 'pw-alice\n' | "${BERTH_CLI:-$TOP/build/berth}" user add -f "$S/htpasswd" alice >/dev/null
OCI=application/vnd.oci.image.manifest.v1+json

# A sha512 session, in two chunks.
head -c 3000000 /dev/urandom > "$OUT/big"
head -c 2000000 "$OUT/big" > "$OUT/c1"; tail -c 1000000 "$OUT/big" > "$OUT/c2"
D512=sha512:$(sha512sum "$OUT/big" | cut -d' ' -f1)
api POST "/v2/s/five/blobs/uploads/?digest-algorithm=sha512"
expect "POST with digest-algorithm=sha512 opens a session" 202
eq "...answering OCI-Chunk-Min-Length" "$(hdr OCI-Chunk-Min-Length)" 1048576
LOC=$(hdr Location)
api PATCH "${LOC#"$URL"}" -H 'Content-Type: application/octet-stream' \
	-H 'Content-Range: 0-1999999' --data-binary "@$OUT/c1"
expect "the first chunk" 202
LOC=$(hdr Location)
api PATCH "${LOC#"$URL"}" -H 'Content-Type: application/octet-stream' \
	-H 'Content-Range: 2000000-2999999' --data-binary "@$OUT/c2"
expect "the second chunk" 202
LOC=$(hdr Location)
sep='?'; case "$LOC" in *\?*) sep='&' ;; esac
api PUT "${LOC#"$URL"}${sep}digest=$D512"
expect "PUT with the sha512 digest commits it" 201
eq "...its Docker-Content-Digest is the sha512 digest" "$(hdr Docker-Content-Digest)" "$D512"
api GET "/v2/s/five/blobs/$D512"
expect "GET of the blob by its sha512 digest" 200
eq "...the bytes" "$(sha "$OUT/last-body")" "$(sha "$OUT/big")"
eq "...with Docker-Content-Digest" "$(hdr Docker-Content-Digest)" "$D512"
api HEAD "/v2/s/five/blobs/$D512" -I
eq "HEAD of the blob: 200" "$STATUS" 200
eq "...with Docker-Content-Digest" "$(hdr Docker-Content-Digest)" "$D512"
api POST "/v2/s/five/blobs/uploads/?digest-algorithm=md5"
expect "an unknown digest-algorithm: 400 DIGEST_INVALID" 400 DIGEST_INVALID
api POST "/v2/s/five/blobs/uploads/?digest-algorithm=sha256"
expect "digest-algorithm=sha256 is the default session" 202

# Manifests: Docker-Content-Digest on GET and HEAD, by tag and digest.
printf '{}' > "$OUT/cfg"
DC=$(push_blob pub/a "$OUT/cfg")
printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[]}' \
	"$OCI" "$DC" > "$OUT/m"
DM=sha256:$(sha "$OUT/m")
for t in zeta alpha Beta 9 alpha-2 _x; do
	api PUT "/v2/pub/a/manifests/$t" -H "Content-Type: $OCI" --data-binary "@$OUT/m"
done
expect "manifest pushed under six tags" 201
for ref in alpha "$DM"; do
	api GET "/v2/pub/a/manifests/$ref" -H "Accept: $OCI"
	eq "GET manifest $ref has Docker-Content-Digest" "$(hdr Docker-Content-Digest)" "$DM"
	api HEAD "/v2/pub/a/manifests/$ref" -I -H "Accept: $OCI"
	eq "HEAD manifest $ref has Docker-Content-Digest" "$(hdr Docker-Content-Digest)" "$DM"
done

# Mounts without from.
printf 'only-in-secret %s' "$(date +%s%N)" > "$OUT/sb"
DS=sha256:$(sha "$OUT/sb")
as_alice() { BODY=$(curl -sS -g -X "$1" --cacert "$CA" -u alice:pw-alice -D "$HDRS" \
	-o "$OUT/last-body" -w '%{http_code}' "${@:3}" "$URL$2"); STATUS=$BODY; BODY=$(cat "$OUT/last-body"); }
as_alice POST "/v2/secret/a/blobs/uploads/?digest=$DS" --data-binary "@$OUT/sb"
expect "alice pushes a blob into secret/a" 201
as_alice POST "/v2/secret/a/blobs/uploads/?digest=$DC" --data-binary "@$OUT/cfg"
printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
	"$OCI" "$DC" "$DS" "$(stat -c %s "$OUT/sb")" > "$OUT/sm"
as_alice PUT /v2/secret/a/manifests/v1 -H "Content-Type: $OCI" --data-binary "@$OUT/sm"
expect "...and an image using it" 201
# A repository is found once a manifest lists it in the catalog.
DB=$(push_blob pub/a "$OUT/c2")
api POST "/v2/other/b/blobs/uploads/?mount=$DB"
expect "a mount without from finds the blob in a repository tester may pull" 201
eq "...Location names the blob in the target" "$(hdr Location)" "/v2/other/b/blobs/$DB"
api HEAD "/v2/other/b/blobs/$DB" -I
eq "...which is linked there now" "$STATUS" 200
api POST "/v2/other/c/blobs/uploads/?mount=$DS"
expect "a mount without from of a blob only secret/ links: a plain session for tester" 202
api HEAD "/v2/other/c/blobs/$DS" -I
eq "...and nothing is linked" "$STATUS" 404
as_alice POST "/v2/secret/b/blobs/uploads/?mount=$DS"
expect "...while alice, who may pull secret/a, gets the mount" 201
api POST "/v2/other/d/blobs/uploads/?mount=sha256:$(printf none | sha256sum | cut -d' ' -f1)"
expect "a mount of a blob nobody has: a plain session" 202

# Tags in lexical (byte) order, paged with n and last.
api GET /v2/pub/a/tags/list
eq "tags in lexical order" "$BODY" '{"name":"pub/a","tags":["9","Beta","_x","alpha","alpha-2","zeta"]}'
api GET "/v2/pub/a/tags/list?n=2"
eq "a page of two" "$BODY" '{"name":"pub/a","tags":["9","Beta"]}'
check "...with a Link to the next" grep -qi '^Link: </v2/pub/a/tags/list?n=2&last=Beta>; rel="next"' "$HDRS"
api GET "/v2/pub/a/tags/list?n=2&last=Beta"
eq "the next page starts after last" "$BODY" '{"name":"pub/a","tags":["_x","alpha"]}'
api GET "/v2/pub/a/tags/list?n=5&last=alpha"
eq "the last page" "$BODY" '{"name":"pub/a","tags":["alpha-2","zeta"]}'
check "...has no Link" bash -c "! grep -qi '^Link:' '$HDRS'"
api GET "/v2/pub/a/tags/list?last=b"
eq "last need not be a tag" "$BODY" '{"name":"pub/a","tags":["zeta"]}'
api GET "/v2/pub/a/tags/list?n=0"
eq "n=0: an empty list" "$BODY" '{"name":"pub/a","tags":[]}'
