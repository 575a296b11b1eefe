#!/usr/bin/env bash
# The v2 API with curl through nginx (TLS, basic auth): routing, validation,
# blobs, uploads, manifests, tags, with the spec's statuses, headers and
# error codes.
source "$(dirname "$0")/../lib.sh"
set -u
start_stack 15101 || { not_ok "stack starts"; exit 1; }

# --- base, auth
api GET /v2/
expect "GET /v2/ answers 200" 200
eq "GET /v2/ body is {}" "$BODY" "{}"
eq "API version header" "$(hdr Docker-Distribution-Api-Version)" "registry/2.0"
st=$(curl -s -o "$OUT/b401" -D "$OUT/h401" -w '%{http_code}' --cacert "$CA" "$URL/v2/")
eq "no credentials: 401" "$st" 401
eq "...with the spec's body, not the web server's page" "$(jq -r '.errors[0].code' "$OUT/b401" 2>/dev/null)" UNAUTHORIZED
check "...as JSON" grep -qi '^Content-Type: application/json' "$OUT/h401"
check "401 carries the API version header" grep -qi '^Docker-Distribution-Api-Version: registry/2.0' "$OUT/h401"
check "401 carries WWW-Authenticate" grep -qi '^WWW-Authenticate: Basic' "$OUT/h401"
st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u tester:wrong "$URL/v2/")
eq "wrong password: 401" "$st" 401
# Modern TLS only: 1.1 and ciphers without forward secrecy are refused.
check "TLS 1.1 is refused" bash -c "! echo | openssl s_client -connect 127.0.0.1:15101 -tls1_1 2>/dev/null | grep -q 'Cipher is [A-Z]'"
check "a TLS 1.2 cipher without forward secrecy is refused" \
	bash -c "! echo | openssl s_client -connect 127.0.0.1:15101 -tls1_2 -cipher AES128-SHA 2>/dev/null | grep -q 'Cipher is [A-Z]'"
check "TLS 1.2 with ECDHE and AES-GCM is served" \
	bash -c "echo | openssl s_client -connect 127.0.0.1:15101 -tls1_2 2>/dev/null | grep -q 'Cipher is ECDHE-.*GCM'"

# --- validation before any file is touched
for bad in 'UPPER' 'a//b' 'a/../b' '..' 'a/%2e%2e/b' '%2e%2e' 'a/_uploads' 'a/_layers/x' \
	'a%00b' 'a.-b' "$(printf 'a%.0s' $(seq 1 256))"; do
	api GET "/v2/$bad/tags/list" --path-as-is
	if [ "$STATUS" = 400 ] && [ "$(code)" = NAME_INVALID ]; then
		ok "name '$(printf '%.20s' "$bad")' is NAME_INVALID"
	elif [ "$STATUS" = 400 ] || [ "$STATUS" = 404 ] && [ -n "$(code)" ] &&
		! grep -q 'NAME_UNKNOWN' "$OUT/last-body"; then
		# nginx itself refuses some (%00, paths that climb out of
		# /v2/); its answer is still the spec's JSON.
		ok "name '$(printf '%.20s' "$bad")' refused by nginx with $STATUS $(code)"
	elif [ "$bad" = 'a%00b' ] && [ "$STATUS" = 400 ]; then
		ok "name with %00: nginx refuses the request line (400)"
	else
		not_ok "name '$(printf '%.20s' "$bad")' (status $STATUS, body $(printf '%.100s' "$BODY"))"
	fi
done
# A reference that is neither a tag nor a digest names nothing: a read or
# a delete of it is MANIFEST_UNKNOWN (as the OCI conformance suite checks
# with .INVALID_MANIFEST_NAME), a push of it TAG_INVALID.
for ref in bad:tag:x -tag .INVALID_MANIFEST_NAME "$(printf 'a%.0s' $(seq 1 129))" a/b; do
	for m in GET HEAD DELETE; do
		if [ $m = HEAD ]; then api HEAD "/v2/ok/manifests/$ref" -I; else api $m "/v2/ok/manifests/$ref"; fi
		if [ $m = HEAD ]; then
			eq "$m of reference '$(printf '%.20s' "$ref")' is 404" "$STATUS" 404
		else
			expect "$m of reference '$(printf '%.20s' "$ref")' is MANIFEST_UNKNOWN" 404 MANIFEST_UNKNOWN
		fi
	done
