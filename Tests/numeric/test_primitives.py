"""Every case of the table through the Swift CLI: the ONNX model must pass the full checker and
match JAX in onnxruntime at the case's tolerances, with and without the graph optimizer, at the
default opset and at the lowest one we support (where lowerings pick different ops)."""

from __future__ import annotations

import pytest

import jax
import onnx

from cases import CASES, REQUIRED, missing_primitives
from jax2onnx_swift import allclose, to_onnx
from jax2onnx_swift.convert import ConversionError



@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_traces_to_its_primitives(case):
    missing = missing_primitives(case)
    assert not missing, f"{case.id} no longer produces {missing}; fix the case, not the check"


def test_table_covers_everything():
    covered = {p for c in CASES for p in c.prims}
    assert not [p for p in REQUIRED if p not in covered]
    assert len({c.id for c in CASES}) == len(CASES)


# (opset, optimize): every case runs in each configuration.
CONFIGS = [(23, True), (23, False), (17, True)]


@pytest.mark.parametrize("opset,optimize", CONFIGS, ids=[f"op{o}-{'opt' if p else 'noopt'}" for o, p in CONFIGS])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_matches_jax(case, opset, optimize, cli, tmp_path):
    with jax.enable_x64(case.x64):
        _check(case, opset, optimize, cli, tmp_path)


def _check(case, opset, optimize, cli, tmp_path):
    inputs = case.make_inputs()
    path = tmp_path / f"{case.id}.onnx"
    if not case.min_opset <= opset <= case.max_opset:
        with pytest.raises(ConversionError) as failed:
            to_onnx(case.fn, inputs, path, opset=opset, optimize=optimize, cli=cli)
        assert any(p.split("|")[0] in str(failed.value) for p in case.prims), str(failed.value)
        assert not path.exists()
        return
    to_onnx(case.fn, inputs, path, opset=opset, optimize=optimize, strict_nan=case.strict_nan,
            pack_options=dict(case.pack_options) or None, cli=cli)
    onnx.checker.check_model(str(path), full_check=True)
    ok, message = allclose(case.fn, path, inputs, rtol=case.rtol, atol=case.atol)
    assert ok, f"{case.id} (opset {opset}, {'optimized' if optimize else 'unoptimized'}): {message}"
