#!/usr/bin/env bash
# A small conversion suite on the oldest and the newest JAX that python/pyproject.toml claims,
# each in a venv of its own (.build/jax-range/<version>), so a JAX release that breaks tracing
# shows at once. Uses the debug CLI that scripts/test.sh builds.
set -euo pipefail
cd "$(dirname "$0")/.."
range=$(sed -n 's/^ *"jax\(>=[^"]*\)",*$/\1/p' python/pyproject.toml)     # e.g. >=0.4.36,<0.11
oldest=$(printf '%s' "$range" | sed -n 's/.*>=\([0-9.]*\).*/\1/p')
[ -n "$oldest" ] || { echo "no jax>=X in python/pyproject.toml"; exit 1; }
export JAX2ONNX_CLI="${JAX2ONNX_CLI:-$PWD/.build/debug/jax2onnx}" J2O_REQUIRE_CLI=1 JAX_PLATFORMS=cpu
export PYTHONPATH="$PWD/python"
for spec in "jax==$oldest" "jax$range"; do
  dir=".build/jax-range/$(printf '%s' "$spec" | tr -c 'A-Za-z0-9.' '_')"
  if [ ! -x "$dir/bin/python" ]; then python3 -m venv "$dir"; fi
  "$dir/bin/python" -m pip install -q --upgrade pip
  "$dir/bin/python" -m pip install -q "$spec" absl-py numpy onnx onnxruntime pytest
  echo "== JAX $("$dir/bin/python" -c 'import jax; print(jax.__version__)') ($spec)"
  "$dir/bin/python" -m pytest -q -p no:cacheprovider --rootdir . \
    Tests/numeric/test_dropin_inputs.py Tests/numeric/test_dropin_params.py
done
