#!/usr/bin/env bash
# kill -9 of workers during pushes leaves nothing partial: no short blob,
# no empty link, no tag without its manifest; an upload interrupted by a
# dead worker resumes from its last completed request on another worker;
# the supervisor replaces dead workers; SIGTERM lets a request finish.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/store-check.sh"
set -u
WORKERS=3 start_stack 15107 || { not_ok "stack starts"; exit 1; }
workers() { pgrep -P "$(cat "$S/berth.pid")" | tr '\n' ' '; }

check "the supervisor runs 3 workers" test "$(workers | wc -w)" = 3

# 1. A worker dies in the middle of a streamed PATCH.
head -c 4000000 /dev/urandom > "$OUT/big"
head -c 1000000 "$OUT/big" > "$OUT/part1"
tail -c +1000001 "$OUT/big" > "$OUT/part2"
api POST /v2/crash/one/blobs/uploads/
LOC=$(hdr Location)
api PATCH "$LOC" --data-binary "@$OUT/part1"
expect "first PATCH completes" 202
curl -s -o /dev/null --cacert "$CA" -u "$CRED" -X PATCH --limit-rate 200k \
	-H 'Transfer-Encoding: chunked' --data-binary "@$OUT/part2" "$URL$LOC" &
CPID=$!
sleep 2
kill -9 $(workers)
wait $CPID
sleep 1.5
check "the supervisor replaced the killed workers" test "$(workers | wc -w)" = 3
api GET "$LOC"
expect "the session survives its worker" 204
eq "the session keeps exactly the completed request's bytes" "$(hdr Range)" "0-999999"
api PATCH "$LOC" --data-binary "@$OUT/part2"
expect "another worker continues the session" 202
api PUT "$LOC?digest=sha256:$(sha "$OUT/big")"
expect "the resumed upload completes with the right digest" 201
api GET "/v2/crash/one/blobs/sha256:$(sha "$OUT/big")"
check "the resumed blob is byte-identical" cmp -s "$OUT/last-body" "$OUT/big"

# 2. Workers killed again and again while pushes of blobs, manifests and
#    tags run in parallel.
pusher() { # pusher N: pushes blobs and tags until told to stop
	local i=0 f d m
	while [ ! -e "$OUT/stop" ]; do
		i=$((i + 1))
		f=$OUT/p$1-$i
		head -c $((RANDOM * 30)) /dev/urandom > "$f"
		d=sha256:$(sha "$f")
		curl -s -o /dev/null --cacert "$CA" -u "$CRED" -X POST --data-binary "@$f" \
			"$URL/v2/crash/p$1/blobs/uploads/?digest=$d"
		printf '{}' > "$f.c"
		curl -s -o /dev/null --cacert "$CA" -u "$CRED" -X POST --data-binary "@$f.c" \
			"$URL/v2/crash/p$1/blobs/uploads/?digest=sha256:$(sha "$f.c")"
		m=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:%s","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
			"$(sha "$f.c")" "$d" "$(stat -c %s "$f")")
		curl -s -o /dev/null --cacert "$CA" -u "$CRED" -X PUT --data-binary "$m" \
			-H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
			"$URL/v2/crash/p$1/manifests/t$((i % 3))"
		rm -f "$f" "$f.c"
	done
}
rm -f "$OUT/stop"
for n in 1 2 3 4; do pusher $n & done
kills=0
end=$((SECONDS + 8))
while [ $SECONDS -lt $end ]; do
	sleep 0.$((RANDOM % 4 + 1))
	w=$(workers | cut -d' ' -f1)
	[ -n "$w" ] && kill -9 "$w" 2>/dev/null && kills=$((kills + 1))
done
touch "$OUT/stop"
wait
sleep 1.5
check "workers were killed during pushes ($kills kills)" test "$kills" -gt 10
check "the store holds no partial blob, empty link or dangling tag" store_check "$DATA"
n=$(find "$DATA/docker/registry/v2/blobs" -name data | wc -l)
check "pushes went on between the kills ($n blobs)" test "$n" -gt 20
bad=0
for n in 1 2 3 4; do
	for t in 0 1 2; do
		api GET "/v2/crash/p$n/manifests/t$t" -H 'Accept: application/vnd.oci.image.manifest.v1+json'
		[ "$STATUS" = 200 ] || [ "$STATUS" = 404 ] || bad=1
		if [ "$STATUS" = 200 ]; then
			l=$(printf '%s' "$BODY" | jq -r '.layers[0].digest')
			api HEAD "/v2/crash/p$n/blobs/$l" -I
			[ "$STATUS" = 200 ] || bad=1
		fi
	done
done
eq "every tag that exists pulls, with its layers" "$bad" 0
check "the registry still answers" bash -c "curl -sf --cacert '$CA' -u '$CRED' '$URL/v2/' >/dev/null"

# 3. SIGTERM to the pool: a request in flight completes, then all exit.
head -c 2000000 /dev/urandom > "$OUT/slow"
D=sha256:$(sha "$OUT/slow")
curl -s -o "$OUT/slow.out" -w '%{http_code}' --cacert "$CA" -u "$CRED" -X POST --limit-rate 500k \
	--data-binary "@$OUT/slow" "$URL/v2/crash/term/blobs/uploads/?digest=$D" > "$OUT/slow.code" &
CPID=$!
sleep 1.5
SUP=$(cat "$S/berth.pid")
kill -TERM "$SUP"
wait $CPID
eq "the request in flight at SIGTERM completed" "$(cat "$OUT/slow.code")" 201
for _ in $(seq 1 50); do kill -0 "$SUP" 2>/dev/null || break; sleep 0.1; done
check "the supervisor exited after SIGTERM" bash -c "! kill -0 $SUP 2>/dev/null"
check "the blob pushed during SIGTERM is complete" \
	test "$(sha "$DATA/docker/registry/v2/blobs/sha256/${D:7:2}/${D:7}/data")" = "${D:7}"
check "the log records the drain" grep -q 'supervisor: stopped' "$S/log/berth.log"
