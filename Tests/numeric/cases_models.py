"""Whole-layer cases: the decomposed forms real libraries produce (Flax NNX layers and jax.nn),
which the optimizer fuses. The suite runs them with and without the optimizer, so a fusion that
changes the numbers fails here; test_optimizer.py checks that the fusions happen at all."""

from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp
from flax import nnx

from casekit import case, f32, uniform


def randomized(module, seed=0):
    """Every parameter and batch statistic drawn at random (biases and running stats included), so
    folding them into weights is really exercised; variances stay positive."""
    rng = np.random.default_rng(seed)
    for path, var in nnx.iter_graph(module):
        if isinstance(var, nnx.Variable) and hasattr(var, "value") and hasattr(var.value, "shape"):
            if not jnp.issubdtype(var.value.dtype, jnp.floating):
                continue
            name = str(path[-1]) if path else ""
            shape = var.value.shape
            if name == "var":
                value = rng.uniform(0.5, 2.0, shape)
            elif name == "scale":
                value = rng.uniform(0.5, 1.5, shape)
            else:
                value = rng.normal(0.0, 0.4, shape)
            var.value = jnp.asarray(value, var.value.dtype)
    return module


class MLP(nnx.Module):
    def __init__(self, rngs):
        self.l1 = nnx.Linear(16, 32, rngs=rngs)
        self.bn = nnx.BatchNorm(32, rngs=rngs)
        self.l2 = nnx.Linear(32, 8, rngs=rngs)

    def __call__(self, x):
        return self.l2(nnx.gelu(self.bn(self.l1(x))))


def gelu_erf(x):
    """The exact gelu as libraries other than jax.nn write it."""
    return 0.5 * x * (1 + jax.lax.erf(x / np.float32(np.sqrt(2))))


