# Shared helpers for the integration tests (sourced). Each test prints
# "ok - ..." or "not ok - ..." lines; tests/run.sh counts them.
# Real parts only: nginx + spawn-fcgi + berth-fcgi over TLS with basic auth
# on 127.0.0.1, driven by curl and skopeo.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$TOP/tests/out/$(basename "$0" .sh)
rm -rf "$OUT"
mkdir -p "$OUT"
T_STACKS=()

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
# check NAME COMMAND...: passes when the command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
# eq NAME GOT WANT
eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want '$3')"; fi
}

# start_stack PORT [CONFIG]: a fresh stack with data in $OUT/data-PORT
# (or in $STACK_DATA).
start_stack() {
	local port=$1 cfg=${2:-}
	DATA=${STACK_DATA:-$OUT/data-$port}
	QUIET=1 bash "$TOP/nginx-conf/stack.sh" stop "$port"
	rm -rf "$TOP/var/stack-$port"
	mkdir -p "$DATA"
	PORT=$port DATA_DIR=$DATA WORKERS=${WORKERS:-3} QUIET=1 \
		REGISTRY_USER=tester REGISTRY_PASSWORD=secret-$port \
		BERTH_CONFIG=$cfg bash "$TOP/nginx-conf/stack.sh" start || return 1
	S=$TOP/var/stack-$port
	URL=https://localhost:$port
	CA=$S/ca/ca.crt
	CRED=tester:secret-$port
	T_STACKS+=("$port")
}
# The auth section of a test's config.yml: basic auth with the htpasswd
# file that stack.sh writes for the stack on PORT.
stack_auth_yaml() { # stack_auth_yaml PORT
	printf 'auth:\n  htpasswd:\n    realm: r\n    path: %s\n' "$TOP/var/stack-$1/htpasswd"
}
# The config.yml most tests start from: deletes on, basic auth with the
# stack's htpasswd; a test appends what it needs to it.
stack_config_yaml() { # stack_config_yaml PORT
	printf 'version: 0.1\nstorage:\n  delete:\n    enabled: true\n'
	stack_auth_yaml "$1"
}
stop_stacks() {
	local p log
	for p in "${T_STACKS[@]}"; do
		QUIET=1 bash "$TOP/nginx-conf/stack.sh" stop "$p"
		# A worker that died of itself (a sanitizer report, a crash)
		# fails the test; workers killed on purpose die by signal 9.
		log=$TOP/var/stack-$p/log/berth.log
		if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer|exited with [1-9]|killed by signal (6|11|7|4|8)' "$log" 2>/dev/null; then
			not_ok "workers of stack $p ran clean: $(grep -m3 -E 'runtime error|Sanitizer|exited with|killed by' "$log" | tr '\n' ' ')"
		else
			ok "workers of stack $p ran clean (no crash, no sanitizer report)"
		fi
	done
	T_STACKS=()
}
trap stop_stacks EXIT

# api METHOD PATH [curl args]: sets STATUS, BODY and HDRS (a file).
HDRS=$OUT/last-headers
api() {
	local m=$1 p=$2
	shift 2
	BODY=$(curl -sS -g -X "$m" --cacert "$CA" -u "$CRED" -D "$HDRS" \
		-o "$OUT/last-body" -w '%{http_code}' "$@" "$URL$p" 2>"$OUT/last-err"; true)
	STATUS=$BODY
	# NULs dropped: BODY is for JSON; binary bodies are compared from the file.
	BODY=$(tr -d '\0' <"$OUT/last-body" 2>/dev/null)
	[ "$m" = HEAD ] && BODY=""
	return 0
}
# The value of a response header of the last api call.
hdr() {
	grep -i "^$1:" "$HDRS" | tail -1 | cut -d' ' -f2- | tr -d '\r'
}
hdr_count() {
	grep -ci "^$1:" "$HDRS"
}
code() {
	printf '%s' "$BODY" | jq -r '.errors[0].code' 2>/dev/null
}
# expect NAME STATUS [CODE]: the last api call answered STATUS (and the
# spec error CODE).
expect() {
	local name=$1 st=$2 c=${3:-}
	if [ "$STATUS" != "$st" ]; then
		not_ok "$name (status $STATUS, want $st; body $(printf '%.200s' "$BODY"))"
	elif [ -n "$c" ] && [ "$(code)" != "$c" ]; then
		not_ok "$name (code $(code), want $c)"
	else
		ok "$name"
	fi
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# push_blob REPO FILE: monolithic upload; prints the digest.
push_blob() {
	local d
	d=sha256:$(sha "$2")
	api POST "/v2/$1/blobs/uploads/?digest=$d" --data-binary "@$2" \
		-H 'Content-Type: application/octet-stream'
	[ "$STATUS" = 201 ] || { echo "push_blob $1 failed: $STATUS $BODY" >&2; return 1; }
	echo "$d"
}