done
for ref in -tag .INVALID_MANIFEST_NAME "$(printf 'a%.0s' $(seq 1 129))" a/b; do
	api PUT "/v2/ok/manifests/$ref" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary '{}'
	expect "PUT of reference '$(printf '%.20s' "$ref")' is TAG_INVALID" 400 TAG_INVALID
done
api PUT "/v2/ok/manifests/sha256:zz" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	--data-binary '{}'
expect "PUT of a malformed digest reference is DIGEST_INVALID" 400 DIGEST_INVALID
api GET "/v2/ok/blobs/sha256:abc"
expect "short digest is DIGEST_INVALID" 400 DIGEST_INVALID
api GET "/v2/ok/blobs/sha256:$(printf 'A%.0s' $(seq 1 64))"
expect "uppercase digest is DIGEST_INVALID" 400 DIGEST_INVALID
api GET "/v2/ok/blobs/md5:d41d8cd98f00b204e9800998ecf8427e"
expect "unknown algorithm is DIGEST_INVALID" 400 DIGEST_INVALID
api GET "/v2/ok/blobs/uploads/..%2f..%2fx"
expect "upload id with traversal is BLOB_UPLOAD_UNKNOWN" 404 BLOB_UPLOAD_UNKNOWN
api GET "/v2/nothing-here"
expect "unknown endpoint is 404" 404
check "nothing was created for invalid names" \
	test ! -e "$DATA/docker/registry/v2/repositories/UPPER" -a ! -e "$DATA/docker/registry/v2/repositories/a"
check "no answer leaks a path" bash -c "! grep -rq '$DATA' '$OUT'/last-body"

# --- blobs: monolithic upload, HEAD/GET, Range
head -c 100000 /dev/urandom > "$OUT/b1"
D1=sha256:$(sha "$OUT/b1")
api POST "/v2/lib/one/blobs/uploads/?digest=$D1" --data-binary "@$OUT/b1"
expect "monolithic POST answers 201" 201
eq "Location of the new blob" "$(hdr Location)" "/v2/lib/one/blobs/$D1"
eq "Docker-Content-Digest of the new blob" "$(hdr Docker-Content-Digest)" "$D1"
check "blob is stored in registry:2's layout" \
	test -f "$DATA/docker/registry/v2/blobs/sha256/${D1:7:2}/${D1:7}/data"
eq "layer link holds the digest" \
	"$(cat "$DATA/docker/registry/v2/repositories/lib/one/_layers/sha256/${D1:7}/link")" "$D1"
api HEAD "/v2/lib/one/blobs/$D1" -I
expect "HEAD blob 200" 200
eq "HEAD Content-Length" "$(hdr Content-Length)" 100000
eq "HEAD Docker-Content-Digest" "$(hdr Docker-Content-Digest)" "$D1"
eq "HEAD Content-Type" "$(hdr Content-Type)" "application/octet-stream"
eq "HEAD ETag" "$(hdr ETag)" "\"$D1\""
api GET "/v2/lib/one/blobs/$D1"
expect "GET blob 200" 200
check "GET blob returns the bytes" cmp -s "$OUT/last-body" "$OUT/b1"
eq "GET Docker-Content-Digest (set by nginx's internal location)" "$(hdr Docker-Content-Digest)" "$D1"
eq "GET ETag" "$(hdr ETag)" "\"$D1\""
eq "GET Content-Type" "$(hdr Content-Type)" "application/octet-stream"
eq "GET sends one API version header" "$(hdr_count Docker-Distribution-Api-Version)" 1
check "GET was sent by nginx's static module after X-Accel-Redirect (Last-Modified)" \
	test -n "$(hdr Last-Modified)"
check "the worker log counts the blob's bytes for its GET" \
	grep -q "GET /v2/lib/one/blobs/$D1 200 100000 " "$S/log/berth.log"
