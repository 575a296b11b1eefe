#!/usr/bin/env bash
# The policy section as a CI pipeline meets it: an immutable release tag
# is pushed, re-pushed identically (a retry), refused when it would move
# or go, by skopeo and by hand; a mutable tag beside it moves as always;
# one PUT by digest applies several tags and answers them in OCI-Tag.
# Retention: 20 build tags, berth gc --retention --dry-run then for real,
# exactly the tags outside the rules go and every kept image pulls the
# same; the supervisor of a second host applies it on its interval.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/images.sh"
set -u
P=15126
{ stack_config_yaml $P; cat <<'YML'; } > "$OUT/cfg.yml"
policy:
  immutable:
    - repositories: "prod/**"
      tags: ["v*", "release-*"]
  retention:
    rules:
      - repositories: "ci/**"
        keepnewest: 5
        keeptags: [latest, "release-*"]
        untaggedolderthan: 48h
      - repositories: "prod/**"
        keepnewest: 1
  quota:
    - repositories: "team-a/**"
      limit: 100000
YML
start_stack $P "$OUT/cfg.yml" || { not_ok "stack starts"; exit 1; }
make_images >"$OUT/images.log" 2>&1 || { not_ok "test images build"; cat "$OUT/images.log"; exit 1; }
sk() { skopeo --insecure-policy "$@" >>"$OUT/skopeo.log" 2>&1; }
TO=(--dest-cert-dir "$S/ca" --dest-creds "$CRED")
FROM=(--src-cert-dir "$S/ca" --src-creds "$CRED")
H=localhost:$P
OCI=application/vnd.oci.image.manifest.v1+json
raw_sha() { skopeo inspect --raw "$@" 2>>"$OUT/skopeo.log" | sha256sum | cut -d' ' -f1; }

check "skopeo pushes prod/app:v1" sk copy "${TO[@]}" "oci:$IMG:bb" "docker://$H/prod/app:v1"
check "the identical push again succeeds (a CI retry)" \
	sk copy "${TO[@]}" "oci:$IMG:bb" "docker://$H/prod/app:v1"
: > "$OUT/skopeo.log"
check "skopeo pushing another image as prod/app:v1 fails" \
	bash -c "! skopeo --insecure-policy copy --dest-cert-dir '$S/ca' --dest-creds '$CRED' 'oci:$IMG:arm' docker://$H/prod/app:v1 >'$OUT/move.log' 2>&1"
check "...and says why, naming the rule" \
	grep -q 'immutable under policy.immutable rule 1 (repositories prod/\*\*; tags v\*, release-\*)' "$OUT/move.log"
eq "prod/app:v1 still is the first image" \
	"$(raw_sha --cert-dir "$S/ca" --creds "$CRED" "docker://$H/prod/app:v1")" "$(raw_sha "oci:$IMG:bb")"

api GET /v2/prod/app/manifests/v1 -H "Accept: $OCI"
cp "$OUT/last-body" "$OUT/v1.json"
D1=$(hdr Docker-Content-Digest)
api PUT /v2/prod/app/manifests/v1 -H "Content-Type: $OCI" --data-binary "@$OUT/v1.json"
expect "re-PUT of the identical manifest: 201" 201
# Another manifest: the arm image's, pushed under a mutable tag first.
check "skopeo pushes the other image as prod/app:latest" \
	sk copy "${TO[@]}" "oci:$IMG:arm" "docker://$H/prod/app:latest"
api GET /v2/prod/app/manifests/latest -H "Accept: $OCI"
cp "$OUT/last-body" "$OUT/arm.json"
D2=$(hdr Docker-Content-Digest)
api PUT /v2/prod/app/manifests/v1 -H "Content-Type: $OCI" --data-binary "@$OUT/arm.json"
expect "PUT moving v1 to another manifest: 403 DENIED" 403 DENIED
check "...the message names the tag, the rule and what the tag names" \
	bash -c "printf '%s' '$BODY' | jq -r '.errors[0].message' | grep -q 'tag v1 of prod/app is immutable under policy.immutable rule 1 .*: it names $D1'"
