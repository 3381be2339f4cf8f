"""Layers written the ways users write them: by Flax NNX, Flax Linen, Equinox, and by hand in
jax.numpy, in the variants that come up (sum / n or mean, eps inside the root, erf or erfc gelu,
x**3 or x*x*x, additive or `where` masks...). For each layer every variant must optimize to the
same op histogram (the fusion does not depend on how the layer was spelt), that histogram must
be the fused one named here, and every variant must match JAX in ONNX Runtime.

All variants of a layer share their parameters (random, never the identity) and inputs, so they
compute the same function."""

from __future__ import annotations

import collections
import functools

import numpy as np
import pytest

import equinox as eqx
import flax.linen as nn
import jax
import jax.numpy as jnp
import onnx
from flax import nnx

from jax2onnx_swift import allclose, to_onnx

R = np.random.default_rng(21)
D = 16


def _f32(*shape, lo=-2.0, hi=2.0):
    return R.uniform(lo, hi, shape).astype(np.float32)


G, B = _f32(D, lo=0.5, hi=1.5), _f32(D, lo=-0.5, hi=0.5)
X3 = _f32(2, 5, D)
X2 = _f32(4, 32, lo=-5.0, hi=5.0)


# --- normalisation --------------------------------------------------------------------------

def _nnx_layer_norm(scale=True, bias=True):
    m = nnx.LayerNorm(D, use_scale=scale, use_bias=bias, epsilon=1e-5, rngs=nnx.Rngs(0))
    if scale:
        m.scale.value = jnp.asarray(G)
    if bias:
        m.bias.value = jnp.asarray(B)
    return m


def _linen_layer_norm(scale=True, bias=True):
    params = {}
    if scale:
        params["scale"] = jnp.asarray(G)
    if bias:
        params["bias"] = jnp.asarray(B)
    ln = nn.LayerNorm(epsilon=1e-5, use_scale=scale, use_bias=bias)
    return lambda x: ln.apply({"params": params}, x)


def _eqx_layer_norm(scale=True, bias=True):
    ln = eqx.nn.LayerNorm(D, eps=1e-5, use_weight=scale, use_bias=bias)
    if scale:
        ln = eqx.tree_at(lambda m: m.weight, ln, jnp.asarray(G))
    if bias:
        ln = eqx.tree_at(lambda m: m.bias, ln, jnp.asarray(B))
    return jax.vmap(jax.vmap(ln))


def _affine(y, scale, bias):
    if scale:
        y = y * G
    return y + B if bias else y


def ln_mean_var(x, scale=True, bias=True):
    mu = jnp.mean(x, -1, keepdims=True)
    return _affine((x - mu) / jnp.sqrt(jnp.var(x, -1, keepdims=True) + 1e-5), scale, bias)


def ln_sum_n(x, scale=True, bias=True):
    n = x.shape[-1]
    mu = jnp.sum(x, -1, keepdims=True) / n
    var = jnp.sum((x - mu) ** 2, -1, keepdims=True) / n
    y = (x - mu) / jnp.sqrt(var + 1e-5)
    return _affine(y, scale, bias)


def ln_moments(x, scale=True, bias=True):
    """E[x^2] - E[x]^2, rsqrt."""
    mu = jnp.mean(x, -1, keepdims=True)
    var = jnp.mean(x * x, -1, keepdims=True) - mu * mu
    return _affine((x - mu) * jax.lax.rsqrt(var + 1e-5), scale, bias)


def ln_scale_first(x):
    """g * (x - mu) / sqrt(var + eps) + b, the scale applied before the division (nanoGPT style)."""
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return G * (x - mu) / jnp.sqrt(var + 1e-5) + B


def _rms(x):
    return x * jax.lax.rsqrt(jnp.mean(x ** 2, -1, keepdims=True) + 1e-6) * G


def _rms_div(x):
    return x / jnp.sqrt(jnp.mean(jnp.square(x), -1, keepdims=True) + 1e-6) * G


def _nnx_rms():
    m = nnx.RMSNorm(D, epsilon=1e-6, rngs=nnx.Rngs(0))
    m.scale.value = jnp.asarray(G)
    return m


def _linen_rms():
    m = nn.RMSNorm(epsilon=1e-6)
    return lambda x: m.apply({"params": {"scale": jnp.asarray(G)}}, x)


def _eqx_rms():
    m = eqx.nn.RMSNorm(D, eps=1e-6)
    m = eqx.tree_at(lambda t: t.weight, m, jnp.asarray(G))
    return jax.vmap(jax.vmap(m))


# --- activations ----------------------------------------------------------------------------

