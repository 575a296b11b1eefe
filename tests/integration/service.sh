#!/usr/bin/env bash
# Berth as a service: no process of the pool is a single point of failure
# (kill -9 of the supervisor, of workers and of the upload purger while 50
# pushes run loses nothing acknowledged, the registry answers again within
# 2 s, SIGTERM still stops the whole pool and nothing restarts it);
# GET /healthz (no credentials; 503 with the reason on a store that cannot
# be written, or is full); GET /metrics (every request counted, across
# worker restarts); JSON log lines, reopened on SIGHUP; berth-fcgi on a
# socket that systemd-socket-activate hands over (LISTEN_FDS), driven
# with cgi-fcgi, no web server.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/store-check.sh"
set -u
P=15126
B=$TOP/build/berth
{
	printf 'version: 0.1\nlog:\n  formatter: json\nstorage:\n  delete:\n    enabled: true\n'
	printf '  maintenance:\n    uploadpurging:\n      enabled: true\n      age: 1h\n      interval: 1s\n'
	stack_auth_yaml $P
} > "$OUT/cfg.yml"
WORKERS=3 start_stack $P "$OUT/cfg.yml" || { not_ok "stack starts"; exit 1; }
LOG=$S/log/berth.log
sup() { cat "$S/berth.pid" 2>/dev/null; }
pool_pids() { pgrep -f "berth-fcgi -c $S/config.yml" | tr '\n' ' '; }
answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u "$CRED" "$URL/v2/")" = 200 ]; }
now() { date +%s.%N; }

check "the log is JSON lines" bash -c "head -3 '$LOG' | jq -e .msg >/dev/null"

# --- 1. kill -9 of every kind of Berth process while 50 pushes run.
pusher() { # pusher N: 10 pushes (a blob, a manifest under its own tag); acked ones listed
	local i f d m md code
	for i in $(seq 10); do
		f=$OUT/p$1-$i
		head -c $((RANDOM * 20 + 1000)) /dev/urandom > "$f"
		d=sha256:$(sha "$f")
		code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u "$CRED" -X POST \
			--data-binary "@$f" "$URL/v2/svc/p$1/blobs/uploads/?digest=$d")
		if [ "$code" = 201 ]; then
			m=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":%s},"layers":[]}' \
				"$d" "$(stat -c %s "$f")")
			printf '%s' "$m" > "$f.m"
			md=sha256:$(sha "$f.m")
			code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u "$CRED" -X PUT \
				--data-binary "@$f.m" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
				"$URL/v2/svc/p$1/manifests/t$i")
			[ "$code" = 201 ] && echo "p$1 t$i $md $d" >> "$OUT/acked"
		fi
		echo "$code" >> "$OUT/codes"
		sleep 0.$((RANDOM % 4 + 3))
	done
}
rm -f "$OUT/acked" "$OUT/codes"
for n in 1 2 3 4 5; do pusher $n & done
PUSHERS=$(jobs -p | tr '\n' ' ')
pushing() { local p; for p in $PUSHERS; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
sups=0 workers=0 purgers=0 worst=0 slow=0 k=0
while pushing; do
	sleep 0.$((RANDOM % 5 + 3))
	# In turn, so that every kind is killed in every run.
	k=$((k + 1))
	case $((k % 3)) in
	0)	old=$(sup)
		[ -n "$old" ] || continue
		kill -9 "$old" 2>/dev/null || continue
		sups=$((sups + 1))
		t0=$(now)
		until answers; do
			sleep 0.05
			[ "$(echo "$(now) - $t0 > 10" | bc)" = 1 ] && break
		done
		t=$(echo "$(now) - $t0" | bc)
		[ "$(echo "$t > $worst" | bc)" = 1 ] && worst=$t
		[ "$(echo "$t > 2" | bc)" = 1 ] && slow=$((slow + 1))
		# The successor writes the pid file: wait for it (bounded).
		for _ in $(seq 40); do [ "$(sup)" != "$old" ] && break; sleep 0.05; done
		;;
	1)	w=$(pgrep -P "$(sup)" | head -1)
		[ -n "$w" ] && kill -9 "$w" 2>/dev/null && workers=$((workers + 1)) ;;
	2)	pp=$(pgrep -x berth-purge | head -1)
		[ -n "$pp" ] && kill -9 "$pp" 2>/dev/null && purgers=$((purgers + 1)) ;;
	esac
