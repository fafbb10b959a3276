#!/usr/bin/env bash
# `hashwatch lookup` and `hashwatch lists` on a real store: exact and PDQ look-ups (thresholds,
# --max-distance, variants of rotated images, --json), no-match exit status, lists set/remove.
set -u
hw=$1
data=$2
img=$data/conformance/pdq/images/reg-test-input/dih
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
store=$tmp/store
fail=0
check() { # check <description> <condition...>
    local what=$1
    shift
    if "$@"; then :; else
        echo "FAIL: $what"
        fail=1
    fi
}

orig=$("$hw" hash "$img/bridge-1-original.jpg" | cut -d, -f1)
check "hash of the original" test ${#orig} -eq 64
# The same hash with its first 10 hex digits' bits flipped... exactly 6 bits: flip 6 bits of
# the last digit pair and the one before (0x3f -> xor).
last=${orig:62:2}
near=${orig:0:62}$(printf '%02x' $((0x$last ^ 0x3f)))
printf 'pdq %s\nmd5 00112233445566778899aabbccddeeff\n' "$orig" >"$tmp/list.txt"
"$hw" import --store "$store" --list t1 --format te-lines "$tmp/list.txt" >/dev/null 2>&1
check "import" test $? -eq 0

# Exact look-ups.
out=$("$hw" lookup --store "$store" --md5 00112233445566778899aabbccddeeff)
check "md5 match printed" test "$(echo "$out" | cut -f2,5,6)" = "t1	md5	0"
out=$("$hw" lookup --store "$store" --md5 ffffffffffffffffffffffffffffffff)
rc=$?
check "no match: exit 1" test $rc -eq 1
check "no match: prints nothing" test -z "$out"
"$hw" lookup --store "$store" --md5 xyz >/dev/null 2>&1
check "bad hex: usage error" test $? -eq 2

# PDQ: distance 6 within 31; --max-distance 5 excludes it; --max-distance never raises.
out=$("$hw" lookup --store "$store" --pdq "$near")
check "pdq near match at distance 6 ($out)" test "$(echo "$out" | cut -f6,7)" = "6	orig"
out=$("$hw" lookup --store "$store" --pdq "$near" --max-distance 5)
check "--max-distance 5 excludes distance 6" test -z "$out"
"$hw" lists set t1 --threshold 4 --store "$store"
out=$("$hw" lookup --store "$store" --pdq "$near" --max-distance 100)
check "list threshold 4 is not raised by --max-distance" test -z "$out"
"$hw" lists set t1 --threshold 31 --source "unit test" --store "$store"

# Files: every rotation/mirror of the image matches through one of the query's variants.
for f in "$img"/bridge-*.jpg; do
    out=$("$hw" lookup --store "$store" "$f")
    check "$f matches" test "$(echo "$out" | cut -f2,5)" = "t1	pdq"
done
out=$("$hw" lookup --store "$store" "$img/bridge-7-flip-plus-1.jpg")
check "transpose found through the flipplus1 variant" test "$(echo "$out" | cut -f7)" = flipplus1

# JSON: one object per match, with the documented fields.
out=$("$hw" lookup --store "$store" --json --pdq "$orig")
check "json match" test "$(echo "$out" | grep -c '"list":"t1".*"type":"pdq","distance":0,"variant":"orig"')" -eq 1

# lists: table, JSON, remove.
out=$("$hw" lists --store "$store")
check "lists table shows t1 with 1 pdq" test "$(echo "$out" | awk '$1 == "t1" {print $2, $3}')" = "1 1"
out=$("$hw" lists --store "$store" --json)
check "lists json" test "$(echo "$out" | grep -c '"name":"t1","counts":{"pdq":1,"md5":1,.*"pdq_threshold":31,"source":"unit test"')" -eq 1
"$hw" lists remove t1 --store "$store"
check "remove" test $? -eq 0
"$hw" lookup --store "$store" --pdq "$orig" >/dev/null 2>&1
check "removed list no longer matches" test $? -eq 1
"$hw" lists remove t1 --store "$store" 2>/dev/null
check "removing twice fails" test $? -eq 1
"$hw" lists bogus --store "$store" 2>/dev/null
check "unknown action: usage" test $? -eq 2

[ $fail -eq 0 ] && echo ok
exit $fail
