#!/usr/bin/env bash
# The access section: users and groups get exactly 401 / 403 / 2xx for
# pull, push and delete; the catalog shows each user only what they may
# pull; a mount from a repository the user may not pull is a plain upload
# session; forged identity headers change nothing. Behind nginx also with
# the web server's auth taken out (Berth checking alone), which is where
# anonymous requests reach Berth.
source "$(dirname "$0")/../lib.sh"
set -u
P=15140
{ stack_config_yaml $P; cat <<'YML'; } > "$OUT/cfg.yml"
access:
  groups:
    devs: [alice, bob]
  repositories:
    - match: "team-a/**"
      pull: ["@devs", "ci"]
      push: ["alice"]
      delete: ["alice"]
    - match: "public/**"
      pull: ["*", "anonymous"]
      push: ["tester"]
    - match: "**"
      pull: ["tester"]
      push: ["tester"]
YML
start_stack $P "$OUT/cfg.yml" || { not_ok "stack starts"; exit 1; }
CLI=${BERTH_CLI:-$TOP/build/berth}
# Users added while the registry runs can log in at once.
mode_before=$(stat -c '%U:%G %a' "$S/htpasswd")
for u in alice bob ci carol; do
	printf 'pw-%s\n' "$u" | "$CLI" user add -f "$S/htpasswd" "$u" > "$OUT/user-$u.out"
done
check "berth user add names what it did" grep -q "added carol" "$OUT/user-carol.out"
check "berth user list shows the users and their format" \
	bash -c "'$CLI' user list -f '$S/htpasswd' | grep -qx 'carol	bcrypt'"
eq "the file keeps its owner and mode" "$(stat -c '%U:%G %a' "$S/htpasswd")" "$mode_before"
OCI=application/vnd.oci.image.manifest.v1+json
as() { # as USER METHOD PATH [curl args]: like api, as another user ("-" anonymous)
	local u=$1 m=$2 p=$3 auth
	shift 3
	if [ "$u" = - ]; then auth=(); else auth=(-u "$u:pw-$u"); fi
	[ "$u" = tester ] && auth=(-u "$CRED")
	BODY=$(curl -sS -g -X "$m" --cacert "$CA" "${auth[@]}" -D "$HDRS" -o "$OUT/last-body" \
		-w '%{http_code}' "$@" "$URL$p" 2>"$OUT/last-err"; true)
	STATUS=$BODY
	BODY=$(tr -d '\0' <"$OUT/last-body" 2>/dev/null)
	[ "$m" = HEAD ] && BODY=""
	return 0
}
printf '{}' > "$OUT/cfg"; head -c 5000 /dev/urandom > "$OUT/layer"
DC=sha256:$(sha "$OUT/cfg"); DL=sha256:$(sha "$OUT/layer")
printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":5000}]}' \
	"$OCI" "$DC" "$DL" > "$OUT/m"
push() { # push USER REPO: blobs and the manifest as v1; STATUS of the manifest PUT
	as "$1" POST "/v2/$2/blobs/uploads/?digest=$DC" --data-binary "@$OUT/cfg"
	[ "$STATUS" = 201 ] || return 0
	as "$1" POST "/v2/$2/blobs/uploads/?digest=$DL" --data-binary "@$OUT/layer"
	[ "$STATUS" = 201 ] || return 0
	as "$1" PUT "/v2/$2/manifests/v1" -H "Content-Type: $OCI" --data-binary "@$OUT/m"
}

push alice team-a/app
expect "alice pushes to team-a (push)" 201
push bob team-a/app
expect "bob may only pull team-a: a push is 403 DENIED" 403 DENIED
as bob GET /v2/team-a/app/manifests/v1 -H "Accept: $OCI"
expect "bob pulls team-a through the devs group" 200
as ci HEAD "/v2/team-a/app/blobs/$DL" -I
eq "ci pulls team-a by name" "$STATUS" 200
as ci DELETE /v2/team-a/app/manifests/v1
expect "ci may not delete" 403 DENIED
as carol GET /v2/team-a/app/manifests/v1 -H "Accept: $OCI"
expect "carol is in no entry of team-a: 403" 403 DENIED
as carol GET /v2/team-a/app/tags/list
expect "...nor its tags" 403 DENIED
as carol GET "/v2/team-a/app/referrers/$DL"
expect "...nor its referrers" 403 DENIED
push tester public/x
expect "tester pushes to public" 201
as carol GET /v2/public/x/manifests/v1 -H "Accept: $OCI"
expect "any authenticated user pulls public (*)" 200
push carol public/y
expect "...but may not push there" 403 DENIED
as carol GET /v2/
expect "GET /v2/ answers any authenticated user" 200
as carol GET /v2/elsewhere/tags/list
expect "a repository only the catch-all entry names: closed to carol" 403 DENIED
as alice DELETE /v2/team-a/app/manifests/v1
expect "alice deletes in team-a (delete)" 202
push alice team-a/app >/dev/null

