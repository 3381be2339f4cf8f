"""The models the graph benchmark exports with both converters: each entry builds a JAX callable
(weights closed over, inference mode) and concrete example inputs.

Sizes are small enough to export in seconds, except `transformer_100m`, which is the ~100M
parameter model of the issue (skipped unless asked for, it needs ~1.5 GB of RAM per exporter).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

import jax
import jax.numpy as jnp
from flax import nnx


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def mlp_bn_gelu():
    class MLP(nnx.Module):
        def __init__(self, rngs):
            self.l1 = nnx.Linear(64, 128, rngs=rngs)
            self.bn = nnx.BatchNorm(128, rngs=rngs)
            self.l2 = nnx.Linear(128, 64, rngs=rngs)
            self.l3 = nnx.Linear(64, 10, rngs=rngs)

        def __call__(self, x):
            x = nnx.gelu(self.bn(self.l1(x)))
            x = nnx.gelu(self.l2(x))
            return self.l3(x)

    m = MLP(nnx.Rngs(0))
    _randomize_batchnorm(m)
    m.eval()
    return m, [_rng(1).standard_normal((32, 64)).astype(np.float32)]


def _randomize_batchnorm(m):
    """Running statistics that are not the identity, so folding them is really tested."""
    r = _rng(7)
    for _, bn in nnx.iter_graph(m):
        if isinstance(bn, nnx.BatchNorm):
            n = bn.mean.value.shape
            bn.mean.value = jnp.asarray(r.normal(0, 0.5, n), jnp.float32)
            bn.var.value = jnp.asarray(r.uniform(0.5, 2.0, n), jnp.float32)
            bn.scale.value = jnp.asarray(r.uniform(0.5, 1.5, n), jnp.float32)
            bn.bias.value = jnp.asarray(r.normal(0, 0.2, n), jnp.float32)


def cnn():
    class CNN(nnx.Module):
        def __init__(self, rngs):
            self.c1 = nnx.Conv(3, 16, (3, 3), rngs=rngs)
            self.c2 = nnx.Conv(16, 32, (3, 3), strides=(2, 2), rngs=rngs)
            self.c3 = nnx.Conv(32, 32, (3, 3), rngs=rngs)
            self.fc = nnx.Linear(32 * 8 * 8, 10, rngs=rngs)

        def __call__(self, x):
            x = nnx.relu(self.c1(x))
            x = nnx.relu(self.c2(x))
            x = nnx.relu(self.c3(x))
            x = nnx.max_pool(x, window_shape=(2, 2), strides=(2, 2))
            return self.fc(x.reshape(x.shape[0], -1))

    return CNN(nnx.Rngs(0)), [_rng(2).standard_normal((4, 32, 32, 3)).astype(np.float32)]


def resnet_block():
    class Block(nnx.Module):
        def __init__(self, rngs):
            self.c1 = nnx.Conv(32, 32, (3, 3), use_bias=False, rngs=rngs)
            self.b1 = nnx.BatchNorm(32, rngs=rngs)
            self.c2 = nnx.Conv(32, 32, (3, 3), use_bias=False, rngs=rngs)
            self.b2 = nnx.BatchNorm(32, rngs=rngs)

        def __call__(self, x):
            y = nnx.relu(self.b1(self.c1(x)))
            y = self.b2(self.c2(y))
            return nnx.relu(x + y)

    m = Block(nnx.Rngs(0))
    _randomize_batchnorm(m)
    m.eval()
    return m, [_rng(3).standard_normal((4, 16, 16, 32)).astype(np.float32)]


class _Attention(nnx.Module):
    def __init__(self, d, heads, rngs, causal=False):
        self.qkv = nnx.Linear(d, 3 * d, rngs=rngs)
        self.out = nnx.Linear(d, d, rngs=rngs)
        self.heads, self.causal = heads, causal

    def __call__(self, x):
        b, t, d = x.shape
        h = self.heads
        q, k, v = jnp.split(self.qkv(x).reshape(b, t, 3, h, d // h), 3, axis=2)
        q, k, v = (a[:, :, 0].transpose(0, 2, 1, 3) for a in (q, k, v))
        s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d // h).astype(np.float32)
        if self.causal:
            mask = jnp.arange(t)[:, None] >= jnp.arange(t)[None, :]
            s = jnp.where(mask, s, -1e9)
        a = jax.nn.softmax(s, axis=-1) @ v
        return self.out(a.transpose(0, 2, 1, 3).reshape(b, t, d))


class _TransformerBlock(nnx.Module):
    def __init__(self, d, heads, rngs, causal=False, mlp=4):
        self.ln1 = nnx.LayerNorm(d, rngs=rngs)
        self.att = _Attention(d, heads, rngs, causal)
        self.ln2 = nnx.LayerNorm(d, rngs=rngs)
        self.fc1 = nnx.Linear(d, mlp * d, rngs=rngs)
        self.fc2 = nnx.Linear(mlp * d, d, rngs=rngs)

    def __call__(self, x):
        x = x + self.att(self.ln1(x))
        return x + self.fc2(nnx.gelu(self.fc1(self.ln2(x))))


def vit():
    class ViT(nnx.Module):
        def __init__(self, rngs, d=64):
            self.patch = nnx.Conv(3, d, (4, 4), strides=(4, 4), rngs=rngs)
            self.pos = nnx.Param(jnp.asarray(_rng(4).normal(0, 0.02, (1, 64, d)), jnp.float32))
            self.blocks = nnx.List([_TransformerBlock(d, 4, rngs) for _ in range(2)])
            self.ln = nnx.LayerNorm(d, rngs=rngs)
            self.head = nnx.Linear(d, 10, rngs=rngs)

        def __call__(self, x):
            x = self.patch(x)
            b = x.shape[0]
            x = x.reshape(b, -1, x.shape[-1]) + self.pos.value
            for blk in self.blocks:
                x = blk(x)
            return self.head(self.ln(x).mean(axis=1))

    return ViT(nnx.Rngs(0)), [_rng(5).standard_normal((2, 32, 32, 3)).astype(np.float32)]


def gpt2(layers=2, d=64, heads=4, vocab=256, t=32):
    class GPT(nnx.Module):
        def __init__(self, rngs):
            self.wte = nnx.Embed(vocab, d, rngs=rngs)
            self.wpe = nnx.Embed(t, d, rngs=rngs)
            self.blocks = nnx.List([_TransformerBlock(d, heads, rngs, causal=True) for _ in range(layers)])
            self.ln = nnx.LayerNorm(d, rngs=rngs)

        def __call__(self, ids):
            x = self.wte(ids) + self.wpe(jnp.arange(ids.shape[1]))
            for blk in self.blocks:
                x = blk(x)
            return self.wte.attend(self.ln(x))

    ids = _rng(6).integers(0, vocab, size=(2, t)).astype(np.int32)
    return GPT(nnx.Rngs(0)), [ids]


def lstm():
    cell = nnx.OptimizedLSTMCell(16, 32, rngs=nnx.Rngs(0))

    def run(xs):
        carry = cell.initialize_carry((xs.shape[0], 16), nnx.Rngs(1))

        def step(c, x):
            c, y = cell(c, x)
            return c, y
        _, ys = jax.lax.scan(step, carry, xs.transpose(1, 0, 2))
        return ys.transpose(1, 0, 2)

    return run, [_rng(7).standard_normal((4, 20, 16)).astype(np.float32)]


def transformer_100m():
    """12 causal blocks of width 768 (GPT-2 small without the embedding lookup, token embeddings
    are the input) and a 20000-word output head: ~85M parameters in the blocks, ~100M in all."""
    class T(nnx.Module):
        def __init__(self, rngs):
            self.blocks = nnx.List([_TransformerBlock(768, 12, rngs, causal=True) for _ in range(12)])
            self.ln = nnx.LayerNorm(768, rngs=rngs)
            self.head = nnx.Linear(768, 20000, use_bias=False, rngs=rngs)

        def __call__(self, x):
            for blk in self.blocks:
                x = blk(x)
            return self.head(self.ln(x))

    return T(nnx.Rngs(0)), [_rng(8).standard_normal((1, 64, 768)).astype(np.float32)]


MODELS: dict[str, Callable] = {
    "mlp_bn_gelu": mlp_bn_gelu,
    "cnn": cnn,
    "resnet_block": resnet_block,
    "vit": vit,
    "gpt2": gpt2,
    "lstm": lstm,
    "transformer_100m": transformer_100m,
}
