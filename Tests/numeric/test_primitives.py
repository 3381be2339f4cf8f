"""Every case of cases.py through the Swift CLI: the ONNX model must pass the full checker and
match JAX in onnxruntime at the case's tolerances, with and without the graph optimizer."""

from __future__ import annotations

import pytest

import onnx

from cases import CASES, REQUIRED, missing_primitives
from jax2onnx_swift import allclose, to_onnx



@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_traces_to_its_primitives(case):
    missing = missing_primitives(case)
    assert not missing, f"{case.id} no longer produces {missing}; fix the case, not the check"


def test_table_covers_everything():
    covered = {p for c in CASES for p in c.prims}
    assert not [p for p in REQUIRED if p not in covered]
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("optimize", [True, False], ids=["opt", "noopt"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_matches_jax(case, optimize, cli, tmp_path):
    inputs = case.make_inputs()
    path = tmp_path / f"{case.id}.onnx"
    to_onnx(case.fn, inputs, path, optimize=optimize, cli=cli)
    onnx.checker.check_model(str(path), full_check=True)
    ok, message = allclose(case.fn, path, inputs, rtol=case.rtol, atol=case.atol)
    assert ok, f"{case.id} ({'optimized' if optimize else 'unoptimized'}): {message}"
