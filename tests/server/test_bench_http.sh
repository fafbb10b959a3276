#!/usr/bin/env bash
# `hashwatch bench http` against a real hashwatchd on a one-entry store: its counts must be
# right, or its throughput figures mean nothing. Known hashes must all match, random ones
# never; the image that is on the list matches on every /v1/check; a wrong key gives only
# 401s, without transport errors; the client-thread split is honoured.
# Usage: test_bench_http.sh BIN_DIR DATA_DIR
set -u
bin=$1
data=$2
img=$data/conformance/pdq/images/bridge-mods/shrink-a-little.jpg
tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
pdq=$("$bin/hashwatch" hash "$img" | cut -d, -f1)
[ ${#pdq} -eq 64 ] || { echo "FAIL: cannot hash $img"; exit 1; }
printf 'pdq %s\n' "$pdq" >"$tmp/list.txt"
"$bin/hashwatch" import --store "$tmp/store" --list t --format te-lines "$tmp/list.txt" >/dev/null ||
    { echo "FAIL: import"; exit 1; }
key=$("$bin/hashwatch" keys create --store "$tmp/store" --role check --name b | head -n 1)
"$bin/hashwatchd" --store "$tmp/store" --listen 127.0.0.1:0 --log /dev/null >"$tmp/srv" 2>&1 &
pid=$!
for _ in $(seq 300); do grep -q "listening on" "$tmp/srv" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\) .*/\1/p' "$tmp/srv")
[ -n "$port" ] || { cat "$tmp/srv"; echo "FAIL: hashwatchd did not start"; exit 1; }
url=http://127.0.0.1:$port

# run NAME ARGS...: bench into $tmp/NAME, echoed; fails the test when bench fails
run() {
    local name=$1
    shift
    "$bin/hashwatch" bench http --url "$url" --duration 1 "$@" >"$tmp/$name" 2>&1 ||
        { echo "FAIL: $name: bench http exited with an error"; fail=1; }
    echo "== $name"
    cat "$tmp/$name"
}
# field NAME REGEX: the first number after REGEX in $tmp/NAME
field() { sed -n "s/.*$2 *\([0-9][0-9]*\).*/\1/p" "$tmp/$1" | head -n 1; }
# expect NAME WHAT GOT WANT: fails the test unless GOT (a field of NAME's output) is WANT
expect() {
    local name=$1 what=$2 got=$3 want=$4
    [ -n "$got" ] && [ "$got" = "$want" ] || { echo "FAIL: $name: $what is '$got', expected '$want'"; fail=1; }
}

run known --key "$key" --endpoint mlookup --connections 4 --known 100 --known-pdq "$pdq"
n=$(field known "responses")
[ "${n:-0}" -gt 10 ] || { echo "FAIL: known: too few responses ($n)"; fail=1; }
expect known "2xx" "$(field known "2xx")" "$n"
expect known "matches" "$(field known "matches")" "$n"
expect known "transport errors" "$(field known "transport errors")" 0

run random --key "$key" --endpoint mlookup --connections 6 --threads 2
n=$(field random "responses")
[ "${n:-0}" -gt 10 ] || { echo "FAIL: random: too few responses ($n)"; fail=1; }
expect random "2xx" "$(field random "2xx")" "$n"
expect random "matches" "$(field random "matches")" 0
grep -q "connections  6 on 2 client threads" "$tmp/random" || { echo "FAIL: random: thread split"; fail=1; }

run badkey --key "hwk_0000000000000000_wrong" --endpoint mlookup --connections 2
n=$(field badkey "responses")
[ "${n:-0}" -gt 10 ] || { echo "FAIL: badkey: too few responses ($n)"; fail=1; }
expect badkey "4xx" "$(field badkey "4xx")" "$n"
expect badkey "transport errors" "$(field badkey "transport errors")" 0

run check --key "$key" --endpoint check --image "$img" --connections 2 --hash-threads 1
n=$(field check "responses")
[ "${n:-0}" -gt 2 ] || { echo "FAIL: check: too few responses ($n)"; fail=1; }
expect check "2xx" "$(field check "2xx")" "$n"
expect check "matches" "$(field check "matches")" "$n"
grep -Eq "^ratio +HTTP /v1/check 200s / offline = [0-9.]+" "$tmp/check" ||
    { echo "FAIL: check: no ratio"; fail=1; }

run healthz --endpoint healthz --connections 3
n=$(field healthz "responses")
[ "${n:-0}" -gt 10 ] || { echo "FAIL: healthz: too few responses ($n)"; fail=1; }
expect healthz "2xx" "$(field healthz "2xx")" "$n"

[ $fail -eq 0 ] && echo ok
exit $fail
