#!/usr/bin/env bash
# The real Joxit docker-registry-ui against Berth, in a real browser. The
# UI's static build is not in Debian or on npm and there is no Docker engine
# to pull joxit/docker-registry-ui, so it is not part of this repository:
# point JOXIT_UI at a directory holding its built docker-registry-ui.js (from
# the image's /usr/share/nginx/html, or a build of the UI's source) and this
# test serves it next to Berth the way the compose stack does (nginx, same
# origin, nginx-conf/compose/ui.conf's location /), then lists, opens and
# deletes as a person would. Without JOXIT_UI it says so and counts nothing;
# browser.sh tests the same requests from a page of ours in every run.
source "$(dirname "$0")/../lib.sh"
set -u
if [ -z "${JOXIT_UI:-}" ] || [ ! -s "${JOXIT_UI}/docker-registry-ui.js" ]; then
	echo "# skipped: set JOXIT_UI to a directory with the UI's docker-registry-ui.js"
	exit 0
fi
source "$TOP/tests/images.sh"
P=15125
{ stack_config_yaml $P; cat <<'YML'; } > "$OUT/cfg.yml"
policy:
  immutable:
    - repositories: "ui/**"
      tags: "keep*"
access:
  repositories:
    - match: "**"
      pull: [tester, viewer]
      push: [tester]
      delete: [tester]
YML
start_stack $P "$OUT/cfg.yml" || { not_ok "stack starts"; exit 1; }
printf 'pw-viewer\n' | "${BERTH_CLI:-$TOP/build/berth}" user add -f "$S/htpasswd" viewer >/dev/null
make_images >"$OUT/images.log" 2>&1 || { not_ok "test images build"; cat "$OUT/images.log"; exit 1; }
sk() { skopeo --insecure-policy copy --dest-cert-dir "$S/ca" --dest-creds "$CRED" "$@" >>"$OUT/skopeo.log" 2>&1; }
check "skopeo pushes ui/app:latest (Docker schema2)" sk --format v2s2 "oci:$IMG:bb" "docker://localhost:$P/ui/app:latest"
check "skopeo pushes ui/app:old (another image)" sk --format v2s2 "oci:$IMG:arm" "docker://localhost:$P/ui/app:old"
check "skopeo pushes ui/app:keep1 (latest's image, under an immutable tag)" sk --format v2s2 "oci:$IMG:bb" "docker://localhost:$P/ui/app:keep1"
check "skopeo pushes library/busybox:multi (an OCI index)" sk "oci:$IMG:multi" "docker://localhost:$P/library/busybox:multi"
api GET /v2/ui/app/manifests/old -H 'Accept: application/vnd.docker.distribution.manifest.v2+json'
OLD=$(hdr Docker-Content-Digest)

# The UI as the compose stack serves it: its static files on / of the
# registry's own nginx, /v2/ going to Berth.
mkdir -p "$OUT/ui"
cp "$JOXIT_UI/docker-registry-ui.js" "$OUT/ui/"
[ -s "$JOXIT_UI/docker-registry-ui.css" ] && cp "$JOXIT_UI/docker-registry-ui.css" "$OUT/ui/"
# The page the UI's entrypoint writes from the compose file's environment.
cat > "$OUT/ui/index.html" <<HTML
<!DOCTYPE html><html><head><meta charset="UTF-8"><title>Docker Registry UI</title>
<link href="docker-registry-ui.css" rel="stylesheet" type="text/css"></head><body>
<docker-registry-ui name="Berth" single-registry="true" is-image-remove-activated="true"
  show-content-digest="true" catalog-elements-limit="1000"></docker-registry-ui>
