#!/usr/bin/env bash
# make bench: Berth (nginx + spawn-fcgi + workers) side by side with Debian's
# docker-registry (Distribution 2.8.2) and with nginx serving the same file
# statically, in one run, on this machine, all over TLS with basic auth.
# Reads with wrk (2 threads, 16 connections, $BENCH_SECONDS each); a push
# with curl. Prints a table with ratios. A benchmark, not a test: nothing
# here passes or fails.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/tests/out/bench
SECS=${BENCH_SECONDS:-5}
rm -rf "$OUT" && mkdir -p "$OUT"
BP=15200 RP=15201 NP=15202
cleanup() {
	[ -n "${R2PID:-}" ] && kill "$R2PID" 2>/dev/null
	[ -f "$OUT/nginx.pid" ] && kill "$(cat "$OUT/nginx.pid")" 2>/dev/null
	QUIET=1 bash "$TOP/nginx-conf/stack.sh" stop $BP
	QUIET=1 bash "$TOP/nginx-conf/stack.sh" stop 15203
}
trap cleanup EXIT

# Berth, with an htpasswd at htpasswd -B's own cost (the one all three use).
PORT=$BP DATA_DIR=$OUT/berth-data WORKERS=${WORKERS:-4} QUIET=1 REGISTRY_USER=bench \
	REGISTRY_PASSWORD=bench bash "$TOP/nginx-conf/stack.sh" start
S=$TOP/var/stack-$BP
htpasswd -nbB bench bench > "$OUT/htpasswd"
cp "$OUT/htpasswd" "$S/htpasswd"
AUTH="Authorization: Basic $(printf bench:bench | base64)"
CA=$S/ca/ca.crt

# registry:2 on its own TLS listener with the same certificate and users.
cat > "$OUT/r2.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $OUT/r2-data
http:
  addr: 127.0.0.1:$RP
  tls:
    certificate: $S/tls/cert.pem
    key: $S/tls/key.pem
auth:
  htpasswd:
    realm: bench
    path: $OUT/htpasswd
YML
docker-registry serve "$OUT/r2.yml" > "$OUT/r2.log" 2>&1 &
R2PID=$!

# nginx serving a file statically (same TLS, same auth): the ceiling.
mkdir -p "$OUT/static" "$OUT/tmp"
cat > "$OUT/nginx.conf" <<NGX
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 2;
pid $OUT/nginx.pid;
error_log $OUT/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $OUT/tmp/body;
    fastcgi_temp_path $OUT/tmp/fastcgi;
    proxy_temp_path $OUT/tmp/proxy;
    uwsgi_temp_path $OUT/tmp/uwsgi;
    scgi_temp_path $OUT/tmp/scgi;
    server {
        listen 127.0.0.1:$NP ssl;
        ssl_certificate $S/tls/cert.pem;
        ssl_certificate_key $S/tls/key.pem;
        sendfile on;
        location / { root $OUT/static; auth_basic "bench"; auth_basic_user_file $OUT/htpasswd; }
    }
}
NGX
nginx -e "$OUT/nginx-error.log" -c "$OUT/nginx.conf" -p "$OUT"
sleep 1

# Content: a 4 KiB blob, a 64 MiB blob, an image manifest; pushed to both
# registries with curl, copied into the static root.
head -c 4096 /dev/urandom > "$OUT/small"
head -c $((64 << 20)) /dev/urandom > "$OUT/large"
printf '{}' > "$OUT/cfg"
cp "$OUT/small" "$OUT/large" "$OUT/static/"
d() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
DS=$(d "$OUT/small") DL=$(d "$OUT/large") DC=$(d "$OUT/cfg")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":4096}]}' "$DC" "$DS" > "$OUT/manifest"
cp "$OUT/manifest" "$OUT/static/manifest"
push() { # push BASEURL FILE -> seconds (POST, PATCH streamed, PUT)
	local u=$1 f=$2 loc t0
	t0=$(date +%s.%N)
	loc=$(curl -s -D - -o /dev/null --cacert "$CA" -H "$AUTH" -X POST "$u/v2/bench/img/blobs/uploads/" |
		tr -d '\r' | sed -n 's/^Location: //Ip')
	case "$loc" in http*) ;; *) loc=$u$loc ;; esac
	loc=$(curl -s -D - -o /dev/null --cacert "$CA" -H "$AUTH" -X PATCH -H 'Content-Type: application/octet-stream' \
		--data-binary "@$f" "$loc" | tr -d '\r' | sed -n 's/^Location: //Ip')
	case "$loc" in http*) ;; *) loc=$u$loc ;; esac
	case "$loc" in *\?*) loc="$loc&" ;; *) loc="$loc?" ;; esac
	curl -s -o /dev/null --cacert "$CA" -H "$AUTH" -X PUT "${loc}digest=$(d "$f")"
	echo "$(date +%s.%N) - $t0" | bc
}
BU=https://localhost:$BP RU=https://localhost:$RP NU=https://localhost:$NP
for u in $BU $RU; do
	push "$u" "$OUT/small" >/dev/null
	push "$u" "$OUT/cfg" >/dev/null
	curl -s -o /dev/null --cacert "$CA" -H "$AUTH" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary "@$OUT/manifest" "$u/v2/bench/img/manifests/latest"
	push "$u" "$OUT/large" >/dev/null
