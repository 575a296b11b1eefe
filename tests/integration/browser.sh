#!/usr/bin/env bash
# CORS where it matters, in a real browser: a page served from another
# origin calls Berth with fetch() (Authorization, the web UI's Accept list),
# reads Docker-Content-Digest and deletes a manifest, in Debian's headless
# chromium driven by playwright-core. The registry's CORS headers come from
# http.headers in config.yml, as in the setup guides.
source "$(dirname "$0")/../lib.sh"
set -u
P=15123 PAGEPORT=15124
ORIGIN=http://127.0.0.1:$PAGEPORT
cat > "$OUT/cfg.yml" <<YML
version: 0.1
storage:
  delete:
    enabled: true
http:
  headers:
    Access-Control-Allow-Origin: ['$ORIGIN']
    Access-Control-Allow-Methods: ['HEAD', 'GET', 'OPTIONS', 'DELETE']
    Access-Control-Allow-Headers: ['Authorization', 'Accept']
    Access-Control-Max-Age: [1728000]
    Access-Control-Allow-Credentials: [true]
    Access-Control-Expose-Headers: ['Docker-Content-Digest']
policy:
  immutable:
    - repositories: "z/**"
      tags: "v*"
$(stack_auth_yaml $P)
YML
start_stack $P "$OUT/cfg.yml" || { not_ok "stack starts"; exit 1; }
printf '{"architecture":"amd64","os":"linux"}' > "$OUT/config"
head -c 1000 /dev/urandom > "$OUT/layer"
DC=$(push_blob ui/app "$OUT/config")
DL=$(push_blob ui/app "$OUT/layer")
printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"%s","size":1000}]}' \
	"$DC" "$(stat -c %s "$OUT/config")" "$DL" > "$OUT/m"
api PUT /v2/ui/app/manifests/latest -H 'Content-Type: application/vnd.docker.distribution.manifest.v2+json' --data-binary "@$OUT/m"
MD=sha256:$(sha "$OUT/m")
DC=$(push_blob z/keep "$OUT/config")
DL=$(push_blob z/keep "$OUT/layer")
api PUT /v2/z/keep/manifests/v1 -H 'Content-Type: application/vnd.docker.distribution.manifest.v2+json' --data-binary "@$OUT/m"

# The page, from its own origin.
( cd "$TOP/tests/browser" && exec python3 -m http.server $PAGEPORT --bind 127.0.0.1 ) > "$OUT/http.log" 2>&1 &
HPID=$!
trap 'kill $HPID 2>/dev/null; stop_stacks' EXIT
for _ in $(seq 1 50); do curl -sf "$ORIGIN/page.html" >/dev/null && break; sleep 0.1; done
node "$TOP/tests/browser/cors.js" \
	"$ORIGIN/page.html?registry=$URL&user=tester&pass=secret-$P&refuse=z/keep:v1" > "$OUT/results.json" 2> "$OUT/browser.err"
check "the browser ran the page" test -s "$OUT/results.json"
r() { jq -r "$1" "$OUT/results.json" 2>/dev/null; }
eq "fetch /v2/_catalog?n=1000 from another origin" "$(r .catalog.status)" 200
eq "...lists the repository" "$(r .repo)" "ui/app"
eq "fetch tags/list" "$(r .tags.status)" 200
eq "fetch the manifest with the UI's Accept list" "$(r .manifest.status)" 200
eq "...its media type" "$(r .manifest.type)" "application/vnd.docker.distribution.manifest.v2+json"
eq "...and the page can read Docker-Content-Digest" "$(r .manifest.digest)" "$MD"
eq "fetch the config blob (served by nginx/Apache, with the CORS headers)" "$(r .config.status)" 200
eq "HEAD the manifest" "$(r .head.status)" 200
eq "DELETE the manifest by digest" "$(r .del.status)" 202
eq "the tag is gone afterwards" "$(r .after.body)" '{"name":"ui/app","tags":[]}'
eq "a refused DELETE by digest (an immutable tag names it) reaches the page as 403" "$(r .refusedDigest.status)" 403
eq "...with the error the UI shows (its JSON, readable across origins)" \
	"$(r '.refusedDigest.body | fromjson | .errors[0].code')" DENIED
check "...saying why" bash -c "jq -r '.refusedDigest.body' '$OUT/results.json' | grep -q 'tag v1 of z/keep is immutable under policy.immutable rule 1'"
eq "a refused DELETE of the tag: 403 DENIED too" "$(r '.refusedTag.status, (.refusedTag.body | fromjson | .errors[0].code)' | tr '\n' ' ')" "403 DENIED "
if [ ! -s "$OUT/results.json" ]; then cat "$OUT/browser.err"; fi
