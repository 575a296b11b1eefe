#!/usr/bin/env bash
# Real clients: skopeo pushes an OCI image, a Docker schema2 image and a
# two-platform index to Berth over https with credentials, pulls them back,
# and the digests are identical.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/images.sh"
set -u
start_stack 15102 || { not_ok "stack starts"; exit 1; }
make_images >"$OUT/images.log" 2>&1 || { not_ok "test images build"; cat "$OUT/images.log"; exit 1; }

sk() { skopeo --insecure-policy "$@" >>"$OUT/skopeo.log" 2>&1; }
TO=(--dest-cert-dir "$S/ca" --dest-creds "$CRED")
FROM=(--src-cert-dir "$S/ca" --src-creds "$CRED")
H=localhost:15102
raw_sha() { skopeo inspect --raw "$@" 2>>"$OUT/skopeo.log" | sha256sum | cut -d' ' -f1; }

# OCI image
check "skopeo pushes an OCI image" sk copy "${TO[@]}" "oci:$IMG:bb" "docker://$H/oci/bb:v1"
eq "pushed OCI manifest digest is identical" \
	"$(raw_sha --cert-dir "$S/ca" --creds "$CRED" "docker://$H/oci/bb:v1")" "$(raw_sha "oci:$IMG:bb")"
rm -rf "$OUT/back"
check "skopeo pulls it back" sk copy "${FROM[@]}" "docker://$H/oci/bb:v1" "oci:$OUT/back:v1"
eq "pulled OCI manifest digest is identical" "$(raw_sha "oci:$OUT/back:v1")" "$(raw_sha "oci:$IMG:bb")"
ok_blobs=1
for b in "$OUT"/back/blobs/sha256/*; do
	[ "$(sha "$b")" = "$(basename "$b")" ] || ok_blobs=0
	cmp -s "$b" "$IMG/blobs/sha256/$(basename "$b")" || ok_blobs=0
done
eq "every pulled blob is byte-identical" "$ok_blobs" 1

# Docker schema2 (skopeo converts the OCI image on the way)
check "skopeo pushes a Docker schema2 image" \
	sk copy --format v2s2 "${TO[@]}" "oci:$IMG:bb" "docker://$H/docker/bb:v2"
api GET /v2/docker/bb/manifests/v2 -H 'Accept: application/vnd.docker.distribution.manifest.v2+json'
eq "schema2 served as schema2" "$(hdr Content-Type)" "application/vnd.docker.distribution.manifest.v2+json"
D=$(hdr Docker-Content-Digest)
eq "schema2 Docker-Content-Digest is the hash of the bytes" "sha256:$(sha "$OUT/last-body")" "$D"
rm -rf "$OUT/back2"
check "skopeo pulls schema2 into a docker-archive-free dir" \
	sk copy "${FROM[@]}" "docker://$H/docker/bb:v2" "dir:$OUT/back2"
eq "pulled schema2 manifest identical" "$(sha "$OUT/back2/manifest.json")" "${D#sha256:}"

# Two-platform index
check "skopeo pushes a two-platform index (--all)" \
	sk copy --all "${TO[@]}" "oci:$IMG:multi" "docker://$H/multi/bb:v1"
eq "pushed index digest identical" \
	"$(raw_sha --cert-dir "$S/ca" --creds "$CRED" "docker://$H/multi/bb:v1")" "$(raw_sha "oci:$IMG:multi")"
rm -rf "$OUT/back3"
check "skopeo pulls the index back (--all)" \
	sk copy --all "${FROM[@]}" "docker://$H/multi/bb:v1" "oci:$OUT/back3:v1"
eq "pulled index digest identical" "$(raw_sha "oci:$OUT/back3:v1")" "$(raw_sha "oci:$IMG:multi")"
for arch in amd64 arm64; do
	want=$(jq -r --arg a $arch '.manifests[] | select(.platform.architecture==$a) | .digest' \
		"$IMG/blobs/sha256/$(raw_sha "oci:$IMG:multi")")
	check "the $arch manifest came back" test -f "$OUT/back3/blobs/sha256/${want#sha256:}"
done
api GET /v2/multi/bb/tags/list
eq "tags of the index repository" "$BODY" '{"name":"multi/bb","tags":["v1"]}'

# Copy between repositories: skopeo mounts the blobs.
check "skopeo copies between repositories of the registry" \
	sk copy "${FROM[@]}" "${TO[@]}" "docker://$H/oci/bb:v1" "docker://$H/oci/copy:v1"
check "blobs were mounted, not uploaded again" grep -q 'POST /v2/oci/copy/blobs/uploads/?.*mount=.* 201' "$S/log/berth.log"

# Wrong credentials are refused.
check "skopeo with a wrong password fails" \
	bash -c "! skopeo --insecure-policy copy --dest-cert-dir '$S/ca' --dest-creds tester:nope 'oci:$IMG:bb' docker://$H/oci/bb:v9 >/dev/null 2>&1"