SQRT_HALF = np.float32(1 / np.sqrt(2))
TANH_C = np.float32(np.sqrt(2 / np.pi))


def gelu_erf(x):
    return x * 0.5 * (1.0 + jax.lax.erf(x * SQRT_HALF))


def gelu_erfc(x):
    return 0.5 * x * jax.lax.erfc(-x * SQRT_HALF)


def gelu_tanh_pow(x):
    return 0.5 * x * (1 + jnp.tanh(TANH_C * (x + 0.044715 * x ** 3)))


def gelu_tanh_mul(x):
    return 0.5 * x * (1 + jnp.tanh(TANH_C * (x + 0.044715 * x * x * x)))


def gelu_tanh_integer_pow(x):
    return x * (0.5 * (1 + jnp.tanh(TANH_C * (x + 0.044715 * jax.lax.integer_pow(x, 3)))))


# --- softmax --------------------------------------------------------------------------------

def softmax_by_hand(x):
    e = jnp.exp(x - jnp.max(x, -1, keepdims=True))
    return e / jnp.sum(e, -1, keepdims=True)


def softmax_stop_gradient(x):
    e = jnp.exp(x - jax.lax.stop_gradient(x.max(-1, keepdims=True)))
    return e / e.sum(-1, keepdims=True)


def log_softmax_by_hand(x):
    s = x - jnp.max(x, -1, keepdims=True)
    return s - jnp.log(jnp.sum(jnp.exp(s), -1, keepdims=True))


# --- dense ----------------------------------------------------------------------------------

W = _f32(D, 8, lo=-0.5, hi=0.5)
WB = _f32(8, lo=-0.5, hi=0.5)


def _nnx_linear():
    m = nnx.Linear(D, 8, rngs=nnx.Rngs(0))
    m.kernel.value, m.bias.value = jnp.asarray(W), jnp.asarray(WB)
    return m


def _linen_dense():
    m = nn.Dense(8)
    return lambda x: m.apply({"params": {"kernel": jnp.asarray(W), "bias": jnp.asarray(WB)}}, x)


def _eqx_linear(batch_axes):
    m = eqx.nn.Linear(D, 8, key=jax.random.PRNGKey(0))
    m = eqx.tree_at(lambda t: (t.weight, t.bias), m, (jnp.asarray(W.T), jnp.asarray(WB)))
    for _ in range(batch_axes):
        m = jax.vmap(m)
    return m


# --- attention over [B, H, T, Dh] -----------------------------------------------------------

T = 6
CAUSAL = np.tril(np.ones((T, T), bool))


def _scores(q, k):
    return q @ jnp.swapaxes(k, -1, -2) / np.float32(np.sqrt(q.shape[-1]))


def att_where(q, k, v):
    return jax.nn.softmax(jnp.where(CAUSAL, _scores(q, k), -1e9), -1) @ v


def att_where_finfo_min(q, k, v):
    return jax.nn.softmax(jnp.where(CAUSAL, _scores(q, k), jnp.finfo(jnp.float32).min), -1) @ v


def att_additive(q, k, v):
    bias = np.where(CAUSAL, 0.0, -1e9).astype(np.float32)
    return jax.nn.softmax(_scores(q, k) + bias, -1) @ v


def att_by_hand(q, k, v):
    s = jnp.einsum("bhqd,bhkd->bhqk", q, k) * np.float32(1 / np.sqrt(q.shape[-1]))
    s = jnp.where(CAUSAL[None, None], s, -1e9)
    e = jnp.exp(s - s.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)) @ v


QKV = [_f32(2, 3, T, 8) for _ in range(3)]


# --- convolution + bias + batch norm + pooling ----------------------------------------------

CK = _f32(3, 3, 3, 4, lo=-0.4, hi=0.4)  # HWIO
CB = _f32(4, lo=-0.3, hi=0.3)
MEAN, VAR = _f32(4, lo=-0.5, hi=0.5), _f32(4, lo=0.5, hi=2.0)
BN_G, BN_B = _f32(4, lo=0.5, hi=1.5), _f32(4, lo=-0.5, hi=0.5)
IMG_NHWC = _f32(2, 8, 8, 3)
IMG_NCHW = np.ascontiguousarray(IMG_NHWC.transpose(0, 3, 1, 2))


def _bn(y, axis):
    shape = [1] * y.ndim
    shape[axis] = -1
    p = [a.reshape(shape) for a in (MEAN, VAR, BN_G, BN_B)]
    return (y - p[0]) / jnp.sqrt(p[1] + 1e-5) * p[2] + p[3]


