#!/usr/bin/env bash
# The spec's pull and push workflows, step by step as the OCI conformance
# suite walks them (the suite itself cannot be built here: it needs Go
# modules Debian 12 does not package), plus the deletes its teardown uses.
source "$(dirname "$0")/../lib.sh"
set -u
start_stack 15113 || { not_ok "stack starts"; exit 1; }
N=/v2/conformance/test
OCI=application/vnd.oci.image.manifest.v1+json

printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' > "$OUT/config"
head -c 4096 /dev/urandom > "$OUT/layer"
CD=sha256:$(sha "$OUT/config")
LD=sha256:$(sha "$OUT/layer")
printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
	"$OCI" "$CD" "$(stat -c %s "$OUT/config")" "$LD" "$(stat -c %s "$OUT/layer")" > "$OUT/manifest"
MD=sha256:$(sha "$OUT/manifest")
ZD=sha256:$(printf '0%.0s' $(seq 1 64))

# -- push: streamed
api POST $N/blobs/uploads/
expect "push: POST opens a session" 202
LOC=$(hdr Location)
check "push: the session has a Location" test -n "$LOC"
api PATCH "$LOC" -H 'Content-Type: application/octet-stream' --data-binary "@$OUT/config"
expect "push: PATCH with the blob in the body" 202
api PUT "$(hdr Location)?digest=$CD" -H 'Content-Type: application/octet-stream' -H 'Content-Length: 0'
expect "push: PUT with the digest closes it" 201
check "push: 201 has a Location" test -n "$(hdr Location)"

# -- push: monolithic
api GET "$N/blobs/$ZD"
expect "push: GET of a blob not pushed" 404 BLOB_UNKNOWN
api POST "$N/blobs/uploads/?digest=$LD" -H 'Content-Type: application/octet-stream' --data-binary "@$OUT/layer"
expect "push: POST with digest and body" 201
check "push: its Location" test -n "$(hdr Location)"
api GET "$N/blobs/$LD"
expect "push: GET of the pushed blob" 200
api POST $N/blobs/uploads/
LOC=$(hdr Location)
api PUT "$LOC?digest=$LD" -H 'Content-Type: application/octet-stream' --data-binary "@$OUT/layer"
expect "push: POST then PUT with the whole blob" 201

# -- push: chunked
head -c 3000 /dev/urandom > "$OUT/b"
head -c 1500 "$OUT/b" > "$OUT/b1"
tail -c 1500 "$OUT/b" > "$OUT/b2"
BD=sha256:$(sha "$OUT/b")
api POST $N/blobs/uploads/ -H 'Content-Length: 0'
api PATCH "$(hdr Location)" -H 'Content-Type: application/octet-stream' -H 'Content-Range: 1500-2999' --data-binary "@$OUT/b2"
expect "push: an out-of-order chunk is 416" 416
api POST $N/blobs/uploads/ -H 'Content-Length: 0'
api PATCH "$(hdr Location)" -H 'Content-Type: application/octet-stream' -H 'Content-Range: 0-1499' --data-binary "@$OUT/b1"
expect "push: the first chunk" 202
LOC=$(hdr Location)
api PUT "$LOC?digest=$BD" -H 'Content-Type: application/octet-stream' -H 'Content-Range: 1500-2999' --data-binary "@$OUT/b2"
expect "push: PUT with the final chunk and its Content-Range" 201
api POST $N/blobs/uploads/ -H 'Content-Length: 0'
LOC=$(hdr Location)
api PATCH "$LOC" -H 'Content-Range: 0-1499' --data-binary "@$OUT/b1"
api PUT "$LOC?digest=$BD" -H 'Content-Range: 1000-2499' --data-binary "@$OUT/b2"
expect "push: a final chunk with a wrong Content-Range is 416" 416

# -- push: manifests
api GET $N/manifests/nonexistent
expect "push: GET of a manifest not pushed" 404
for i in 0 1 2 3; do
	api PUT "$N/manifests/test$i" -H "Content-Type: $OCI" --data-binary "@$OUT/manifest"
	expect "push: PUT manifest as test$i" 201
done
api GET "$N/manifests/$MD" -H "Accept: $OCI"
expect "push: GET manifest by digest" 200

# -- pull
api HEAD "$N/blobs/$ZD" -I
expect "pull: HEAD of a missing blob" 404
api HEAD "$N/blobs/$CD" -I
expect "pull: HEAD of a blob" 200
eq "pull: its Docker-Content-Digest" "$(hdr Docker-Content-Digest)" "$CD"
api GET "$N/blobs/$CD"
expect "pull: GET of a blob" 200
api HEAD $N/manifests/nonexistent -I
expect "pull: HEAD of a missing manifest" 404
api HEAD "$N/manifests/$MD" -I -H "Accept: $OCI"
expect "pull: HEAD manifest by digest" 200
eq "pull: its Docker-Content-Digest" "$(hdr Docker-Content-Digest)" "$MD"
api GET $N/tags/list
TAG=$(printf '%s' "$BODY" | jq -r '.tags[0]')
eq "pull: a tag from tags/list" "$TAG" test0
api GET "$N/manifests/$TAG" -H "Accept: $OCI"
expect "pull: GET manifest by tag" 200
eq "pull: its Docker-Content-Digest" "$(hdr Docker-Content-Digest)" "$MD"
api PUT "$N/manifests/sha256:totallywrong" -H "Content-Type: $OCI" --data-binary '{"schemaVersion":2,"mediaType":"'$OCI'"}'
expect "pull: error body is the spec's JSON" 400 DIGEST_INVALID

# -- content management (deletes)
api DELETE $N/manifests/test1
expect "DELETE of a tag" 202
api GET $N/manifests/test1
expect "the deleted tag is gone" 404 MANIFEST_UNKNOWN
api GET $N/manifests/test2 -H "Accept: $OCI"
expect "the other tags on that manifest stay" 200
api DELETE $N/manifests/test1
expect "DELETE of a missing tag" 404 MANIFEST_UNKNOWN
api DELETE "$N/manifests/$MD"
expect "DELETE of a manifest by digest" 202
api GET "$N/manifests/$MD"
expect "the manifest is gone" 404 MANIFEST_UNKNOWN
api GET $N/tags/list
eq "every tag on it went with it; tags/list answers an empty list" "$BODY" '{"name":"conformance/test","tags":[]}'
api DELETE "$N/manifests/$MD"
expect "DELETE of a missing manifest" 404 MANIFEST_UNKNOWN
api DELETE "$N/blobs/$CD"
expect "DELETE of a blob" 202
api GET "$N/blobs/$CD"
expect "the deleted blob is gone from the repository" 404 BLOB_UNKNOWN
api DELETE "$N/blobs/$CD"
expect "DELETE of a missing blob" 404 BLOB_UNKNOWN
check "the store is consistent after the deletes" bash -c "source '$TOP/tests/store-check.sh'; store_check '$DATA'"

# Deletes disabled (registry:2's default): 405 UNSUPPORTED.
printf 'version: 0.1\nauth:\n  htpasswd:\n    realm: r\n    path: %s\n' "$TOP/var/stack-15114/htpasswd" > "$OUT/nodel.yml"
start_stack 15114 "$OUT/nodel.yml" || { not_ok "stack without deletes starts"; exit 1; }
api POST "$N/blobs/uploads/?digest=$LD" --data-binary "@$OUT/layer"
api DELETE "$N/blobs/$LD"
expect "DELETE with storage.delete.enabled false" 405 UNSUPPORTED
api DELETE "$N/manifests/test0"
expect "DELETE of a manifest with deletes disabled" 405 UNSUPPORTED