api PUT /v2/prod/app/manifests/release-1 -H "Content-Type: $OCI" --data-binary "@$OUT/arm.json"
expect "a new immutable tag is created" 201
api PUT /v2/prod/app/manifests/latest -H "Content-Type: $OCI" --data-binary "@$OUT/v1.json"
expect "the mutable tag latest moves" 201
api DELETE /v2/prod/app/manifests/v1
expect "DELETE of the immutable tag: 403 DENIED" 403 DENIED
api DELETE "/v2/prod/app/manifests/$D1"
expect "DELETE by digest of a manifest an immutable tag names: 403 DENIED" 403 DENIED
check "...naming that tag" bash -c "printf '%s' '$BODY' | grep -q 'tag v1 of prod/app'"
api GET /v2/prod/app/tags/list
eq "every tag is still there" "$BODY" '{"name":"prod/app","tags":["latest","release-1","v1"]}'
api DELETE /v2/prod/app/manifests/latest
expect "DELETE of the mutable tag: 202" 202
check "outside the rule's repositories a v tag moves: dev/app:v1 pushed" \
	sk copy "${TO[@]}" "oci:$IMG:bb" "docker://$H/dev/app:v1"
check "...and pushed again as another image" sk copy "${TO[@]}" "oci:$IMG:arm" "docker://$H/dev/app:v1"

# Several tags in one PUT by digest.
api PUT "/v2/prod/app/manifests/$D2?tag=build-7&tag=v2&tag=build-7" \
	-H "Content-Type: $OCI" --data-binary "@$OUT/arm.json"
expect "PUT by digest with two tag parameters: 201" 201
# One header line each; Apache joins lines of one name with ", ", which
# HTTP defines as the same list.
eq "...answers one OCI-Tag per tag applied" \
	"$(grep -i '^OCI-Tag:' "$HDRS" | cut -d' ' -f2- | tr -d '\r' | tr '\n' ',' | sed 's/, */,/g')" "build-7,v2,"
eq "...and its digest" "$(hdr Docker-Content-Digest)" "$D2"
api GET /v2/prod/app/tags/list
eq "both tags exist" "$BODY" '{"name":"prod/app","tags":["build-7","release-1","v1","v2"]}'
api PUT "/v2/prod/app/manifests/$D1?tag=build-8&tag=v2" -H "Content-Type: $OCI" --data-binary "@$OUT/v1.json"
expect "one immutable tag of the set naming another manifest refuses the PUT" 403 DENIED
api GET /v2/prod/app/manifests/build-8 -H "Accept: $OCI"
expect "...before any tag of it is applied" 404 MANIFEST_UNKNOWN
api PUT "/v2/prod/app/manifests/v1?tag=v3" -H "Content-Type: $OCI" --data-binary "@$OUT/v1.json"
expect "tag parameters with a tag reference: 400 TAG_INVALID" 400 TAG_INVALID
api PUT "/v2/prod/app/manifests/$D1?tag=-x" -H "Content-Type: $OCI" --data-binary "@$OUT/v1.json"
expect "an invalid tag parameter: 400 TAG_INVALID" 400 TAG_INVALID
api PUT "/v2/prod/app/manifests/$D1?tag=%zz" -H "Content-Type: $OCI" --data-binary "@$OUT/v1.json"
expect "a malformed tag parameter: 400 TAG_INVALID" 400 TAG_INVALID

rm -rf "$OUT/back"
check "skopeo pulls prod/app:v2" sk copy "${FROM[@]}" "docker://$H/prod/app:v2" "oci:$OUT/back:v2"
eq "...with the pushed digest" "$(raw_sha "oci:$OUT/back:v2")" "$(raw_sha "oci:$IMG:arm")"
check "berth fsck finds the store clean" bash -c "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY='$DATA' \
	'${BERTH_CLI:-$TOP/build/berth}' -c '$OUT/cfg.yml' fsck >'$OUT/fsck.log' 2>&1"

