#!/usr/bin/env bash
# `hashwatch bench store run` on a small store: it checks its index answers against brute
# force and fails on any difference ("NOT EXACT"); built with FAISS, every FAISS answer too.
# Usage: test_bench_store.sh HASHWATCH HAVE_FAISS(ON|OFF)
set -u
hw=$1
faiss=${2:-OFF}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
if ! "$hw" bench store run --store "$tmp/store" --count 30000 --queries 300 --brute-queries 30 \
    >"$tmp/out" 2>&1; then
    echo "FAIL: bench store run exited with an error"
    fail=1
fi
cat "$tmp/out"
grep -q "NOT EXACT" "$tmp/out" && { echo "FAIL: an answer differs from brute force"; fail=1; }
# Near-entry queries must find their planted neighbours (a benchmark of empty answers proves
# nothing); the index rows report matches per query.
grep -Eq "query 1 hash +near-entry index: .* [1-9][0-9.]* matches/q" "$tmp/out" ||
    { echo "FAIL: near-entry queries found nothing"; fail=1; }
if [ "$faiss" = "ON" ]; then
    n=$(grep -c "faiss IndexBinaryMultiHash 16x16 (HMA): .*each equal to brute force" "$tmp/out")
    [ "$n" -eq 2 ] || { echo "FAIL: expected 2 FAISS rows checked against brute force, got $n"; fail=1; }
fi
# The lean query path (the default above 20M entries): a sample for near-entry queries and
# the library's own scan as the brute-force side; the first queries are still checked
# against it, and near-entry queries must still find their neighbours.
if ! "$hw" bench store gen --store "$tmp/lean" --count 30000 >/dev/null 2>&1 ||
    ! "$hw" bench store query --store "$tmp/lean" --count 30000 --queries 300 --brute-queries 30 \
        --lean 1 --faiss 0 >"$tmp/lean.out" 2>&1; then
    echo "FAIL: bench store gen/query --lean 1 exited with an error"
    fail=1
fi
cat "$tmp/lean.out"
grep -q "^lean: [0-9]* sampled hashes" "$tmp/lean.out" || { echo "FAIL: not lean"; fail=1; }
grep -q "NOT EXACT" "$tmp/lean.out" && { echo "FAIL: lean: an answer differs from the scan"; fail=1; }
grep -Eq "query 1 hash +near-entry index: .* [1-9][0-9.]* matches/q" "$tmp/lean.out" ||
    { echo "FAIL: lean: near-entry queries found nothing"; fail=1; }
n=$(grep -c "brute force: median" "$tmp/lean.out")
[ "$n" -eq 4 ] || { echo "FAIL: lean: expected 4 rows with a brute-force side, got $n"; fail=1; }
[ $fail -eq 0 ] && echo ok
exit $fail
