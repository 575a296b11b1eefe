#!/usr/bin/env bash
# Two hosts over one real distributed filesystem: a GlusterFS replica-2
# volume (two bricks in this test's scratch directory, glusterd on
# loopback), mounted twice through its FUSE client, as host A and host B
# would mount it; each mount has its own nginx and Berth pool. Checks,
# across the two: read-after-write, one upload moving between hosts (and
# surviving kill -9 of A's whole pool), the same blob, tag and manifest
# pushed from both at once, gc on A while B pushes, catalog and tag lists,
# concurrent tag moves never answered 404 (ESTALE retried), a brick
# offline during pushes and healed. Leaves nothing mounted or running.
# A run that died leaves its mounts: they go before lib.sh empties the
# scratch directory (rm -rf would reach into the volume).
source "$(dirname "$0")/../gluster-lib.sh"
gluster_unmount_under "$(cd "$(dirname "$0")/../.." && pwd)/tests/out/gluster"
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/store-check.sh"
set -u
PA=15140 PB=15141
G=$OUT/g
VOL=berthtest

gluster_up "$G" "$VOL" || { not_ok "a GlusterFS replica-2 volume is built and mounted twice: $GLUSTER_WHY"; exit 1; }
ok "a GlusterFS replica-2 volume is built and mounted twice ($(gluster_version))"
trap 'stop_stacks; gluster_down' EXIT
MA=$G/mnt-a MB=$G/mnt-b
mkdir -p "$MA/store"
check "the two mounts are one filesystem" test -d "$MB/store"

cfg() { # cfg PORT: the config of the stack on PORT, gc grace 3 s
	printf 'version: 0.1\nstorage:\n  delete:\n    enabled: true\n  gc:\n    graceperiod: 3s\n'
	stack_auth_yaml "$1"
}
cfg $PA > "$OUT/a.yml"; cfg $PB > "$OUT/b.yml"
STACK_DATA=$MA/store start_stack $PA "$OUT/a.yml" || { not_ok "host A starts"; exit 1; }
URLA=$URL CAA=$CA CREDA=$CRED SA=$S
STACK_DATA=$MB/store start_stack $PB "$OUT/b.yml" || { not_ok "host B starts"; exit 1; }
URLB=$URL CAB=$CA CREDB=$CRED SB=$S
on() { if [ "$1" = A ]; then URL=$URLA CA=$CAA CRED=$CREDA; else URL=$URLB CA=$CAB CRED=$CREDB; fi; }
check "host A found the store's filesystem fit (FUSE)" \
	grep -q "storage .* on fuse.*filesystem checks passed" "$SA/log/berth.log"
CLI=${BERTH_CLI:-$TOP/build/berth}
berth() { # berth A|B ARGS: the CLI on that host's mount
	local m=$MA y=$OUT/a.yml
	[ "$1" = B ] && m=$MB y=$OUT/b.yml
	shift
	REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$m/store "$CLI" -c "$y" "$@"
}
OCI=application/vnd.oci.image.manifest.v1+json
# manifest FILE CONFIGDIGEST LAYERDIGEST LAYERSIZE NOTE: an image manifest
manifest() {
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}],"annotations":{"n":"%s"}}' \
		"$OCI" "$2" "$3" "$4" "$5" > "$1"
}
c_curl() { # c_curl A|B curl-args...: one request to that host
	if [ "$1" = A ]; then shift; curl -s --cacert "$CAA" -u "$CREDA" "$@";
	else shift; curl -s --cacert "$CAB" -u "$CREDB" "$@"; fi
}
url() { if [ "$1" = A ]; then echo "$URLA"; else echo "$URLB"; fi; }
printf '{}' > "$OUT/cfg"
DC=sha256:$(sha "$OUT/cfg")

