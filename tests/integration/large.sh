#!/usr/bin/env bash
# A 1 GiB layer streamed as docker sends it (PATCH, chunked, no
# Content-Length) through nginx, completed by PUT, read back whole, and a
# Range read from its far end.
source "$(dirname "$0")/../lib.sh"
set -u
start_stack 15118 || { not_ok "stack starts"; exit 1; }
head -c 1G /dev/urandom > "$OUT/big"
D=sha256:$(sha "$OUT/big")
api POST /v2/large/layer/blobs/uploads/
LOC=$(hdr Location)
# -T streams the file (curl's --data-binary would load 1 GiB into memory).
api PATCH "$LOC" -H 'Transfer-Encoding: chunked' -T "$OUT/big"
expect "a 1 GiB chunked PATCH" 202
eq "Range after it" "$(hdr Range)" "0-1073741823"
api PUT "$LOC?digest=$D"
expect "PUT completes the 1 GiB upload" 201
echo "# $(grep -E 'PATCH|PUT' "$S/log/berth.log" | awk '{print $3, $(NF-1)}' | tr '\n' ' ')"
got=$(curl -s --cacert "$CA" -u "$CRED" "$URL/v2/large/layer/blobs/$D" | sha256sum | cut -d' ' -f1)
eq "the 1 GiB blob reads back with its digest" "sha256:$got" "$D"
api GET "/v2/large/layer/blobs/$D" -H 'Range: bytes=1073741000-'
expect "a Range read at its end" 206
check "the range's bytes" cmp -s "$OUT/last-body" <(tail -c 824 "$OUT/big")
rm -f "$OUT/big"
# Only the blob's own directory: the workers stay up and may write under
# _berth (purge stamp, catalog markers) while a whole-store rm runs.
rm -rf "$DATA/docker/registry/v2/blobs/sha256/${D:7:2}/${D:7}"

# skopeo: a two-layer image whose first layer holds a 1 GiB file, from a
# hand-built OCI layout, pushed and pulled back with its digests.
L=$OUT/layout
rm -rf "$L" "$OUT/root" && mkdir -p "$L/blobs/sha256" "$OUT/root/a" "$OUT/root/b"
head -c 1G /dev/urandom > "$OUT/root/a/big.bin"
echo small > "$OUT/root/b/small.txt"
tar -C "$OUT/root/a" -cf "$OUT/l1.tar" big.bin
tar -C "$OUT/root/b" -cf "$OUT/l2.tar" small.txt
rm -rf "$OUT/root"
blobin() { local d; d=$(sha "$1"); mv "$1" "$L/blobs/sha256/$d"; echo "$d"; }
S1=$(stat -c %s "$OUT/l1.tar") S2=$(stat -c %s "$OUT/l2.tar")
D1=$(blobin "$OUT/l1.tar") D2=$(blobin "$OUT/l2.tar")
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s"]},"config":{}}' "$D1" "$D2" > "$OUT/cfg.json"
SC=$(stat -c %s "$OUT/cfg.json"); DCF=$(blobin "$OUT/cfg.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s},{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
	"$DCF" "$SC" "$D1" "$S1" "$D2" "$S2" > "$OUT/man.json"
SM=$(stat -c %s "$OUT/man.json"); DM=$(blobin "$OUT/man.json")
printf '{"imageLayoutVersion":"1.0.0"}' > "$L/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"big"}}]}' "$DM" "$SM" > "$L/index.json"
sk() { skopeo --insecure-policy "$@" >>"$OUT/skopeo.log" 2>&1; }
check "skopeo pushes a two-layer image with a 1 GiB layer" \
	sk copy --preserve-digests --dest-cert-dir "$S/ca" --dest-creds "$CRED" "oci:$L:big" "docker://localhost:15118/large/image:v1"
rm -rf "$OUT/back"
check "skopeo pulls it back" \
	sk copy --preserve-digests --src-cert-dir "$S/ca" --src-creds "$CRED" "docker://localhost:15118/large/image:v1" "oci:$OUT/back:v1"
eq "the manifest digest is identical" "$(skopeo inspect --raw "oci:$OUT/back:v1" | sha256sum | cut -d' ' -f1)" "$DM"
eq "the 1 GiB layer came back whole" "$(sha "$OUT/back/blobs/sha256/$D1")" "$D1"
# Stop the stack before freeing the 2 GiB it holds, for the same reason.
stop_stacks
rm -rf "$L" "$OUT/back" "$DATA"
