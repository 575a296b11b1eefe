#!/usr/bin/env bash
# make bench: the table of issue 9, in one run on this machine. Berth as
# stack.sh (make run) starts it, with and without auth; Debian's
# docker-registry (Distribution 2.8.2) behind an nginx TLS front configured
# like Berth's (same certificate, proxy_request_buffering off, HTTP/1.1 and
# keep-alive to it); and the ceilings: nginx serving the same bytes
# statically and taking a body (DAV PUT into tmpfs), SHA-256, the disk.
# Every measurement runs BENCH_ROUNDS times (3); HEAD requests with ab,
# the others with wrk or curl; tests/bench-report.py
# prints medians with their spread and the ratios against the targets, and
# writes JSON lines to tests/out/bench/results.jsonl. A benchmark, not a
# test: nothing here passes or fails. Traffic goes to 127.0.0.1 only.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/tests/out/bench
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
BIGMB=${BENCH_BIG_MB:-1024}
SHM=/dev/shm/berth-bench-$$
rm -rf "$OUT" && mkdir -p "$OUT"
BP=15200 BN=15204 RF=15201 NP=15202 AP=15203 RP=15205 RPA=15206 RFA=15207
R2PIDS=()
cleanup() {
	for p in "${R2PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$OUT/front.pid" ] && kill "$(cat "$OUT/front.pid")" 2>/dev/null || true
	[ -n "${PSSPID:-}" ] && kill "$PSSPID" 2>/dev/null || true
	pkill -f "$OUT/bench-fcgi-null" 2>/dev/null || true
	[ -n "${AIOMAX:-}" ] && echo "$AIOMAX" > /proc/sys/fs/aio-max-nr
	for p in $BP $BN $AP; do QUIET=1 bash "$TOP/nginx-conf/stack.sh" stop $p || true; done
	rm -rf "$SHM"
}
trap cleanup EXIT
RES=$OUT/results.tsv
: > "$RES"
rec() { # rec TEST SERVER ROUND VALUE UNIT
	printf '%s\t%s\t%s\t%s\t%s\n' "$@" >> "$RES"
}

# --- Berth: two stacks on one store, as make run starts them: with the
# htpasswd check (BP) and with auth taken out (BN).
PORT=$BP DATA_DIR=$OUT/berth-data QUIET=1 REGISTRY_USER=bench REGISTRY_PASSWORD=bench \
	bash "$TOP/nginx-conf/stack.sh" start
S=$TOP/var/stack-$BP CA=$TOP/var/stack-$BP/ca/ca.crt
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' \
	"$OUT/berth-data" > "$OUT/noauth.yml"
rm -rf "$TOP/var/stack-$BN" && mkdir -p "$TOP/var/stack-$BN/tls"
cp "$S/tls/cert.pem" "$S/tls/key.pem" "$TOP/var/stack-$BN/tls/"
PORT=$BN DATA_DIR=$OUT/berth-data QUIET=1 BERTH_CONFIG=$OUT/noauth.yml \
	bash "$TOP/nginx-conf/stack.sh" start
AUTH="Authorization: Basic $(printf bench:bench | base64)"
htpasswd -nbB bench bench > "$OUT/htpasswd"