# ---- retention ----
CLI=${BERTH_CLI:-$TOP/build/berth}
berth() { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$DATA "$CLI" -c "$OUT/cfg.yml" "$@"; }
R=$DATA/docker/registry/v2/repositories
declare -A DIG
for i in $(seq -w 1 20); do
	printf '{"build":"%s"}' "$i" > "$OUT/bcfg"
	dc=$(push_blob ci/app "$OUT/bcfg")
	printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[]}' \
		"$OCI" "$dc" "$(stat -c %s "$OUT/bcfg")" > "$OUT/bm-$i"
	api PUT "/v2/ci/app/manifests/build-$i" -H "Content-Type: $OCI" --data-binary "@$OUT/bm-$i"
	[ "$STATUS" = 201 ] || not_ok "push of build-$i ($STATUS $BODY)"
	DIG[build-$i]=sha256:$(sha "$OUT/bm-$i")
	# Pushed 21-i days ago, as a CI run a day would have; the manifest too.
	touch -d "-$((21 - 10#$i)) days" "$R/ci/app/_manifests/tags/build-$i/current/link" \
		"$R/ci/app/_manifests/revisions/sha256/${DIG[build-$i]#sha256:}/link"
done
api PUT "/v2/ci/app/manifests/latest" -H "Content-Type: $OCI" --data-binary "@$OUT/bm-20"
api PUT "/v2/ci/app/manifests/release-1" -H "Content-Type: $OCI" --data-binary "@$OUT/bm-03"
touch -d "-30 days" "$R/ci/app/_manifests/tags/latest/current/link" "$R/ci/app/_manifests/tags/release-1/current/link"
DIG[latest]=${DIG[build-20]}; DIG[release-1]=${DIG[build-03]}
api GET /v2/ci/app/tags/list
eq "22 tags pushed" "$(printf '%s' "$BODY" | jq '.tags | length')" 22

berth gc --retention --dry-run > "$OUT/ret-dry.out" 2>&1
eq "berth gc --retention --dry-run succeeds" "$?" 0
eq "...lists exactly the 15 builds outside the newest 5" \
	"$(grep -o 'would remove tag ci/app:[^ ]*' "$OUT/ret-dry.out" | sed 's/.*://' | sort | tr '\n' ' ')" \
	"build-01 build-02 build-03 build-04 build-05 build-06 build-07 build-08 build-09 build-10 build-11 build-12 build-13 build-14 build-15 "
check "...each with its digest, push time and reason" \
	grep -q "would remove tag ci/app:build-01 ${DIG[build-01]} pushed 20[0-9-]*T[0-9:]*Z: beyond the newest 5 (policy.retention rule 1)" "$OUT/ret-dry.out"
check "...and the manifests that would then be untagged for 48h" \
	grep -q "would remove manifest ci/app@${DIG[build-01]}" "$OUT/ret-dry.out"
check "...but not build-03's, which release-1 still names" \
	bash -c "! grep -q 'manifest ci/app@${DIG[build-03]}' '$OUT/ret-dry.out'"
check "...nor prod's immutable tags (the prod rule keeps the newest 1 of the rest)" \
	bash -c "! grep -qE 'tag prod/app:(v1|v2|release-1) ' '$OUT/ret-dry.out'"
check "...the summary counts the tags" grep -q "gc (dry run): would remove 1[5-9] tags, " "$OUT/ret-dry.out"
api GET /v2/ci/app/tags/list
eq "the dry run changed nothing" "$(printf '%s' "$BODY" | jq '.tags | length')" 22

berth gc --retention > "$OUT/ret.out" 2>&1
eq "berth gc --retention succeeds" "$?" 0
api GET /v2/ci/app/tags/list
eq "exactly the tags the rules keep are left" "$BODY" \
	'{"name":"ci/app","tags":["build-16","build-17","build-18","build-19","build-20","latest","release-1"]}'
