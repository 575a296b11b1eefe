#!/usr/bin/env bash
# berth gc (dry run, collection, --delete-untagged, a second run, while
# pushes run), upload purging by the supervisor, a registry:2 store with
# deleted manifests, and berth fsck / ls / du / config check.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/store-check.sh"
set -u
P=15120
cat > "$OUT/cfg.yml" <<YML
version: 0.1
storage:
  delete:
    enabled: true
  gc:
    graceperiod: 3s
  maintenance:
    uploadpurging:
      enabled: true
      age: 30s
      interval: 2s
      dryrun: false
$(stack_auth_yaml $P)
YML
start_stack $P "$OUT/cfg.yml" || { not_ok "stack starts"; exit 1; }
B=${BERTH_CLI:-$TOP/build/berth}
berth() { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$DATA "$B" -c "$OUT/cfg.yml" "$@"; }
OCI=application/vnd.oci.image.manifest.v1+json
age_all() { find "$DATA" -exec touch -h -d '2 hours ago' {} + ; }
blob() { head -c "$2" /dev/urandom > "$OUT/$1"; }
image() { # image REPO TAG|digest CONFIGFILE LAYERFILE...: pushes, prints its digest
	local repo=$1 ref=$2 cfg=$3 layers="" f d mf
	shift 3
	mf=$OUT/m-${repo//\//_}-$ref
	d=$(push_blob "$repo" "$OUT/$cfg")
	for f in "$@"; do
		layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"$(push_blob "$repo" "$OUT/$f")\",\"size\":$(stat -c %s "$OUT/$f")}"
	done
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]%s}' \
		"$OCI" "$d" "$(stat -c %s "$OUT/$cfg")" "$layers" "${EXTRA:-}" > "$mf"
	[ "$ref" = digest ] && ref=sha256:$(sha "$mf")
	api PUT "/v2/$repo/manifests/$ref" -H "Content-Type: $OCI" --data-binary "@$mf"
	echo "sha256:$(sha "$mf")"
}

printf '{"a":1}' > "$OUT/cfgA"; printf '{"b":2}' > "$OUT/cfgB"; printf '{"u":3}' > "$OUT/cfgU"
blob shared 50000; blob onlyA 40000; blob onlyB 30000; blob orphan 20000; blob onlyU 10000
MA=$(image gc/a v1 cfgA shared onlyA)
MB=$(image gc/b v1 cfgB shared onlyB)
MU=$(image gc/a digest cfgU onlyU)
MS=$(EXTRA=',"subject":{"mediaType":"'$OCI'","digest":"'$MA'","size":1}' image gc/a digest cfgA)
DO=$(push_blob gc/c "$OUT/orphan")
age_all

berth gc --dry-run > "$OUT/dry.out"
check "gc --dry-run lists the unreferenced blob" grep -q "would remove blob $DO 20000 bytes" "$OUT/dry.out"
check "gc --dry-run removes nothing" test -f "$DATA/docker/registry/v2/blobs/sha256/${DO:7:2}/${DO:7}/data"
berth gc > "$OUT/gc1.out"
check "gc removes the unreferenced blob" grep -q "removed blob $DO 20000 bytes" "$OUT/gc1.out"
check "gc reports the space reclaimed" grep -q "gc: removed 1 blobs (20000 bytes reclaimed), 0 manifests" "$OUT/gc1.out"
check "the blob is gone" test ! -e "$DATA/docker/registry/v2/blobs/sha256/${DO:7:2}/${DO:7}"
check "its dangling layer link went with it" grep -q "removed layer link gc/c@$DO" "$OUT/gc1.out"
api GET "/v2/gc/a/manifests/$MU" -H "Accept: $OCI"
expect "an untagged manifest stays without --delete-untagged" 200
berth gc > "$OUT/gc2.out"
check "a second run finds nothing" grep -q "gc: removed 0 blobs (0 bytes reclaimed), 0 manifests, 0 layer links" "$OUT/gc2.out"