api GET "/v2/lib/one/blobs/$D1" -H 'Range: bytes=10-19'
expect "Range GET 206" 206
eq "Range GET Content-Range" "$(hdr Content-Range)" "bytes 10-19/100000"
check "Range GET bytes" cmp -s "$OUT/last-body" <(tail -c +11 "$OUT/b1" | head -c 10)
api GET "/v2/lib/one/blobs/$D1" -H 'Range: bytes=200000-'
expect "unsatisfiable Range 416" 416
api GET "/v2/lib/other/blobs/$D1"
expect "blob of another repository is BLOB_UNKNOWN" 404 BLOB_UNKNOWN
api HEAD "/v2/lib/other/blobs/$D1" -I
expect "HEAD blob of another repository 404" 404
api GET "/v2/_berth/docker/registry/v2/blobs/sha256/${D1:7:2}/${D1:7}/data"
expect "the internal location is not reachable from outside" 404
st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u "$CRED" \
	"$URL/_berth/docker/registry/v2/blobs/sha256/${D1:7:2}/${D1:7}/data")
eq "/_berth/ directly is 404" "$st" 404

# --- chunked upload: POST, PATCH (chunked, no Content-Length), GET, PUT
head -c 3000000 /dev/urandom > "$OUT/b2"
D2=sha256:$(sha "$OUT/b2")
api POST /v2/lib/two/blobs/uploads/
expect "POST starts a session (202)" 202
LOC=$(hdr Location)
UUID=$(hdr Docker-Upload-UUID)
check "Location names the session" test "$LOC" = "/v2/lib/two/blobs/uploads/$UUID"
eq "empty session Range" "$(hdr Range)" "0-0"
head -c 1000000 "$OUT/b2" > "$OUT/b2a"
tail -c +1000001 "$OUT/b2" | head -c 1000000 > "$OUT/b2b"
tail -c +2000001 "$OUT/b2" > "$OUT/b2c"
api PATCH "$LOC" -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/octet-stream' \
	--data-binary "@$OUT/b2a"
expect "chunked PATCH without Content-Length 202" 202
eq "Range after first PATCH" "$(hdr Range)" "0-999999"
api PATCH "$LOC" -H 'Content-Range: 0-999' --data-binary "@$OUT/b2b"
expect "PATCH with an overlapping Content-Range is 416" 416
api PATCH "$LOC" -H 'Content-Range: 1000001-2000000' --data-binary "@$OUT/b2b"
expect "PATCH with a gap is 416" 416
api PATCH "$LOC" -H 'Content-Range: 1000000-1999999' --data-binary "@$OUT/b2b"
expect "PATCH with the next Content-Range 202" 202
eq "Range after second PATCH" "$(hdr Range)" "0-1999999"
api GET "$LOC"
expect "GET on the session 204" 204
eq "GET on the session Range" "$(hdr Range)" "0-1999999"
eq "GET on the session Docker-Upload-UUID" "$(hdr Docker-Upload-UUID)" "$UUID"
api GET "/v2/lib/one/blobs/uploads/$UUID"
expect "the session from another repository is BLOB_UPLOAD_UNKNOWN" 404 BLOB_UPLOAD_UNKNOWN
api PUT "$LOC?digest=sha256:$(printf '0%.0s' $(seq 1 64))" --data-binary "@$OUT/b2c"
expect "PUT with a wrong digest is DIGEST_INVALID" 400 DIGEST_INVALID
check "nothing entered the store for the wrong digest" \
	test ! -e "$DATA/docker/registry/v2/blobs/sha256/00/$(printf '0%.0s' $(seq 1 64))"