<script src="docker-registry-ui.js"></script></body></html>
HTML
chmod -R a+rX "$OUT/ui"
sed "s|proxy_pass http://ui:80;|root $OUT/ui;|" "$TOP/nginx-conf/compose/ui.conf" > "$S/berth.d/ui.conf"
nginx -c "$S/nginx.conf" -p "$S" -s reload
for _ in $(seq 1 50); do curl -sfk "$URL/index.html" >/dev/null && break; sleep 0.1; done
check "nginx serves the UI next to Berth" curl -sfk -o /dev/null "$URL/"

SHOT=$OUT/joxit.png node "$TOP/tests/browser/joxit.js" "$URL/" tester "secret-$P" ui/app old \
	> "$OUT/results.json" 2> "$OUT/browser.err"
check "the UI ran in the browser" test -s "$OUT/results.json"
r() { jq -r "$1" "$OUT/results.json" 2>/dev/null; }
eq "the UI lists the repositories" "$(r '.catalog | sort | join(" ")')" "library/busybox ui/app"
eq "...asking for _catalog?n=1000" "$(r '[.requests[] | select(startswith("GET /v2/_catalog?n=1000 "))][0]')" "GET /v2/_catalog?n=1000 200"
eq "the UI lists the tags of ui/app" "$(r '.tags | sort | join(" ")')" "keep1 latest old"
eq "...with their digests (Docker-Content-Digest)" "$(r '[.digests[] | select(startswith("sha256:"))] | length')" 3
eq "the UI read each tag's config blob" "$(r '[.requests[] | select(test("^GET /v2/ui/app/blobs/sha256:[0-9a-f]{64} 200$"))] | unique | length')" 2
eq "the delete dialog names the tag" "$(r .dialog)" "These images will be deleted
ui/app:old"
eq "the UI deletes the manifest by digest (202)" "$(r '[.requests[] | select(startswith("DELETE "))][0]')" "DELETE /v2/ui/app/manifests/$OLD 202"
eq "...and says so" "$(r .snackbar | cut -c1-27)" "Deleting ui/app:old image. "
eq "the tag list it shows afterwards" "$(r '.tagsAfter | sort | join(" ")')" "keep1 latest"
eq "no script error in the UI" "$(r '.errors | length')" 0
api GET /v2/ui/app/tags/list
eq "Berth's tag list agrees" "$BODY" '{"name":"ui/app","tags":["keep1","latest"]}'
if [ ! -s "$OUT/results.json" ]; then cat "$OUT/browser.err"; fi

# Refused deletes show the UI's error, not a silent failure: the image an
# immutable tag names, and a user without the delete right.
node "$TOP/tests/browser/joxit.js" "$URL/" tester "secret-$P" ui/app keep1 \
	> "$OUT/results-immutable.json" 2> "$OUT/browser.err"
cp "$OUT/results-immutable.json" "$OUT/results.json"
echo "# snackbar: $(r .snackbar)"
eq "deleting keep1 in the UI: Berth refuses (403)" "$(r .deleteStatus)" 403
check "...and the UI shows why in its snackbar" bash -c "jq -r .snackbar '$OUT/results.json' | grep -q 'DENIED.*tag keep1 of ui/app is immutable'"
eq "...the tags stay" "$(r '.tagsAfter | sort | join(" ")')" "keep1 latest"
node "$TOP/tests/browser/joxit.js" "$URL/" viewer pw-viewer ui/app latest \
	> "$OUT/results-viewer.json" 2> "$OUT/browser.err"
cp "$OUT/results-viewer.json" "$OUT/results.json"
echo "# snackbar: $(r .snackbar)"
eq "a user without the delete right: 403 in the UI" "$(r .deleteStatus)" 403
check "...whose snackbar shows the error" bash -c "jq -r .snackbar '$OUT/results.json' | grep -q 'DENIED'"
eq "...and no script error" "$(r '.errors | length')" 0
api GET /v2/ui/app/tags/list
eq "Berth still has both tags" "$BODY" '{"name":"ui/app","tags":["keep1","latest"]}'
if [ ! -s "$OUT/results.json" ]; then cat "$OUT/browser.err"; fi
