#!/usr/bin/env bash
# Debian's docker-registry (CNCF Distribution 2.8.2) as an oracle: the same
# requests to both registries give the same statuses and error codes (where
# Berth follows the spec instead, docs/spec-differences.md says why and the
# expected difference is asserted here); and a data directory written by
# either one is served unchanged by the other.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/images.sh"
set -u
R2PORT=15103
r2_start() { # r2_start DATA_DIR
	cat > "$OUT/r2.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $1
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$R2PORT
YML
	docker-registry serve "$OUT/r2.yml" >>"$OUT/r2.log" 2>&1 &
	R2PID=$!
	for _ in $(seq 1 50); do
		curl -sf "http://127.0.0.1:$R2PORT/v2/" >/dev/null && return 0
		sleep 0.1
	done
	return 1
}
r2_stop() { kill "$R2PID" 2>/dev/null; wait "$R2PID" 2>/dev/null; }
trap 'r2_stop; stop_stacks' EXIT

make_images >"$OUT/images.log" 2>&1 || { not_ok "test images build"; exit 1; }
sk() { skopeo --insecure-policy "$@" >>"$OUT/skopeo.log" 2>&1; }
raw_sha() { skopeo inspect --raw "$@" 2>>"$OUT/skopeo.log" | sha256sum | cut -d' ' -f1; }
WANT_BB=$(raw_sha "oci:$IMG:bb")
WANT_MULTI=$(raw_sha "oci:$IMG:multi")

# --- registry:2 writes, Berth serves
R2DATA=$OUT/r2data
r2_start "$R2DATA" || { not_ok "docker-registry starts"; exit 1; }
check "skopeo pushes an image to registry:2" \
	sk copy --dest-tls-verify=false "oci:$IMG:bb" "docker://127.0.0.1:$R2PORT/from/r2:v1"
check "skopeo pushes an index to registry:2" \
	sk copy --all --dest-tls-verify=false "oci:$IMG:multi" "docker://127.0.0.1:$R2PORT/from/r2:multi"
check "skopeo pushes a schema2 image to registry:2" \
	sk copy --format v2s2 --dest-tls-verify=false "oci:$IMG:bb" "docker://127.0.0.1:$R2PORT/from/r2:v2s2"
r2_stop
start_stack 15104 || { not_ok "stack starts"; exit 1; }
rm -rf "$OUT/data-15104" && ln -s "$R2DATA" "$OUT/data-15104"
H=localhost:15104
FROM=(--src-cert-dir "$S/ca" --src-creds "$CRED")
rm -rf "$OUT/p1"
check "Berth serves registry:2's image" sk copy "${FROM[@]}" "docker://$H/from/r2:v1" "oci:$OUT/p1:v1"
eq "digest identical (registry:2 -> Berth)" "$(raw_sha "oci:$OUT/p1:v1")" "$WANT_BB"
check "Berth serves registry:2's index" sk copy --all "${FROM[@]}" "docker://$H/from/r2:multi" "oci:$OUT/p1:multi"
eq "index digest identical (registry:2 -> Berth)" "$(raw_sha "oci:$OUT/p1:multi")" "$WANT_MULTI"
api GET /v2/from/r2/tags/list
eq "Berth lists registry:2's tags" "$BODY" '{"name":"from/r2","tags":["multi","v1","v2s2"]}'
api GET /v2/from/r2/manifests/v2s2
eq "Berth serves registry:2's schema2 with its media type" "$(hdr Content-Type)" \
	"application/vnd.docker.distribution.manifest.v2+json"
stop_stacks

# --- Berth writes, registry:2 serves
start_stack 15105 || { not_ok "stack starts"; exit 1; }
H=localhost:15105
TO=(--dest-cert-dir "$S/ca" --dest-creds "$CRED")
check "skopeo pushes an image to Berth" sk copy "${TO[@]}" "oci:$IMG:bb" "docker://$H/from/berth:v1"
check "skopeo pushes an index to Berth" sk copy --all "${TO[@]}" "oci:$IMG:multi" "docker://$H/from/berth:multi"
BDATA=$DATA
stop_stacks
r2_start "$BDATA" || { not_ok "docker-registry starts on Berth's data"; exit 1; }
rm -rf "$OUT/p2"
check "registry:2 serves Berth's image" \
	sk copy --src-tls-verify=false "docker://127.0.0.1:$R2PORT/from/berth:v1" "oci:$OUT/p2:v1"
eq "digest identical (Berth -> registry:2)" "$(raw_sha "oci:$OUT/p2:v1")" "$WANT_BB"
check "registry:2 serves Berth's index" \
	sk copy --all --src-tls-verify=false "docker://127.0.0.1:$R2PORT/from/berth:multi" "oci:$OUT/p2:multi"
eq "index digest identical (Berth -> registry:2)" "$(raw_sha "oci:$OUT/p2:multi")" "$WANT_MULTI"
r2_stop