as carol GET /v2/_catalog
eq "carol's catalog: only what she may pull" "$BODY" '{"repositories":["public/x"]}'
as bob GET /v2/_catalog
eq "bob's catalog" "$BODY" '{"repositories":["public/x","team-a/app"]}'
as tester GET /v2/_catalog
eq "tester's catalog leaves team-a out (the first entry decides)" "$BODY" '{"repositories":["public/x"]}'
as bob GET "/v2/_catalog?n=1"
eq "a page of one for bob" "$BODY" '{"repositories":["public/x"]}'
check "...with a Link to the next" grep -qi '^Link: </v2/_catalog?n=1&last=public/x>' "$HDRS"
as bob GET "/v2/_catalog?n=1&last=public/x"
eq "...which holds the rest" "$BODY" '{"repositories":["team-a/app"]}'

as tester POST "/v2/other/z/blobs/uploads/?mount=$DL&from=team-a/app"
expect "a mount from a repository tester may not pull is a plain session" 202
as tester HEAD "/v2/other/z/blobs/$DL" -I
eq "...and reveals nothing" "$STATUS" 404
as alice POST "/v2/team-a/two/blobs/uploads/?mount=$DL&from=team-a/app"
expect "a mount where the user may pull both is a mount" 201

as carol GET /v2/team-a/app/manifests/v1 -H "Accept: $OCI" -H 'X-Forwarded-User: alice' \
	-H 'Remote-User: alice' -H 'X-Remote-User: alice'
expect "forged identity headers change nothing" 403 DENIED

if [ "${SERVER:-nginx}" = nginx ]; then
	# Berth checking alone: nginx's auth_basic out of the site.
	sed -i '/auth_basic/d' "$S/site.conf"
	nginx -c "$S/nginx.conf" -p "$S" -s reload 2>/dev/null
	sleep 1
	as - GET /v2/public/x/manifests/v1 -H "Accept: $OCI"
	expect "anonymous pulls public (anonymous)" 200
	as - GET /v2/
	expect "GET /v2/ answers anonymous requests when some entry grants anonymous" 200
	as - GET /v2/team-a/app/manifests/v1 -H "Accept: $OCI"
	expect "anonymous on team-a: 401, asked for credentials" 401 UNAUTHORIZED
	check "...with WWW-Authenticate" grep -qi '^WWW-Authenticate: Basic realm="r"' "$HDRS"
	check "...and the API version header" grep -qi '^Docker-Distribution-Api-Version: registry/2.0' "$HDRS"
	as - GET /v2/team-a/app/manifests/v1 -H "Accept: $OCI" -H 'X-Forwarded-User: alice' \
		-H 'Remote-User: alice'
	expect "forged headers on an anonymous request change nothing" 401 UNAUTHORIZED
	push - public/z
	expect "anonymous may not push public" 401 UNAUTHORIZED
	as - GET /v2/_catalog
	eq "the anonymous catalog" "$BODY" '{"repositories":["public/x"]}'
	BODY=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$CA" -u alice:wrong "$URL/v2/public/x/tags/list")
	eq "a wrong password is 401, even where anonymous may pull" "$BODY" 401
	as bob GET /v2/team-a/app/manifests/v1 -H "Accept: $OCI"
	expect "bob still pulls team-a, checked by Berth alone" 200
fi

# A password changed and a user removed are honoured at the next request.
printf 'pw2-carol\n' | "$CLI" user passwd -f "$S/htpasswd" carol >/dev/null
st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u carol:pw-carol "$URL/v2/public/x/tags/list")
eq "carol's old password is refused after berth user passwd" "$st" 401
st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u carol:pw2-carol "$URL/v2/public/x/tags/list")
eq "...and the new one accepted" "$st" 200
"$CLI" user del -f "$S/htpasswd" carol >/dev/null
st=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" -u carol:pw2-carol "$URL/v2/public/x/tags/list")
eq "a user removed with berth user del is refused at once" "$st" 401