done
wait
sleep 1.5
echo "# killed: $sups supervisors, $workers workers, $purgers purgers; slowest recovery ${worst}s"
check "supervisors were killed during the pushes ($sups)" test "$sups" -ge 2
check "workers were killed during the pushes ($workers)" test "$workers" -ge 1
check "the registry answered again within 2 s of every supervisor's death (slowest ${worst}s)" test "$slow" = 0
acked=$(wc -l < "$OUT/acked" 2>/dev/null || echo 0)
check "most of the 50 pushes were acknowledged ($acked; answers: $(sort "$OUT/codes" | uniq -c | tr -s ' \n' ' '))" test "$acked" -ge 25
lost=0
while read -r repo tag md d; do
	api GET "/v2/svc/$repo/manifests/$tag" -H 'Accept: application/vnd.oci.image.manifest.v1+json'
	[ "$STATUS" = 200 ] && [ "$(hdr Docker-Content-Digest)" = "$md" ] || { lost=$((lost + 1)); echo "# lost: $repo:$tag $STATUS"; }
	api HEAD "/v2/svc/$repo/blobs/$d" -I
	[ "$STATUS" = 200 ] || { lost=$((lost + 1)); echo "# lost blob: $repo $d $STATUS"; }
done < "$OUT/acked"
eq "every acknowledged manifest and blob is there" "$lost" 0
check "the store holds no partial blob, empty link or dangling tag" store_check "$DATA"
REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$DATA "$B" -c "$S/config.yml" fsck > "$OUT/fsck.out" 2>&1
eq "berth fsck is clean after the kills" "$?" 0
s=$(sup)
check "one supervisor is left, with its 3 workers" \
	test "$(pgrep -P "$s" -x berth-fcgi | wc -l)" = 3 -a "$(pool_pids | wc -w)" -le 5
check "each successor says so in the log" grep -q 'took over the pool' "$LOG"

# --- 1c. While the supervisor dies, no request is refused: a steady
# stream of GETs, the supervisor killed three times, no 502/503.
( end=$((SECONDS + 4)); while [ $SECONDS -lt $end ]; do
	curl -s -o /dev/null -w '%{http_code}\n' --cacert "$CA" -u "$CRED" "$URL/v2/"
done ) > "$OUT/steady" &
SPID=$!
for _ in 1 2 3; do sleep 1; kill -9 "$(sup)"; done
wait $SPID
n=$(wc -l < "$OUT/steady")
bad=$(grep -vc '^200$' "$OUT/steady")
check "no request refused while the supervisor was killed 3 times ($n requests, $bad not 200)" \
	test "$bad" = 0 -a "$n" -gt 20
sleep 1

# --- 1b. kill -9 of the upload purger in the middle of a purge: 3,000
# sessions older than the purge age (registry:2's startedat), and the
# purger killed while it removes them. The next purges finish the job.
U=$DATA/docker/registry/v2/repositories/svc/old/_uploads
mkdir -p "$DATA/prep/_uploads" "$(dirname "$U")"
for i in $(seq 3000); do
	d=$DATA/prep/_uploads/$(printf '%08x-0000-4000-8000-%012x' "$i" "$i")
	mkdir "$d" && printf '2020-01-01T00:00:00Z' > "$d/startedat" && : > "$d/data"
done
# Made whole, then put in place (a purge must not meet them half-made).
chown -R www-data:www-data "$DATA/prep" "$(dirname "$U")"
mv "$DATA/prep/_uploads" "$U" && rmdir "$DATA/prep"
pk=0
for _ in $(seq 300); do
	pp=$(pgrep -x berth-purge | head -1)
	if [ -n "$pp" ]; then sleep 0.05; kill -9 "$pp" 2>/dev/null && pk=1; break; fi
	sleep 0.02
done
left=$(ls "$U" | wc -l)
check "the purger was killed in the middle of a purge ($left of 3000 sessions left)" \
	test "$pk" = 1 -a "$left" -gt 0 -a "$left" -lt 3000
for _ in $(seq 100); do [ "$(ls "$U" | wc -l)" = 0 ] && break; sleep 0.1; done
eq "the next purges remove the rest" "$(ls "$U" | wc -l)" 0
check "without a purge failure in the log$(grep -m1 'purge: failed' "$LOG" | cut -c1-200)" \
	bash -c "! grep -q 'purge: failed' '$LOG'"

# --- 2. A request in flight when the supervisor dies is answered.
head -c 1500000 /dev/urandom > "$OUT/slow"
D=sha256:$(sha "$OUT/slow")
curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u "$CRED" -X POST --limit-rate 500k \
	--data-binary "@$OUT/slow" "$URL/v2/svc/slow/blobs/uploads/?digest=$D" > "$OUT/slow.code" &
CPID=$!
sleep 1
kill -9 "$(sup)"
wait $CPID
eq "a push in flight when its supervisor was killed completes" "$(cat "$OUT/slow.code")" 201
sleep 1
check "and the pool answers after it" answers