# --- registry:2 on plain HTTP, without and with auth, each behind a TLS
# front in one nginx that also serves the static ceiling and the sink.
r2() { # r2 PORT DATA [AUTHFILE]
	{
		printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n'
		printf 'storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' "$2"
		printf 'http:\n  addr: 127.0.0.1:%s\n  relativeurls: true\n' "$1"
		[ -n "${3:-}" ] && printf 'auth:\n  htpasswd:\n    realm: bench\n    path: %s\n' "$3"
	} > "$OUT/r2-$1.yml"
	docker-registry serve "$OUT/r2-$1.yml" > "$OUT/r2-$1.log" 2>&1 &
	R2PIDS+=($!)
}
r2 $RP "$OUT/r2-data"
r2 $RPA "$OUT/r2-data" "$OUT/htpasswd"
mkdir -p "$OUT/static" "$OUT/tmp" "$SHM/sink" "$SHM/tmp"
TLS="ssl_certificate $S/tls/cert.pem; ssl_certificate_key $S/tls/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:bench:10m; ssl_session_tickets off;"
front() { # front PORT UPSTREAM: the reverse proxy in front of registry:2
	cat <<-NGX
	upstream r2_$1 { server 127.0.0.1:$2; keepalive 32; }
	server {
	    listen 127.0.0.1:$1 ssl; $TLS
	    client_max_body_size 0; client_body_buffer_size 1m; chunked_transfer_encoding on;
	    location /v2/ {
	        proxy_pass http://r2_$1; proxy_http_version 1.1; proxy_set_header Connection "";
	        proxy_set_header Host \$http_host; proxy_set_header X-Forwarded-Proto https;
	        proxy_request_buffering off; proxy_buffering off; proxy_read_timeout 900s;
	    }
	}
	NGX
}
cat > "$OUT/front.conf" <<NGX
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 2;
pid $OUT/front.pid;
error_log $OUT/front-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $SHM/tmp;
    fastcgi_temp_path $OUT/tmp/fastcgi; proxy_temp_path $OUT/tmp/proxy;
    uwsgi_temp_path $OUT/tmp/uwsgi; scgi_temp_path $OUT/tmp/scgi;
$(front $RF $RP)
$(front $RFA $RPA)
    server {
        listen 127.0.0.1:$NP ssl; $TLS
        root $OUT/static; sendfile on; tcp_nopush on;
        client_max_body_size 0; client_body_buffer_size 1m;
        location /sink/ { root $SHM; dav_methods PUT; create_full_put_path on; }
        location /auth/ { auth_basic "bench"; auth_basic_user_file $OUT/htpasswd; }
    }
}
NGX
nginx -e "$OUT/front-error.log" -c "$OUT/front.conf" -p "$OUT"
sleep 1

# --- content: a 4 KiB blob, an empty config, a manifest, a BIGMB blob.
d() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
head -c 4096 /dev/urandom > "$OUT/small"
printf '{}' > "$OUT/cfg"
head -c $((BIGMB << 20)) /dev/urandom > "$OUT/big"
DS=$(d "$OUT/small") DC=$(d "$OUT/cfg") DB=$(d "$OUT/big")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":4096}]}' "$DC" "$DS" > "$OUT/manifest"
mkdir -p "$OUT/static/auth"
for f in small manifest big; do cp "$OUT/$f" "$OUT/static/$f"; cp "$OUT/$f" "$OUT/static/auth/$f"; done
BU=https://localhost:$BN BA=https://localhost:$BP RU=https://localhost:$RF RA=https://localhost:$RFA NU=https://localhost:$NP
loc() { tr -d '\r' | sed -n 's/^Location: //Ip'; }
abs() { case "$2" in http*) echo "$2" ;; *) echo "$1$2" ;; esac; }
q() { case "$1" in *\?*) echo "$1&" ;; *) echo "$1?" ;; esac; }
now() { date +%s.%N; }
mbps() { echo "$1 $2 $3" | awk '{ printf "%.1f", $1 / 1048576 / ($3 - $2) }'; }
XA=() # extra curl arguments for the pushes (credentials)
post() { # post BASE -> absolute upload URL
	abs "$1" "$(curl -s -D - -o /dev/null --cacert "$CA" "${XA[@]}" -X POST "$1/v2/bench/img/blobs/uploads/" | loc)"
}
put_mono() { # put_mono BASE FILE DIGEST: POST, then one PUT with the body
	local l
	l=$(post "$1")
	curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "${XA[@]}" -X PUT \
		-H 'Content-Type: application/octet-stream' -T "$2" "$(q "$l")digest=$3"
}
put_chunked() { # put_chunked BASE FILE DIGEST: POST, one chunked PATCH, PUT
	local l
	l=$(post "$1")
	l=$(abs "$1" "$(curl -s -D - -o /dev/null --cacert "$CA" -X PATCH -H 'Transfer-Encoding: chunked' \
		-H 'Content-Type: application/octet-stream' -T "$2" "$l" | loc)")
	curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -X PUT "$(q "$l")digest=$3"
}
for u in $BU $RU; do
	for f in small cfg big; do put_mono "$u" "$OUT/$f" "$(d "$OUT/$f")" >/dev/null; done
	curl -s -o /dev/null --cacert "$CA" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary "@$OUT/manifest" "$u/v2/bench/img/manifests/latest"
