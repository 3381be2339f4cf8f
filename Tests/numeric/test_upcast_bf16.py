"""`convert --upcast-bf16`: bf16 programs that ONNX Runtime's CPU provider cannot run in bf16
export as f32 computations (f32 interface) and match JAX to bf16 precision."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import jax
import jax.numpy as jnp
import onnx
from jax import lax

from jax2onnx_swift import save_bundle

BF16_TOL = dict(rtol=1.6e-2, atol=1.6e-2)  # two bf16 ulps

rng = np.random.default_rng(7)
W = jnp.asarray(rng.uniform(-1, 1, (5, 3)), jnp.bfloat16)  # a bf16 weight: an initializer


def mlp(x, b):
    return jnp.tanh(x @ W + b) * 2.0 - lax.rsqrt(jnp.abs(b) + 1.0)


def mixed(x):
    # f32 in, explicit bf16 rounding in the middle, f32 out: the Cast to bf16 must still round.
    y = (x.astype(jnp.bfloat16) * 3.0 + 1.0).astype(jnp.float32)
    return y, x.astype(jnp.bfloat16).astype(jnp.float32)


def reductions(x):
    return jnp.sum(x, axis=1), jnp.max(x, axis=0), jnp.exp(x) / jnp.sum(jnp.exp(x))


CASES = [
    ("mlp", mlp, [rng.uniform(-2, 2, (4, 5)).astype(jnp.bfloat16), rng.uniform(-1, 1, (3,)).astype(jnp.bfloat16)]),
    ("mixed", mixed, [np.array([1.0 + 2.0 ** -9, 1.01171875, -3.3, 0.1, 250.7], np.float32)]),
    ("reductions", reductions, [rng.uniform(-2, 2, (3, 4)).astype(jnp.bfloat16)]),
]


def convert(cli, fn, inputs, path, tmp_path, *extra):
    bundle = tmp_path / "model.jaxpr"
    save_bundle(fn, inputs, bundle)
    proc = subprocess.run([cli, "convert", str(bundle), "-o", str(path), *extra], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return path


@pytest.mark.parametrize("opset", [17, 23])
@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_upcast_bf16_runs_and_matches_jax(name, fn, inputs, opset, cli, tmp_path):
    import onnxruntime as ort

    path = convert(cli, fn, inputs, tmp_path / f"{name}.onnx", tmp_path, "--upcast-bf16", "--opset", str(opset))
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    # No bf16 tensor is left in the interface or the weights.
    for vi in list(model.graph.input) + list(model.graph.output):
        assert vi.type.tensor_type.elem_type != onnx.TensorProto.BFLOAT16, vi.name
    assert all(t.data_type != onnx.TensorProto.BFLOAT16 for t in model.graph.initializer)

    want = [np.asarray(w, np.float32) for w in jax.tree_util.tree_leaves(fn(*inputs))]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: np.asarray(x, np.float32) for i, x in zip(sess.get_inputs(), inputs)}
    got = sess.run(None, feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, **BF16_TOL)


def test_explicit_bf16_rounding_is_kept(cli, tmp_path):
    import onnxruntime as ort

    x = CASES[1][2][0]
    path = convert(cli, mixed, [x], tmp_path / "mixed.onnx", tmp_path, "--upcast-bf16")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})
    # x.astype(bf16).astype(f32) is exact bf16 rounding: bit for bit what JAX gives.
    np.testing.assert_array_equal(got[1], np.asarray(mixed(x)[1]))