# --- 3. SIGTERM stops the whole pool; no worker starts a successor.
WORKERS=3 start_stack $P "$OUT/cfg.yml" >/dev/null || not_ok "stack restarts"
s=$(sup)
kill -TERM "$s"
for _ in $(seq 50); do [ -z "$(pool_pids)" ] && break; sleep 0.1; done
eq "SIGTERM to the supervisor leaves no Berth process" "$(pool_pids)" ""
WORKERS=3 start_stack $P "$OUT/cfg.yml" || { not_ok "stack restarts"; exit 1; }

# --- 4. /healthz
st=$(curl -s -o "$OUT/h.json" -w '%{http_code}' --cacert "$CA" "$URL/healthz")
eq "GET /healthz answers 200 without credentials" "$st" 200
eq "with {\"status\":\"ok\"}" "$(jq -c . "$OUT/h.json")" '{"status":"ok"}'
H=$DATA/docker/registry/v2/_berth/health
mkdir -p "$H"
chmod 0555 "$H"
sleep 1.6 # each worker keeps its answer for 1.5 s
st=$(curl -s -o "$OUT/h.json" -w '%{http_code}' --cacert "$CA" "$URL/healthz")
chmod 0755 "$H"
eq "a store Berth cannot write: 503" "$st" 503
eq "saying why" "$(jq -r .status "$OUT/h.json")" unwritable
check "the log names what failed" grep -q 'create .*_berth/health/probe-' "$LOG"
if mount -t tmpfs -o size=64k berth-health "$H" 2>/dev/null; then
	chown www-data:www-data "$H"
	dd if=/dev/zero of="$H/fill" bs=4k 2>/dev/null
	sleep 1.6
	st=$(curl -s -o "$OUT/h.json" -w '%{http_code}' --cacert "$CA" "$URL/healthz")
	umount "$H"
	eq "a full store: 503" "$st" 503
	eq "saying it is full" "$(jq -r .reason "$OUT/h.json")" "the store is full"
else
	not_ok "a tmpfs for the full-store case could be mounted"
fi
sleep 1.6
st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "$URL/healthz")
eq "healthy again once the store is" "$st" 200
st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -X POST "$URL/healthz")
eq "POST /healthz: 405" "$st" 405

# --- 5. /metrics: every request counted, summed over workers and restarts.
total() { # the sum of berth_http_requests_total in a scrape
	curl -s --cacert "$CA" "$URL/metrics" > "$OUT/m.txt"
	awk '/^berth_http_requests_total\{/ { s += $2 } END { print s + 0 }' "$OUT/m.txt"
}
a=$(total)
head -c 5000 /dev/urandom > "$OUT/mblob"
MB=$(push_blob svc/metrics "$OUT/mblob")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":5000},"layers":[]}' "$MB" > "$OUT/mman"
api PUT /v2/svc/metrics/manifests/m1 --data-binary "@$OUT/mman" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json'
for _ in $(seq 18); do answers; done
b=$(total)
eq "berth_http_requests_total grew by exactly the requests served (20 and the scrape)" "$((b - a))" 21
check "in Prometheus text format" grep -q '^# TYPE berth_http_request_duration_seconds histogram' "$OUT/m.txt"
check "with the pushes' blobs and manifests" \
	awk '/^berth_blobs_written_total / && $2 > 0 { b = 1 } /^berth_manifests_written_total / && $2 > 0 { m = 1 } END { exit !(b && m) }' "$OUT/m.txt"
check "and the upload purge runs" awk '/^berth_upload_purge_runs_total / && $2 > 0 { f = 1 } END { exit !f }' "$OUT/m.txt"
check "and the start time" grep -q '^process_start_time_seconds ' "$OUT/m.txt"
REGISTRY_BERTH_RUNDIRECTORY=$S/run REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$DATA \
	"$B" -c "$S/config.yml" gc > "$OUT/gc.out" 2>&1
b=$(total)
check "a berth gc run is counted too" awk '/^berth_gc_runs_total / && $2 == 1 { f = 1 } END { exit !f }' "$OUT/m.txt"
kill -9 $(pgrep -P "$(sup)" -x berth-fcgi) 2>/dev/null
sleep 2.5
c=$(total)
eq "the counts survive kill -9 of every worker (one scrape more)" "$((c - b))" 1
check "/metrics is loopback-only in the shipped nginx site" \
	bash -c "sed -n '/location = \/metrics/,/}/p' '$TOP/nginx-conf/berth.conf' | grep -q 'deny all'"

# --- 6. The log reopens on SIGHUP (logrotate's postrotate).
mv "$LOG" "$LOG.1"
kill -HUP "$(sup)"
sleep 0.5
answers
sleep 0.3
check "after SIGHUP a new log file is written" test -s "$LOG"
check "its lines are JSON with the request's fields" bash -c \
	"grep '\"msg\":\"request\"' '$LOG' | tail -1 | jq -e 'select(.method == \"GET\" and .path == \"/v2/\" and .status == 200 and .user == \"tester\" and (.duration | type) == \"number\" and (.request_id | length) == 32)' >/dev/null"
