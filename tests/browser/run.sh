#!/usr/bin/env bash
# run.sh: runs the browser tests (Chromium via Playwright; Firefox via WebDriver BiDi when
# firefox-esr is installed), installing the npm packages from the lock file when absent.
# Environment: HW_BIN_DIR (hashwatchd, hashwatch), HW_TEST_DATA, HW_CHROMIUM, HW_FIREFOX,
# HW_BROWSER_ARTIFACTS (screenshots; default tests/browser/artifacts).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/ws ]; then
    npm ci --no-audit --no-fund
fi
exec node --test --test-reporter=spec page.test.mjs firefox.test.mjs
