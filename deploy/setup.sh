#!/usr/bin/env bash
# Installs, from Debian 12's archive, what hashwatch needs to build (and, with --test, to test).
# Usage: deploy/setup.sh [--test]   (run as root, or with sudo available)
set -euo pipefail

build_pkgs=(
    build-essential cmake pkg-config
    libjpeg62-turbo-dev libpng-dev liblmdb-dev lmdb-utils libmicrohttpd-dev
    nettle-dev libjansson-dev libxml2-dev libyajl-dev
)
# Tests: libcurl as the HTTP client of integration tests, clang + its runtime for libFuzzer
# and the sanitizers, clang-format for the style check, Chromium + Node for the browser tests,
# Firefox ESR for the second browser of the page tests, wrk for HTTP benchmarks, libfaiss-dev
# for the FAISS side of `bench store` (Meta HMA's index, checked against brute force).
test_pkgs=(
    libcurl4-openssl-dev clang libclang-rt-14-dev clang-format libfaiss-dev
    chromium firefox-esr nodejs wrk curl ca-certificates jq
)

pkgs=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then
    pkgs+=("${test_pkgs[@]}")
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -q
    "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian's nodejs ships npm separately; some images bring a nodejs that includes it.
if [ "${1:-}" = "--test" ] && ! command -v npm >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends npm
fi
