#!/usr/bin/env bash
# `hashwatch hash`: reference-format output equal to Meta's pdq-photo-hasher on the conformance
# images, JSON output with every field, stdin, and per-file errors that do not stop the rest.
set -u
hw=$1
data=$2
conf=$data/conformance/pdq
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check <description> <condition...>
    local what=$1
    shift
    if "$@"; then :; else
        echo "FAIL: $what"
        fail=1
    fi
}

# 1. Default output, line for line, against the reference for every image with quality >= 50.
n=0
while IFS=$'\t' read -r file hex quality; do
    [ "$file" = "file" ] && continue
    [ "$quality" -ge 50 ] || continue
    got=$("$hw" hash "$conf/$file")
    check "$file: '$got' != reference '$hex,$quality,...'" \
        test "$got" = "$hex,$quality,$conf/$file"
    n=$((n + 1))
done <"$conf/expected.tsv"
check "compared no rows" test "$n" -gt 30

# 2. JSON: all fields, digests equal to coreutils', variants equal to the reference's.
img=$conf/images/reg-test-input/dih/bridge-1-original.jpg
"$hw" hash --json "$img" >"$tmp/out.json"
check "json exit status" test $? -eq 0
check "json md5" test "$(jq -r .md5 "$tmp/out.json")" = "$(md5sum <"$img" | cut -d' ' -f1)"
check "json sha1" test "$(jq -r .sha1 "$tmp/out.json")" = "$(sha1sum <"$img" | cut -d' ' -f1)"
check "json sha256" test "$(jq -r .sha256 "$tmp/out.json")" = "$(sha256sum <"$img" | cut -d' ' -f1)"
row=$(grep -F "reg-test-input/dih/bridge-1-original.jpg" "$conf/dihedral.tsv")
i=2
for v in orig rot90 rot180 rot270 flipx flipy flipplus1 flipminus1; do
    want=$(echo "$row" | cut -f$i)
    check "json variant $v" test "$(jq -r ".variants.$v" "$tmp/out.json")" = "$want"
    i=$((i + 1))
done
check "json format jpeg" test "$(jq -r .format "$tmp/out.json")" = "jpeg"
dims=$(awk -F'\t' '$1 == "images/reg-test-input/dih/bridge-1-original.jpg" {print $2 "x" $3}' "$conf/expected-fullres.tsv")
check "json width x height = $dims" test "$(jq -r '"\(.width)x\(.height)"' "$tmp/out.json")" = "$dims"
exif=$conf/images/reg-test-input/exif-rotn/exif-rotn-6.jpg
check "exif orientation 6 reported" test "$("$hw" hash --json "$exif" | jq -r .flags.exif_orientation)" = 6

# 3. Standard input gives the same hash as the file.
check "stdin" test "$("$hw" hash - <"$img" | cut -d, -f1,2)" = "$("$hw" hash "$img" | cut -d, -f1,2)"

# 4. Errors: named on stderr with the reason; the other files are still hashed; exit 1.
printf 'not an image\n' >"$tmp/notes.txt"
: >"$tmp/empty.jpg"
"$hw" hash "$tmp/notes.txt" "$img" "$tmp/empty.jpg" "$tmp/missing.png" >"$tmp/o" 2>"$tmp/e"
rc=$?
check "exit status 1 when some fail (got $rc)" test $rc -eq 1
check "good file still hashed" test "$(wc -l <"$tmp/o")" -eq 1
check "non-image named" grep -q "notes.txt: .*(unsupported)" "$tmp/e"
check "empty file named" grep -q "empty.jpg: " "$tmp/e"
check "missing file named" grep -q "missing.png: " "$tmp/e"
"$hw" hash --bogus "$img" >/dev/null 2>&1
check "unknown option is a usage error" test $? -eq 2

[ $fail -eq 0 ] && echo "cli-hash: all checks passed"
exit $fail
