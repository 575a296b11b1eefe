#!/usr/bin/env bash
# make bench, second part: one host against two over one GlusterFS store.
# A replica-2 volume (tests/gluster-lib.sh) mounted twice, a Berth stack
# (nginx + pool, auth off) on each mount as hosts A and B would run them,
# and the same stack on the local disk beside them. Each round measures
# aggregate push and pull throughput (32 parallel 4 MiB blobs, from one
# curl) and the HEAD rate (16 connections for SECS seconds), with every
# client on host A, then split over A and B, then on the local disk.
# On this machine the two "hosts" share two cores, so the split shows
# what a second host adds on top of the filesystem, not a second CPU.
# Medians of ROUNDS, JSON lines in tests/out/bench-hosts/results.jsonl.
# Traffic goes to 127.0.0.1 only; stops by itself.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=$TOP/tests/out/bench-hosts
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
PA=15210 PB=15211 PL=15212
source "$TOP/tests/gluster-lib.sh"
gluster_unmount_under "$OUT"
rm -rf "$OUT" && mkdir -p "$OUT"
cleanup() {
	for p in $PA $PB $PL; do QUIET=1 bash "$TOP/nginx-conf/stack.sh" stop $p || true; done
	gluster_down
}
trap cleanup EXIT
if ! gluster_up "$OUT/g" benchhosts; then
	echo "bench-hosts: no GlusterFS volume: $GLUSTER_WHY" >&2
	exit 1
fi
RES=$OUT/results.tsv
: > "$RES"
rec() { printf '%s\t%s\t%s\t%s\n' "$@" >> "$RES"; } # rec TEST SETUP ROUND VALUE

# Three stacks, auth off, one certificate (so one curl can talk to all).
stack() { # stack PORT DATA
	mkdir -p "$2"
	printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' \
		"$2" > "$OUT/cfg-$1.yml"
	rm -rf "$TOP/var/stack-$1" && mkdir -p "$TOP/var/stack-$1/tls"
	if [ -s "$OUT/cert.pem" ]; then cp "$OUT/cert.pem" "$OUT/key.pem" "$TOP/var/stack-$1/tls/"; fi
	PORT=$1 DATA_DIR=$2 QUIET=1 BERTH_CONFIG=$OUT/cfg-$1.yml bash "$TOP/nginx-conf/stack.sh" start
	[ -s "$OUT/cert.pem" ] || cp "$TOP/var/stack-$1/tls/cert.pem" "$TOP/var/stack-$1/tls/key.pem" "$OUT/"
}
stack $PA "$OUT/g/mnt-a/store"
stack $PB "$OUT/g/mnt-b/store"
stack $PL "$OUT/local"
CA=$OUT/cert.pem
UA=https://localhost:$PA UB=https://localhost:$PB UL=https://localhost:$PL
now() { date +%s.%N; }
d() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

mkdir -p "$OUT/b"
printf '{}' > "$OUT/cfg"
curl -s -o /dev/null --cacert "$CA" -X POST --data-binary "@$OUT/cfg" "$UA/v2/bench/h/blobs/uploads/?digest=$(d "$OUT/cfg")"
curl -s -o /dev/null --cacert "$CA" -X POST --data-binary "@$OUT/cfg" "$UL/v2/bench/h/blobs/uploads/?digest=$(d "$OUT/cfg")"
DC=$(d "$OUT/cfg")