# 1. Read after write: what A acknowledged, B serves at once, and back.
rw_bad=0
for i in $(seq 1 10); do
	if [ $((i % 2)) = 1 ]; then w=A r=B; else w=B r=A; fi
	head -c $((100000 + i * 7777)) /dev/urandom > "$OUT/rw$i"
	d=sha256:$(sha "$OUT/rw$i")
	on $w; api POST "/v2/gl/rw/blobs/uploads/?digest=$d" --data-binary "@$OUT/rw$i"
	[ "$STATUS" = 201 ] || { echo "push $i on $w: $STATUS"; rw_bad=1; }
	on $r; api GET "/v2/gl/rw/blobs/$d"
	{ [ "$STATUS" = 200 ] && cmp -s "$OUT/last-body" "$OUT/rw$i" &&
	  [ "$(hdr Docker-Content-Digest)" = "$d" ]; } || { echo "blob $i on $r: $STATUS"; rw_bad=1; }
	on $w; push_blob gl/rw "$OUT/cfg" >/dev/null
	manifest "$OUT/rwm$i" "$DC" "$d" "$(stat -c %s "$OUT/rw$i")" "$i"
	api PUT "/v2/gl/rw/manifests/v$i" -H "Content-Type: $OCI" --data-binary "@$OUT/rwm$i"
	[ "$STATUS" = 201 ] || { echo "manifest $i on $w: $STATUS"; rw_bad=1; }
	on $r; api GET "/v2/gl/rw/manifests/v$i" -H "Accept: $OCI"
	{ [ "$STATUS" = 200 ] && cmp -s "$OUT/last-body" "$OUT/rwm$i" &&
	  [ "$(hdr Docker-Content-Digest)" = "sha256:$(sha "$OUT/rwm$i")" ]; } ||
		{ echo "manifest $i on $r: $STATUS"; rw_bad=1; }
done
eq "10 blobs and manifests acknowledged by one host are served whole by the other on the next request" "$rw_bad" 0

# 2. One chunked upload whose PATCHes alternate between the hosts; then
#    one whose host A dies (kill -9 of its whole pool) mid-PATCH and which
#    host B finishes.
head -c 6000000 /dev/urandom > "$OUT/up"
split -b 1000000 -d "$OUT/up" "$OUT/upc"
DU=sha256:$(sha "$OUT/up")
on A; api POST /v2/gl/up/blobs/uploads/
LOC=$(hdr Location) alt_bad=0
for i in 0 1 2 3 4; do
	if [ $((i % 2)) = 0 ]; then on B; else on A; fi
	api PATCH "$LOC" -H "Content-Range: $((i * 1000000))-$((i * 1000000 + 999999))" \
		--data-binary "@$OUT/upc0$i"
	[ "$STATUS" = 202 ] || { echo "PATCH $i: $STATUS $BODY"; alt_bad=1; }
	LOC=$(hdr Location)
done
on A; api PUT "$LOC?digest=$DU" --data-binary "@$OUT/upc05"
expect "five PATCHes alternating between the hosts and the PUT on A make the blob" 201
eq "every alternating PATCH was accepted" "$alt_bad" 0
on B; api GET "/v2/gl/up/blobs/$DU"
check "host B serves the alternately uploaded blob byte-identical" cmp -s "$OUT/last-body" "$OUT/up"

head -c 12000000 /dev/urandom > "$OUT/big"
head -c 2000000 "$OUT/big" > "$OUT/big1"
tail -c +2000001 "$OUT/big" > "$OUT/big2"
on A; api POST /v2/gl/kill/blobs/uploads/
LOC=$(hdr Location)
api PATCH "$LOC" --data-binary "@$OUT/big1"
expect "host A takes the first PATCH" 202
LOC=$(hdr Location)
c_curl A -o /dev/null -X PATCH --limit-rate 500k -H 'Transfer-Encoding: chunked' \
	--data-binary "@$OUT/big2" "$URLA$LOC" &
CPID=$!
sleep 2
kill -9 "$(cat "$SA/berth.pid")" $(pgrep -P "$(cat "$SA/berth.pid")") 2>/dev/null
wait $CPID
on B; api GET "$LOC"
expect "host B sees the session after host A's pool was killed mid-PATCH" 204
eq "it holds exactly the acknowledged bytes" "$(hdr Range)" "0-1999999"
api PATCH "$LOC" --data-binary "@$OUT/big2"
expect "host B continues it" 202
LOC=$(hdr Location)
api PUT "$LOC?digest=sha256:$(sha "$OUT/big")"
expect "host B completes it with the right digest" 201
api GET "/v2/gl/kill/blobs/sha256:$(sha "$OUT/big")"
check "the finished blob is byte-identical" cmp -s "$OUT/last-body" "$OUT/big"
STACK_DATA=$MA/store start_stack $PA "$OUT/a.yml" || { not_ok "host A restarts"; exit 1; }
URLA=$URL CAA=$CA CREDA=$CRED SA=$S