done
declare -a rows
rps() { # rps URL [wrk args]: requests per second
	local u=$1
	shift
	wrk -t2 -c16 -d"${SECS}s" -H "$AUTH" "$@" "$u" 2>&1 | awk '/Requests\/sec/ {print $2}'
}
mbps() { # mbps URL: transfer MB/s with 4 connections
	wrk -t2 -c4 -d"${SECS}s" -H "$AUTH" "$1" 2>&1 | awk '/Transfer\/sec/ {v=$2; if (v ~ /GB/) {sub("GB","",v); v*=1024} else if (v ~ /MB/) sub("MB","",v); else if (v ~ /KB/) {sub("KB","",v); v/=1024}; print v}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
ACC='Accept: application/vnd.oci.image.manifest.v1+json'
row() { # row NAME UNIT BERTH R2 STATIC
	rows+=("$(printf '%-36s %-6s %12s %12s %12s %10s %10s' "$1" "$2" "$3" "$4" "$5" "$(ratio "$3" "$4")" "$(ratio "$3" "$5")")")
}
measure() { # measure LABEL: one row per read test
	row "$1 GET /v2/" req/s "$(rps "$BU/v2/")" "$(rps "$RU/v2/")" -
	row "$1 GET manifest by tag" req/s "$(rps "$BU/v2/bench/img/manifests/latest" -H "$ACC")" \
		"$(rps "$RU/v2/bench/img/manifests/latest" -H "$ACC")" "$(rps "$NU/manifest")"
	row "$1 HEAD blob" req/s "$(rps "$BU/v2/bench/img/blobs/$DS" -s /dev/stdin <<<'wrk.method = "HEAD"')" \
		"$(rps "$RU/v2/bench/img/blobs/$DS" -s /dev/stdin <<<'wrk.method = "HEAD"')" -
	row "$1 GET 4 KiB blob" req/s "$(rps "$BU/v2/bench/img/blobs/$DS")" "$(rps "$RU/v2/bench/img/blobs/$DS")" "$(rps "$NU/small")"
	row "$1 GET 64 MiB blob" MB/s "$(mbps "$BU/v2/bench/img/blobs/$DL")" "$(mbps "$RU/v2/bench/img/blobs/$DL")" "$(mbps "$NU/large")"

}
measure "auth:"

# Again without basic auth anywhere, to see each server's own cost (with
# auth, bcrypt in front dominates: nginx checks it on every request).
sed -i '/auth_basic/d' "$S/site.conf" && nginx -c "$S/nginx.conf" -p "$S" -s reload 2>/dev/null
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n' "$OUT/berth-data" > "$S/config.yml"
kill -TERM "$(cat "$S/berth.pid")"; sleep 1
# The pool as stack.sh starts it: as www-data when run as root, with a
# socket nginx's workers (www-data too) can open.
RUNAS=; [ "$(id -u)" = 0 ] && RUNAS=www-data
spawn-fcgi -s "$S/berth.sock" -M 0660 -P "$S/berth.pid" ${RUNAS:+-u $RUNAS -g $RUNAS -U $RUNAS -G $RUNAS} \
	-- "$TOP/build/berth-fcgi" -c "$S/config.yml" -w "${WORKERS:-4}" -l "$S/log/berth.log" >/dev/null
for _ in $(seq 1 50); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "$BU/v2/")" = 200 ] && break
	sleep 0.1
