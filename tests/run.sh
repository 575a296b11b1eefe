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

for t in tests/integration/${TESTS:-*}.sh; do
	name=$(basename "$t" .sh)
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
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