# 3. The same blob, the same tag and the same manifest from both hosts at
#    once, 20 rounds.
race_bad=0
for r in $(seq 1 20); do
	head -c 300000 /dev/urandom > "$OUT/same"
	d=sha256:$(sha "$OUT/same")
	manifest "$OUT/sm" "$DC" "$d" 300000 "same$r"
	manifest "$OUT/ma" "$DC" "$d" 300000 "a$r"
	manifest "$OUT/mb" "$DC" "$d" 300000 "b$r"
	: > "$OUT/codes"
	for h in A B; do
		c_curl $h -o /dev/null -w '%{http_code}\n' -X POST --data-binary "@$OUT/same" \
			"$(url $h)/v2/gl/race/blobs/uploads/?digest=$d" >> "$OUT/codes" &
		c_curl $h -o /dev/null -w '%{http_code}\n' -X POST --data-binary "@$OUT/cfg" \
			"$(url $h)/v2/gl/race/blobs/uploads/?digest=$DC" >> "$OUT/codes" &
	done
	wait
	for h in A B; do
		c_curl $h -o /dev/null -w '%{http_code}\n' -X PUT -H "Content-Type: $OCI" \
			--data-binary "@$OUT/sm" "$(url $h)/v2/gl/race/manifests/same" >> "$OUT/codes" &
		m=$OUT/ma; [ $h = B ] && m=$OUT/mb
		c_curl $h -o /dev/null -w '%{http_code}\n' -X PUT -H "Content-Type: $OCI" \
			--data-binary "@$m" "$(url $h)/v2/gl/race/manifests/tag" >> "$OUT/codes" &
	done
	wait
	[ "$(grep -c '^201$' "$OUT/codes")" = 8 ] || { echo "round $r: $(tr '\n' ' ' < "$OUT/codes")"; race_bad=1; }
	for h in A B; do
		on $h; api GET /v2/gl/race/manifests/tag -H "Accept: $OCI"
		{ [ "$STATUS" = 200 ] && { cmp -s "$OUT/last-body" "$OUT/ma" || cmp -s "$OUT/last-body" "$OUT/mb"; }; } ||
			{ echo "round $r tag on $h: $STATUS"; race_bad=1; }
	done
	for m in "$OUT/ma" "$OUT/mb" "$OUT/sm"; do
		on B; api GET "/v2/gl/race/manifests/sha256:$(sha "$m")" -H "Accept: $OCI"
		{ [ "$STATUS" = 200 ] && cmp -s "$OUT/last-body" "$m"; } || { echo "round $r $m: $STATUS"; race_bad=1; }
	done
done
eq "20 rounds of the same blob, manifest and tag from both hosts: every push 201, the tag on one of the two, both pull" "$race_bad" 0
check "the shared store is consistent (store check)" store_check "$MA/store"
berth A fsck > "$OUT/fsck1.out" 2>&1
check "berth fsck is clean after the races" test $? = 0

# 4. The catalog and the tag lists read the same from both hosts after
#    every write.
list_bad=0
for i in $(seq 1 8); do
	if [ $((i % 2)) = 1 ]; then w=A; else w=B; fi
	on $w; push_blob "gl/list$i" "$OUT/cfg" >/dev/null
	manifest "$OUT/lm" "$DC" "$DC" 2 "l$i"
	api PUT "/v2/gl/list$i/manifests/t$i" -H "Content-Type: $OCI" --data-binary "@$OUT/lm"
	api PUT "/v2/gl/list1/manifests/x$i" -H "Content-Type: $OCI" --data-binary "@$OUT/lm"
	on A; api GET "/v2/_catalog?n=1000"; ca=$BODY
	api GET /v2/gl/list1/tags/list; ta=$BODY
	on B; api GET "/v2/_catalog?n=1000"; cb=$BODY
	api GET /v2/gl/list1/tags/list; tb=$BODY
	[ "$ca" = "$cb" ] && [ "$ta" = "$tb" ] && printf '%s' "$ca" | jq -e ".repositories | index(\"gl/list$i\")" >/dev/null &&
		printf '%s' "$ta" | jq -e ".tags | index(\"x$i\")" >/dev/null || { echo "write $i: $ca / $cb / $ta / $tb"; list_bad=1; }
