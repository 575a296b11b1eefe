#!/usr/bin/env bash
# make test: unit tests of core/, then every integration test in
# tests/integration/ (each with its own nginx + spawn-fcgi stacks).
# Ends with "N passed, N failed" and fails when anything failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
pass=0
fail=0
mkdir -p tests/out

count() { # count FILE: adds its ok / not ok lines to the totals
	local p f
	p=$(grep -c '^ok ' "$1")
	f=$(grep -c '^not ok ' "$1")
	pass=$((pass + p))
	fail=$((fail + f))
}

echo "== unit"
build/test-unit > tests/out/unit.log 2>&1
rc=$?
cat tests/out/unit.log
p=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' tests/out/unit.log)
f=$(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' tests/out/unit.log)
pass=$((pass + ${p:-0}))
fail=$((fail + ${f:-0}))
[ $rc -ne 0 ] && [ "${f:-0}" = 0 ] && fail=$((fail + 1))

if [ -z "${TESTS:-}" ]; then
	echo "== unit (ASan/UBSan)"
	ASAN_OPTIONS=detect_leaks=1 build/asan/test-unit > tests/out/unit-asan.log 2>&1
	rc=$?
	tail -1 tests/out/unit-asan.log
	if [ $rc -eq 0 ]; then
		echo "ok - unit tests under ASan/UBSan, no leaks"; pass=$((pass + 1))
	else
		echo "not ok - unit tests under ASan/UBSan"; tail -30 tests/out/unit-asan.log; fail=$((fail + 1))
	fi
	echo "== fuzz (${FUZZ_SECONDS:-8}s per target; make fuzz runs longer)"
	for f in build/fuzz/*; do
		[ -x "$f" ] && [ -f "$f" ] || continue
		t=$(basename "$f")
		mkdir -p "tests/out/fuzz-$t"
		if "$f" -max_total_time="${FUZZ_SECONDS:-8}" -max_len=65536 \
			-artifact_prefix="tests/out/fuzz-$t-" "tests/out/fuzz-$t" \
			"tests/fuzz/corpus/$t" > "tests/out/fuzz-$t.log" 2>&1; then
			echo "ok - fuzz $t: $(tail -1 "tests/out/fuzz-$t.log")"; pass=$((pass + 1))
		else
			echo "not ok - fuzz $t"; tail -30 "tests/out/fuzz-$t.log"; fail=$((fail + 1))
		fi
	done
fi

run_one() { # run_one NAME SCRIPT: one integration test, counted
	local name=$1 t=$2 start rc
	echo "== $name"
	start=$(date +%s)
	timeout 600 bash "$t" > "tests/out/$name.log" 2>&1
	rc=$?
	grep -E '^(ok|not ok) ' "tests/out/$name.log"
	count "tests/out/$name.log"
	if [ $rc -ne 0 ]; then
		echo "not ok - $name exited with $rc; its log:"
		tail -20 "tests/out/$name.log"
		fail=$((fail + 1))
	fi
	echo "   ($(( $(date +%s) - start ))s)"
}

for t in tests/integration/${TESTS:-*}.sh; do
	run_one "$(basename "$t" .sh)" "$t"
done

# The same suite behind Apache + mod_fcgid (SERVER=apache), except what is
# about spawn-fcgi's pool (crash, service: Berth's own supervisor; service
# runs its Apache part itself) or not about the web server at all (oracle:
# registry:2 interchange, package: installing, gluster: the filesystem).
for t in tests/integration/${TESTS:-*}.sh; do
	name=$(basename "$t" .sh)
	case "$name" in crash|oracle|compose|joxit|package|service|gluster) continue ;; esac
	SERVER=apache run_one "$name-apache" "$t"
done

# The same requests against ASan/UBSan workers: a report kills the worker
# (halt on error), which lands in the stack's log, which each test checks
# when it stops its stacks (tests/lib.sh).
if [ -z "${TESTS:-}" ]; then
	for t in api skopeo crash discovery gc faults; do
		BERTH_BIN=$top/build/asan/berth-fcgi BERTH_CLI=$top/build/asan/berth \
		ASAN_OPTIONS=detect_leaks=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			run_one "$t-asan" "tests/integration/$t.sh"
	done
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
