#!/usr/bin/env bash
# Faults that lose nothing: a store on a small tmpfs that fills during a
# 100 MiB push (and during a manifest PUT), clients that hang up in the
# middle of a body, kill -9 of workers during 50 parallel pushes. After
# each, `berth fsck` reports a clean store and the registry serves on.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/store-check.sh"
set -u
P=15130
B=${BERTH_CLI:-$TOP/build/berth}
SMALL=$OUT/small
mkdir -p "$SMALL"
if ! mount -t tmpfs -o size=64m tmpfs "$SMALL"; then
	not_ok "a 64 MiB tmpfs mounts for the store (needs root)"
	exit 1
fi
trap 'stop_stacks; umount -l "$SMALL" 2>/dev/null' EXIT
stack_config_yaml $P > "$OUT/cfg.yml"
STACK_DATA=$SMALL start_stack $P "$OUT/cfg.yml" || { not_ok "stack starts"; exit 1; }
V2=$DATA/docker/registry/v2
berth() { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$DATA "$B" -c "$OUT/cfg.yml" "$@"; }
fsck_clean() { # fsck_clean WHEN
	berth fsck > "$OUT/fsck-$1.out" 2>&1
	eq "berth fsck is clean after $1 ($(tail -1 "$OUT/fsck-$1.out"))" "$?" 0
}
used_mib() { df -m --output=used "$SMALL" | tail -1 | tr -d ' '; }
OCI=application/vnd.oci.image.manifest.v1+json
manifest() { # manifest CONFIG_DIGEST LAYER_DIGEST LAYER_SIZE: prints one
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
		"$OCI" "$1" "$2" "$3"
}
printf '{}' > "$OUT/empty"
DE=sha256:$(sha "$OUT/empty")

# --- 1. The disk fills during a 100 MiB push.
head -c $((100 << 20)) /dev/urandom > "$OUT/big"
DB=sha256:$(sha "$OUT/big")
api POST "/v2/full/a/blobs/uploads/?digest=$DB" --data-binary "@$OUT/big"
check "a monolithic push that fills the disk fails with a 5xx ($STATUS)" test "$STATUS" -ge 500
eq "...with the spec's JSON" "$(code)" UNKNOWN
check "...and no path in it" bash -c "! grep -q '$SMALL' '$OUT/last-body'"
check "no partial blob remains" test ! -e "$V2/blobs/sha256/${DB:7:2}/${DB:7}"
check "no link to it" test ! -e "$V2/repositories/full/a/_layers/sha256/${DB:7}"
check "its session is gone, its space given back ($(used_mib) MiB used)" \
	bash -c "[ -z \"\$(ls -A '$V2/repositories/full/a/_uploads' 2>/dev/null)\" ] && [ $(used_mib) -lt 8 ]"
api POST /v2/full/b/blobs/uploads/
LOC=$(hdr Location)
head -c $((1 << 20)) "$OUT/big" > "$OUT/first"
api PATCH "$LOC" --data-binary "@$OUT/first"
expect "a chunked push: the first 1 MiB lands" 202
api PATCH "$LOC" -H 'Transfer-Encoding: chunked' --data-binary "@$OUT/big"
check "the PATCH that fills the disk fails with a 5xx ($STATUS)" test "$STATUS" -ge 500
api GET "$LOC"
expect "the session survives the full disk" 204
eq "...holding exactly what was acknowledged" "$(hdr Range)" "0-1048575"
check "...and the space of the failed PATCH is free again ($(used_mib) MiB used)" test "$(used_mib)" -lt 8
api DELETE "$LOC"
expect "the session can be cancelled" 204
# A manifest PUT on a disk with no room at all.
L1=$(push_blob full/c "$OUT/first")
push_blob full/c "$OUT/empty" >/dev/null
manifest "$DE" "$L1" $((1 << 20)) > "$OUT/m1"
dd if=/dev/zero of="$SMALL/filler" bs=1M 2>/dev/null
api PUT /v2/full/c/manifests/v1 -H "Content-Type: $OCI" --data-binary "@$OUT/m1"
check "a manifest PUT on a full disk fails with a 5xx ($STATUS)" test "$STATUS" -ge 500
api GET /v2/full/c/manifests/v1 -H "Accept: $OCI"
expect "...and no tag appeared" 404 MANIFEST_UNKNOWN
check "no empty or partial link anywhere" store_check "$DATA"
rm -f "$SMALL/filler"
api PUT /v2/full/c/manifests/v1 -H "Content-Type: $OCI" --data-binary "@$OUT/m1"
expect "once space is freed the manifest PUT succeeds" 201
head -c $((20 << 20)) "$OUT/big" > "$OUT/twenty"
D20=$(push_blob full/d "$OUT/twenty")
check "...and so does a 20 MiB push" test -n "$D20"
api GET "/v2/full/d/blobs/$D20"
check "...which reads back byte-identical" cmp -s "$OUT/last-body" "$OUT/twenty"
rm -f "$OUT/big"
fsck_clean "a full disk"

