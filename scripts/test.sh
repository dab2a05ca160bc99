#!/usr/bin/env bash
# The whole test suite: type check, then every test (unit tests beside the code, and the
# cross-process tests in tests/ that build the binary and drive it with the real kubectl).
# This is the command the README gives and the one CI runs.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== typecheck"
bun run typecheck
typecheck=$?

echo "== tests"
out="$(mktemp)"
test_home="$(mktemp -d)"
trap 'rm -rf "$out" "$test_home"' EXIT
# The suite sees a HOME of its own and no KUBECONFIG: whatever this machine has there (the
# kubeconfig an installed server wrote) is not what a test may read. Bun's transpiler cache
# stays where it was (a cache, not state).
export BUN_RUNTIME_TRANSPILER_CACHE_PATH="${BUN_RUNTIME_TRANSPILER_CACHE_PATH:-$HOME/.bun/install/cache/@t@}"
# Tests that cross processes wait on real servers, engines and kernels; on a loaded 2-core
# machine 5 s (bun's default per test) is too tight. bunfig's [test] timeout is not read by
# Bun 1.4.4, hence the flag.
HOME="$test_home" env -u KUBECONFIG bun test --timeout 60000 "$@" 2>&1 | tee "$out"
tests=${PIPESTATUS[0]}

# bun prints " N pass" / " N skip" / " N fail"; restate them as one plain summary line.
count() { grep -E "^ *[0-9]+ $1\$" "$out" | tail -n1 | tr -dc '0-9'; }
passed="$(count pass)"; failed="$(count fail)"; skipped="$(count skip)"
echo
echo "summary: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped$([ "$typecheck" = 0 ] || echo ' (typecheck FAILED)')"

[ "$typecheck" = 0 ] && [ "$tests" = 0 ]
