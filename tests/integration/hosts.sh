#!/usr/bin/env bash
# Two complete stacks (each its own nginx and worker pool, as two hosts
# would be) over one shared store: an upload moves between them request by
# request, and many concurrent writers of the same blob and tag converge.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/store-check.sh"
set -u
SHARED=$OUT/shared
mkdir -p "$SHARED"
STACK_DATA=$SHARED start_stack 15108 || { not_ok "host A starts"; exit 1; }
URLA=$URL; CAA=$CA; CREDA=$CRED
STACK_DATA=$SHARED start_stack 15109 || { not_ok "host B starts"; exit 1; }
URLB=$URL; CAB=$CA; CREDB=$CRED
on() { # on A|B: makes api talk to that host
	if [ "$1" = A ]; then URL=$URLA CA=$CAA CRED=$CREDA; else URL=$URLB CA=$CAB CRED=$CREDB; fi
}

head -c 3000000 /dev/urandom > "$OUT/blob"
split -b 1000000 -d "$OUT/blob" "$OUT/chunk"
D=sha256:$(sha "$OUT/blob")
on A; api POST /v2/hosts/one/blobs/uploads/
LOC=$(hdr Location)
on B; api PATCH "$LOC" --data-binary "@$OUT/chunk00"
expect "host B continues a session host A started" 202
on A; api PATCH "$LOC" -H 'Content-Range: 1000000-1999999' --data-binary "@$OUT/chunk01"
expect "host A takes the next chunk" 202
on B; api PUT "$LOC?digest=$D" --data-binary "@$OUT/chunk02"
expect "host B completes it" 201
on A; api GET "/v2/hosts/one/blobs/$D"
check "host A serves the blob whole" cmp -s "$OUT/last-body" "$OUT/blob"

# A second request on a session that is busy is refused, not interleaved.
on A; api POST /v2/hosts/busy/blobs/uploads/
LOC=$(hdr Location)
curl -s -o /dev/null --cacert "$CAA" -u "$CREDA" -X PATCH --limit-rate 300k \
	--data-binary "@$OUT/chunk00" "$URLA$LOC" &
CPID=$!
sleep 1
on B; api PATCH "$LOC" --data-binary "@$OUT/chunk01"
if [ "${SERVER:-nginx}" = apache ]; then
	# mod_fcgid reads a whole body before it hands the request over, so
	# the slow client never holds the session: the two PATCHes reach
	# Berth one after the other and both land, whole, in order.
	expect "a second PATCH on the session waits its turn (mod_fcgid buffers)" 202
	wait $CPID
	on A; api GET "$LOC"
	eq "the session holds both PATCHes, whole" "$(hdr Range)" "0-1999999"
else
	expect "a concurrent PATCH on a busy session is refused" 409 BLOB_UPLOAD_INVALID
	wait $CPID
	on A; api GET "$LOC"
	eq "the busy session holds only the first PATCH" "$(hdr Range)" "0-999999"
fi

# 16 writers of the same blob at once, on both hosts, monolithic and chunked.
head -c 2000000 /dev/urandom > "$OUT/same"
DS=sha256:$(sha "$OUT/same")
for i in $(seq 1 16); do
	if [ $((i % 2)) = 0 ]; then u=$URLA c=$CAA k=$CREDA; else u=$URLB c=$CAB k=$CREDB; fi
	if [ $((i % 4)) -lt 2 ]; then
		curl -s -o /dev/null -w '%{http_code}\n' --cacert "$c" -u "$k" -X POST \
			--data-binary "@$OUT/same" "$u/v2/hosts/same/blobs/uploads/?digest=$DS" >> "$OUT/codes" &
	else
		( loc=$(curl -s -D - -o /dev/null --cacert "$c" -u "$k" -X POST "$u/v2/hosts/same/blobs/uploads/" |
			tr -d '\r' | sed -n 's/^Location: //Ip')
		  curl -s -o /dev/null --cacert "$c" -u "$k" -X PATCH -H 'Transfer-Encoding: chunked' \
			--data-binary "@$OUT/same" "$u$loc"
		  curl -s -o /dev/null -w '%{http_code}\n' --cacert "$c" -u "$k" -X PUT "$u$loc?digest=$DS" >> "$OUT/codes" ) &
	fi
done
wait
eq "16 concurrent pushes of one blob all succeed" "$(grep -c '^201$' "$OUT/codes")" 16
check "the blob is stored once, whole" \
	test "$(sha "$SHARED/docker/registry/v2/blobs/sha256/${DS:7:2}/${DS:7}/data")" = "${DS:7}"

# 16 writers of one tag with different manifests at once.
printf '{}' > "$OUT/cfg"
on A; push_blob hosts/same "$OUT/cfg" >/dev/null
: > "$OUT/codes"
for i in $(seq 1 16); do
	if [ $((i % 2)) = 0 ]; then u=$URLA c=$CAA k=$CREDA; else u=$URLB c=$CAB k=$CREDB; fi
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:%s","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":2000000}],"annotations":{"n":"%s"}}' \
		"$(sha "$OUT/cfg")" "$DS" "$i" > "$OUT/m$i"
	curl -s -o /dev/null -w '%{http_code}\n' --cacert "$c" -u "$k" -X PUT \
		-H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary "@$OUT/m$i" "$u/v2/hosts/same/manifests/latest" >> "$OUT/codes" &
done
wait
eq "16 concurrent PUTs of one tag all succeed" "$(grep -c '^201$' "$OUT/codes")" 16
on B; api GET /v2/hosts/same/manifests/latest -H 'Accept: application/vnd.oci.image.manifest.v1+json'
n=$(printf '%s' "$BODY" | jq -r '.annotations.n')
check "the tag ends on one of the pushed manifests, whole" cmp -s "$OUT/last-body" "$OUT/m$n"
eq "its digest header matches its bytes" "$(hdr Docker-Content-Digest)" "sha256:$(sha "$OUT/m$n")"
on A; api GET /v2/hosts/same/manifests/latest -H 'Accept: application/vnd.oci.image.manifest.v1+json'
check "both hosts agree on the tag" cmp -s "$OUT/last-body" "$OUT/m$n"
check "the shared store is consistent" store_check "$SHARED"