done

# --- the pool's memory: proportional set size of all processes of each
# Berth pool (supervisor and 4 workers) every second; the largest is kept.
pss() { # pss STACKDIR: kB
	local t=0 p k
	for p in $(pgrep -f "berth-fcgi -c $1/" || true); do
		k=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
		t=$((t + ${k:-0}))
	done
	echo $t
}
( while sleep 1; do
	echo "$(pss "$TOP/var/stack-$BN") $(pss "$TOP/var/stack-$BP")"
done > "$OUT/pss.log" ) &
PSSPID=$!

# A run with error answers measures the error page: it is reported and
# left out (so a pool that nginx cannot reach shows as "-", not as fast).
wrk_ok() { # wrk_ok URL OUTPUT
	if grep -q 'Non-2xx' <<<"$2"; then
		echo "bench: $1: $(grep 'Non-2xx' <<<"$2" | tr -s ' ')" >&2
		return 1
	fi
}
rps() { # rps URL [wrk args]: requests per second, 16 connections
	local u=$1 o
	shift
	o=$(wrk -t2 -c16 -d"${SECS}s" "$@" "$u" 2>&1)
	wrk_ok "$u" "$o" || return 0
	awk '/Requests\/sec/ {print $2}' <<<"$o"
}
# HEAD with ab: wrk waits for a body after a HEAD answer that has a
# Content-Length, so `wrk.method = "HEAD"` in a script file completes no
# request at all (and fed as -s /dev/stdin, wrk silently sends GETs).
hrps() { # hrps URL [-H header]: HEAD requests per second, 16 connections
	local u=$1 o
	shift
	o=$(ab -q -i -k -c16 -t "$SECS" -n 100000000 "$@" "$u" 2>&1)
	if grep -q '^Non-2xx responses' <<<"$o"; then
		echo "bench: HEAD $u: $(grep '^Non-2xx' <<<"$o")" >&2
		return 0
	fi
	awk '/^Requests per second/ {print $4}' <<<"$o"
}
ACC='Accept: application/vnd.oci.image.manifest.v1+json'
pull() { # pull URL [curl args]: MB/s of one GET of the big blob
	local t0 t1
	t0=$(now)
	curl -s -o /dev/null --cacert "$CA" "$@" "$1" >/dev/null
	t1=$(now)
	mbps $((BIGMB << 20)) "$t0" "$t1"
}
drop_caches() { # every clean page out of the page cache (root only)
	sync
	{ echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null
}
forget() { # forget DATA: the big blob and the bench repository, for a fresh push
	rm -rf "$1/docker/registry/v2/blobs/sha256/${DB:7:2}/${DB#sha256:}"
	sync
}
timed() { # timed CMD...: runs it, prints MB/s of the big blob
	local t0 t1
	t0=$(now)
	"$@" >/dev/null
	t1=$(now)
	mbps $((BIGMB << 20)) "$t0" "$t1"
}

# Ceilings that are not a server: SHA-256 and the disk (the store's filesystem).
for r in $(seq "$ROUNDS"); do
	rec sha256 openssl "$r" "$(openssl speed -evp sha256 -bytes 1048576 -seconds 2 2>/dev/null |
		awk '/^sha256/ { v=$2; sub("k","",v); printf "%.1f", v * 1000 / 1048576 }')" MB/s
	t0=$(now)
	dd if="$OUT/big" of="$OUT/berth-data/ddtest" bs=1M conv=fdatasync status=none
	rec disk dd "$r" "$(mbps $((BIGMB << 20)) "$t0" "$(now)")" MB/s
	rm -f "$OUT/berth-data/ddtest"
	# The same around the page cache, as Berth writes upload bodies
	# (core/sink.c): the disk's speed is the faster of the two.
	t0=$(now)
	dd if="$OUT/big" of="$OUT/berth-data/ddtest" bs=1M oflag=direct conv=fdatasync status=none
	rec disk dd-direct "$r" "$(mbps $((BIGMB << 20)) "$t0" "$(now)")" MB/s
	rm -f "$OUT/berth-data/ddtest"