done
eq "after each of 8 writes the catalog and tag list are the same on both hosts and show the write" "$list_bad" 0

# 5. Concurrent tag moves from both hosts: every read on either host
#    answers the tag, none 404 (ESTALE from the other host's rename is
#    retried by path).
on A; push_blob gl/move "$OUT/cfg" >/dev/null
manifest "$OUT/mva" "$DC" "$DC" 2 "A"; manifest "$OUT/mvb" "$DC" "$DC" 2 "B"
api PUT /v2/gl/move/manifests/hot -H "Content-Type: $OCI" --data-binary "@$OUT/mva"
on B; api PUT /v2/gl/move/manifests/hot -H "Content-Type: $OCI" --data-binary "@$OUT/mvb"
: > "$OUT/move-codes"
mover() { # mover HOST FILE: moves the tag for 8 s
	local end=$((SECONDS + 8))
	while [ $SECONDS -lt $end ]; do
		c_curl "$1" -o /dev/null -w '%{http_code}\n' -X PUT -H "Content-Type: $OCI" \
			--data-binary "@$2" "$(url "$1")/v2/gl/move/manifests/hot"
	done >> "$OUT/move-puts"
}
reader() { # reader HOST: reads the tag for 8 s
	local end=$((SECONDS + 8))
	while [ $SECONDS -lt $end ]; do
		c_curl "$1" -o /dev/null -w '%{http_code}\n' -H "Accept: $OCI" \
			"$(url "$1")/v2/gl/move/manifests/hot"
		c_curl "$1" -o /dev/null -w '%{http_code}\n' -I -H "Accept: $OCI" \
			"$(url "$1")/v2/gl/move/manifests/hot"
	done >> "$OUT/move-codes"
}
mover A "$OUT/mva" & mover B "$OUT/mvb" & reader A & reader B &
wait
n=$(wc -l < "$OUT/move-codes")
eq "$n reads of a tag moved from both hosts at once: every one 200" "$(grep -vc '^200$' "$OUT/move-codes")" 0
eq "every tag move was acknowledged ($(wc -l < "$OUT/move-puts") PUTs)" "$(grep -vc '^201$' "$OUT/move-puts")" 0
check "host A's log shows no storage error" bash -c "! grep -q 'internal storage error' '$SA/log/berth.log'"
check "host B's log shows no storage error" bash -c "! grep -q 'internal storage error' '$SB/log/berth.log'"

# 6. berth gc on A while B pushes: nothing B acknowledged is lost.
gc_pusher() { # pushes images through B until told to stop; lists what it acknowledged
	local i=0 f d m
	while [ ! -e "$OUT/gc-stop" ]; do
		i=$((i + 1)); f=$OUT/gp$i
		head -c $((20000 + RANDOM)) /dev/urandom > "$f"
		d=sha256:$(sha "$f")
		c_curl B -o /dev/null -X POST --data-binary "@$f" "$URLB/v2/gl/gc/blobs/uploads/?digest=$d"
		c_curl B -o /dev/null -X POST --data-binary "@$OUT/cfg" "$URLB/v2/gl/gc/blobs/uploads/?digest=$DC"
		manifest "$f.m" "$DC" "$d" "$(stat -c %s "$f")" "g$i"
		[ "$(c_curl B -o /dev/null -w '%{http_code}' -X PUT -H "Content-Type: $OCI" \
			--data-binary "@$f.m" "$URLB/v2/gl/gc/manifests/g$i")" = 201 ] && echo "$i" >> "$OUT/gc-acked"
	done
}
# Something for gc to collect: an untagged image aged past the grace.
on A; DO=$(push_blob gl/gc "$OUT/rw1")
: > "$OUT/gc-acked"
gc_pusher &
GPID=$!
gc_runs=0 gc_fail=0
for _ in 1 2 3 4 5 6; do
	berth A gc >> "$OUT/gc.out" 2>&1 || gc_fail=1
	gc_runs=$((gc_runs + 1))
	sleep 1
