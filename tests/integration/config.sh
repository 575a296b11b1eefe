#!/usr/bin/env bash
# config.yml as registry:2 reads it: the configs of the setup guides load as
# they are; REGISTRY_* variables override; mistakes stop start-up with the
# key and the line; http.headers reach every answer.
source "$(dirname "$0")/../lib.sh"
set -u
B=$TOP/build/berth-fcgi
cfg() { "$B" -t -c "$@" > "$OUT/cfg.out" 2> "$OUT/cfg.err"; }

for f in "$TOP"/tests/configs/*.yml; do
	check "registry:2 config $(basename "$f") loads as it is" cfg "$f"
done
cfg "$TOP/tests/configs/tls-htpasswd.yml"
check "ignored registry:2 keys are warned about, with their line" \
	grep -q 'tls-htpasswd.yml:6: log.fields is accepted but not used' "$OUT/cfg.err"
check "storage.cache is warned about" grep -q 'storage.cache is accepted but not used' "$OUT/cfg.err"
check "the effective values are printed" grep -q '^storage.delete.enabled: true$' "$OUT/cfg.out"
check "headers are read" grep -q "^http.headers.Access-Control-Expose-Headers: \[Docker-Content-Digest\]$" "$OUT/cfg.out"

# The environment overrides of the compose files in the guides.
REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/data REGISTRY_AUTH=htpasswd \
REGISTRY_AUTH_HTPASSWD_REALM='Registry Realm' REGISTRY_AUTH_HTPASSWD_PATH=/auth/passwd \
REGISTRY_STORAGE_DELETE_ENABLED=yes REGISTRY_HTTP_TLS_CERTIFICATE=/certs/c.crt \
REGISTRY_HTTP_ADDR=0.0.0.0:5000 cfg "$TOP/tests/configs/minimal.yml"
check "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY overrides" grep -q '^storage.filesystem.rootdirectory: /data$' "$OUT/cfg.out"
check "REGISTRY_STORAGE_DELETE_ENABLED=yes is true" grep -q '^storage.delete.enabled: true$' "$OUT/cfg.out"
check "REGISTRY_AUTH_HTPASSWD_REALM overrides" grep -q '^auth.htpasswd.realm: Registry Realm$' "$OUT/cfg.out"
check "REGISTRY_HTTP_TLS_CERTIFICATE is warned about" grep -q 'http.tls' "$OUT/cfg.err"

bad() { # bad NAME YAML PATTERN
	printf '%s' "$2" > "$OUT/bad.yml"
	if "$B" -t -c "$OUT/bad.yml" > /dev/null 2> "$OUT/bad.err"; then
		not_ok "$1 stops start-up"
	elif grep -q -- "$3" "$OUT/bad.err"; then
		ok "$1 stops start-up: $(head -1 "$OUT/bad.err")"
	else
		not_ok "$1 (message: $(cat "$OUT/bad.err"))"
	fi
}
bad "an unknown key" $'version: 0.1\nstorage:\n  filesystem:\n    rootdir: /x\n' 'bad.yml:4: unknown key storage.filesystem.rootdir'
bad "malformed YAML" $'version: 0.1\nhttp:\n  headers: [\n' 'bad.yml:.*malformed YAML'
bad "a bad boolean" $'version: 0.1\nstorage:\n  delete:\n    enabled: sure\n' "bad.yml:4: storage.delete.enabled: 'sure' is not a boolean"
bad "a bad log level" $'version: 0.1\nlog:\n  level: loud\n' "bad.yml:3: log.level"
bad "an s3 store" $'version: 0.1\nstorage:\n  s3:\n    bucket: x\n' 'bad.yml:3: storage.s3: Berth stores on a filesystem only'
bad "a relative root" $'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: data\n' 'not an absolute path'
bad "a wrong version" $'version: 2\n' 'version'
bad "a duplicate key" $'version: 0.1\nlog:\n  level: info\nlog:\n  level: debug\n' 'bad.yml:4: key log appears twice'
bad "headers that are not lists" $'version: 0.1\nhttp:\n  headers:\n    X-A: b\n' 'http.headers.X-A'
if REGISTRY_STORAGE=s3 "$B" -t > /dev/null 2> "$OUT/env.err"; then
	not_ok "REGISTRY_STORAGE=s3 stops start-up"
else
	check "REGISTRY_STORAGE=s3 stops start-up" grep -q 'filesystem only' "$OUT/env.err"
fi
if REGISTRY_STORAGE_DELETE_ENABLED=perhaps "$B" -t > /dev/null 2> "$OUT/env.err"; then
	not_ok "a bad REGISTRY_ value stops start-up"
else
	check "a bad REGISTRY_ value stops start-up" grep -q "environment.*'perhaps' is not a boolean" "$OUT/env.err"
fi
check "a missing config file stops start-up" bash -c "! '$B' -t -c /nonexistent.yml 2>/dev/null"

# http.headers on the answers of a running stack.
sed -e "s|/var/lib/registry|$OUT/data-15110|" -e "s|/auth/htpasswd|$TOP/var/stack-15110/htpasswd|" \
	"$TOP/tests/configs/tls-htpasswd.yml" > "$OUT/run.yml"
start_stack 15110 "$OUT/run.yml" || { not_ok "stack starts with the guide's config"; exit 1; }
api GET /v2/
expect "the stack serves with the guide's config" 200
eq "X-Content-Type-Options from http.headers" "$(hdr X-Content-Type-Options)" "nosniff"
eq "Access-Control-Expose-Headers from http.headers" "$(hdr Access-Control-Expose-Headers)" "Docker-Content-Digest"
api GET /v2/none/tags/list
eq "http.headers on errors too" "$(hdr X-Content-Type-Options)" "nosniff"

# Read-only mode refuses writes and serves reads.
printf 'version: 0.1\nstorage:\n  maintenance:\n    readonly:\n      enabled: true\nauth:\n  htpasswd:\n    realm: r\n    path: %s\n' \
	"$TOP/var/stack-15111/htpasswd" > "$OUT/ro.yml"
start_stack 15111 "$OUT/ro.yml" || { not_ok "read-only stack starts"; exit 1; }
api POST /v2/ro/blobs/uploads/
expect "read-only mode refuses a push" 405 UNSUPPORTED
api GET /v2/
expect "read-only mode still serves reads" 200

# Berth checks credentials itself when the web server passed no user.
check "berth-fcgi -p makes a bcrypt htpasswd line" \
	bash -c "echo pw | '$B' -p alice | grep -q '^alice:\\\$2y\\\$10\\\$'"

# With auth.htpasswd set, Berth checks credentials itself when a request
# arrives without REMOTE_USER (here: the site with auth_basic removed).
start_stack 15112 || { not_ok "stack starts"; exit 1; }
if [ "${SERVER:-nginx}" = apache ]; then
	sed -i '/^ *Auth/d; /Require valid-user/d; /LimitExcept/d' "$S/site.conf"
	apache2 -f "$S/apache.conf" -k graceful && sleep 1.5
else
	sed -i '/auth_basic/d' "$S/site.conf"
	nginx -c "$S/nginx.conf" -p "$S" -s reload && sleep 1
fi
st=$(curl -s -o /dev/null -D "$OUT/h" -w '%{http_code}' --cacert "$CA" "$URL/v2/")
eq "no auth_basic, no credentials: Berth answers 401" "$st" 401
check "Berth's 401 names the realm" grep -qi '^WWW-Authenticate: Basic realm="Registry realm"' "$OUT/h"
st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u tester:bad "$URL/v2/")
eq "no auth_basic, wrong password: 401" "$st" 401
api GET /v2/
expect "no auth_basic, right password: Berth lets it in" 200
check "the log names the user Berth checked" grep -q 'GET /v2/ 200 2 [0-9.]*s tester' "$S/log/berth.log"
printf 'newpass\n' | "$TOP/build/berth-fcgi" -p tester > "$S/htpasswd.new" && mv "$S/htpasswd.new" "$S/htpasswd"
api GET /v2/
expect "a changed password takes effect at once (old one refused)" 401 UNAUTHORIZED
st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u tester:newpass "$URL/v2/")
eq "the new password works" "$st" 200

# berth.webserver: none -- the worker sends blob bytes itself, Range too.
printf 'version: 0.1\nstorage:\n  delete:\n    enabled: true\nauth:\n  htpasswd:\n    realm: r\n    path: %s\nberth:\n  webserver: none\n' \
	"$TOP/var/stack-15115/htpasswd" > "$OUT/none.yml"
start_stack 15115 "$OUT/none.yml" || { not_ok "stack with webserver none starts"; exit 1; }
head -c 300000 /dev/urandom > "$OUT/blob"
D=$(push_blob plain/repo "$OUT/blob")
api GET "/v2/plain/repo/blobs/$D"
expect "webserver none: GET blob" 200
check "webserver none: the worker sent the bytes" cmp -s "$OUT/last-body" "$OUT/blob"
eq "webserver none: not nginx's static module (no Last-Modified)" "$(hdr Last-Modified)" ""
eq "webserver none: Docker-Content-Digest" "$(hdr Docker-Content-Digest)" "$D"
api GET "/v2/plain/repo/blobs/$D" -H 'Range: bytes=100-199'
expect "webserver none: Range" 206
eq "webserver none: Content-Range" "$(hdr Content-Range)" "bytes 100-199/300000"
check "webserver none: the range's bytes" cmp -s "$OUT/last-body" <(tail -c +101 "$OUT/blob" | head -c 100)
api GET "/v2/plain/repo/blobs/$D" -H 'Range: bytes=-10'
check "webserver none: suffix range" cmp -s "$OUT/last-body" <(tail -c 10 "$OUT/blob")
api GET "/v2/plain/repo/blobs/$D" -H 'Range: bytes=300000-'
expect "webserver none: unsatisfiable range" 416

# The registry:2 configs of the setup guides users follow today, read
# where they are (../shared/seeds, beside the checkout) when present.
SEEDS=$TOP/../shared/seeds
if [ -d "$SEEDS" ]; then
	n=0
	for f in "$SEEDS"/*.txt; do
		awk -v out="$OUT/seed-$(basename "$f" .txt)" '
			/^ *```/ { if (inb) { inb=0; if (blk ~ /(^|\n)version: 0\.1/) { k++; print blk > (out "-" k ".yml"); close(out "-" k ".yml") } } else { inb=1; blk=""; match($0, /^ */); ind=RLENGTH } next }
			inb { blk = blk substr($0, ind + 1) "\n" }' "$f"
	done
	for y in "$OUT"/seed-*.yml; do
		[ -f "$y" ] || continue
		n=$((n + 1))
		check "setup guide config $(basename "$y") loads as it is" cfg "$y"
	done
	# The environment of the guides' compose files.
	env_ok=$(REGISTRY_HTTP_TLS_CERTIFICATE=/certs/private-registry.crt \
		REGISTRY_HTTP_TLS_KEY=/private/private-registry.key REGISTRY_HTTP_ADDR=0.0.0.0:5000 \
		REGISTRY_AUTH=htpasswd REGISTRY_AUTH_HTPASSWD_PATH=/auth/passwd \
		REGISTRY_AUTH_HTPASSWD_REALM='Registry Realm' REGISTRY_STORAGE_DELETE_ENABLED=yes \
		REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/opt/registry/data \
		"$B" -t >/dev/null 2>&1 && echo yes)
	eq "the guides' compose environment loads" "$env_ok" yes
	check "found the guides' configs ($n)" test "$n" -ge 3
