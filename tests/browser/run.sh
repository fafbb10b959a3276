#!/usr/bin/env bash
# run.sh: runs the browser tests (installs playwright-core from the lock file when absent).
# Environment: HW_BIN_DIR (hashwatchd, hashwatch), HW_TEST_DATA, HW_CHROMIUM, HW_BROWSER_ARTIFACTS.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/playwright-core ]; then
    npm ci --no-audit --no-fund
fi
exec node --test --test-reporter=spec page.test.mjs