# --- the same requests to both
R2DATA2=$OUT/r2cmp
r2_start "$R2DATA2" || { not_ok "docker-registry starts"; exit 1; }
start_stack 15106 || { not_ok "stack starts"; exit 1; }
sk copy --dest-tls-verify=false "oci:$IMG:bb" "docker://127.0.0.1:$R2PORT/cmp/img:v1"
sk copy --dest-cert-dir "$S/ca" --dest-creds "$CRED" "oci:$IMG:bb" "docker://localhost:15106/cmp/img:v1"
MAN=$(skopeo inspect --raw "oci:$IMG:bb")
LAYER=$(printf '%s' "$MAN" | jq -r '.layers[0].digest')
MD=sha256:$WANT_BB
Z64=$(printf '0%.0s' $(seq 1 64))

# same NAME METHOD PATH [curl args]: compares status and error code.
# A line of exceptions (name => berth status/code) says where Berth
# deliberately follows the spec instead (docs/spec-differences.md).
declare -A DIFF=(
	["uppercase name"]="400 NAME_INVALID"
	["bad digest ref"]="404 MANIFEST_UNKNOWN"
	["upload unknown"]="404 BLOB_UPLOAD_UNKNOWN"
	["monolithic wrong digest"]="400 DIGEST_INVALID"
	["OCI manifest without Accept"]="200 "
)
same() {
	local name=$1 m=$2 p=$3 r2s r2c bs bc
	shift 3
	r2s=$(curl -s -g -X "$m" -o "$OUT/r2-body" -D "$OUT/r2-h" -w '%{http_code}' "$@" "http://127.0.0.1:$R2PORT$p")
	r2c=$(jq -r '.errors[0].code // empty' "$OUT/r2-body" 2>/dev/null)
	api "$m" "$p" "$@"
	bs=$STATUS
	bc=$(jq -r '.errors[0].code // empty' "$OUT/last-body" 2>/dev/null)
	[ "$m" = HEAD ] && { r2c=; bc=; }
	if [ -n "${DIFF[$name]:-}" ]; then
		eq "oracle: $name (registry:2 $r2s $r2c; Berth by the spec)" "$bs $bc" "${DIFF[$name]}"
	else
		eq "oracle: $name" "$bs $bc" "$r2s $r2c"
	fi
}
same "base" GET /v2/
same "tags list" GET /v2/cmp/img/tags/list
same "tags of unknown repo" GET /v2/cmp/none/tags/list
same "uppercase name" GET /v2/Cmp/img/tags/list
OCIACC=(-H 'Accept: application/vnd.oci.image.manifest.v1+json')
same "manifest by tag" GET /v2/cmp/img/manifests/v1 "${OCIACC[@]}"
check "oracle: both serve the same manifest bytes" cmp -s "$OUT/r2-body" "$OUT/last-body"
same "manifest by digest" HEAD "/v2/cmp/img/manifests/$MD" -I "${OCIACC[@]}"
same "OCI manifest without Accept" GET /v2/cmp/img/manifests/v1
same "unknown tag" GET /v2/cmp/img/manifests/nope
same "unknown digest" GET "/v2/cmp/img/manifests/sha256:$Z64"
same "bad digest ref" GET "/v2/cmp/img/manifests/sha256:xyz"
same "blob HEAD" HEAD "/v2/cmp/img/blobs/$LAYER" -I
same "blob HEAD other repo" HEAD "/v2/cmp/other/blobs/$LAYER" -I
same "blob GET unknown" GET "/v2/cmp/img/blobs/sha256:$Z64"
same "blob bad digest" GET "/v2/cmp/img/blobs/sha256:123"
same "blob Range" GET "/v2/cmp/img/blobs/$LAYER" -H 'Range: bytes=0-9'
same "upload start" POST /v2/cmp/img/blobs/uploads/
same "upload unknown" GET "/v2/cmp/img/blobs/uploads/0f8fad5b-d9cb-469f-a165-70867728950e"
same "monolithic wrong digest" POST "/v2/cmp/img/blobs/uploads/?digest=sha256:$Z64" --data-binary hello
same "mount from other repo" POST "/v2/cmp/new/blobs/uploads/?mount=$LAYER&from=cmp/img"
same "mount missing" POST "/v2/cmp/new2/blobs/uploads/?mount=sha256:$Z64&from=cmp/img"
same "manifest invalid JSON" PUT /v2/cmp/img/manifests/bad -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary '{'
same "manifest missing blobs" PUT /v2/cmp/img2/manifests/v1 -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "$MAN"
same "manifest digest mismatch" PUT "/v2/cmp/img/manifests/sha256:$Z64" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "$MAN"
same "manifest put again" PUT /v2/cmp/img/manifests/v2 -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "$MAN"
# registry:2 2.8 ignores n on tags/list; the spec pages it.
api GET '/v2/cmp/img/tags/list?n=1'
eq "oracle: tags/list?n=1 gives one tag (registry:2 gives all)" "$BODY" '{"name":"cmp/img","tags":["v1"]}'
eq "oracle: with a Link to the rest" "$(hdr Link)" '</v2/cmp/img/tags/list?n=1&last=v1>; rel="next"'