urls() { # urls SETUP I: the base URL for blob I under SETUP
	case $1 in
	one) echo "$UA" ;;
	two) if [ $(($2 % 2)) = 0 ]; then echo "$UA"; else echo "$UB"; fi ;;
	local) echo "$UL" ;;
	esac
}
rate() { # rate CODE T0 T1 WHAT: MB/s of the 32 x 4 MiB when every answer was CODE, else "-"
	if [ "$(grep -c "^$1\$" "$OUT/codes")" = 32 ]; then
		awk -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", 128 * 1.048576 / (b - a) }'
	else
		echo "bench-hosts: $4: $(sort "$OUT/codes" | uniq -c | tr '\n' ' ')" >&2
		echo -
	fi
}
push32() { # push32 SETUP: 32 new 4 MiB blobs, monolithic POSTs at once; MB/s
	local s=$1 i args=() t0 t1
	for i in $(seq 32); do head -c $((4 << 20)) /dev/urandom > "$OUT/b/$s-$i"; done
	sync
	for i in $(seq 32); do
		# One option set per transfer (--next): --data-binary would
		# send every body to every URL, and -T would add the file's
		# name to a URL ending in "/".
		[ "$i" = 1 ] || args+=(--next)
		args+=(-s --cacert "$CA" -o /dev/null -w '%{http_code}\n' -X POST
			-H 'Content-Type: application/octet-stream' --data-binary "@$OUT/b/$s-$i"
			"$(urls "$s" "$i")/v2/bench/h/blobs/uploads/?digest=$(d "$OUT/b/$s-$i")")
	done
	t0=$(now)
	curl --parallel --parallel-max 32 "${args[@]}" > "$OUT/codes" 2>/dev/null
	t1=$(now)
	rate 201 "$t0" "$t1" "$s pushes"
}
pull32() { # pull32 SETUP: the 32 blobs of the push, GETs at once, each from the other host where two; MB/s
	local s=$1 i u args=() t0 t1
	for i in $(seq 32); do
		u=$(urls "$s" "$i")
		# Where two hosts share the store, pull what one host pushed
		# through the other.
		[ "$s" = two ] && u=$(urls two $((i + 1)))
		args+=(-o /dev/null "$u/v2/bench/h/blobs/$(d "$OUT/b/$s-$i")")
	done
	echo 3 > /proc/sys/vm/drop_caches 2>/dev/null
	t0=$(now)
	curl -s --parallel --parallel-max 32 --cacert "$CA" -w '%{http_code}\n' \
		"${args[@]}" > "$OUT/codes" 2>/dev/null
	t1=$(now)
	rate 200 "$t0" "$t1" "$s pulls"
	rm -f "$OUT/b/$s-"*
}
ab_rate() { # ab_rate URL CONNECTIONS: HEAD requests per second
	ab -q -i -k -c "$2" -t "$SECS" -n 10000000 "$1" 2>/dev/null |
		awk '/^Requests per second/ { print $4 }'
}
head_rate() { # head_rate SETUP: HEAD of the config blob, 16 connections in all
	local s=$1 a b
	case $s in
	one) ab_rate "$UA/v2/bench/h/blobs/$DC" 16 ;;
	local) ab_rate "$UL/v2/bench/h/blobs/$DC" 16 ;;
	two)
		ab_rate "$UA/v2/bench/h/blobs/$DC" 8 > "$OUT/ha" &
		ab_rate "$UB/v2/bench/h/blobs/$DC" 8 > "$OUT/hb" &
		wait
		a=$(cat "$OUT/ha") b=$(cat "$OUT/hb")
		awk -v a="${a:-0}" -v b="${b:-0}" 'BEGIN { printf "%.1f", a + b }' ;;
	esac
}

for r in $(seq "$ROUNDS"); do
	echo "bench-hosts: round $r of $ROUNDS" >&2
	for s in one two local; do
		rec push "$s" "$r" "$(push32 "$s")"
		rec pull "$s" "$r" "$(pull32 "$s")"
		rec head "$s" "$r" "$(head_rate "$s")"
	done
done

# Medians with their spread, and the ratios that say what a host adds.
python3 - "$RES" "$OUT/results.jsonl" <<'PY'
import json, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
vals = {}
for t, s, r, v in rows:
    if v not in ("", "-"):
        vals.setdefault((t, s), []).append(float(v))
med = {k: statistics.median(v) for k, v in vals.items()}
names = {"push": "push, 32 x 4 MiB at once (MB/s)", "pull": "pull, the same 32 (MB/s)",
         "head": "HEAD blob, 16 connections (req/s)"}
out = open(sys.argv[2], "w")
print("\nmake bench, two hosts over one GlusterFS replica-2 volume (one machine, 2 cores); medians (min-max)")
print("%-36s %22s %22s %22s %9s %9s" % ("workload", "GlusterFS, host A", "GlusterFS, A + B", "local disk, one host", "B adds", "vs local"))
for t in ("push", "pull", "head"):
    cells = []
    for s in ("one", "two", "local"):
        v = vals.get((t, s), [])
        cells.append("%.1f (%.0f-%.0f)" % (med[(t, s)], min(v), max(v)) if v else "-")
        out.write(json.dumps({"test": t, "setup": s, "median": med.get((t, s)), "runs": v}) + "\n")
    adds = med[(t, "two")] / med[(t, "one")] if (t, "two") in med and med.get((t, "one")) else None
    loc = med[(t, "one")] / med[(t, "local")] if (t, "one") in med and med.get((t, "local")) else None
    print("%-36s %22s %22s %22s %9s %9s" % (names[t], cells[0], cells[1], cells[2],
          "%.2fx" % adds if adds else "-", "%.2f" % loc if loc else "-"))
print("(B adds: A + B over host A alone; vs local: host A on GlusterFS over the same stack on the local disk)")
print("JSON lines: %s" % sys.argv[2])
PY
