"""The optimizer's fusions happen: each layer case comes out as the fused ONNX ops, only where the
target opset has them (numerics, with and without the optimizer, are test_primitives.py's job)."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import onnx

import cases_models as models
from jax2onnx_swift import allclose, to_onnx

# (case id, opset) -> the exact op histogram of the optimized graph.
EXPECTED = {
    ("model_mlp_batchnorm_gelu", 23): {"Gemm": 2, "Gelu": 1},         # BatchNorm folded into the first Gemm
    ("model_mlp_batchnorm_gelu", 17): {"Gemm": 2, "Mul": 6, "Add": 2, "Tanh": 1},  # no Gelu before opset 20
    ("model_rms_norm", 23): {"RMSNormalization": 1},
    ("model_layer_norm_plain", 17): {"LayerNormalization": 1},
    ("model_softmax", 17): {"Softmax": 1},
    ("model_log_softmax", 17): {"LogSoftmax": 1},
    ("model_relu_dense", 17): {"Gemm": 1, "Relu": 1},
    ("model_hard_sigmoid", 17): {"HardSigmoid": 1},
    ("model_hard_swish", 17): {"HardSwish": 1},
    ("model_relu6", 17): {"Clip": 1},
    ("model_leaky_relu", 17): {"LeakyRelu": 1},
    # every Transpose pushed into its inverse
    ("model_nhwc_round_trip", 17): {"Add": 2, "Relu": 1, "Mul": 1, "Tanh": 1},
    ("model_softplus", 17): {"Softplus": 1},
    ("model_mish", 23): {"Mish": 1},
    ("model_mish", 17): {"Softplus": 1, "Tanh": 1, "Mul": 1},   # no Mish before opset 18
    ("model_silu", 23): {"Sigmoid": 1, "Mul": 1},                # no Swish before opset 24
    ("model_silu", 24): {"Swish": 1},
    # the NHWC flatten's Transpose goes into the Dense weights
    ("model_conv_flatten_dense", 23): {"Transpose": 1, "Conv": 1, "Relu": 1, "Reshape": 1, "Gemm": 1},
    ("model_transposed_features", 17): {"Reshape": 1, "MatMul": 1},
}

# (case id, opset) -> ops that must appear (the rest of the graph may vary with the lowering).
CONTAINS = {
    ("model_attention_block", 23): {"LayerNormalization": 2, "Attention": 1, "Gelu": 1, "Softmax": 0},
    ("model_causal_attention", 23): {"Attention": 1, "Softmax": 0, "MatMul": 0},
    ("model_causal_attention", 17): {"Softmax": 1, "MatMul": 2},
    ("model_attention_block", 17): {"LayerNormalization": 2, "Softmax": 1, "Erf": 1},
}

BY_ID = {c.id: c for c in models.CASES}


def histogram(case, opset, tmp_path, optimize=True):
    path = tmp_path / f"{case.id}-{opset}.onnx"
    to_onnx(case.fn, case.make_inputs(), path, opset=opset, optimize=optimize)
    return collections.Counter(n.op_type for n in onnx.load(str(path)).graph.node)


@pytest.mark.parametrize("key", list(EXPECTED), ids=[f"{k[0]}-op{k[1]}" for k in EXPECTED])
def test_fused_graph(key, cli, tmp_path):
    got = histogram(BY_ID[key[0]], key[1], tmp_path)
    assert dict(got) == EXPECTED[key]


@pytest.mark.parametrize("key", list(CONTAINS), ids=[f"{k[0]}-op{k[1]}" for k in CONTAINS])
def test_fused_ops_present(key, cli, tmp_path):
    got = histogram(BY_ID[key[0]], key[1], tmp_path)
    for op, n in CONTAINS[key].items():
        assert got[op] == n, f"{op}: {got[op]} (graph: {dict(got)})"


def test_no_optimize_keeps_the_lowering(cli, tmp_path):
    got = histogram(BY_ID["model_softmax"], 23, tmp_path, optimize=False)
    assert "Softmax" not in got and got["Exp"] == 1


def test_optimized_output_is_deterministic(cli, tmp_path):
    case = BY_ID["model_attention_block"]
    first, second = tmp_path / "a.onnx", tmp_path / "b.onnx"
    to_onnx(case.fn, case.make_inputs(), first)
    to_onnx(case.fn, case.make_inputs(), second)
    assert first.read_bytes() == second.read_bytes()


def test_swish_matches_jax(cli, tmp_path):
    """Swish exists from opset 24 only, which the numeric suite's configurations do not cover."""
    case = BY_ID["model_silu"]
    path = tmp_path / "silu-24.onnx"
    x = np.random.default_rng(24).uniform(-30, 30, (5, 8)).astype(np.float32)
    x.reshape(-1)[:6] = [np.inf, np.nan, 0.0, -0.0, 1e-3, -88.0]
    inputs = [x]
    to_onnx(case.fn, inputs, path, opset=24)
    ok, msg = allclose(case.fn, str(path), inputs, rtol=1e-5, atol=1e-6)
    assert ok, msg


@pytest.mark.parametrize("strict", [False, True])
def test_pool_nan_guard(strict, cli, tmp_path):
    """Max pooling: plain MaxPool by default; with --strict-nan the NaN guard (a mask pool and a
    Where) and the -inf guard (a pool of the values above -inf and a Where: ONNX Runtime's MaxPool
    gives its lowest finite value for a window of only -inf)."""
    import cases_nn
    case = {c.id: c for c in cases_nn.CASES}["max_pool_nan_f32"]
    path = tmp_path / "pool.onnx"
    inputs = case.make_inputs()
    to_onnx(case.fn, inputs, path, strict_nan=strict)
    got = collections.Counter(n.op_type for n in onnx.load(str(path)).graph.node)
    assert got["MaxPool"] == (3 if strict else 1) and got["IsNaN"] == int(strict) and got["IsInf"] == int(strict), dict(got)
    assert got["Where"] == 2 * int(strict), dict(got)
    # Away from NaN the two exports agree with JAX either way.
    clean = [np.nan_to_num(x, nan=0.5) for x in inputs]
    ok, msg = allclose(case.fn, str(path), clean, rtol=1e-6, atol=1e-6)
    assert ok, msg


@pytest.mark.parametrize("strict", [False, True])
def test_pack_option_same_numbers_with_and_without_optimizer(strict, cli, tmp_path):
    """A pack option decides the lowering; the optimizer never changes what it means. With NaN in
    the pooling windows, optimized and unoptimized graphs give the same numbers, and with
    strict_nan both give JAX's."""
    import onnxruntime as ort
    import cases_nn
    case = {c.id: c for c in cases_nn.CASES}["max_pool_nan_f32"]
    inputs = case.make_inputs()
    assert np.isnan(inputs[0]).any()
    outs = {}
    for optimize in (True, False):
        path = tmp_path / f"pool_{optimize}.onnx"
        to_onnx(case.fn, inputs, path, optimize=optimize, strict_nan=strict)
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feed = {i.name: x for i, x in zip(sess.get_inputs(), inputs)}
        outs[optimize] = sess.run(None, feed)[0]
    np.testing.assert_array_equal(outs[True], outs[False])
    expected = np.asarray(case.fn(*inputs))
    if strict:
        np.testing.assert_array_equal(outs[True], expected)
    else:
        # ONNX Runtime's MaxPool drops a NaN that is not first in its window: some windows differ.
        assert np.isnan(expected).sum() > np.isnan(outs[True]).sum()
