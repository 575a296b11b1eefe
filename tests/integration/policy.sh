#!/usr/bin/env bash
# The policy section as a CI pipeline meets it: an immutable release tag
# is pushed, re-pushed identically (a retry), refused when it would move
# or go, by skopeo and by hand; a mutable tag beside it moves as always;
# one PUT by digest applies several tags and answers them in OCI-Tag.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/images.sh"
set -u
P=15126
{ stack_config_yaml $P; cat <<'YML'; } > "$OUT/cfg.yml"
policy:
  immutable:
    - repositories: "prod/**"
      tags: ["v*", "release-*"]
YML
start_stack $P "$OUT/cfg.yml" || { not_ok "stack starts"; exit 1; }
make_images >"$OUT/images.log" 2>&1 || { not_ok "test images build"; cat "$OUT/images.log"; exit 1; }
sk() { skopeo --insecure-policy "$@" >>"$OUT/skopeo.log" 2>&1; }
TO=(--dest-cert-dir "$S/ca" --dest-creds "$CRED")
FROM=(--src-cert-dir "$S/ca" --src-creds "$CRED")
H=localhost:$P
OCI=application/vnd.oci.image.manifest.v1+json
raw_sha() { skopeo inspect --raw "$@" 2>>"$OUT/skopeo.log" | sha256sum | cut -d' ' -f1; }

check "skopeo pushes prod/app:v1" sk copy "${TO[@]}" "oci:$IMG:bb" "docker://$H/prod/app:v1"
check "the identical push again succeeds (a CI retry)" \
	sk copy "${TO[@]}" "oci:$IMG:bb" "docker://$H/prod/app:v1"
: > "$OUT/skopeo.log"
check "skopeo pushing another image as prod/app:v1 fails" \
	bash -c "! skopeo --insecure-policy copy --dest-cert-dir '$S/ca' --dest-creds '$CRED' 'oci:$IMG:arm' docker://$H/prod/app:v1 >'$OUT/move.log' 2>&1"
check "...and says why, naming the rule" \
	grep -q 'immutable under policy.immutable rule 1 (repositories prod/\*\*; tags v\*, release-\*)' "$OUT/move.log"
eq "prod/app:v1 still is the first image" \
	"$(raw_sha --cert-dir "$S/ca" --creds "$CRED" "docker://$H/prod/app:v1")" "$(raw_sha "oci:$IMG:bb")"

api GET /v2/prod/app/manifests/v1 -H "Accept: $OCI"
cp "$OUT/last-body" "$OUT/v1.json"
D1=$(hdr Docker-Content-Digest)
api PUT /v2/prod/app/manifests/v1 -H "Content-Type: $OCI" --data-binary "@$OUT/v1.json"
expect "re-PUT of the identical manifest: 201" 201
# Another manifest: the arm image's, pushed under a mutable tag first.
check "skopeo pushes the other image as prod/app:latest" \
	sk copy "${TO[@]}" "oci:$IMG:arm" "docker://$H/prod/app:latest"
api GET /v2/prod/app/manifests/latest -H "Accept: $OCI"
cp "$OUT/last-body" "$OUT/arm.json"
D2=$(hdr Docker-Content-Digest)
api PUT /v2/prod/app/manifests/v1 -H "Content-Type: $OCI" --data-binary "@$OUT/arm.json"
expect "PUT moving v1 to another manifest: 403 DENIED" 403 DENIED
check "...the message names the tag, the rule and what the tag names" \
	bash -c "printf '%s' '$BODY' | jq -r '.errors[0].message' | grep -q 'tag v1 of prod/app is immutable under policy.immutable rule 1 .*: it names $D1'"
api PUT /v2/prod/app/manifests/release-1 -H "Content-Type: $OCI" --data-binary "@$OUT/arm.json"
expect "a new immutable tag is created" 201
api PUT /v2/prod/app/manifests/latest -H "Content-Type: $OCI" --data-binary "@$OUT/v1.json"
expect "the mutable tag latest moves" 201
api DELETE /v2/prod/app/manifests/v1
expect "DELETE of the immutable tag: 403 DENIED" 403 DENIED
api DELETE "/v2/prod/app/manifests/$D1"
expect "DELETE by digest of a manifest an immutable tag names: 403 DENIED" 403 DENIED
check "...naming that tag" bash -c "printf '%s' '$BODY' | grep -q 'tag v1 of prod/app'"
api GET /v2/prod/app/tags/list
eq "every tag is still there" "$BODY" '{"name":"prod/app","tags":["latest","release-1","v1"]}'
api DELETE /v2/prod/app/manifests/latest
expect "DELETE of the mutable tag: 202" 202
check "outside the rule's repositories a v tag moves: dev/app:v1 pushed" \
	sk copy "${TO[@]}" "oci:$IMG:bb" "docker://$H/dev/app:v1"
check "...and pushed again as another image" sk copy "${TO[@]}" "oci:$IMG:arm" "docker://$H/dev/app:v1"

# Several tags in one PUT by digest.
api PUT "/v2/prod/app/manifests/$D2?tag=build-7&tag=v2&tag=build-7" \
	-H "Content-Type: $OCI" --data-binary "@$OUT/arm.json"
expect "PUT by digest with two tag parameters: 201" 201
# One header line each; Apache joins lines of one name with ", ", which
# HTTP defines as the same list.
eq "...answers one OCI-Tag per tag applied" \
	"$(grep -i '^OCI-Tag:' "$HDRS" | cut -d' ' -f2- | tr -d '\r' | tr '\n' ',' | sed 's/, */,/g')" "build-7,v2,"
eq "...and its digest" "$(hdr Docker-Content-Digest)" "$D2"
api GET /v2/prod/app/tags/list
eq "both tags exist" "$BODY" '{"name":"prod/app","tags":["build-7","release-1","v1","v2"]}'
api PUT "/v2/prod/app/manifests/$D1?tag=build-8&tag=v2" -H "Content-Type: $OCI" --data-binary "@$OUT/v1.json"
expect "one immutable tag of the set naming another manifest refuses the PUT" 403 DENIED
api GET /v2/prod/app/manifests/build-8 -H "Accept: $OCI"
expect "...before any tag of it is applied" 404 MANIFEST_UNKNOWN
api PUT "/v2/prod/app/manifests/v1?tag=v3" -H "Content-Type: $OCI" --data-binary "@$OUT/v1.json"
expect "tag parameters with a tag reference: 400 TAG_INVALID" 400 TAG_INVALID
api PUT "/v2/prod/app/manifests/$D1?tag=-x" -H "Content-Type: $OCI" --data-binary "@$OUT/v1.json"
expect "an invalid tag parameter: 400 TAG_INVALID" 400 TAG_INVALID
api PUT "/v2/prod/app/manifests/$D1?tag=%zz" -H "Content-Type: $OCI" --data-binary "@$OUT/v1.json"
expect "a malformed tag parameter: 400 TAG_INVALID" 400 TAG_INVALID

rm -rf "$OUT/back"
check "skopeo pulls prod/app:v2" sk copy "${FROM[@]}" "docker://$H/prod/app:v2" "oci:$OUT/back:v2"
eq "...with the pushed digest" "$(raw_sha "oci:$OUT/back:v2")" "$(raw_sha "oci:$IMG:arm")"
check "berth fsck finds the store clean" bash -c "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY='$DATA' \
	'${BERTH_CLI:-$TOP/build/berth}' -c '$OUT/cfg.yml' fsck >'$OUT/fsck.log' 2>&1"