done

# 32 parallel pushes of distinct 4 MiB blobs (128 MiB in all), from
# one client: one curl making the 32 POSTs at once, then one making
# the 32 PUTs at once (32 connections each); the round's time is the two
# curl runs (64 curl processes, one per request, measured mostly their
# own start-up and TLS handshakes).
# The ceiling: the same two rounds against nginx, a static GET of the
# small file for each POST and a PUT into its tmpfs sink for each push.
# What serves BN's socket: Berth's pool as stack.sh starts it, or, in
# each round, the ceiling of any FastCGI application here: a libfcgi loop
# that answers every request with a fixed answer and touches no disk
# (tests/bench-fcgi-null.c), in Berth's pool shape behind the same nginx
# site: what nginx's per-request FastCGI work leaves. Measured in the same
# round as Berth: this machine's speed drifts by half between minutes.
SB=$TOP/var/stack-$BN
pool_stop() { # the pool on BN's socket, whichever it is, stopped
	local p
	p=$(cat "$SB/berth.pid" 2>/dev/null || true)
	[ -n "$p" ] && kill -TERM "$p" 2>/dev/null
	for _ in $(seq 50); do [ -n "$p" ] && kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	pkill -f "$OUT/bench-fcgi-null" 2>/dev/null || true
	rm -f "$SB/berth.sock"
	sleep 0.5
}
pool_berth() { # [ENV=...]: Berth's pool on BN's socket, as stack.sh starts it
	env "$@" REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="${POOL_DATA:-$OUT/berth-data}" \
		spawn-fcgi -s "$SB/berth.sock" -M 0660 \
		$( [ "$(id -u)" = 0 ] && echo "-u www-data -g www-data -U www-data -G www-data") -- \
		"$TOP/build/berth-fcgi" -c "$SB/config.yml" -w "${WORKERS:-4}" \
		-l "$SB/log/berth.log" -P "$SB/run/berth.pid" >/dev/null
	sleep 1
}
pool_null() { # [hash]
	spawn-fcgi -s "$SB/berth.sock" -M 0666 -P "$OUT/null.pid" -- \
		"$OUT/bench-fcgi-null" "${WORKERS:-4}" "$@" >/dev/null
	sleep 1
}
# (linked with libberth for its "sink" mode: Berth's own body writer)
cc -std=c11 -D_GNU_SOURCE -O2 -o "$OUT/bench-fcgi-null" "$TOP/tests/bench-fcgi-null.c" \
	"$TOP/build/libberth.a" -lfcgi -lcrypto -ljansson -lyaml -lcrypt
