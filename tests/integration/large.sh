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
rm -rf "$DATA/docker"
