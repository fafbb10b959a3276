#!/usr/bin/env bash
# Builds hashwatch twice (warnings as errors; then AddressSanitizer + UndefinedBehaviorSanitizer)
# and runs the whole CTest suite on each build. Usage: tests/run-all.sh [ctest args...]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

run_suite() {
    local dir=$1
    shift
    echo "=== configure + build: $dir ($*)"
    cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHW_WERROR=ON -DHW_REQUIRE_TEST_DEPS=ON "$@"
    cmake --build "$dir" -j"$jobs"
    echo "=== test: $dir"
    ctest --test-dir "$dir" --output-on-failure -j"$jobs" "${ctest_args[@]}"
}

ctest_args=("$@")
run_suite "$top/build-ci" -DHW_SANITIZE=OFF
# halt_on_error keeps a sanitizer finding fatal; detect_leaks needs ptrace, which some sandboxes
# lack, so LeakSanitizer runs where it can and is not silently required where it cannot.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
run_suite "$top/build-ci-asan" -DHW_SANITIZE=ON
echo "=== all test suites passed"