par32() { # par32 NAME BASE: one round of 32 parallel 4 MiB pushes (nginx: its ceiling)
	local u=$1 base=$2 i l t0 t1 t2 t3 pargs
	mkdir -p "$OUT/par"
	for i in $(seq 32); do head -c $((4 << 20)) /dev/urandom > "$OUT/par/$i"; done
	for i in $(seq 32); do d "$OUT/par/$i" > "$OUT/par/$i.d"; done
	# The bodies' own writeback, not inside the round.
	sync
	pargs=()
	for i in $(seq 32); do
		# (-o applies to one URL: each GET gets its own)
		if [ $u = nginx ]; then pargs+=(-o /dev/null "$NU/small"); else
			pargs+=(-X POST "$base/v2/bench/img/blobs/uploads/"); fi
	done
	t0=$(now)
	curl -s --parallel --parallel-max 32 --cacert "$CA" -o /dev/null \
		-w '%header{location}\n' "${pargs[@]}" > "$OUT/par/locs" 2>/dev/null
	t1=$(now)
	# Off the clock: bash building the 32 PUTs' arguments (~100 forks,
	# 60-100 ms, more than a third of Berth's whole PUT round).
	pargs=()
	i=0
	while read -r l; do
		i=$((i + 1))
		if [ $u = nginx ]; then
			pargs+=(-o /dev/null -T "$OUT/par/$i" "$NU/sink/par-$i")
		else
			pargs+=(-H 'Content-Type: application/octet-stream' -T "$OUT/par/$i"
				"$(q "$(abs "$base" "$l")")digest=$(cat "$OUT/par/$i.d")")
		fi
	done < "$OUT/par/locs"
	t2=$(now)
	curl -s --parallel --parallel-max 32 --cacert "$CA" -o /dev/null \
		-w '%{http_code}\n' "${pargs[@]}" > "$OUT/par/codes" 2>/dev/null
	t3=$(now)
	rm -f "$SHM"/sink/par-*
	if [ "$(grep -c '^201$' "$OUT/par/codes")" = 32 ]; then
		rec par32 $u "$r" "$(mbps $((128 << 20)) 0 "$(awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN { print b - a + d - c }')")" MB/s
	else
		echo "bench: $u parallel pushes: $(sort "$OUT/par/codes" | uniq -c | tr '\n' ' ')" >&2
	fi
	rm -rf "$OUT/par"
}

for r in $(seq "$ROUNDS"); do
	echo "bench: round $r of $ROUNDS" >&2
	# Small requests.
	rec head berth "$r" "$(hrps "$BU/v2/bench/img/blobs/$DS")" req/s
	rec head berth-auth "$r" "$(hrps "$BA/v2/bench/img/blobs/$DS" -H "$AUTH")" req/s
	rec head r2 "$r" "$(hrps "$RU/v2/bench/img/blobs/$DS")" req/s
	rec head r2-auth "$r" "$(hrps "$RA/v2/bench/img/blobs/$DS" -H "$AUTH")" req/s
	rec head nginx "$r" "$(hrps "$NU/small")" req/s
	rec head nginx-auth "$r" "$(hrps "$NU/auth/small" -H "$AUTH")" req/s
	rec manifest berth "$r" "$(rps "$BU/v2/bench/img/manifests/latest" -H "$ACC")" req/s
	rec manifest berth-auth "$r" "$(rps "$BA/v2/bench/img/manifests/latest" -H "$AUTH" -H "$ACC")" req/s
	rec manifest r2 "$r" "$(rps "$RU/v2/bench/img/manifests/latest" -H "$ACC")" req/s
	rec manifest r2-auth "$r" "$(rps "$RA/v2/bench/img/manifests/latest" -H "$AUTH" -H "$ACC")" req/s
	rec manifest nginx "$r" "$(rps "$NU/manifest")" req/s
	# Pull the big blob from the disk, then the same again from the page
	# cache, each server against nginx's sendfile in the same state. A
	# blob Berth has just received is not in the page cache (core/sink.c
	# writes bodies around it), registry:2's is: the first pull of each
	# comes after every cache was dropped.
	for u in berth r2 nginx; do
		case $u in
		berth) url=$BU/v2/bench/img/blobs/$DB ;;
		r2) url=$RU/v2/bench/img/blobs/$DB ;;
		nginx) url=$NU/big ;;
		esac
		if drop_caches; then
			rec pull-cold $u "$r" "$(pull "$url" -L)" MB/s
		else
			pull "$url" -L >/dev/null
		fi
		rec pull $u "$r" "$(pull "$url" -L)" MB/s
	done
	# 32 parallel pushes before the big ones: a 1 GiB push through the
	# page cache (registry:2's) leaves this virtual disk slow for a while
	# even after sync (measured: Berth and the hashing null both 15-25%
	# slower right after one), so every server's round starts from the
	# same disk, and Berth and the FastCGI floor (the null pool on
	# Berth's socket) run side by side, first one then the other.
	if [ $((r % 2)) = 1 ]; then par32 berth "$BU"; fi
	pool_stop
	pool_null hash
	par32 fcgi-hash "$BU"
	pool_stop
	pool_null
	par32 fcgi-null "$BU"
	# The durable floor: each body hashed and written with Berth's own
	# writer (core/sink.c), one fdatasync and one directory fsync, no
	# registry around it. In the store's filesystem, removed each round.
	pool_stop
	mkdir -p "$OUT/null-sink" && chmod 0777 "$OUT/null-sink"
	pool_null sink "$OUT/null-sink"
	par32 fcgi-sink "$BU"
	pool_stop
	rm -rf "$OUT/null-sink"
	pool_berth
	if [ $((r % 2)) = 0 ]; then par32 berth "$BU"; fi
	par32 r2 "$RU"
	par32 nginx "$NU"
	# The pushes' source file back into the page cache: dropped above,
	# the first push would measure curl reading it from the disk.
	cat "$OUT/big" > /dev/null
	# Push it, fsynced by Berth (registry:2 does not fsync).
	forget "$OUT/berth-data"
	rec push-mono berth "$r" "$(timed put_mono "$BU" "$OUT/big" "$DB")" MB/s
	forget "$OUT/r2-data"
	rec push-mono r2 "$r" "$(timed put_mono "$RU" "$OUT/big" "$DB")" MB/s
	rec push-mono nginx "$r" "$(timed curl -s -o /dev/null --cacert "$CA" -T "$OUT/big" "$NU/sink/big")" MB/s
	rm -f "$SHM/sink/big"
	forget "$OUT/berth-data"
	rec push-chunked berth "$r" "$(timed put_chunked "$BU" "$OUT/big" "$DB")" MB/s
	forget "$OUT/r2-data"
	rec push-chunked r2 "$r" "$(timed put_chunked "$RU" "$OUT/big" "$DB")" MB/s
	rec push-chunked nginx "$r" "$(timed curl -s -o /dev/null --cacert "$CA" -H 'Transfer-Encoding: chunked' \
		-T "$OUT/big" "$NU/sink/big")" MB/s
	rm -f "$SHM/sink/big"
	# Sequential PUTs of new manifests (one connection).
	for u in berth r2; do
		base=$BU; [ $u = r2 ] && base=$RU
		o=$(CFG=$DC wrk -t1 -c1 -d"${SECS}s" -s "$TOP/tests/bench-mput.lua" "$base" 2>&1)
		wrk_ok "$base manifest PUTs" "$o" && rec mput $u "$r" "$(awk '/Requests\/sec/ {print $2}' <<<"$o")" req/s
	done
	# The FastCGI ceiling, in this round. Bodies are read through libfcgi
	# and thrown away (no hash, no disk): what any FastCGI registry here
	# can take in, below nginx's own intake.
	pool_stop
	pool_null
	rec head fcgi-null "$r" "$(hrps "$BU/v2/bench/img/blobs/$DS")" req/s
	rec manifest fcgi-null "$r" "$(rps "$BU/v2/bench/img/manifests/latest" -H "$ACC")" req/s
	rec push-mono fcgi-null "$r" "$(timed put_mono "$BU" "$OUT/big" "$DB")" MB/s
	rec push-chunked fcgi-null "$r" "$(timed put_chunked "$BU" "$OUT/big" "$DB")" MB/s
	# The same with each body hashed (SHA-256), as a registry must: on
	# two cores the client's TLS, nginx's and the hash share the CPU.
	pool_stop
	pool_null hash
	rec push-mono fcgi-hash "$r" "$(timed put_mono "$BU" "$OUT/big" "$DB")" MB/s
	rec push-chunked fcgi-hash "$r" "$(timed put_chunked "$BU" "$OUT/big" "$DB")" MB/s
	pool_stop
	pool_berth