api POST /v2/lib/two/blobs/uploads/
LOC=$(hdr Location)
api PATCH "$LOC" --data-binary "@$OUT/b2a"
api PATCH "$LOC" --data-binary "@$OUT/b2b"
api PUT "$LOC?digest=$D2" --data-binary "@$OUT/b2c"
expect "PUT with the final chunk 201" 201
eq "PUT Location" "$(hdr Location)" "/v2/lib/two/blobs/$D2"
eq "PUT Docker-Content-Digest" "$(hdr Docker-Content-Digest)" "$D2"
api GET "/v2/lib/two/blobs/$D2"
check "the chunked blob reads back whole" cmp -s "$OUT/last-body" "$OUT/b2"
api GET "$LOC"
expect "the finished session is gone" 404 BLOB_UPLOAD_UNKNOWN
check "no upload directory is left" bash -c "[ -z \"\$(ls -A '$DATA/docker/registry/v2/repositories/lib/two/_uploads')\" ]"

api POST /v2/lib/two/blobs/uploads/
LOC=$(hdr Location)
api PATCH "$LOC" --data-binary "@$OUT/b1"
api PUT "$LOC?digest=$D1"
expect "PUT without a body after PATCH 201" 201
api POST /v2/lib/two/blobs/uploads/
LOC=$(hdr Location)
api DELETE "$LOC"
expect "DELETE cancels the session (204)" 204
api GET "$LOC"
expect "a cancelled session is BLOB_UPLOAD_UNKNOWN" 404 BLOB_UPLOAD_UNKNOWN
api POST "/v2/lib/two/blobs/uploads/?digest=sha256:zz" --data-binary x
expect "monolithic POST with a malformed digest" 400 DIGEST_INVALID

# --- cross-repository mount
api POST "/v2/lib/three/blobs/uploads/?mount=$D1&from=lib/one"
expect "mount from a repository that has the blob (201)" 201
eq "mount Location" "$(hdr Location)" "/v2/lib/three/blobs/$D1"
api HEAD "/v2/lib/three/blobs/$D1" -I
expect "mounted blob is readable" 200
api POST "/v2/lib/four/blobs/uploads/?mount=$D2&from=lib/one"
expect "mount from a repository without the blob falls back to a session (202)" 202
check "fallback session has a Location" test -n "$(hdr Location)"
api POST "/v2/lib/four/blobs/uploads/?mount=$D1&from=BAD"
expect "mount from an invalid name" 400 NAME_INVALID

# --- manifests
printf '{}' > "$OUT/empty"
DE=$(push_blob lib/img "$OUT/empty")
DL=$(push_blob lib/img "$OUT/b1")
cat > "$OUT/m1" <<J
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.example+type","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"$DE","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$DL","size":100000}],"annotations":{"a":"b"}}
J
DM1=sha256:$(sha "$OUT/m1")
OCI=application/vnd.oci.image.manifest.v1+json
api PUT /v2/lib/img/manifests/v1 -H "Content-Type: $OCI" --data-binary "@$OUT/m1"
expect "PUT OCI manifest with artifactType and empty config (201)" 201
eq "PUT manifest Docker-Content-Digest" "$(hdr Docker-Content-Digest)" "$DM1"
eq "PUT manifest Location" "$(hdr Location)" "/v2/lib/img/manifests/$DM1"
api GET /v2/lib/img/manifests/v1 -H "Accept: $OCI"
expect "GET manifest by tag" 200
check "GET returns the exact bytes" cmp -s "$OUT/last-body" "$OUT/m1"
eq "GET manifest Content-Type" "$(hdr Content-Type)" "$OCI"
eq "GET manifest Docker-Content-Digest" "$(hdr Docker-Content-Digest)" "$DM1"
api HEAD "/v2/lib/img/manifests/$DM1" -I
expect "HEAD manifest by digest" 200
eq "HEAD manifest Content-Length" "$(hdr Content-Length)" "$(stat -c %s "$OUT/m1")"
eq "HEAD manifest Content-Type" "$(hdr Content-Type)" "$OCI"
eq "revision link in registry:2's layout" \
	"$(cat "$DATA/docker/registry/v2/repositories/lib/img/_manifests/revisions/sha256/${DM1:7}/link")" "$DM1"
eq "tag current link in registry:2's layout" \
	"$(cat "$DATA/docker/registry/v2/repositories/lib/img/_manifests/tags/v1/current/link")" "$DM1"
