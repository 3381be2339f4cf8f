#!/usr/bin/env bash
# The whole test suite, from a fresh clone: the ABI header's strict compile, the Swift build and
# tests, then the Python tests and the numeric suite (JAX vs ONNX Runtime) in a project venv. The
# numeric suite includes test_sdk_packs.py: packs built from a copy of SDK/ alone.
set -euo pipefail
cd "$(dirname "$0")/.."
# Packs the user installed (jax2onnx plugins install) must not change what the tests see.
export XDG_DATA_HOME="$(mktemp -d)"
trap 'rm -rf "$XDG_DATA_HOME"' EXIT

echo "== ABI header"
scripts/check-header.sh

echo "== Swift build and tests"
swift build
status=0
swift test > .build/swift-test.log 2>&1 || status=$?
grep -E "error:|Test Suite 'All tests'|Executed .* tests" .build/swift-test.log | tail -n 12
if [ "$status" -ne 0 ]; then tail -n 60 .build/swift-test.log; echo "swift test failed ($status)"; exit "$status"; fi

echo "== docs/coverage.md is current"
if ! .build/debug/jax2onnx --coverage --format markdown | diff -u docs/coverage.md - ; then
  echo "docs/coverage.md is stale: regenerate with .build/debug/jax2onnx --coverage --format markdown > docs/coverage.md"
  exit 1
fi

echo "== Python environment"
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e "./python[test]"

echo "== Runtime profile current for the installed onnxruntime"
.venv/bin/python scripts/gen-runtime-profile.py --check

echo "== Python tests and numeric suite"
export JAX2ONNX_CLI="$PWD/.build/debug/jax2onnx" J2O_REQUIRE_CLI=1 JAX_PLATFORMS=cpu
.venv/bin/python -m pytest -q --rootdir . python/tests Tests/numeric
