#!/usr/bin/env bash
# Content discovery: the catalog (pages, Link, maxentries, names that are
# prefixes of others, repositories emptied by deletes) and the referrers API
# (subject, artifactType filter, OCI-Filters-Applied, deletes).
source "$(dirname "$0")/../lib.sh"
set -u
printf 'version: 0.1\nstorage:\n  delete:\n    enabled: true\ncatalog:\n  maxentries: 5\nauth:\n  htpasswd:\n    realm: r\n    path: %s\n' \
	"$TOP/var/stack-15119/htpasswd" > "$OUT/cfg.yml"
start_stack 15119 "$OUT/cfg.yml" || { not_ok "stack starts"; exit 1; }
OCI=application/vnd.oci.image.manifest.v1+json
printf '{}' > "$OUT/empty"
DE=sha256:$(sha "$OUT/empty")
manifest() { # manifest EXTRA -> file with an image manifest
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[]%s}' \
		"$OCI" "$DE" "$1"
}
put() { # put REPO TAG [EXTRA]
	push_blob "$1" "$OUT/empty" >/dev/null
	manifest "${3:-}" > "$OUT/m"
	api PUT "/v2/$1/manifests/$2" -H "Content-Type: $OCI" --data-binary "@$OUT/m"
}

api GET /v2/_catalog
eq "empty catalog" "$BODY" '{"repositories":[]}'
for r in b a/b a a-b a/b/c c d; do put "$r" v1; done
push_blob blobs/only "$OUT/empty" >/dev/null
api GET /v2/_catalog?n=5
expect "catalog" 200
eq "first page in lexical order, prefixes neither skipped nor repeated" "$BODY" '{"repositories":["a","a-b","a/b","a/b/c","b"]}'
eq "Link to the next page" "$(hdr Link)" '</v2/_catalog?n=5&last=b>; rel="next"'
api GET '/v2/_catalog?n=5&last=b'
eq "second page" "$BODY" '{"repositories":["c","d"]}'
eq "no Link after the last page" "$(hdr Link)" ""
api GET /v2/_catalog
eq "without n: catalog.maxentries (5)" "$(printf '%s' "$BODY" | jq '.repositories | length')" 5
check "...with a Link" test -n "$(hdr Link)"
api GET '/v2/_catalog?n=6'
expect "n above catalog.maxentries" 400 PAGINATION_NUMBER_INVALID
api GET '/v2/_catalog?n=-1'
expect "negative n" 400 PAGINATION_NUMBER_INVALID
api GET '/v2/_catalog?n=99999999999999999999'
expect "huge n" 400 PAGINATION_NUMBER_INVALID
api GET '/v2/_catalog?n=abc'
expect "n not a number" 400 PAGINATION_NUMBER_INVALID
api GET '/v2/_catalog?n=2&last=a%2Fb'
eq "last is percent-decoded" "$BODY" '{"repositories":["a/b/c","b"]}'

# A repository emptied by deletes leaves the catalog; a tag delete alone
# does not empty it.
api GET /v2/d/manifests/v1 -H "Accept: $OCI"
MD=$(hdr Docker-Content-Digest)
api DELETE /v2/d/manifests/v1
api GET '/v2/_catalog?last=c'
eq "untagged but with its manifest: still listed" "$BODY" '{"repositories":["d"]}'
api DELETE "/v2/d/manifests/$MD"
api GET '/v2/_catalog?last=c'
eq "no tag and no manifest left: not listed" "$BODY" '{"repositories":[]}'
put d v2
api GET '/v2/_catalog?last=c'
eq "pushed again: listed again" "$BODY" '{"repositories":["d"]}'

# --- referrers
put art/img v1
SUBJ=$(hdr Docker-Content-Digest)
SUBJSIZE=$(stat -c %s "$OUT/m")
api GET "/v2/art/img/referrers/$SUBJ"
expect "referrers of a manifest with none" 200
eq "an empty index" "$(printf '%s' "$BODY" | jq -c '.manifests')" "[]"
eq "referrers Content-Type" "$(hdr Content-Type)" "application/vnd.oci.image.index.v1+json"
S1=',"artifactType":"application/vnd.example.sig","subject":{"mediaType":"'$OCI'","digest":"'$SUBJ'","size":'$SUBJSIZE'},"annotations":{"org.example.signer":"ci"}'
put art/img sig "$S1"
expect "PUT a signature with a subject" 201
eq "OCI-Subject" "$(hdr OCI-Subject)" "$SUBJ"
SIG=$(hdr Docker-Content-Digest)
S2=',"subject":{"mediaType":"'$OCI'","digest":"'$SUBJ'","size":'$SUBJSIZE'}'
put art/img sbom "$S2"
SBOM=$(hdr Docker-Content-Digest)
api GET "/v2/art/img/referrers/$SUBJ"
eq "both referrers listed" "$(printf '%s' "$BODY" | jq '.manifests | length')" 2
eq "the signature's descriptor" \
	"$(printf '%s' "$BODY" | jq -c --arg d "$SIG" '.manifests[] | select(.digest==$d) | [.mediaType,.artifactType,.annotations["org.example.signer"]]')" \
	"[\"$OCI\",\"application/vnd.example.sig\",\"ci\"]"
eq "without artifactType, the config's media type" \
	"$(printf '%s' "$BODY" | jq -r --arg d "$SBOM" '.manifests[] | select(.digest==$d) | .artifactType')" \
	"application/vnd.oci.empty.v1+json"
eq "no filter header without a filter" "$(hdr OCI-Filters-Applied)" ""
api GET "/v2/art/img/referrers/$SUBJ?artifactType=application/vnd.example.sig"
eq "filtered by artifactType" "$(printf '%s' "$BODY" | jq -r '.manifests[].digest')" "$SIG"
eq "OCI-Filters-Applied" "$(hdr OCI-Filters-Applied)" "artifactType"
api GET "/v2/art/img/referrers/sha256:$(printf '4%.0s' $(seq 1 64))"
eq "an unknown digest: an empty index" "$(printf '%s' "$BODY" | jq -c '.manifests')" "[]"
api GET "/v2/art/img/referrers/sha256:nope"
expect "a bad digest" 400 DIGEST_INVALID
api GET "/v2/art/other/referrers/$SUBJ"
eq "referrers are per repository" "$(printf '%s' "$BODY" | jq -c '.manifests')" "[]"
S3=',"artifactType":"application/x","subject":{"mediaType":"'$OCI'","digest":"sha256:'$(printf '5%.0s' $(seq 1 64))'","size":9}'
put art/img dangling "$S3"
expect "a subject that does not exist is accepted" 201
api DELETE "/v2/art/img/manifests/$SIG"
api GET "/v2/art/img/referrers/$SUBJ"
eq "a deleted referrer leaves the index" "$(printf '%s' "$BODY" | jq -r '.manifests[].digest')" "$SBOM"