check "tag index link in registry:2's layout" \
	test -f "$DATA/docker/registry/v2/repositories/lib/img/_manifests/tags/v1/index/sha256/${DM1:7}/link"
api GET /v2/lib/img/manifests/nope
expect "unknown tag is MANIFEST_UNKNOWN" 404 MANIFEST_UNKNOWN
api GET /v2/lib/nope/manifests/v1
expect "unknown repository" 404 NAME_UNKNOWN
api GET "/v2/lib/other/manifests/$DM1"
expect "manifest of another repository is not served" 404

# Referrer: subject, OCI-Subject (the subject need not exist).
cat > "$OUT/m2" <<J
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.example.sig","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"$DE","size":2},"layers":[{"mediaType":"application/vnd.oci.empty.v1+json","digest":"$DE","size":2}],"subject":{"mediaType":"$OCI","digest":"$DM1","size":$(stat -c %s "$OUT/m1")}}
J
api PUT "/v2/lib/img/manifests/sha256:$(sha "$OUT/m2")" -H "Content-Type: $OCI" --data-binary "@$OUT/m2"
expect "PUT manifest with subject by digest (201)" 201
eq "OCI-Subject header" "$(hdr OCI-Subject)" "$DM1"

# Index over two manifests.
cat > "$OUT/idx" <<J
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"$OCI","digest":"$DM1","size":$(stat -c %s "$OUT/m1"),"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"$OCI","digest":"sha256:$(sha "$OUT/m2")","size":$(stat -c %s "$OUT/m2"),"platform":{"architecture":"arm64","os":"linux"}}]}
J
api PUT /v2/lib/img/manifests/multi -H "Content-Type: application/vnd.oci.image.index.v1+json" --data-binary "@$OUT/idx"
expect "PUT OCI index (201)" 201
api GET /v2/lib/img/manifests/multi
eq "GET index Content-Type" "$(hdr Content-Type)" "application/vnd.oci.image.index.v1+json"
api PUT /v2/lib/empty/manifests/multi -H "Content-Type: application/vnd.oci.image.index.v1+json" --data-binary "@$OUT/idx"
expect "index whose children are not in the repository" 400 MANIFEST_BLOB_UNKNOWN

# Docker schema2 + manifest list + foreign layer.
DC=$(push_blob lib/dock "$OUT/empty")
DL2=$(push_blob lib/dock "$OUT/b1")
V2=application/vnd.docker.distribution.manifest.v2+json
cat > "$OUT/d1" <<J
{
   "schemaVersion": 2,
   "mediaType": "$V2",
   "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": "$DC"},
   "layers": [
      {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 100000, "digest": "$DL2"},
      {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "size": 5, "digest": "sha256:$(printf '1%.0s' $(seq 1 64))", "urls": ["https://example.com/layer"]}
   ]
}
J
api PUT /v2/lib/dock/manifests/latest -H "Content-Type: $V2" --data-binary "@$OUT/d1"
expect "PUT Docker schema2 with a foreign layer (201)" 201
api GET /v2/lib/dock/manifests/latest -H "Accept: $V2"
check "schema2 bytes come back exactly (whitespace kept)" cmp -s "$OUT/last-body" "$OUT/d1"
eq "schema2 Content-Type" "$(hdr Content-Type)" "$V2"
cat > "$OUT/dl" <<J
{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"$V2","size":$(stat -c %s "$OUT/d1"),"digest":"sha256:$(sha "$OUT/d1")","platform":{"architecture":"amd64","os":"linux"}}]}
J
api PUT /v2/lib/dock/manifests/list -H "Content-Type: application/vnd.docker.distribution.manifest.list.v2+json" --data-binary "@$OUT/dl"
expect "PUT Docker manifest list (201)" 201

