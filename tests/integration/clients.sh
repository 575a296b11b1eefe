#!/usr/bin/env bash
# podman (vfs storage, no daemon) pushes and pulls through Berth; the docker
# CLI (no daemon here) inspects, creates and pushes a manifest list (over
# the stack's plain-HTTP listener, as `--insecure` wants).
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/images.sh"
set -u
HTTP_PORT=15117 start_stack 15116 || { not_ok "stack starts"; exit 1; }
make_images >"$OUT/images.log" 2>&1 || { not_ok "test images build"; exit 1; }
H=localhost:15116
PM=(podman --root "$OUT/pm/root" --runroot "$OUT/pm/run" --storage-driver vfs
	--cgroup-manager=cgroupfs --events-backend=file)
pm() { "${PM[@]}" "$@" >>"$OUT/podman.log" 2>&1; }

check "podman loads a local OCI image" pm pull "oci:$IMG:bb"
ID=$("${PM[@]}" images -q | head -1)
check "podman tags it for Berth" pm tag "$ID" "$H/podman/bb:v1"
check "podman logs in" pm login --cert-dir "$S/ca" -u tester -p "secret-15116" "$H"
check "podman pushes" pm push --cert-dir "$S/ca" "$H/podman/bb:v1"
check "podman removes its local copy" pm rmi -f "$H/podman/bb:v1"
check "podman pulls it back" pm pull --cert-dir "$S/ca" "$H/podman/bb:v1"
api GET /v2/podman/bb/manifests/v1 -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
PD=$(hdr Docker-Content-Digest)
check "podman records the registry's manifest digest" \
	grep -q "$H/podman/bb@$PD" <("${PM[@]}" inspect --format '{{.RepoDigests}}' "$H/podman/bb:v1" 2>>"$OUT/podman.log")
eq "podman's image id survives the round trip" "$("${PM[@]}" images -q "$H/podman/bb:v1")" "$ID"

# docker CLI (when the machine has one; Debian's docker.io would bring a
# daemon): credentials as `docker login` would store them.
if ! command -v docker >/dev/null; then
	echo "# skip: no docker CLI on this machine"
	exit 0
fi
export DOCKER_CONFIG=$OUT/docker
# Over the stack's plain-HTTP listener, as an insecure registry: the docker
# CLI treats localhost as insecure and pushes manifest lists over http.
HP=localhost:15117
mkdir -p "$DOCKER_CONFIG"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$HP" "$(printf '%s' "$CRED" | base64 -w0)" > "$DOCKER_CONFIG/config.json"
skopeo --insecure-policy copy --dest-cert-dir "$S/ca" --dest-creds "$CRED" \
	"oci:$IMG:arm" "docker://$H/podman/bb:arm" >>"$OUT/skopeo.log" 2>&1
timeout 60 docker manifest inspect --insecure "$HP/podman/bb:v1" > "$OUT/inspect.json" 2>>"$OUT/docker.log"
eq "docker manifest inspect reads the manifest" "$(jq -r .schemaVersion "$OUT/inspect.json" 2>/dev/null)" 2
check "docker manifest create makes a list" \
	timeout 60 docker manifest create --insecure "$HP/podman/bb:list" "$HP/podman/bb:v1" "$HP/podman/bb:arm" >>"$OUT/docker.log" 2>&1
check "docker manifest push pushes it" \
	timeout 60 docker manifest push --insecure "$HP/podman/bb:list" >>"$OUT/docker.log" 2>&1
api GET /v2/podman/bb/manifests/list -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json'
expect "the pushed list is served" 200
# docker 28 writes an OCI index when the children are OCI manifests.
eq "served with the media type docker gave it" "$(hdr Content-Type)" "$(printf '%s' "$BODY" | jq -r .mediaType)"
eq "with both platforms" "$(printf '%s' "$BODY" | jq '.manifests | length')" 2