api DELETE /v2/gc/b/manifests/v1
age_all
berth gc --delete-untagged > "$OUT/gc3.out"
check "--delete-untagged removes the untagged manifest of gc/b" grep -q "removed manifest gc/b@$MB" "$OUT/gc3.out"
check "--delete-untagged removes the untagged manifest of gc/a" grep -q "removed manifest gc/a@$MU" "$OUT/gc3.out"
check "...and keeps the referrer of a kept manifest" bash -c "! grep -q '$MS' '$OUT/gc3.out'"
check "the blob only gc/b's manifest used goes" grep -q "removed blob sha256:$(sha "$OUT/onlyB")" "$OUT/gc3.out"
check "the blob gc/a still uses stays" bash -c "! grep -q 'sha256:$(sha "$OUT/shared")' '$OUT/gc3.out'"
api GET /v2/gc/a/manifests/v1 -H "Accept: $OCI"
expect "the tagged image is intact" 200
for f in shared onlyA cfgA; do
	api HEAD "/v2/gc/a/blobs/sha256:$(sha "$OUT/$f")" -I
	expect "its blob $f is intact" 200
done
api GET "/v2/gc/a/referrers/$MA"
eq "its referrer is still listed" "$(printf '%s' "$BODY" | jq -r '.manifests[0].digest')" "$MS"
api GET /v2/_catalog
eq "gc/b left the catalog with its last manifest" "$BODY" '{"repositories":["gc/a"]}'
berth gc --delete-untagged > "$OUT/gc4.out"
check "a second --delete-untagged run finds nothing" grep -q "removed 0 blobs (0 bytes reclaimed), 0 manifests" "$OUT/gc4.out"
check "the store is consistent after gc" store_check "$DATA"

# --- gc while pushes run: nothing referenced disappears.
blob old 70000
DOLD=$(push_blob gc/old "$OUT/old")
age_all
pusher() {
	local i=0
	while [ ! -e "$OUT/stop" ]; do
		i=$((i + 1))
		blob "p$1-$i" $((RANDOM * 3))
		printf '{"n":"%s-%s"}' "$1" "$i" > "$OUT/pc$1-$i"
		if [ $((i % 3)) = 0 ]; then
			# reuse the old, unreferenced blob: a mount keeps it alive
			curl -s -o /dev/null --cacert "$CA" -u "$CRED" -X POST \
				"$URL/v2/gc/p$1/blobs/uploads/?mount=$DOLD&from=gc/old"
			image "gc/p$1" "t$i" "pc$1-$i" old >/dev/null
		else
			image "gc/p$1" "t$i" "pc$1-$i" "p$1-$i" >/dev/null
		fi
		rm -f "$OUT/p$1-$i"
	done
}
rm -f "$OUT/stop"
for n in 1 2 3; do pusher $n & done
runs=0
end=$((SECONDS + 10))
# Each directory gc moves aside and puts back (in use) stays away 2 ms:
# writers meet that moment every few pushes, not every few thousand.
while [ $SECONDS -lt $end ]; do
	BERTH_TEST_ASIDE_HOLD_US=2000 berth gc --delete-untagged >> "$OUT/gc-live.out" 2>&1 &&
		runs=$((runs + 1))
done
touch "$OUT/stop"
wait
check "gc ran $runs times while pushes ran" test "$runs" -ge 3
bad=0 tags=0
for n in 1 2 3; do
	api GET "/v2/gc/p$n/tags/list"
	for t in $(printf '%s' "$BODY" | jq -r '.tags[]'); do
		tags=$((tags + 1))
		api GET "/v2/gc/p$n/manifests/$t" -H "Accept: $OCI"
		[ "$STATUS" = 200 ] || { bad=$((bad + 1)); continue; }
		for d in $(printf '%s' "$BODY" | jq -r '.config.digest, .layers[].digest'); do
			api HEAD "/v2/gc/p$n/blobs/$d" -I
			[ "$STATUS" = 200 ] || bad=$((bad + 1))
		done
	done
done
check "pushes went on during gc ($tags tags)" test "$tags" -gt 10
check "no request failed while gc ran (no 500 in the log)" bash -c "! grep -q ' 500 ' '$S/log/berth.log'"
grep -A1 ' 500 ' "$S/log/berth.log" | head -6
eq "every image pushed during gc is whole" "$bad" 0
check "the store is consistent" store_check "$DATA"
sk() { skopeo --insecure-policy "$@" >>"$OUT/skopeo.log" 2>&1; }
rm -rf "$OUT/pull"
check "an image pushed during gc pulls with skopeo" \
	sk copy --preserve-digests --src-cert-dir "$S/ca" --src-creds "$CRED" "docker://localhost:$P/gc/p1:t3" "oci:$OUT/pull:x"
