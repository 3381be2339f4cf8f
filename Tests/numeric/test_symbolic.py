"""Symbolic dimensions end to end (issue 5): every case of symbolic_cases.py converts ONCE with its
symbolic input specs, and that one model matches JAX in ONNX Runtime at every listed size. The
model's inputs and outputs must keep the user's symbols (or JAX's expression text such as 2*B),
and its shapes must agree with ONNX's own shape inference in strict mode.

A case whose primitives no built-in pack claims yet skips, naming the primitive, so it runs by
itself once the lowering lands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest

import jax
import jax2onnx_swift
import onnx

from casekit import jaxpr_primitives
from jax2onnx_swift import ConversionError, allclose, to_onnx
from jax2onnx_swift.testing import marker_line
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
    if opset < case.min_opset:
        pytest.skip(f"{case.id} needs opset {case.min_opset}")
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


# -- constraint errors ----------------------------------------------------------------------------

# Bundles name a file under the working directory relative to it (no machine paths in models).
THIS_FILE = os.path.relpath(Path(__file__).resolve()) if str(Path(__file__).resolve()).startswith(os.getcwd() + os.sep) \
    else str(Path(__file__).resolve())


def needs_multiple_of_4(x):
    y = x * 2
    return y.reshape(-1, 4)  # NEEDS_MULTIPLE_OF_4


def branches_on_size(x):
    return x * 2 if x.shape[0] > 3 else -x  # BRANCHES_ON_SIZE


def test_traced_constraint_names_line_operation_and_expression(cli, tmp_path):
    path = tmp_path / "m.onnx"
    with pytest.raises(ConversionError) as failed:
        to_onnx(needs_multiple_of_4, [("B",)], path, cli=cli)
    message = str(failed.value)
    assert f"{THIS_FILE}:{marker_line(THIS_FILE, 'NEEDS_MULTIPLE_OF_4')} (needs_multiple_of_4)" in message, message
    assert "in reshape" in message and "mod(B, - 4)" in message and '"4*k"' in message, message
    assert failed.value.returncode == 1
    # JAX's own exception is not chained into what the user sees.
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    assert not path.exists()

    with pytest.raises(ConversionError) as failed:
        to_onnx(branches_on_size, [("B", 3)], path, cli=cli)
    message = str(failed.value)
    assert f"{THIS_FILE}:{marker_line(THIS_FILE, 'BRANCHES_ON_SIZE')} (branches_on_size)" in message, message
    assert "'B' > '3'" in message, message


def test_constraint_hint_works(cli, tmp_path):
    """The fix the message suggests, a dim of 4*k, converts and runs (k is read back from 4*k)."""
    path = tmp_path / "m.onnx"
    to_onnx(needs_multiple_of_4, [("4*k",)], path, cli=cli)
    for n in (4, 20):
        x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
        ok, message = allclose(needs_multiple_of_4, path, [x])
        assert ok, message


def test_constraint_error_exits_nonzero_without_jax_traceback(cli, tmp_path):
    script = tmp_path / "export.py"
    script.write_text(textwrap.dedent(f"""
        from jax2onnx_swift import to_onnx

        def f(x):
            return x.reshape(-1, 4)

        to_onnx(f, [("B",)], {str(tmp_path / "m.onnx")!r}, cli={cli!r})
    """))
    env = dict(os.environ, PYTHONPATH=str(Path(jax2onnx_swift.__file__).parents[1]))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0
    err = proc.stderr
    assert f"{script}:5 (f), in reshape" in err, err
    assert "site-packages/jax" not in err and "During handling" not in err and "InconclusiveDimension" not in err, err
    assert err.count("Traceback") == 1, err
    assert err.rstrip().splitlines()[-3].startswith("jax2onnx_swift.convert.ConversionError: cannot trace"), err


def test_symbol_no_input_carries_is_reported_at_its_equation(cli, tmp_path):
    scope = jax.export.SymbolicScope()
    b, t, bt = jax.export.symbolic_shape("B, T, B*T", scope=scope)

    def unflatten(x):
        return x.reshape(b, t) * 2  # UNFLATTEN

    with pytest.raises(ConversionError) as failed:
        to_onnx(unflatten, [jax.ShapeDtypeStruct((bt,), np.float32)], tmp_path / "m.onnx", cli=cli)
    message = str(failed.value)
    assert failed.value.returncode == 1
    assert f"(reshape) at {THIS_FILE}:{marker_line(THIS_FILE, 'UNFLATTEN')}" in message, message
    # reshape reads B as the -1 of its target; T it cannot read
    assert "symbol 'T' does not appear in the dimensions of any model input" in message, message


# -- the host's dimension arithmetic --------------------------------------------------------------

def write_json_bundle(path, program: dict):
    from jax2onnx_swift.bundle import HEADER, MAGIC, VERSION
    from jax2onnx_swift.tensors import align
    blob = json.dumps({"format": "jax2onnx-bundle", "version": VERSION, "tensors": [], "program": program}).encode()
    data_offset = align(HEADER.size + len(blob))
    with open(path, "wb") as f:
        f.write(HEADER.pack(MAGIC, VERSION, 0, HEADER.size, len(blob), data_offset, 0))
        f.write(blob + b"\0" * (data_offset - HEADER.size - len(blob)))


@pytest.mark.parametrize("expr,value", [
    # floordiv floors a negative intermediate (ONNX Div truncates); mod takes the divisor's sign
    ("floordiv(B - 5, 2) + 3", lambda b: (b - 5) // 2 + 3),
    ("mod(B - 5, 3) + 1", lambda b: (b - 5) % 3 + 1),
    ("max(B - 3, 2)", lambda b: max(b - 3, 2)),
    ("min(2*B, B + 3)", lambda b: min(2 * b, b + 3)),
])
def test_dimension_expressions_evaluate_like_jax(expr, value, cli, tmp_path):
    """A hand-written bundle: x: f32[B] and ones of shape [expr]; ONNX Runtime must give expr's
    value at each B, including those where a sub-expression is negative."""
    dim = {"$": "dim", "v": expr}
    write_json_bundle(tmp_path / "m.jaxpr", {"jaxpr": {
        "constvars": [], "invars": [{"id": 1, "aval": {"dtype": "f32", "shape": ["B"]}}],
        "outvars": [{"var": 2}, {"var": 1}],
        "eqns": [{"prim": "broadcast_in_dim", "in": [{"lit": {"aval": {"dtype": "f32", "shape": []}, "value": 1.0}}],
                  "out": [{"id": 2, "aval": {"dtype": "f32", "shape": [expr]}}],
                  "params": {"shape": [dim], "broadcast_dimensions": [], "sharding": None}}]}, "consts": []})
    out = tmp_path / "m.onnx"
    proc = subprocess.run([cli, "convert", str(tmp_path / "m.jaxpr"), "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    model = onnx.load(str(out))
    assert dims_of(model.graph.output[0]) == [expr]
    import onnxruntime as ort
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for b in (1, 2, 4, 9):
        got = sess.run(None, {sess.get_inputs()[0].name: np.zeros(b, np.float32)})[0]
        assert got.shape == (value(b),), f"{expr} at B={b}: {got.shape[0]}, expected {value(b)}"