class Block(nnx.Module):
    """Pre-norm attention block: LayerNorm, softmax attention, exact-gelu MLP."""

    def __init__(self, rngs, d=16, heads=2):
        self.ln1 = nnx.LayerNorm(d, rngs=rngs)
        self.qkv = nnx.Linear(d, 3 * d, rngs=rngs)
        self.proj = nnx.Linear(d, d, rngs=rngs)
        self.ln2 = nnx.LayerNorm(d, rngs=rngs)
        self.fc = nnx.Linear(d, d, rngs=rngs)
        self.heads = heads

    def __call__(self, x):
        b, t, d = x.shape
        h = self.heads
        qkv = self.qkv(self.ln1(x)).reshape(b, t, 3, h, d // h)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        s = jnp.einsum("bthd,bshd->bhts", q, k) / np.float32(np.sqrt(d // h))
        a = jnp.einsum("bhts,bshd->bthd", jax.nn.softmax(s, axis=-1), v).reshape(b, t, d)
        x = x + self.proj(a)
        return x + self.fc(gelu_erf(self.ln2(x)))


_channel_bias = np.linspace(-1, 1, 8, dtype=np.float32)


def nhwc_round_trip(x, y):
    """NCHW in and out, NHWC in between, as a channels-last layer stack sees it."""
    t = jnp.transpose(x, (0, 2, 3, 1))
    t = jax.nn.relu(t + _channel_bias) * 2.0
    u = t + jnp.transpose(y, (0, 2, 3, 1))
    return jnp.transpose(jnp.tanh(u), (0, 3, 1, 2))


def causal_attention(q, k, v):
    """Scaled dot-product attention over [B, H, T, D] with an iota-built causal mask."""
    t = q.shape[2]
    s = q @ jnp.swapaxes(k, -1, -2) * np.float32(0.25)
    mask = jnp.arange(t)[:, None] >= jnp.arange(t)[None, :]
    return jax.nn.softmax(jnp.where(mask, s, -1e9), axis=-1) @ v


def wide_with_specials(*shape, dtype=np.float32):
    """Both signs out to where exp overflows or underflows, plus NaN and the infinities."""
    def gen(rng):
        v = rng.uniform(-40, 40, size=shape)
        v.reshape(-1)[:5] = [np.nan, np.inf, -np.inf, 0.0, -0.0]
        return v.astype(dtype)
    return gen


_conv_kernel = np.random.default_rng(11).normal(0, 0.3, (3, 3, 3, 4)).astype(np.float32)
_conv_bias = np.linspace(-0.5, 0.5, 4, dtype=np.float32)
_dense = np.random.default_rng(12).normal(0, 0.2, (6 * 5 * 4, 7)).astype(np.float32)
_dense_bias = np.linspace(-1, 1, 7, dtype=np.float32)


def conv_flatten_dense(x):
    """NHWC convolution, then the NHWC flatten into a Dense layer (a CNN's classifier head)."""
    y = jax.lax.conv_general_dilated(x, _conv_kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    y = jax.nn.relu(y + _conv_bias)
    return y.reshape(y.shape[0], -1) @ _dense + _dense_bias


_feature_weights = np.random.default_rng(13).normal(0, 0.3, (5 * 4, 6)).astype(np.float32)


def transposed_features(x):
    """Features of a [B, T, C, F] tensor read F-major: the Transpose only reorders what W meets."""
    return jnp.swapaxes(x, 2, 3).reshape(x.shape[0], x.shape[1], -1) @ _feature_weights


def _models():
    mlp = randomized(MLP(nnx.Rngs(0)), 1)
    mlp.eval()
    block = randomized(Block(nnx.Rngs(0)), 2)
    rms = randomized(nnx.RMSNorm(12, rngs=nnx.Rngs(0)), 3)
    ln_plain = nnx.LayerNorm(12, use_scale=False, use_bias=False, rngs=nnx.Rngs(0))
    return mlp, block, rms, ln_plain


mlp, block, rms_norm, ln_plain = _models()

CASES = [
    case("model_mlp_batchnorm_gelu", mlp, [f32(8, 16, lo=0.05, hi=1.5)], ["dot_general", "rsqrt", "tanh"]),
    case("model_attention_block", block, [f32(2, 5, 16, lo=0.05, hi=1.5)], ["reduce_max", "exp", "erf"]),
    case("model_rms_norm", rms_norm, [f32(3, 4, 12)], ["rsqrt", "reduce_sum"]),
    case("model_layer_norm_plain", ln_plain, [f32(3, 12)], ["rsqrt", "reduce_sum"]),
    case("model_softmax", lambda x: jax.nn.softmax(x, axis=1), [f32(3, 7, 2)], ["reduce_max", "exp"]),
    case("model_log_softmax", lambda x: jax.nn.log_softmax(x, axis=-1), [f32(4, 9)], ["reduce_max", "log"]),
    case("model_relu_dense", lambda x: jax.nn.relu(x @ np.linspace(-1, 1, 30, dtype=np.float32).reshape(6, 5) + 0.25),
         [f32(4, 6)], ["max", "dot_general"]),
    case("model_hard_sigmoid", jax.nn.hard_sigmoid, [uniform(5, 8, lo=-5.0, hi=5.0)], ["max", "min"]),
    case("model_hard_swish", jax.nn.hard_swish, [uniform(5, 8, lo=-5.0, hi=5.0)], ["max", "min"]),
    case("model_relu6", jax.nn.relu6, [uniform(5, 8, lo=-3.0, hi=9.0)], ["max", "min"]),
    case("model_leaky_relu", lambda x: jax.nn.leaky_relu(x, 0.1), [f32(5, 8)], ["ge", "select_n"]),
    case("model_causal_attention", causal_attention, [f32(2, 3, 6, 4), f32(2, 3, 6, 4), f32(2, 3, 6, 4)],
         ["dot_general", "select_n", "iota"]),
    # outputs the optimizer reduces to an input or to each other keep their own names
    case("model_output_simplifies_to_input", lambda x: (x + 0.0, x * 1.0), [f32(3, 4)], ["add", "mul"]),
    case("model_duplicate_outputs", lambda x: (jnp.tanh(x), jnp.tanh(x)), [f32(3, 4)], ["tanh"]),
    case("model_nhwc_round_trip", nhwc_round_trip, [f32(2, 8, 3, 4), f32(2, 8, 3, 4)], ["transpose", "tanh"]),
    case("model_softplus", jax.nn.softplus, [wide_with_specials(6, 9)], ["log1p", "select_n"]),
    case("model_softplus_f16", jax.nn.softplus, [wide_with_specials(6, 9, dtype=np.float16)], ["log1p", "select_n"],
         dict(rtol=2e-3, atol=2e-3)),
    case("model_mish", jax.nn.mish, [wide_with_specials(6, 9)], ["log1p", "tanh"]),
    case("model_silu", jax.nn.silu, [f32(5, 8)], ["logistic", "mul"]),
    case("model_conv_flatten_dense", conv_flatten_dense, [f32(2, 6, 5, 3)], ["conv_general_dilated", "dot_general"]),
    case("model_transposed_features", transposed_features, [f32(2, 3, 4, 5)], ["transpose", "dot_general"]),
]

REQUIRED: list[str] = []
