#!/usr/bin/env bash
# `hashwatch bench hash --libjpeg`: a real JPEG gets its timing row and libjpeg's mode row;
# a non-image and a truncated JPEG get an error naming them, no libjpeg row (those modes run
# without our limits), the others are still measured, and the exit status says one failed.
set -u
hw=$1
data=$2
jpg=$data/conformance/pdq/images/reg-test-input/dih/bridge-1-original.jpg
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
printf 'not an image at all' >"$tmp/garbage.jpg"
head -c 3000 "$jpg" >"$tmp/cut.jpg"
"$hw" bench hash --repeat 1 --libjpeg "$tmp/garbage.jpg" "$jpg" "$tmp/cut.jpg" >"$tmp/out" 2>"$tmp/err"
status=$?
cat "$tmp/out" "$tmp/err"
[ "$status" -eq 1 ] || { echo "FAIL: exit status $status, expected 1"; fail=1; }
grep -Eq "bridge-1-original.jpg +jpeg .* ratio [0-9.]+" "$tmp/out" ||
    { echo "FAIL: no timing row for the good JPEG"; fail=1; }
grep -Eq "bridge-1-original.jpg +libjpeg cpu min: full [0-9.]+ ms \(1.00\), scale 1/8 [0-9.]+ ms \(0\.[0-9]+\)" "$tmp/out" ||
    { echo "FAIL: no libjpeg modes row for the good JPEG"; fail=1; }
for f in garbage cut; do
    grep -q "$f.jpg" "$tmp/err" || { echo "FAIL: no error naming $f.jpg"; fail=1; }
    grep -q "$f.jpg" "$tmp/out" && { echo "FAIL: $f.jpg was measured"; fail=1; }
done
[ $fail -eq 0 ] && echo ok
exit $fail