ok_pull=1
for t in build-16 build-17 build-18 build-19 build-20 latest release-1; do
	api GET "/v2/ci/app/manifests/$t" -H "Accept: $OCI"
	[ "$STATUS" = 200 ] && [ "$(hdr Docker-Content-Digest)" = "${DIG[$t]}" ] || ok_pull=0
	cd_=$(jq -r .config.digest "$OUT/last-body")
	api GET "/v2/ci/app/blobs/$cd_"
	[ "$STATUS" = 200 ] || ok_pull=0
done
eq "every kept tag pulls with its pushed digest, config and all" "$ok_pull" 1
api GET "/v2/ci/app/manifests/${DIG[build-01]}" -H "Accept: $OCI"
expect "an untagged old build is gone by digest too" 404 MANIFEST_UNKNOWN
api GET "/v2/ci/app/manifests/${DIG[build-03]}" -H "Accept: $OCI"
expect "build-03's manifest stays: release-1 names it" 200
api GET /v2/prod/app/tags/list
check "prod keeps its immutable tags" bash -c "printf '%s' '$BODY' | jq -e '.tags | index(\"v1\") and index(\"v2\") and index(\"release-1\")' >/dev/null"
rm -rf "$OUT/back3"
check "skopeo pulls ci/app:release-1 after retention" sk copy "${FROM[@]}" "docker://$H/ci/app:release-1" "oci:$OUT/back3:r"
check "berth fsck is clean after retention" berth fsck
berth gc --retention > "$OUT/ret2.out" 2>&1
check "a second run removes no tag" grep -q "gc: removed 0 tags, " "$OUT/ret2.out"

# A second host's supervisor applies the rules on policy.retention.interval.
touch -d "-41 days" "$R/ci/app/_manifests/tags/build-16/current/link"
touch -d "-40 days" "$R/ci/app/_manifests/tags/build-17/current/link"
printf '{"build":"21"}' > "$OUT/bcfg"
dc=$(push_blob ci/app "$OUT/bcfg")
printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[]}' \
	"$OCI" "$dc" "$(stat -c %s "$OUT/bcfg")" > "$OUT/bm-21"
api PUT "/v2/ci/app/manifests/build-21" -H "Content-Type: $OCI" --data-binary "@$OUT/bm-21"
touch -d "-2 hours" "$R/ci/app/_manifests/tags/build-21/current/link"
{ sed 's/^  retention:$/  retention:\n    interval: 1h/' "$OUT/cfg.yml" | sed "s|stack-$P/htpasswd|stack-$((P + 2))/htpasswd|"
  printf 'berth:\n  events:\n    pulls: true\n'; } > "$OUT/cfg-b.yml"
STACK_DATA=$DATA start_stack $((P + 2)) "$OUT/cfg-b.yml" || not_ok "host B starts"
for _ in $(seq 1 100); do grep -q 'retention: removed [0-9]* tags' "$S/log/berth.log" 2>/dev/null && break; sleep 0.1; done
check "host B's supervisor ran retention at start (no run recorded yet)" \
	grep -q 'retention: removed 1 tags' "$S/log/berth.log"
check "...removing build-16, the sixth newest now that build-21 came" \
	grep -q 'retention: removed tag ci/app:build-16 .*: beyond the newest 5' "$S/log/berth.log"
api GET /v2/ci/app/tags/list
eq "...leaving the newest five builds" "$BODY" \
	'{"name":"ci/app","tags":["build-17","build-18","build-19","build-20","build-21","latest","release-1"]}'
check "...and the next run is an hour away (a stamp in the store, for every host)" \
	test -f "$DATA/docker/registry/v2/_berth/retention.stamp"

# ---- the event log ----
EV=$OUT/events.out
berth events > "$EV" 2>&1
eq "berth events succeeds" "$?" 0
check "every line is an event in registry:2's envelope" \
	jq -e -s 'length > 0 and all(.id and .timestamp and .action and .target and .request and .actor)' "$EV"