# --- 2. Clients that hang up in the middle of a body.
head -c 4000000 /dev/urandom > "$OUT/cut"
head -c 1000000 "$OUT/cut" > "$OUT/cut1"
tail -c +1000001 "$OUT/cut" > "$OUT/cut2"
api POST /v2/cut/a/blobs/uploads/
LOC=$(hdr Location)
api PATCH "$LOC" --data-binary "@$OUT/cut1"
expect "first PATCH completes" 202
curl -s -o /dev/null --cacert "$CA" -u "$CRED" -X PATCH --limit-rate 400k \
	-H 'Transfer-Encoding: chunked' --data-binary "@$OUT/cut2" "$URL$LOC" &
CPID=$!
sleep 1.5
kill -9 $CPID 2>/dev/null
wait $CPID 2>/dev/null
sleep 1
api GET "$LOC"
expect "the session survives a client that hung up mid-PATCH" 204
eq "...with only the acknowledged bytes" "$(hdr Range)" "0-999999"
check "...and nothing of it is a blob" test ! -e "$V2/blobs/sha256/$(sha "$OUT/cut" | cut -c1-2)/$(sha "$OUT/cut")"
api PATCH "$LOC" --data-binary "@$OUT/cut2"
expect "the client resumes" 202
api PUT "$LOC?digest=sha256:$(sha "$OUT/cut")"
expect "...and completes the upload" 201
api GET "/v2/cut/a/blobs/sha256:$(sha "$OUT/cut")"
check "the resumed blob is byte-identical" cmp -s "$OUT/last-body" "$OUT/cut"
DC=sha256:$(sha "$OUT/cut2")
curl -s -o /dev/null --cacert "$CA" -u "$CRED" -X POST --limit-rate 400k \
	--data-binary "@$OUT/cut2" "$URL/v2/cut/b/blobs/uploads/?digest=$DC" &
CPID=$!
sleep 1.5
kill -9 $CPID 2>/dev/null
wait $CPID 2>/dev/null
for _ in $(seq 1 30); do
	[ -z "$(ls -A "$V2/repositories/cut/b/_uploads" 2>/dev/null)" ] && break
	sleep 0.2
done
check "a monolithic push cut off leaves no blob" test ! -e "$V2/blobs/sha256/${DC:7:2}/${DC:7}"
check "...and no session" bash -c "[ -z \"\$(ls -A '$V2/repositories/cut/b/_uploads' 2>/dev/null)\" ]"
fsck_clean "clients hung up"

# --- 3. kill -9 of workers during 50 parallel pushes (Berth's own pool;
# mod_fcgid restarts its processes its own way, crash.sh is spawn-fcgi's).
if [ "${SERVER:-nginx}" = nginx ]; then
	workers() { pgrep -P "$(cat "$S/berth.pid")" | tr '\n' ' '; }
	mkdir -p "$OUT/par"
	pushone() { # pushone N: blob, config, manifest; records what was acknowledged
		local f=$OUT/par/$1 d st m
		head -c $((100000 + RANDOM * 10)) /dev/urandom > "$f"
		d=sha256:$(sha "$f")
		st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u "$CRED" -X POST \
			--data-binary "@$f" "$URL/v2/par/p$1/blobs/uploads/?digest=$d")
		[ "$st" = 201 ] || return 0
		st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u "$CRED" -X POST \
			--data-binary "@$OUT/empty" "$URL/v2/par/p$1/blobs/uploads/?digest=$DE")
		[ "$st" = 201 ] || return 0
		manifest "$DE" "$d" "$(stat -c %s "$f")" > "$f.m"
		st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u "$CRED" -X PUT \
			-H "Content-Type: $OCI" --data-binary "@$f.m" "$URL/v2/par/p$1/manifests/v1")
		[ "$st" = 201 ] && echo "$1 $d" >> "$OUT/par/acked"
		return 0
	}
	: > "$OUT/par/acked"
	for round in 1 2; do
		for i in $(seq 1 25); do pushone $((round * 100 + i)) & done
		kills=0
		for _ in $(seq 1 6); do
			sleep 0.2
			w=$(workers | cut -d' ' -f1)
			[ -n "$w" ] && kill -9 "$w" 2>/dev/null && kills=$((kills + 1))
		done
		wait
	done
	n=$(wc -l < "$OUT/par/acked")
	check "pushes were acknowledged between the kills ($n of 50)" test "$n" -ge 5
	bad=0
	while read -r i d; do
		api GET "/v2/par/p$i/manifests/v1" -H "Accept: $OCI"
		cmp -s "$OUT/last-body" "$OUT/par/$i.m" || bad=$((bad + 1))
		api GET "/v2/par/p$i/blobs/$d"
		cmp -s "$OUT/last-body" "$OUT/par/$i" || bad=$((bad + 1))
	done < "$OUT/par/acked"
	eq "every acknowledged push reads back byte-identical" "$bad" 0
	check "no partial blob, empty link or dangling tag" store_check "$DATA"
	fsck_clean "kill -9 during 50 pushes"
fi
api GET /v2/
expect "the registry still answers" 200