done

# --- A large store: 100,000 repositories and one with 10,000 tags, in
# registry:2's layout, served by both. One connection: latencies.
# Kept between runs: removing 100,000 repositories takes minutes.
BIG=$TOP/tests/out/bench-store-${BENCH_REPOS:-100000}-${BENCH_TAGS:-10000}
if [ ! -f "$BIG/complete" ]; then
	rm -rf "$BIG"
	python3 "$TOP/tests/bench-store.py" "$BIG" "${BENCH_REPOS:-100000}" "${BENCH_TAGS:-10000}"
	touch "$BIG/complete"
fi
# Berth's catalog index of it is kept too (rebuilding it walks 100,000
# directories: 30-90 s); BENCH_REBUILD_INDEX=1 times the rebuild.
[ -n "${BENCH_REBUILD_INDEX:-}" ] && rm -rf "$BIG/docker/registry/v2/_berth"
# --- The bound on manifest PUTs (docs/performance.md): Berth's own time
# per PUT, measured with every fsync made a no-op (libeatmydata), and what
# this disk charges for one ordered durable step (tests/bench-fsync.c).
pool_stop
# libeatmydata turns fsync() into a no-op but not Berth's AIO fsyncs
# (core/fsbatch.c): with no AIO context to be had (aio-max-nr 0, put back
# right after) the pool falls back to fsync() one by one, which it catches.
AIOMAX=$(cat /proc/sys/fs/aio-max-nr)
[ -w /proc/sys/fs/aio-max-nr ] && echo 0 > /proc/sys/fs/aio-max-nr
LD_PRELOAD=$(ls /usr/lib/*/libeatmydata.so | head -1) \
REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$OUT/berth-data spawn-fcgi -s "$SB/berth.sock" -M 0666 \
	-- "$TOP/build/berth-fcgi" -c "$SB/config.yml" -w "${WORKERS:-4}" -P "$SB/run/berth.pid" \
	-l "$SB/log/berth.log" >/dev/null
sleep 1
cc -std=c11 -O2 -o "$OUT/bench-fsync" "$TOP/tests/bench-fsync.c"
for r in $(seq "$ROUNDS"); do
	# What earlier rounds left dirty out first: without fsync the pages
	# of thousands of small files pile up, and the kernel throttles the
	# writer that crosses its dirty limit (a run of 314 / 59 / 50 req/s).
	sync
	o=$(CFG=$DC wrk -t1 -c1 -d"${SECS}s" -s "$TOP/tests/bench-mput.lua" "$BU" 2>&1)
	wrk_ok "$BU manifest PUTs without fsync" "$o" &&
		rec mput berth-nosync "$r" "$(awk '/Requests\/sec/ {print $2}' <<<"$o")" req/s
done
[ -w /proc/sys/fs/aio-max-nr ] && echo "$AIOMAX" > /proc/sys/fs/aio-max-nr
AIOMAX=
for r in $(seq "$ROUNDS"); do
	mkdir -p "$OUT/fsync"
	"$OUT/bench-fsync" "$OUT/fsync" 200 > "$OUT/fsync.out"
	while read -r mode ms; do rec "fsync-$mode" disk "$r" "$ms" ms; done < "$OUT/fsync.out"
	rm -rf "$OUT/fsync"
done
pool_stop
REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$BIG spawn-fcgi -s "$SB/berth.sock" -M 0666 \
	-- "$TOP/build/berth-fcgi" -c "$SB/config.yml" -w "${WORKERS:-4}" -P "$SB/run/berth.pid" \
	-l "$SB/log/berth.log" >/dev/null
r2 $((RP + 10)) "$BIG"
sleep 1.5
t0=$(now)
curl -s -o /dev/null --cacert "$CA" "$BU/v2/_catalog?n=1"
[ -n "${BENCH_REBUILD_INDEX:-}" ] &&
	rec index-build berth 1 "$(echo "$(now) $t0" | awk '{ printf "%.3f", ($1 - $2) * 1000 }')" ms
lat() { # lat URL: mean latency in ms, one connection
	local o
	o=$(wrk -t1 -c1 -d"${SECS}s" --timeout 60s "$1" 2>&1)
	wrk_ok "$1" "$o" || return 0
	if grep -q '^  0 requests' <<<"$o"; then
		# Slower than the run: one request, timed by curl.
		curl -s -o /dev/null --cacert "$CA" -w '%{time_total}' "$1" | awk '{ printf "%.3f", $1 * 1000 }'
		return 0
	fi
	awk '/^    Latency/ { v=$2; if (v ~ /us$/) { sub("us","",v); v/=1000 } else if (v ~ /ms$/) sub("ms","",v); else if (v ~ /s$/) { sub("s","",v); v*=1000 }; print v }' <<<"$o"
}
R2B=http://127.0.0.1:$((RP + 10))
MID=team-500/app-50000
for r in $(seq "$ROUNDS"); do
	rec catalog berth "$r" "$(lat "$BU/v2/_catalog?n=100&last=$MID")" ms
	rec catalog r2 "$r" "$(lat "$R2B/v2/_catalog?n=100&last=$MID")" ms
	rec tags berth "$r" "$(lat "$BU/v2/big/tags/tags/list?n=100")" ms
	rec tags r2 "$r" "$(lat "$R2B/v2/big/tags/tags/list?n=100")" ms
done

kill "$PSSPID" 2>/dev/null || true

# --- Apache + mod_fcgid as stack.sh starts it, Berth checking the
# password and without auth, alternately: the two differ by less than
# Apache's own round-to-round noise (about 10%), so each mode runs after a
# restart and a 2 s warm-up (which spawns the mod_fcgid processes) in the
# order A B B A A B..., and the report takes medians.
QUIET=1 bash "$TOP/nginx-conf/stack.sh" stop $AP
rm -rf "$TOP/var/stack-$AP" && mkdir -p "$TOP/var/stack-$AP/tls"
cp "$S/tls/cert.pem" "$S/tls/key.pem" "$TOP/var/stack-$AP/tls/"
SERVER=apache PORT=$AP DATA_DIR=$OUT/apache-data QUIET=1 REGISTRY_USER=bench \
	REGISTRY_PASSWORD=bench bash "$TOP/nginx-conf/stack.sh" start
SA=$TOP/var/stack-$AP AU=https://localhost:$AP
XA=(-H "$AUTH")
for f in small cfg; do put_mono "$AU" "$OUT/$f" "$(d "$OUT/$f")" >/dev/null; done
XA=()
curl -s -o /dev/null --cacert "$CA" -H "$AUTH" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	--data-binary "@$OUT/manifest" "$AU/v2/bench/img/manifests/latest"
cp "$SA/config.yml" "$OUT/apache-auth.yml"
sed '/^auth:/,/^  *path:/d' "$OUT/apache-auth.yml" > "$OUT/apache-noauth.yml"
n=0
for r in $(seq "$ROUNDS"); do
	for mode in auth noauth; do
		# A B, then B A, ...
		[ $((r % 2)) = 0 ] && { [ $mode = auth ] && mode=noauth || mode=auth; }
		cp "$OUT/apache-$mode.yml" "$SA/config.yml"
		apache2 -f "$SA/apache.conf" -k graceful && sleep 1
		wrk -t2 -c16 -d2s -H "$AUTH" "$AU/v2/" >/dev/null 2>&1
		srv=berth; [ $mode = auth ] && srv=berth-auth
		rec apache-head $srv "$r" "$(hrps "$AU/v2/bench/img/blobs/$DS" -H "$AUTH")" req/s
		rec apache-manifest $srv "$r" "$(rps "$AU/v2/bench/img/manifests/latest" -H "$AUTH" -H "$ACC")" req/s
		n=$((n + 1))
	done
done
SERVER=apache QUIET=1 bash "$TOP/nginx-conf/stack.sh" stop $AP

rec pss berth 1 "$(awk '$1 > m { m = $1 } END { printf "%.1f", m / 1024 }' "$OUT/pss.log")" MiB
rec pss berth-auth 1 "$(awk '$2 > m { m = $2 } END { printf "%.1f", m / 1024 }' "$OUT/pss.log")" MiB

python3 "$TOP/tests/bench-report.py" "$RES" "$OUT/results.jsonl" "$(nproc)" "$SECS" "$BIGMB"