def conv_nhwc_by_hand(x):
    y = jax.lax.conv_general_dilated(x, CK, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) + CB
    y = jax.nn.relu(_bn(y, 3))
    return jax.lax.reduce_window(y, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def _nnx_conv_block():
    class Block(nnx.Module):
        def __init__(self):
            self.conv = nnx.Conv(3, 4, (3, 3), rngs=nnx.Rngs(0))
            self.conv.kernel.value, self.conv.bias.value = jnp.asarray(CK), jnp.asarray(CB)
            self.bn = nnx.BatchNorm(4, epsilon=1e-5, use_running_average=True, rngs=nnx.Rngs(0))
            self.bn.mean.value, self.bn.var.value = jnp.asarray(MEAN), jnp.asarray(VAR)
            self.bn.scale.value, self.bn.bias.value = jnp.asarray(BN_G), jnp.asarray(BN_B)

        def __call__(self, x):
            return nnx.max_pool(nnx.relu(self.bn(self.conv(x))), (2, 2), (2, 2))
    return Block()


def _linen_conv_block():
    class Block(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.BatchNorm(use_running_average=True, epsilon=1e-5)(nn.Conv(4, (3, 3))(x))
            return nn.max_pool(nn.relu(x), (2, 2), (2, 2))
    variables = {"params": {"Conv_0": {"kernel": jnp.asarray(CK), "bias": jnp.asarray(CB)},
                            "BatchNorm_0": {"scale": jnp.asarray(BN_G), "bias": jnp.asarray(BN_B)}},
                 "batch_stats": {"BatchNorm_0": {"mean": jnp.asarray(MEAN), "var": jnp.asarray(VAR)}}}
    return lambda x: Block().apply(variables, x)


def conv_nchw_by_hand(x):
    y = jax.lax.conv_general_dilated(x, CK, (1, 1), "SAME", dimension_numbers=("NCHW", "HWIO", "NCHW"))
    y = jax.nn.relu(_bn(y + CB[:, None, None], 1))
    return jax.lax.reduce_window(y, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")


def _eqx_conv_block():
    """Equinox: per-example CHW modules under jax.vmap."""
    conv = eqx.nn.Conv2d(3, 4, 3, padding=1, key=jax.random.PRNGKey(0))
    conv = eqx.tree_at(lambda m: (m.weight, m.bias), conv,
                       (jnp.asarray(CK.transpose(3, 2, 0, 1)), jnp.asarray(CB)[:, None, None]))
    pool = eqx.nn.MaxPool2d(2, 2)

    def one(x):
        return pool(jax.nn.relu(_bn(conv(x), 0)))
    return jax.vmap(one)


# layer -> (inputs, opset, fused histogram every variant must reach, {variant: fn})
LAYERS = {
    "layer_norm": ([X3], 23, {"LayerNormalization": 1}, {
        "nnx": _nnx_layer_norm(), "linen": _linen_layer_norm(), "equinox": _eqx_layer_norm(),
        "mean_var": ln_mean_var, "sum_over_n": ln_sum_n, "moments_rsqrt": ln_moments, "scale_first": ln_scale_first,
    }),
    "layer_norm_plain": ([X3], 23, {"LayerNormalization": 1}, {
        "nnx": _nnx_layer_norm(False, False), "linen": _linen_layer_norm(False, False),
        "equinox": _eqx_layer_norm(False, False),
        "mean_var": functools.partial(ln_mean_var, scale=False, bias=False),
        "sum_over_n": functools.partial(ln_sum_n, scale=False, bias=False),
        "moments_rsqrt": functools.partial(ln_moments, scale=False, bias=False),
    }),
    "layer_norm_scale_only": ([X3], 23, {"LayerNormalization": 1}, {
        "nnx": _nnx_layer_norm(True, False), "linen": _linen_layer_norm(True, False),
        "equinox": _eqx_layer_norm(True, False),
        "sum_over_n": functools.partial(ln_sum_n, scale=True, bias=False),
    }),
    "rms_norm": ([X3], 23, {"RMSNormalization": 1}, {
        "nnx": _nnx_rms(), "linen": _linen_rms(), "equinox": _eqx_rms(), "rsqrt": _rms, "div_sqrt": _rms_div,
    }),
    "gelu_exact": ([X2], 23, {"Gelu": 1}, {
        "jax_nn": functools.partial(jax.nn.gelu, approximate=False), "nnx": functools.partial(nnx.gelu, approximate=False),
        "linen": functools.partial(nn.gelu, approximate=False), "erf": gelu_erf, "erfc": gelu_erfc,
    }),
    "gelu_tanh": ([X2], 23, {"Gelu": 1}, {
        "jax_nn": jax.nn.gelu, "nnx": nnx.gelu, "linen": nn.gelu, "pow": gelu_tanh_pow, "mul": gelu_tanh_mul,
        "integer_pow": gelu_tanh_integer_pow,
    }),
    "silu": ([X2], 24, {"Swish": 1}, {
        "jax_nn_silu": jax.nn.silu, "jax_nn_swish": jax.nn.swish, "nnx": nnx.silu, "linen": nn.swish,
        "by_hand": lambda x: x * jax.nn.sigmoid(x),
    }),
    "mish": ([X2], 23, {"Mish": 1}, {
        "jax_nn": jax.nn.mish, "by_hand": lambda x: x * jnp.tanh(jax.nn.softplus(x)),
    }),
    "softmax": ([X2], 23, {"Softmax": 1}, {
        "jax_nn": jax.nn.softmax, "nnx": nnx.softmax, "linen": nn.softmax, "by_hand": softmax_by_hand,
        "stop_gradient": softmax_stop_gradient,
    }),
    "log_softmax": ([X2], 23, {"LogSoftmax": 1}, {
        "jax_nn": jax.nn.log_softmax, "nnx": nnx.log_softmax, "linen": nn.log_softmax, "by_hand": log_softmax_by_hand,
    }),
    "dense_2d": ([_f32(4, D)], 23, {"Gemm": 1}, {
        "nnx": _nnx_linear(), "linen": _linen_dense(), "equinox": _eqx_linear(1), "by_hand": lambda x: x @ W + WB,
    }),
    "dense_3d": ([X3], 23, {"MatMul": 1, "Add": 1}, {
        "nnx": _nnx_linear(), "linen": _linen_dense(), "equinox": _eqx_linear(2), "by_hand": lambda x: x @ W + WB,
        "einsum": lambda x: jnp.einsum("btd,de->bte", x, W) + WB,
    }),
    "dense_4d": ([_f32(2, 3, 4, D)], 23, {"MatMul": 1, "Add": 1}, {
        "nnx": _nnx_linear(), "equinox": _eqx_linear(3), "by_hand": lambda x: x @ W + WB,
    }),
    "causal_attention": (QKV, 23, {"Attention": 1}, {
        "where": att_where, "where_finfo_min": att_where_finfo_min, "additive": att_additive, "by_hand": att_by_hand,
    }),
    "conv_bn_pool_nhwc": ([IMG_NHWC], 23, {"Transpose": 2, "Conv": 1, "Relu": 1, "MaxPool": 1}, {
        "nnx": _nnx_conv_block(), "linen": _linen_conv_block(), "by_hand": conv_nhwc_by_hand,
    }),
    "conv_bn_pool_nchw": ([IMG_NCHW], 23, {"Conv": 1, "Relu": 1, "MaxPool": 1}, {
        "by_hand": conv_nchw_by_hand, "equinox_vmapped_chw": _eqx_conv_block(),
    }),
}

VARIANTS = [(layer, name) for layer, (_, _, _, fns) in LAYERS.items() for name in fns]


@functools.lru_cache(maxsize=None)
def _export(layer: str, name: str, tmp: str):
    inputs, opset, _, fns = LAYERS[layer]
    path = f"{tmp}/{layer}-{name}.onnx"
    to_onnx(fns[name], inputs, path, opset=opset)
    return path, dict(collections.Counter(n.op_type for n in onnx.load(path).graph.node))


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return str(tmp_path_factory.mktemp("variants"))


@pytest.mark.parametrize("layer,name", VARIANTS, ids=[f"{l}-{n}" for l, n in VARIANTS])
def test_variant_matches_jax(layer, name, cli, tmp):
    inputs, _, _, fns = LAYERS[layer]
    path, _ = _export(layer, name, tmp)
    ok, msg = allclose(fns[name], path, inputs, rtol=1e-4, atol=1e-5)
    assert ok, msg


# Known gaps, each with what is missing; strict, so a fix shows up as a pass to record here.
GAPS: dict[str, str] = {}


@pytest.mark.parametrize("layer", [pytest.param(l, marks=pytest.mark.xfail(reason=GAPS[l], strict=True)) if l in GAPS else l
                                   for l in LAYERS])
def test_variants_fuse_alike(layer, cli, tmp):
    _, _, fused, fns = LAYERS[layer]
    got = {name: _export(layer, name, tmp)[1] for name in fns}
    distinct = {str(sorted(h.items())) for h in got.values()}
    assert len(distinct) == 1, "variants fuse differently:\n" + "\n".join(f"  {n}: {h}" for n, h in got.items())
    if fused is not None:
        assert next(iter(got.values())) == fused
