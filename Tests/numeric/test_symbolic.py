"""Symbolic dimensions end to end (issue 5): every case of symbolic_cases.py converts ONCE with its
symbolic input specs, and that one model matches JAX in ONNX Runtime at every listed size. The
model's inputs and outputs must keep the user's symbols (or JAX's expression text such as 2*B),
and its shapes must agree with ONNX's own shape inference in strict mode.

A case whose primitives no built-in pack claims yet skips, naming the primitive, so it runs by
itself once the lowering lands."""

from __future__ import annotations

import json
import subprocess
import zlib

import numpy as np
import pytest

import jax
import onnx

from casekit import jaxpr_primitives
from jax2onnx_swift import allclose, to_onnx
from symbolic_cases import CASES, ISSUE_CASES, SYMBOLIC_ONLY

# Names JAX uses for primitives the packs claim under another name in other releases.
ALIASES = {"pjit": "jit", "jit": "pjit", "remat2": "checkpoint", "checkpoint": "remat2"}

# (opset, optimize): the optimized default, and the raw lowering at the lowest opset.
CONFIGS = [(23, True), (17, False)]


@pytest.fixture(scope="module")
def claimed(cli) -> set[str]:
    out = subprocess.run([cli, "--coverage", "--format", "json"], check=True, capture_output=True, text=True).stdout
    return {p["primitive"] for p in json.loads(out)["primitives"] if p["claims"]}


def symbolic_args(case):
    """One ShapeDtypeStruct per input, all symbols in one scope."""
    scope = jax.export.SymbolicScope()

    def shape(dims):
        if not dims:
            return ()
        return jax.export.symbolic_shape(", ".join(str(d) for d in dims), scope=scope)
    return [jax.ShapeDtypeStruct(shape(a.dims), a.dtype) for a in case.args]


def unclaimed(case, claimed) -> list[str]:
    prims = jaxpr_primitives(jax.make_jaxpr(case.fn)(*symbolic_args(case)))
    return sorted(p for p in prims if p not in claimed and ALIASES.get(p) not in claimed)


def dims_of(value_info) -> list:
    return [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else None)
            for d in value_info.type.tensor_type.shape.dim]


def expected_dims(shape) -> list:
    return [d if isinstance(d, int) else str(d) for d in shape]


def test_symbolic_only_primitives_are_exercised():
    found = set()
    for c in CASES:
        found |= jaxpr_primitives(jax.make_jaxpr(c.fn)(*symbolic_args(c)))
    assert not [p for p in SYMBOLIC_ONLY if p not in found]


def test_table_has_every_issue_case_and_two_sizes_per_symbol():
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids)
    assert not [i for i in ISSUE_CASES if i not in ids]
    for c in CASES:
        for s in c.symbols():
            assert len({env[s] for env in c.sizes}) >= 2, f"{c.id}: symbol {s} is tested at one size only"


@pytest.mark.parametrize("opset,optimize", CONFIGS, ids=[f"op{o}-{'opt' if p else 'noopt'}" for o, p in CONFIGS])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_symbolic_case(case, opset, optimize, cli, claimed, tmp_path):
    missing = unclaimed(case, claimed)
    if missing:
        pytest.skip(f"primitive {', '.join(missing)} not claimed yet")
    args = symbolic_args(case)
    path = tmp_path / f"{case.id}.onnx"
    to_onnx(case.fn, args, path, opset=opset, optimize=optimize, cli=cli)

    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    onnx.shape_inference.infer_shapes(model, strict_mode=True, check_type=True, data_prop=True)

    # Inputs carry exactly the user's dims; outputs exactly JAX's (symbols or expression text).
    for k, (vi, a) in enumerate(zip(model.graph.input, args)):
        assert dims_of(vi) == expected_dims(a.shape), f"input {k} ({vi.name}): {dims_of(vi)}, expected {a.shape}"
    outs = jax.tree_util.tree_leaves(jax.eval_shape(case.fn, *args))
    assert len(model.graph.output) == len(outs)
    for k, (vi, o) in enumerate(zip(model.graph.output, outs)):
        assert dims_of(vi) == expected_dims(o.shape), f"output {k} ({vi.name}): {dims_of(vi)}, expected {o.shape}"

    for env in case.sizes:
        inputs = case.concrete_inputs(env, zlib.crc32(f"{case.id}{sorted(env.items())}".encode()))
        ok, message = allclose(case.fn, path, inputs, rtol=case.rtol, atol=case.atol)
        assert ok, f"{case.id} at {env} (opset {opset}, {'optimized' if optimize else 'unoptimized'}): {message}"