done
if [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "$BU/v2/")" != 200 ]; then
	echo "bench: Berth without auth does not answer GET /v2/ with 200; no figures" >&2
	exit 1
fi
kill "$R2PID"; wait "$R2PID" 2>/dev/null || true
sed -i '/^auth:/,$d' "$OUT/r2.yml"
docker-registry serve "$OUT/r2.yml" >> "$OUT/r2.log" 2>&1 &
R2PID=$!
sed -i 's/auth_basic "bench"; auth_basic_user_file [^;]*;//' "$OUT/nginx.conf" && nginx -c "$OUT/nginx.conf" -p "$OUT" -s reload 2>/dev/null
sleep 1.5
measure "no auth:"

# Apache + mod_fcgid as stack.sh starts it, with Berth checking the
# password and without auth, alternately (five rounds each, the median):
# the two differ by less than Apache's own round-to-round noise, so one
# round of each would mostly measure the noise. Each mod_fcgid process
# pays one bcrypt per credential when it starts; the rounds include it,
# since every config change restarts the processes.
AP=15203
# The same certificate as the other servers.
QUIET=1 bash "$TOP/nginx-conf/stack.sh" stop $AP
rm -rf "$TOP/var/stack-$AP" && mkdir -p "$TOP/var/stack-$AP/tls"
cp "$S/tls/cert.pem" "$S/tls/key.pem" "$TOP/var/stack-$AP/tls/"
SERVER=apache PORT=$AP DATA_DIR=$OUT/apache-data WORKERS=${WORKERS:-4} QUIET=1 REGISTRY_USER=bench \
	REGISTRY_PASSWORD=bench bash "$TOP/nginx-conf/stack.sh" start
SA=$TOP/var/stack-$AP AU=https://localhost:$AP
cp "$OUT/htpasswd" "$SA/htpasswd"
push "$AU" "$OUT/small" >/dev/null
push "$AU" "$OUT/cfg" >/dev/null
curl -s -o /dev/null --cacert "$CA" -H "$AUTH" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	--data-binary "@$OUT/manifest" "$AU/v2/bench/img/manifests/latest"
cp "$SA/config.yml" "$OUT/apache-auth.yml"
sed '/^auth:/,/^  *path:/d' "$OUT/apache-auth.yml" > "$OUT/apache-noauth.yml"
median() { sort -n | sed -n 3p; }
declare -A ap
# In the order A B B A A B B A A B, each after a restart and a 2 s warm-up (which
# spawns the mod_fcgid processes), so neither mode is always measured first.
for mode in auth noauth noauth auth auth noauth noauth auth auth noauth; do
	cp "$OUT/apache-$mode.yml" "$SA/config.yml"
	apache2 -f "$SA/apache.conf" -k graceful && sleep 1
	wrk -t2 -c16 -d2s -H "$AUTH" "$AU/v2/" >/dev/null 2>&1
	ap[$mode-head]+="$(rps "$AU/v2/bench/img/blobs/$DS" -s /dev/stdin <<<'wrk.method = "HEAD"') "
	ap[$mode-man]+="$(rps "$AU/v2/bench/img/manifests/latest" -H "$ACC") "
done
SERVER=apache QUIET=1 bash "$TOP/nginx-conf/stack.sh" stop $AP
arow() { # arow NAME KEY
	local a n
	a=$(tr ' ' '\n' <<<"${ap[auth-$2]}" | grep . | median)
	n=$(tr ' ' '\n' <<<"${ap[noauth-$2]}" | grep . | median)
	arows+=("$(printf '%-36s %-6s %12s %12s %10s   rounds: %s/ %s' "$1" req/s "$a" "$n" "$(ratio "$a" "$n")" "${ap[auth-$2]}" "${ap[noauth-$2]}")")
}
declare -a arows
arow "apache HEAD blob" head
arow "apache GET manifest by tag" man

# A large store: 100,000 repositories and one with 10,000 tags, served by
# both (the same directory, in registry:2's layout). One connection, so
# the figures are latencies.
# Kept between runs: removing 100,000 repositories takes minutes.
BIG=$TOP/tests/out/bench-store-${BENCH_REPOS:-100000}-${BENCH_TAGS:-10000}
if [ ! -f "$BIG/complete" ]; then
	rm -rf "$BIG"
	python3 "$TOP/tests/bench-store.py" "$BIG" "${BENCH_REPOS:-100000}" "${BENCH_TAGS:-10000}"
	touch "$BIG/complete"
