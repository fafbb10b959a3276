#!/usr/bin/env bash
# Fails, listing the files, when any tracked C file differs from what clang-format would write.
set -u
clang_format=${1:-clang-format}
cd "$(git rev-parse --show-toplevel 2>/dev/null || pwd)"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find hashlib server tools tests -name '*.[ch]')
bad=0
for f in $files; do
    if ! "$clang_format" --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run: clang-format -i $f)"
        bad=1
    fi
done
[ -n "$files" ] || { echo "no C files found"; exit 1; }
exit $bad