# Refusals.
api PUT /v2/lib/dock/manifests/x -H "Content-Type: $OCI" --data-binary "@$OUT/d1"
expect "mediaType disagreeing with Content-Type" 400 MANIFEST_INVALID
printf '{"schemaVersion":1,"name":"lib/dock","tag":"x","fsLayers":[],"history":[]}' > "$OUT/s1"
api PUT /v2/lib/dock/manifests/x -H "Content-Type: application/vnd.docker.distribution.manifest.v1+prettyjws" --data-binary "@$OUT/s1"
expect "schema1 is refused" 400 MANIFEST_INVALID
check "schema1 refusal says why" bash -c "printf '%s' '$BODY' | grep -q schema1"
api PUT /v2/lib/dock/manifests/x -H "Content-Type: $OCI" --data-binary '{"schemaVersion":2,'
expect "truncated JSON" 400 MANIFEST_INVALID
sed "s/$DL2/sha256:$(printf '2%.0s' $(seq 1 64))/" "$OUT/d1" > "$OUT/d2"
api PUT /v2/lib/dock/manifests/x -H "Content-Type: $V2" --data-binary "@$OUT/d2"
expect "a layer missing from the repository" 400 MANIFEST_BLOB_UNKNOWN
api PUT "/v2/lib/dock/manifests/sha256:$(printf '3%.0s' $(seq 1 64))" -H "Content-Type: $V2" --data-binary "@$OUT/d1"
expect "PUT by a digest the body does not hash to" 400 DIGEST_INVALID
head -c 5000000 /dev/zero | tr '\0' ' ' > "$OUT/big"
api PUT /v2/lib/dock/manifests/big -H "Content-Type: $OCI" --data-binary "@$OUT/big"
expect "a manifest over 4 MiB is 413" 413
api PUT /v2/lib/dock/manifests/big -H "Content-Type: $OCI" -H 'Transfer-Encoding: chunked' --data-binary "@$OUT/big"
expect "a chunked manifest over 4 MiB is 413" 413

# --- tags list
for t in c a b e d; do
	api PUT "/v2/lib/tags/manifests/$t" -H "Content-Type: $V2" --data-binary "@$OUT/d1" >/dev/null
done
api POST "/v2/lib/tags/blobs/uploads/?mount=$DC&from=lib/dock"
api POST "/v2/lib/tags/blobs/uploads/?mount=$DL2&from=lib/dock"
for t in c a b e d; do
	api PUT "/v2/lib/tags/manifests/$t" -H "Content-Type: $V2" --data-binary "@$OUT/d1"
done
api GET /v2/lib/tags/tags/list
expect "tags/list 200" 200
eq "tags in lexical order" "$BODY" '{"name":"lib/tags","tags":["a","b","c","d","e"]}'
api GET '/v2/lib/tags/tags/list?n=2'
eq "first page" "$BODY" '{"name":"lib/tags","tags":["a","b"]}'
eq "Link to the next page" "$(hdr Link)" '</v2/lib/tags/tags/list?n=2&last=b>; rel="next"'
api GET '/v2/lib/tags/tags/list?n=2&last=b'
eq "second page" "$BODY" '{"name":"lib/tags","tags":["c","d"]}'
api GET '/v2/lib/tags/tags/list?n=2&last=d'
eq "last page" "$BODY" '{"name":"lib/tags","tags":["e"]}'
eq "no Link on the last page" "$(hdr Link)" ""
api GET '/v2/lib/tags/tags/list?n=0'
eq "n=0" "$BODY" '{"name":"lib/tags","tags":[]}'
api GET '/v2/lib/tags/tags/list?n=x'
expect "bad n" 400 PAGINATION_NUMBER_INVALID
api GET /v2/lib/none/tags/list
expect "tags of an unknown repository" 404 NAME_UNKNOWN

# --- methods
api DELETE /v2/
expect "DELETE /v2/ is 405" 405 UNSUPPORTED
api POST /v2/lib/img/manifests/v1
expect "POST on a manifest is 405" 405 UNSUPPORTED
check "every answer so far was JSON or empty (no HTML error pages)" \
	bash -c "! grep -qi '<html' '$OUT/last-body'"
check "worker log has one line per request with the user" \
	grep -q 'PUT /v2/lib/img/manifests/v1 201 0 [0-9.]*s tester' "$S/log/berth.log"