evq() { jq -r -s "$1" "$EV"; }
eq "three pushes of prod/app:v1, all of the first image (skopeo twice, the identical PUT)" \
	"$(evq "[.[] | select(.action==\"push\" and .target.repository==\"prod/app\" and .target.tag==\"v1\") | .target.digest] | unique | [length, .[0]] | join(\" \")")" \
	"1 $D1"
eq "...three lines" "$(evq '[.[] | select(.action=="push" and .target.repository=="prod/app" and .target.tag=="v1")] | length')" 3
eq "the refused move left no push event of another digest" \
	"$(evq "[.[] | select(.target.tag==\"v1\" and .target.repository==\"prod/app\" and .target.digest!=\"$D1\")] | length")" 0
eq "a push event carries the request and the actor" \
	"$(evq '[.[] | select(.action=="push" and .target.tag=="release-1" and .target.repository=="prod/app")][0] | [.request.method, .actor.name, (.request.addr|length>0), .target.mediaType, (.target.size>0)] | map(tostring) | join(" ")')" \
	"PUT tester true application/vnd.oci.image.manifest.v1+json true"
eq "the multi-tag PUT: one push event per tag" \
	"$(evq "[.[] | select(.action==\"push\" and .target.digest==\"$D2\" and (.target.tag==\"build-7\" or .target.tag==\"v2\"))] | map(.target.tag) | sort | join(\" \")")" \
	"build-7 v2"
eq "DELETE of prod/app:latest: a delete event" \
	"$(evq '[.[] | select(.action=="delete" and .target.repository=="prod/app" and .target.tag=="latest")] | length')" 1
eq "...naming the manifest the tag named (v1's, which the PUT moved it to)" \
	"$(evq '[.[] | select(.action=="delete" and .target.repository=="prod/app" and .target.tag=="latest")][0].target.digest')" "$D1"
eq "refused deletes left none" \
	"$(evq '[.[] | select(.action=="delete" and .target.repository=="prod/app" and .target.tag=="v1")] | length')" 0
eq "retention: one delete event per tag it removed, by berth gc --retention" \
	"$(evq '[.[] | select(.action=="delete" and .actor.name=="berth gc --retention" and .target.tag) | .target.tag] | sort | join(" ")')" \
	"build-01 build-02 build-03 build-04 build-05 build-06 build-07 build-08 build-09 build-10 build-11 build-12 build-13 build-14 build-15"
eq "...and one per manifest gc then removed" \
	"$(evq "[.[] | select(.action==\"delete\" and .target.repository==\"ci/app\" and (.target.tag|not) and .target.digest==\"${DIG[build-01]}\")] | length")" 1
eq "the supervisor's retention run is there too" \
	"$(evq '[.[] | select(.actor.name=="berth retention") | .target.tag] | map(select(.)) | join(" ")')" "build-16"
eq "no pulls recorded by default on host A" \
	"$(evq "[.[] | select(.action==\"pull\")] | length")" 0
api GET /v2/ci/app/manifests/release-1 -H "Accept: $OCI"
berth events --since 10m > "$EV" 2>&1
eq "host B (berth.events.pulls) records a manifest GET as a pull" \
	"$(evq '[.[] | select(.action=="pull" and .target.tag=="release-1")] | length')" 1
berth events --since 2999-01-01 > "$EV" 2>&1
eq "--since in the future: nothing" "$(wc -c < "$EV")" 0
check "--since with a bad time is a usage error" bash -c "! REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY='$DATA' '$CLI' -c '$OUT/cfg.yml' events --since yesterday 2>/dev/null"
# --follow prints what comes while it runs.
NOW=$(date -u +%Y-%m-%dT%H:%M:%S)Z
timeout 6 bash -c "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY='$DATA' '$CLI' -c '$OUT/cfg.yml' events --follow --since '$NOW'" > "$EV" 2>&1 &
FPID=$!
sleep 1
api PUT /v2/ci/app/manifests/followed -H "Content-Type: $OCI" --data-binary "@$OUT/bm-21"
for _ in $(seq 1 40); do grep -q '"followed"' "$EV" && break; sleep 0.1; done
check "berth events --follow prints a push made while it runs" grep -q '"tag":"followed"' "$EV"
kill "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null
check "the event files are in the store's _berth/events, one per host name" \
	test -s "$DATA/docker/registry/v2/_berth/events/events-$(hostname | tr -c 'A-Za-z0-9.\n-' _).jsonl"

# ---- quotas (through host B, which now is $URL) ----
H=localhost:$((P + 2))
TO=(--dest-cert-dir "$S/ca" --dest-creds "$CRED")
head -c 60000 /dev/urandom > "$OUT/q1"; head -c 30000 /dev/urandom > "$OUT/q2"
head -c 20000 /dev/urandom > "$OUT/q3"
Q1=$(push_blob team-a/app "$OUT/q1")
check "team-a pushes 60000 bytes under its 100000-byte quota" test -n "$Q1"
Q2=$(push_blob team-a/lib "$OUT/q2")
check "...and 30000 more into another of its repositories" test -n "$Q2"
api POST "/v2/team-a/app/blobs/uploads/?digest=sha256:$(sha "$OUT/q3")" --data-binary "@$OUT/q3" \
	-H 'Content-Type: application/octet-stream'
expect "20000 more would pass the quota: refused at the blob commit (403 DENIED)" 403 DENIED
check "...saying the quota and the usage" bash -c "printf '%s' '$BODY' | jq -r '.errors[0].message' | \
	grep -q 'quota exceeded: policy.quota rule 1 (repositories team-a/\*\*) allows 97.7 KiB for team-a/app, 87.9 KiB is used and this blob needs 19.5 KiB more'"
api HEAD "/v2/team-a/app/blobs/sha256:$(sha "$OUT/q3")" -I
eq "...and nothing is stored" "$STATUS" 404
api POST "/v2/team-a/lib/blobs/uploads/?mount=$Q1&from=team-a/app"
expect "a blob the team has already is free: a mount within the team" 201
Q3=$(push_blob team-b/app "$OUT/q3")
check "team-b, under no quota, pushes meanwhile" test -n "$Q3"
: > "$OUT/skopeo.log"
check "skopeo pushing an image into team-a fails" \
	bash -c "! skopeo --insecure-policy copy --dest-cert-dir '$S/ca' --dest-creds '$CRED' 'oci:$IMG:bb' docker://$H/team-a/img:v1 >'$OUT/quota.log' 2>&1"
check "...and shows the reason" grep -q 'quota exceeded: policy.quota rule 1' "$OUT/quota.log"
check "skopeo pushes the same image into team-b" sk copy "${TO[@]}" "oci:$IMG:bb" "docker://$H/team-b/img:v1"
berth du > "$OUT/du.out" 2>&1
check "berth du shows team-a's usage against its quota" \
	grep -qE '^ +90[0-9]{3}  quota policy.quota rule 1 \(repositories team-a/\*\*\): 8[0-9.]+ KiB of 97.7 KiB \(9[0-9]%\)' "$OUT/du.out"
# Space given back: the blob link deleted, gc recounts, the push fits.
api DELETE "/v2/team-a/lib/blobs/$Q2"
expect "team-a deletes a blob link" 202
# A charge younger than a minute is kept by a recount (its link may be on
# its way); this one is older.
touch -d '-2 minutes' "$DATA"/docker/registry/v2/_berth/quota/*/blobs/sha256-"${Q2#sha256:}"
berth gc > "$OUT/gc-q.out" 2>&1
check "berth gc recounts the quota" grep -q 'quota usage of policy.quota rule 1 (repositories team-a/\*\*) recounted: 58.6 KiB' "$OUT/gc-q.out"
api POST "/v2/team-a/app/blobs/uploads/?digest=sha256:$(sha "$OUT/q3")" --data-binary "@$OUT/q3" \
	-H 'Content-Type: application/octet-stream'
expect "...after which the 20000 bytes fit" 201
check "berth fsck --repair recounts too, and finds the store clean" berth fsck --repair