cat "$LOG.1" >> "$OUT/berth.log.1" && rm -f "$LOG.1"

# --- 7. The socket from systemd (LISTEN_FDS), no web server: cgi-fcgi.
SA=$OUT/sa.sock
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nberth:\n  rundirectory: %s\n' \
	"$OUT/sa-data" "$OUT/sa-run" > "$OUT/sa.yml"
systemd-socket-activate -l "$SA" -- "$TOP/build/berth-fcgi" -c "$OUT/sa.yml" -w 2 \
	-l "$OUT/sa.log" > "$OUT/sa.out" 2>&1 &
SAPID=$!
for _ in $(seq 50); do [ -S "$SA" ] && break; sleep 0.1; done
fcgi() { # fcgi METHOD URI: one request through cgi-fcgi, the answer on stdout
	env -i REQUEST_METHOD="$1" REQUEST_URI="$2" SCRIPT_NAME="$2" QUERY_STRING= \
		SERVER_PROTOCOL=HTTP/1.1 timeout 10 cgi-fcgi -bind -connect "$SA" 2>&1
}
fcgi GET /healthz > "$OUT/sa1.txt"
check "berth-fcgi serves on the socket systemd-socket-activate passed" grep -q '^Status: 200' "$OUT/sa1.txt"
check "with the health answer" grep -q '{"status":"ok"}' "$OUT/sa1.txt"
fcgi GET /v2/ > "$OUT/sa2.txt"
check "and the registry's base endpoint" grep -q '^Status: 200' "$OUT/sa2.txt"
check "as a pool of 2 workers under a supervisor" test "$(pgrep -P "$SAPID" -x berth-fcgi | wc -l)" = 2
kill -TERM "$SAPID"
wait "$SAPID" 2>/dev/null
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n  maintenance:\n    readonly:\n      enabled: true\nberth:\n  rundirectory: %s\n' \
	"$OUT/sa-data" "$OUT/sa-run" > "$OUT/sa.yml"
rm -f "$SA"
systemd-socket-activate -l "$SA" -- "$TOP/build/berth-fcgi" -c "$OUT/sa.yml" -w 0 \
	-l "$OUT/sa.log" > "$OUT/sa.out" 2>&1 &
SAPID=$!
for _ in $(seq 50); do [ -S "$SA" ] && break; sleep 0.1; done
fcgi GET /healthz > "$OUT/sa3.txt"
check "read-only mode: /healthz answers 503" grep -q '^Status: 503' "$OUT/sa3.txt"
check "and says it is read-only" grep -q '"status":"read-only"' "$OUT/sa3.txt"
kill -TERM "$SAPID"
wait "$SAPID" 2>/dev/null

# --- 8. Under Apache, mod_fcgid runs the processes (-w 0): kill -9 of any
# of them during pushes loses nothing acknowledged either.
stop_stacks
P2=15127
SERVER=apache WORKERS=3 start_stack $P2 || { not_ok "Apache stack starts"; exit 1; }
rm -f "$OUT/acked" "$OUT/codes"
for n in 1 2 3; do pusher $n & done
PUSHERS=$(jobs -p | tr '\n' ' ')
akills=0 slow=0 worst=0
while pushing; do
	sleep 0.$((RANDOM % 5 + 3))
	v=$(pgrep -f "berth-fcgi -c $S/config.yml -w 0" | shuf -n 1)
	[ -n "$v" ] || continue
	kill -9 "$v" 2>/dev/null || continue
	akills=$((akills + 1))
	t0=$(now)
	until answers; do sleep 0.05; [ "$(echo "$(now) - $t0 > 10" | bc)" = 1 ] && break; done
	t=$(echo "$(now) - $t0" | bc)
	[ "$(echo "$t > $worst" | bc)" = 1 ] && worst=$t
	[ "$(echo "$t > 2" | bc)" = 1 ] && slow=$((slow + 1))
done
wait
check "Apache: Berth processes were killed during the pushes ($akills)" test "$akills" -ge 3
check "Apache: the registry answered again within 2 s of every kill (slowest ${worst}s)" test "$slow" = 0
lost=0
while read -r repo tag md d; do
	api GET "/v2/svc/$repo/manifests/$tag" -H 'Accept: application/vnd.oci.image.manifest.v1+json'
	[ "$STATUS" = 200 ] && [ "$(hdr Docker-Content-Digest)" = "$md" ] || lost=$((lost + 1))
done < "$OUT/acked"
acked=$(wc -l < "$OUT/acked" 2>/dev/null || echo 0)
check "Apache: most pushes were acknowledged ($acked of 30)" test "$acked" -ge 15
eq "Apache: every acknowledged push is there" "$lost" 0
check "Apache: the store is consistent" store_check "$DATA"