fi
# Berth's index of it is rebuilt, to time that too.
rm -rf "$BIG/docker/registry/v2/_berth"
kill -TERM "$(cat "$S/berth.pid")"; sleep 1
REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$BIG spawn-fcgi -s "$S/berth.sock" -M 0600 \
	-P "$S/berth.pid" -- "$TOP/build/berth-fcgi" -c "$S/config.yml" -w "${WORKERS:-4}" \
	-l "$S/log/berth.log" >/dev/null
kill "$R2PID"; wait "$R2PID" 2>/dev/null || true
sed -i "s|rootdirectory: .*|rootdirectory: $BIG|" "$OUT/r2.yml"
docker-registry serve "$OUT/r2.yml" >> "$OUT/r2.log" 2>&1 &
R2PID=$!
sleep 1.5
# The first catalog request builds Berth's index from the directory once.
t0=$(date +%s.%N)
curl -s -o /dev/null --cacert "$CA" "$BU/v2/_catalog?n=1"
BUILD=$(echo "$(date +%s.%N) - $t0" | bc)
lat() { # lat URL: mean latency in ms over BENCH_SECONDS, one connection
	wrk -t1 -c1 -d"${SECS}s" --timeout 60s --latency "$1" 2>&1 |
		awk '/^    Latency/ { v=$2; if (v ~ /us$/) { sub("us","",v); v/=1000 } else if (v ~ /ms$/) sub("ms","",v); else if (v ~ /s$/) { sub("s","",v); v*=1000 }; print v }'
}
lrow() { # lrow NAME BERTH_MS R2_MS
	rows+=("$(printf '%-36s %-6s %12s %12s %12s %10s %10s' "$1" ms "$2" "$3" - "$(ratio "$3" "$2")" -)")
}
MID=team-500/app-50000
lrow "catalog n=100, 100k repos" "$(lat "$BU/v2/_catalog?n=100")" "$(lat "$RU/v2/_catalog?n=100")"
lrow "catalog n=100 after $MID" "$(lat "$BU/v2/_catalog?n=100&last=$MID")" "$(lat "$RU/v2/_catalog?n=100&last=$MID")"
lrow "tags/list, 10k tags" "$(lat "$BU/v2/big/tags/tags/list")" "$(lat "$RU/v2/big/tags/tags/list")"
lrow "tags/list?n=100, 10k tags" "$(lat "$BU/v2/big/tags/tags/list?n=100")" "$(lat "$RU/v2/big/tags/tags/list?n=100")"

# Push timing with content neither registry has yet.
head -c $((64 << 20)) /dev/urandom > "$OUT/push1"
head -c $((64 << 20)) /dev/urandom > "$OUT/push2"
BPUSH=$(push "$BU" "$OUT/push1")
RPUSH=$(push "$RU" "$OUT/push2")

echo
echo "make bench: $(nproc) cores, ${SECS}s per read test, wrk -t2 -c16 (-c4 for MB/s), TLS everywhere; \"auth:\" rows with basic auth (htpasswd -B) in all three"
printf '%-36s %-6s %12s %12s %12s %10s %10s\n' test unit berth registry:2 nginx-file berth/r2 berth/file
for r in "${rows[@]}"; do echo "$r"; done
printf '%-36s %-6s %12s %12s %12s %10s\n' "push 64 MiB (POST/PATCH/PUT)" s "$BPUSH" "$RPUSH" - "$(ratio "$BPUSH" "$RPUSH")"
echo "(for push, seconds: a ratio below 1 means Berth is faster; for ms rows the"
echo " ratio is registry:2/berth, how many times faster Berth answers)"
echo
echo "Apache + mod_fcgid (stack.sh), Berth checking the password vs no auth; median of 5 rounds in the order A B B A A B B A A B"
printf '%-36s %-6s %12s %12s %10s\n' test unit auth no-auth auth/none
for r in "${arows[@]}"; do echo "$r"; done
echo "Berth built its catalog index of the 100k-repository store in ${BUILD}s (once)."

