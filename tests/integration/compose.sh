#!/usr/bin/env bash
# docker-compose.yml and the Dockerfile, without a Docker engine: the
# compose file validates with Debian's docker-compose, every path it mounts
# is in the repository, the Dockerfile's build works from exactly what it
# copies, and `make compose-secrets` makes what the stack mounts.
source "$(dirname "$0")/../lib.sh"
set -u
cd "$TOP"
check "docker-compose config validates docker-compose.yml" \
	bash -c "docker-compose -f docker-compose.yml config > '$OUT/compose.out' 2>&1"
check "the services are registry, nginx and ui, and a second host's registry-b and nginx-b" \
	bash -c "docker-compose -f docker-compose.yml config --services | sort | tr '\n' ' ' | grep -qx 'nginx nginx-b registry registry-b ui '"
check "the second host's services run only with --profile two-hosts" \
	bash -c "[ \"\$(grep -c 'profiles: \[\"two-hosts\"\]' docker-compose.yml)\" = 2 ]"
check "registry-b serves the same store volume through a socket volume of its own" \
	bash -c "docker-compose -f docker-compose.yml config | awk '/^  registry-b:/{f=1;next} f&&/^  [a-z]/{f=0} f' > '$OUT/b.yml'; grep -q -- '- registry-data:/var/lib/registry' '$OUT/b.yml' && grep -q -- '- berth-run-b:/run/berth' '$OUT/b.yml'"
missing=""
for src in $(grep -oE '^\s+- \./[^:]+' docker-compose.yml | sed 's/^ *- //'); do
	git ls-files --error-unmatch "$src" >/dev/null 2>&1 || [ -n "$(git ls-files "$src")" ] || missing="$missing $src"
done
eq "every path the compose file mounts is in the repository" "$missing" ""
check "the ui runs with SINGLE_REGISTRY and DELETE_IMAGES" \
	bash -c "grep -q 'SINGLE_REGISTRY=true' docker-compose.yml && grep -q 'DELETE_IMAGES=true' docker-compose.yml"
check "the registry image runs as a non-root user" grep -q '^USER berth' Dockerfile
check "both the registry and nginx have a healthcheck on /healthz's probe" \
	bash -c "docker-compose -f docker-compose.yml config | grep -c 'healthcheck:' | grep -qx 4 && grep -q 'berth.*health' docker-compose.yml && grep -q 'https://localhost/healthz' docker-compose.yml"
check "every service restarts by itself" \
	bash -c "[ \"\$(docker-compose -f docker-compose.yml config | grep -c 'restart: always')\" = 5 ]"

# The Dockerfile's build stage, outside Docker: only what it COPYs.
rm -rf "$OUT/ctx" && mkdir -p "$OUT/ctx"
for src in $(sed -n 's/^COPY \([^-][^ ]*\) .*/\1/p' Dockerfile); do cp -r "$src" "$OUT/ctx/"; done
check "the Dockerfile's build stage builds berth-fcgi and berth from what it copies" \
	bash -c "cd '$OUT/ctx' && make build/berth-fcgi build/berth > '$OUT/build.log' 2>&1"

# make compose-secrets, into a copy of the tree (the real one stays clean).
rm -rf "$OUT/tree" && mkdir -p "$OUT/tree"
cp -r Makefile core fcgi nginx-conf "$OUT/tree/"
rm -f "$OUT/tree/nginx-conf/compose/secrets/"{htpasswd,tls/*}
( cd "$OUT/tree" && REGISTRY_USER=admin REGISTRY_PASSWORD=s3cret make compose-secrets ) > "$OUT/secrets.out" 2>&1
check "make compose-secrets makes the certificate" test -s "$OUT/tree/nginx-conf/compose/secrets/tls/cert.pem"
check "...its key, private" bash -c "[ \"\$(stat -c %a '$OUT/tree/nginx-conf/compose/secrets/tls/key.pem')\" = 600 ]"
check "...and the htpasswd with the user" grep -q '^admin:\$2y\$' "$OUT/tree/nginx-conf/compose/secrets/htpasswd"
check "the certificate names localhost" \
	bash -c "openssl x509 -in '$OUT/tree/nginx-conf/compose/secrets/tls/cert.pem' -noout -text | grep -q 'DNS:localhost'"
# nginx accepts the site as the compose stack mounts it (paths as in the
# containers rewritten to the copy).
sed -e "s|/etc/berth/|$OUT/tree/nginx-conf/compose/secrets/|g" -e "s|unix:/run/berth/berth.sock|unix:$OUT/sock|" \
	-e "s|include /etc/nginx/berth.d/\*.conf;|include $OUT/ui.conf;|" \
	-e "s|listen 443 ssl;|listen 127.0.0.1:15199 ssl;|" \
	-e "s|include fastcgi_params;|include /etc/nginx/fastcgi_params;|" \
	nginx-conf/berth.conf > "$OUT/site.conf"
# (no "ui" host outside compose: the same file with a resolvable upstream)
sed 's|proxy_pass http://ui:80;|proxy_pass http://127.0.0.1:9;|' nginx-conf/compose/ui.conf > "$OUT/ui.conf"
printf 'pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp { include %s/site.conf; }\n' "$OUT" "$OUT" "$OUT" > "$OUT/nginx.conf"
check "nginx accepts berth.conf with the compose stack's ui.conf" \
	bash -c "nginx -t -c '$OUT/nginx.conf' -p '$OUT' > '$OUT/nginx-t.log' 2>&1"