# --- sha512 digests
head -c 70000 /dev/urandom > "$OUT/b5"
D5=sha512:$(sha512sum "$OUT/b5" | cut -d' ' -f1)
api POST "/v2/lib/five/blobs/uploads/?digest=$D5" --data-binary "@$OUT/b5"
expect "monolithic push with a sha512 digest" 201
eq "sha512 Docker-Content-Digest" "$(hdr Docker-Content-Digest)" "$D5"
api GET "/v2/lib/five/blobs/$D5"
check "a sha512 blob reads back" cmp -s "$OUT/last-body" "$OUT/b5"
eq "sha512 blob ETag from nginx" "$(hdr ETag)" "\"$D5\""
check "sha512 blob in registry:2's layout" \
	test -f "$DATA/docker/registry/v2/blobs/sha512/${D5:7:2}/${D5:7}/data"
api POST /v2/lib/five/blobs/uploads/
LOC=$(hdr Location)
api PATCH "$LOC" -H 'Transfer-Encoding: chunked' --data-binary "@$OUT/b5"
api PUT "$LOC?digest=$D5"
expect "chunked push finished with a sha512 digest" 201
api PUT "/v2/lib/five/manifests/latest" -H "Content-Type: $V2" --data-binary "@$OUT/d1"
expect "setup for sha512 manifest" 400 MANIFEST_BLOB_UNKNOWN
api POST "/v2/lib/five/blobs/uploads/?mount=$DC&from=lib/dock"
api POST "/v2/lib/five/blobs/uploads/?mount=$DL2&from=lib/dock"
M5=sha512:$(sha512sum "$OUT/d1" | cut -d' ' -f1)
api PUT "/v2/lib/five/manifests/$M5" -H "Content-Type: $V2" --data-binary "@$OUT/d1"
expect "PUT manifest by sha512 digest" 201
eq "its Docker-Content-Digest is the sha512" "$(hdr Docker-Content-Digest)" "$M5"
api GET "/v2/lib/five/manifests/$M5"
check "GET manifest by sha512 digest" cmp -s "$OUT/last-body" "$OUT/d1"

# --- a failure inside the store: 500 with the spec's body, no path in it;
# the path and errno go to the log.
mkdir -p "$DATA/docker/registry/v2/repositories/broken/repo"
touch "$DATA/docker/registry/v2/repositories/broken/repo/_uploads"
api POST /v2/broken/repo/blobs/uploads/
expect "a store failure is a 500 with the spec's JSON" 500 UNKNOWN
check "its body names no path" bash -c "! grep -q '/' '$OUT/last-body'"
check "the log has what failed, with the path" \
	grep -q "error: POST /v2/broken/repo/blobs/uploads/: mkdir .*_uploads.*: Not a directory" "$S/log/berth.log"

# A disk error is never "unknown": a link file replaced by a directory
# (reading it fails with EISDIR) answers 500, logged, not 404.
L1=$DATA/docker/registry/v2/repositories/lib/one/_layers/sha256/${D1:7}/link
rm "$L1" && mkdir "$L1"
api GET "/v2/lib/one/blobs/$D1"
expect "a blob whose link cannot be read is a 500, not BLOB_UNKNOWN" 500 UNKNOWN
api HEAD "/v2/lib/one/blobs/$D1" -I
eq "HEAD of it is a 500 too" "$STATUS" 500
check "the log names the link and the error" \
	grep -q "error: GET /v2/lib/one/blobs/$D1: .*_layers/sha256/${D1:7}/link.*Is a directory" "$S/log/berth.log"
R1=$DATA/docker/registry/v2/repositories/lib/img/_manifests/revisions/sha256/${DM1:7}/link
rm "$R1" && mkdir "$R1"
api GET "/v2/lib/img/manifests/$DM1"
expect "a manifest whose revision link cannot be read is a 500" 500 UNKNOWN
rmdir "$L1" "$R1"
printf '%s' "$D1" > "$L1"; printf '%s' "$DM1" > "$R1"
chown --reference="$DATA/docker/registry/v2" "$L1" "$R1"
api GET "/v2/lib/one/blobs/$D1"
expect "once repaired the blob serves again" 200
