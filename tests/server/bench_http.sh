#!/bin/sh
# bench_http.sh: the HTTP benchmarks of issue 4, end to end on this machine: generate a store of
# N synthetic PDQ entries, start hashwatchd on it, measure /m/lookup and /v1/check with
# `hashwatch bench http` (which also hashes the same image offline, in-process, for the ratio).
#
#   tests/server/bench_http.sh BUILD_DIR [ENTRIES] [SECONDS]
#   e.g. tests/server/bench_http.sh build 1000000 10
#
# Run it on an otherwise idle machine; it is not part of ctest (timing belongs to benchmarks).
set -eu
BUILD=${1:?usage: bench_http.sh BUILD_DIR [ENTRIES] [SECONDS]}
N=${2:-1000000}
DUR=${3:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
IMGDIR=$HERE/../data/conformance/pdq/images
BIN=$BUILD/bin
WORK=$(mktemp -d /tmp/hw-bench-XXXXXX)
STORE=${HW_BENCH_STORE:-$WORK/store}
PID=
cleanup() {
    if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

if [ ! -d "$STORE" ]; then
    echo "== generating $N entries in $STORE"
    "$BIN/hashwatch" bench store gen --store "$STORE" --count "$N"
fi
KEY=$("$BIN/hashwatch" keys create --role check --name bench --store "$STORE" | head -n 1)

"$BIN/hashwatchd" --store "$STORE" --listen 127.0.0.1:0 --log /dev/null >"$WORK/out" 2>&1 &
PID=$!
i=0
while ! grep -q "listening on" "$WORK/out" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 600 ] || { cat "$WORK/out"; exit 1; }; sleep 0.1
done
PORT=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\) .*/\1/p' "$WORK/out")
URL=http://127.0.0.1:$PORT
echo "== hashwatchd on $URL, store $STORE ($N entries)"
# hashwatchd copies a large index into huge pages in the background after it starts (--hot-index;
# 0.6-3 s at 10M entries here, 20-40 s at 100M): let it finish before measuring.
if command -v curl >/dev/null 2>&1; then
    i=0
    until curl -s "$URL/metrics" | grep -q '^hashwatch_index_hot_copying 0'; do
        i=$((i + 1)); [ $i -lt 3000 ] || break; sleep 0.1
    done
    curl -s "$URL/metrics" | grep '^hashwatch_index_hot_bytes'
    sleep 1
else
    sleep 5
fi

# A PDQ the store does not hold, and a request mix of 100% random (mostly absent) hashes:
# the index does the same work for a hit and a miss.
# 16 connections keep both HTTP threads busy; 32 add only queueing (the same requests/s, twice
# the latency), shown for comparison with earlier runs.
for conns in 16 32; do
    echo "== GET /m/lookup, PDQ hashes, $conns connections"
    "$BIN/hashwatch" bench http --url "$URL" --key "$KEY" --endpoint mlookup --connections "$conns" \
        --server-pid "$PID" --duration "$DUR"
done
if command -v wrk >/dev/null 2>&1; then
    echo "== the same with wrk (Debian's package), random PDQ hashes from wrk_mlookup.lua"
    HW_KEY=$KEY wrk -t2 -c32 -d"${DUR}s" --latency -s "$HERE/wrk_mlookup.lua" "$URL"
fi
echo "== GET /healthz (the HTTP layer alone, for scale)"
"$BIN/hashwatch" bench http --url "$URL" --endpoint healthz --connections 32 --duration "$DUR" \
    --server-pid "$PID"
for img in bridge-mods/shrink-a-little.jpg reg-test-input/dih/bridge-1-original.jpg; do
    echo "== POST /v1/check, $img"
    "$BIN/hashwatch" bench http --url "$URL" --key "$KEY" --endpoint check \
        --image "$IMGDIR/$img" --connections 8 --duration "$DUR" --server-pid "$PID"
done
# The same without the 8 rotation/mirror variants: what the index's variant search costs.
echo "== POST /v1/check?variants=false, bridge-mods/shrink-a-little.jpg"
"$BIN/hashwatch" bench http --url "$URL" --key "$KEY" --endpoint check --query variants=false \
    --image "$IMGDIR/bridge-mods/shrink-a-little.jpg" --connections 8 --duration "$DUR" \
    --server-pid "$PID"