eq "...with the digest it was pushed with" "$(skopeo inspect --raw "oci:$OUT/pull:x" | sha256sum | cut -d' ' -f1)" "$(sha "$OUT/m-gc_p1-t3")"

# --- upload purging by the supervisor (interval 2s, age 30s)
api POST /v2/gc/purge/blobs/uploads/
LOC=$(hdr Location)
ID=${LOC##*/}
printf '2020-01-01T00:00:00Z' > "$DATA/docker/registry/v2/repositories/gc/purge/_uploads/$ID/startedat"
api POST /v2/gc/purge/blobs/uploads/
FRESH=$(hdr Location)
sleep 3
# (behind Apache there is no supervisor: requests drive the purge timer)
api GET /v2/
sleep 1.5
api GET "$LOC"
expect "an upload older than uploadpurging.age is purged on the interval" 404 BLOB_UPLOAD_UNKNOWN
api GET "$FRESH"
expect "a young upload is left alone" 204
check "the purge is in the log" grep -q "purge: removed upload gc/purge/$ID" "$S/log/berth.log"

# --- fsck
berth fsck > "$OUT/fsck1.out"
eq "fsck of a sound store exits 0" "$?" 0
D=sha256:$(sha "$OUT/onlyA")
printf 'x' >> "$DATA/docker/registry/v2/blobs/sha256/${D:7:2}/${D:7}/data"
berth fsck > "$OUT/fsck2.out"
eq "fsck finds a corrupt blob (exit 1)" "$?" 1
check "fsck names it" grep -q "blob $D: content does not match" "$OUT/fsck2.out"
berth fsck --repair > "$OUT/fsck3.out"
check "fsck --repair quarantines it" grep -q "quarantined in .*_berth/quarantine/sha256-${D:7}" "$OUT/fsck3.out"
check "and removes the links that pointed at it" \
	grep -A1 "layer link gc/a@$D points at a missing blob" "$OUT/fsck3.out" | grep -q "removed the link"
berth fsck --repair > "$OUT/fsck4.out"
grep -q "manifest gc/a@$MA: layer $D missing" "$OUT/fsck4.out"
eq "and reports the manifest that needs it" "$?" 0

mkdir -p "$DATA/docker/registry/v2/repositories/gc/a/_manifests/tags/half/index"
chown -R --reference="$DATA" "$DATA/docker/registry/v2/repositories/gc/a/_manifests/tags/half"
berth fsck --repair > "$OUT/fsck5.out"
check "fsck finds a tag without its current link and removes it" \
	bash -c "grep -A1 'tag gc/a:half has no current link' '$OUT/fsck5.out' | grep -q 'removed the tag' &&
		test ! -e '$DATA/docker/registry/v2/repositories/gc/a/_manifests/tags/half'"

# --- ls, du, config check
berth ls > "$OUT/ls.out"
check "berth ls lists repositories" grep -q "^gc/a .* 1 tags" "$OUT/ls.out"
berth ls gc/a > "$OUT/ls2.out"
check "berth ls REPO lists tags with digests" grep -q "^v1 .*$MA" "$OUT/ls2.out"
berth du > "$OUT/du.out"
check "berth du prints a total" grep -q "total (shared blobs counted once)" "$OUT/du.out"
"$B" config check "$OUT/cfg.yml" > "$OUT/cc.out"
check "berth config check prints the settings" grep -q "storage.gc.graceperiod: 3s" "$OUT/cc.out"
"$B" frobnicate 2>/dev/null
eq "an unknown command exits 2" "$?" 2
"$B" gc --help | grep -q "grace"
eq "berth gc --help" "$?" 0

# --- a registry:2 store with a deleted manifest
R2=$OUT/r2
mkdir -p "$R2"
printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:15121\n' "$R2" > "$OUT/r2.yml"
docker-registry serve "$OUT/r2.yml" > "$OUT/r2.log" 2>&1 &
R2PID=$!
trap 'kill $R2PID 2>/dev/null; stop_stacks' EXIT
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:15121/v2/ >/dev/null && break; sleep 0.1; done
source "$TOP/tests/images.sh"
make_images > "$OUT/images.log" 2>&1
sk copy --dest-tls-verify=false "oci:$IMG:bb" docker://127.0.0.1:15121/r2/keep:v1
sk copy --dest-tls-verify=false "oci:$IMG:arm" docker://127.0.0.1:15121/r2/drop:v1
DD=$(curl -s -I -H "Accept: $OCI" http://127.0.0.1:15121/v2/r2/drop/manifests/v1 | tr -d '\r' | sed -n 's/^Docker-Content-Digest: //Ip')
st=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://127.0.0.1:15121/v2/r2/drop/manifests/$DD")
eq "registry:2 deletes a manifest" "$st" 202
find "$R2" -exec touch -h -d '2 hours ago' {} +
REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$R2 "$B" -c "$OUT/cfg.yml" gc > "$OUT/r2gc.out"
check "berth gc collects what registry:2's delete left" grep -q "removed blob" "$OUT/r2gc.out"
rm -rf "$OUT/r2pull"
check "registry:2 still serves the image it kept" \
	sk copy --src-tls-verify=false docker://127.0.0.1:15121/r2/keep:v1 "oci:$OUT/r2pull:x"
eq "...with its digest" "$(skopeo inspect --raw "oci:$OUT/r2pull:x" | sha256sum | cut -d' ' -f1)" \
	"$(skopeo inspect --raw "oci:$IMG:bb" | sha256sum | cut -d' ' -f1)"

# --- never on doubt: a tagged image whose manifest cannot be read (its
# data file replaced by a directory, EISDIR) stops gc before anything is
# removed, and fsck --repair leaves it alone.
printf '{"z":9}' > "$OUT/cfgZ"; blob onlyZ 12345
MZ=$(image gc/z v1 cfgZ onlyZ)
DZ=sha256:$(sha "$OUT/onlyZ")
DG=$(push_blob gc/zz "$OUT/orphan")
MZD=$DATA/docker/registry/v2/blobs/sha256/${MZ:7:2}/${MZ:7}/data
cp "$MZD" "$OUT/mz.bak"
rm "$MZD" && mkdir "$MZD"
age_all
berth gc > "$OUT/doubt.out" 2> "$OUT/doubt.err"
eq "gc over an unreadable tagged manifest exits 1" "$?" 1
check "...naming the manifest and the error" grep -q "gc/z@$MZ is in use, but manifest cannot be read: .*Is a directory; nothing was removed" "$OUT/doubt.err"
check "...having removed nothing (not even garbage)" bash -c "! grep -q 'removed ' '$OUT/doubt.out'"
check "...its layer is still there" test -f "$DATA/docker/registry/v2/blobs/sha256/${DZ:7:2}/${DZ:7}/data"
check "...and so is the unreferenced blob" test -f "$DATA/docker/registry/v2/blobs/sha256/${DG:7:2}/${DG:7}/data"
berth gc --delete-untagged > "$OUT/doubt2.out" 2>&1
eq "gc --delete-untagged stops too" "$?" 1
berth fsck --repair > "$OUT/doubt3.out" 2>&1
eq "fsck --repair reports it (exit 1)" "$?" 1
check "...as unreadable, left as it is" grep -q "gc/z@$MZ cannot be read (.*Is a directory): left as it is" "$OUT/doubt3.out"
check "...and keeps the tag, the link and the layer" bash -c "
	test -f '$DATA/docker/registry/v2/repositories/gc/z/_manifests/tags/v1/current/link' &&
	test -f '$DATA/docker/registry/v2/repositories/gc/z/_manifests/revisions/sha256/${MZ:7}/link' &&
	test -f '$DATA/docker/registry/v2/blobs/sha256/${DZ:7:2}/${DZ:7}/data'"
rmdir "$MZD" && cp "$OUT/mz.bak" "$MZD" && chown --reference="$DATA/docker/registry/v2" "$MZD"
age_all
berth gc > "$OUT/doubt4.out" 2>&1
eq "once the manifest reads again, gc runs (exit 0)" "$?" 0
check "...and reclaims the garbage" grep -q "removed blob $DG" "$OUT/doubt4.out"
api GET /v2/gc/z/manifests/v1 -H "Accept: $OCI"
expect "...while the image is whole" 200