fi

# A CORS preflight, as a browser sends it for the web UI: no credentials.
sed -e "s|/var/lib/registry|$OUT/data-15122|" -e "s|/auth/htpasswd|$TOP/var/stack-15122/htpasswd|" \
	"$TOP/tests/configs/tls-htpasswd.yml" > "$OUT/cors.yml"
start_stack 15122 "$OUT/cors.yml" || { not_ok "stack starts"; exit 1; }
st=$(curl -s -o /dev/null -D "$OUT/pre" -w '%{http_code}' --cacert "$CA" -X OPTIONS \
	-H 'Origin: http://registry-ui.example' -H 'Access-Control-Request-Method: DELETE' \
	-H 'Access-Control-Request-Headers: authorization,accept' "$URL/v2/lib/img/manifests/latest")
eq "an OPTIONS preflight without credentials answers 200" "$st" 200
check "with Access-Control-Allow-Origin from http.headers" grep -qi '^Access-Control-Allow-Origin: http://registry-ui.example' "$OUT/pre"
check "with Access-Control-Allow-Methods" grep -qi '^Access-Control-Allow-Methods: .*DELETE' "$OUT/pre"
check "with Access-Control-Expose-Headers: Docker-Content-Digest" grep -qi '^Access-Control-Expose-Headers: Docker-Content-Digest' "$OUT/pre"
st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "$URL/v2/_catalog")
eq "a GET without credentials is still refused" "$st" 401