done
touch "$OUT/gc-stop"; wait $GPID
eq "$gc_runs gc runs on host A while host B pushed all succeeded" "$gc_fail" 0
lost=0
while read -r i; do
	on A; api GET "/v2/gl/gc/manifests/g$i" -H "Accept: $OCI"
	cmp -s "$OUT/last-body" "$OUT/gp$i.m" || { echo "g$i manifest: $STATUS"; lost=1; continue; }
	api GET "/v2/gl/gc/blobs/sha256:$(sha "$OUT/gp$i")"
	cmp -s "$OUT/last-body" "$OUT/gp$i" || { echo "g$i layer: $STATUS"; lost=1; }
done < "$OUT/gc-acked"
eq "all $(wc -l < "$OUT/gc-acked") images B acknowledged during gc pull whole from A" "$lost" 0
berth B fsck > "$OUT/fsck2.out" 2>&1
check "berth fsck is clean after gc during pushes" test $? = 0

# 7. One brick offline during pushes (replica 2): pushes go on; after the
#    brick is back and healed, fsck is clean and everything reads back.
brick_down "$VOL" 2 || not_ok "brick 2 is taken offline"
brick_bad=0
for i in $(seq 1 6); do
	if [ $((i % 2)) = 1 ]; then h=A; else h=B; fi
	head -c 500000 /dev/urandom > "$OUT/bd$i"
	on $h; d=$(push_blob gl/brick "$OUT/bd$i") || { brick_bad=1; continue; }
	push_blob gl/brick "$OUT/cfg" >/dev/null
	manifest "$OUT/bdm$i" "$DC" "$d" 500000 "bd$i"
	api PUT "/v2/gl/brick/manifests/b$i" -H "Content-Type: $OCI" --data-binary "@$OUT/bdm$i"
	[ "$STATUS" = 201 ] || { echo "brick push $i: $STATUS"; brick_bad=1; }
done
eq "6 images pushed while a brick is offline are all acknowledged" "$brick_bad" 0
brick_up "$VOL" || not_ok "brick 2 comes back"
heal_wait "$VOL" 120
check "the volume heals (no entries left to heal)" heal_done "$VOL"
back_bad=0
for i in $(seq 1 6); do
	for h in A B; do
		on $h; api GET "/v2/gl/brick/manifests/b$i" -H "Accept: $OCI"
		cmp -s "$OUT/last-body" "$OUT/bdm$i" || { echo "b$i on $h: $STATUS"; back_bad=1; }
		api GET "/v2/gl/brick/blobs/sha256:$(sha "$OUT/bd$i")"
		cmp -s "$OUT/last-body" "$OUT/bd$i" || { echo "bd$i on $h: $STATUS"; back_bad=1; }
	done
done
eq "after the heal every image pushed meanwhile pulls whole from both hosts" "$back_bad" 0
berth A fsck > "$OUT/fsck3.out" 2>&1
check "berth fsck is clean after the heal" test $? = 0
check "the store is consistent after the heal (store check)" store_check "$MB/store"

# 8. A volume whose clients cache attributes (GlusterFS's default) is
#    refused at start-up, with the option that makes it fit (last: a
#    change of options switches every client to a new graph).
stop_stacks
gl volume set "$VOL" performance.stat-prefetch on >/dev/null
sleep 1
if STACK_DATA=$MA/store start_stack 15142 "$OUT/a.yml" 2>/dev/null; then
	not_ok "berth-fcgi refuses a volume whose clients cache attributes (it started)"
else
	check "berth-fcgi refuses a volume whose clients cache attributes, naming the option" \
		grep -q "refusing to start: .*performance.stat-prefetch off" "$TOP/var/stack-15142/log/berth.log"
fi
QUIET=1 bash "$TOP/nginx-conf/stack.sh" stop 15142
stop_stacks
gluster_down
check "nothing of the test is left mounted" bash -c "! grep -q ' $G/' /proc/mounts"
no_gluster_left() { ! pgrep -f "[g]luster.*$G" >/dev/null; }
check "no gluster process of the test is left running" no_gluster_left
trap - EXIT
