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
if ! .build/debug/jax2onnx --coverage --format markdown --jax-primitives scripts/jax-primitives.json | diff -u docs/coverage.md - ; then
  echo "docs/coverage.md is stale: regenerate with .build/debug/jax2onnx --coverage --format markdown --jax-primitives scripts/jax-primitives.json > docs/coverage.md"
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

echo "== Fuzz smoke"
# About a minute of libFuzzer over the whole conversion (docs/fuzzing.md), where the toolchain
# ships clang's fuzzer runtime; J2O_FUZZ_SECONDS=0 skips it.
fuzz_seconds="${J2O_FUZZ_SECONDS:-60}"
if [ "$fuzz_seconds" -gt 0 ] && ls "$(dirname "$(readlink -f "$(command -v swiftc)")")"/../lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1; then
  Fuzz/run.sh "$fuzz_seconds" > .build/fuzz-smoke.log 2>&1 || { tail -n 60 .build/fuzz-smoke.log; echo "fuzz smoke failed"; exit 1; }
  grep -E "^stat::(number_of_executed_units|average_exec_per_sec)" .build/fuzz-smoke.log
else
  echo "skipped (no libclang_rt.fuzzer in the Swift toolchain)"
fi

echo "== JAX range: a conversion suite on the oldest and newest JAX python/pyproject.toml claims"
scripts/jax-range-smoke.sh

echo "== Fresh-venv install: pip install ./python (release build of the CLI and packs), then a Flax model"
J2O_INSTALL_TEST=1 .venv/bin/python -m pytest -q --rootdir . python/tests/test_install.py
