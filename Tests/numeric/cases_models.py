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
]

REQUIRED: list[str] = []
