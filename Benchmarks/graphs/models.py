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


def transformer_stack(blocks=12, d=128, heads=8, tokens=64):
    """`blocks` identical transformer blocks and nothing else, for Benchmarks/functions (one
    block function called `blocks` times against the flat graph); not in MODELS."""
    class Stack(nnx.Module):
        def __init__(self, rngs):
            self.blocks = nnx.List([_TransformerBlock(d, heads, rngs) for _ in range(blocks)])

        def __call__(self, x):
            for blk in self.blocks:
                x = blk(x)
            return x

    return Stack(nnx.Rngs(0)), [_rng(9).standard_normal((1, tokens, d)).astype(np.float32)]


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


# --- Models written elsewhere: as each library's users write them, not as our zoo happens to. ---


def equinox_cnn():
    """An Equinox CNN: per-example CHW convolutions under jax.vmap, max pooling, a linear head."""
    import equinox as eqx

    class CNN(eqx.Module):
        c1: eqx.nn.Conv2d
        c2: eqx.nn.Conv2d
        pool: eqx.nn.MaxPool2d
        fc: eqx.nn.Linear

        def __init__(self, key):
            k1, k2, k3 = jax.random.split(key, 3)
            self.c1 = eqx.nn.Conv2d(1, 8, 3, padding=1, key=k1)
            self.c2 = eqx.nn.Conv2d(8, 16, 3, padding=1, key=k2)
            self.pool = eqx.nn.MaxPool2d(2, 2)
            self.fc = eqx.nn.Linear(16 * 7 * 7, 10, key=k3)

        def __call__(self, x):
            x = self.pool(jax.nn.relu(self.c1(x)))
            x = self.pool(jax.nn.relu(self.c2(x)))
            return self.fc(jnp.ravel(x))

    model = CNN(jax.random.PRNGKey(0))

    def run(x):
        return jax.vmap(model)(x)

    return run, [_rng(10).standard_normal((8, 1, 28, 28)).astype(np.float32)]


def bert_encoder(layers=2, d=64, heads=4, t=32):
    """A BERT-style encoder in Flax Linen: exact gelu, post-LayerNorm, a padding mask."""
    import flax.linen as nn

    class Layer(nn.Module):
        @nn.compact
        def __call__(self, x, mask):
            a = nn.MultiHeadDotProductAttention(num_heads=heads)(x, x, mask=mask)
            x = nn.LayerNorm(epsilon=1e-12)(x + a)
            h = nn.gelu(nn.Dense(4 * d)(x), approximate=False)
            return nn.LayerNorm(epsilon=1e-12)(x + nn.Dense(d)(h))

    class Encoder(nn.Module):
        @nn.compact
        def __call__(self, ids, valid):
            x = nn.Embed(1000, d)(ids) + nn.Embed(t, d)(jnp.arange(ids.shape[1]))[None]
            x = nn.LayerNorm(epsilon=1e-12)(x)
            mask = nn.make_attention_mask(valid, valid)
            for _ in range(layers):
                x = Layer()(x, mask)
            return x

    ids = _rng(11).integers(0, 1000, size=(2, t)).astype(np.int32)
    valid = (np.arange(t)[None, :] < np.array([[t], [t - 5]])).astype(np.int32)
    m = Encoder()
    params = m.init(jax.random.PRNGKey(0), ids, valid)

    def run(ids, valid):
        return m.apply(params, ids, valid)

    return run, [ids, valid]


def vit_nnx(layers=2, d=64, heads=4):
    """A small ViT as a Flax NNX user writes it: nnx.MultiHeadAttention, a class token."""
    class Block(nnx.Module):
        def __init__(self, rngs):
            self.ln1 = nnx.LayerNorm(d, rngs=rngs)
            self.att = nnx.MultiHeadAttention(num_heads=heads, in_features=d, decode=False, rngs=rngs)
            self.ln2 = nnx.LayerNorm(d, rngs=rngs)
            self.fc1 = nnx.Linear(d, 4 * d, rngs=rngs)
            self.fc2 = nnx.Linear(4 * d, d, rngs=rngs)

        def __call__(self, x):
            x = x + self.att(self.ln1(x))
            return x + self.fc2(nnx.gelu(self.fc1(self.ln2(x))))

    class ViT(nnx.Module):
        def __init__(self, rngs):
            self.patch = nnx.Conv(3, d, (4, 4), strides=(4, 4), rngs=rngs)
            self.cls = nnx.Param(jnp.zeros((1, 1, d)))
            self.pos = nnx.Param(jnp.asarray(_rng(12).normal(0, 0.02, (1, 65, d)), jnp.float32))
            self.blocks = nnx.List([Block(rngs) for _ in range(layers)])
            self.ln = nnx.LayerNorm(d, rngs=rngs)
            self.head = nnx.Linear(d, 10, rngs=rngs)

        def __call__(self, x):
            x = self.patch(x)
            b = x.shape[0]
            x = x.reshape(b, -1, d)
            x = jnp.concatenate([jnp.broadcast_to(self.cls.value, (b, 1, d)), x], axis=1) + self.pos.value
            for blk in self.blocks:
                x = blk(x)
            return self.head(self.ln(x)[:, 0])

    return ViT(nnx.Rngs(0)), [_rng(13).standard_normal((2, 32, 32, 3)).astype(np.float32)]


def gpt2_by_hand(layers=2, d=64, heads=4, vocab=256, t=32):
    """A GPT-2 style decoder written in plain jax.numpy, as the tutorials do: LayerNorm as sum / n,
    sqrt and a division, tanh gelu with x**3, a lower-triangular causal mask."""
    r = _rng(14)

    def w(*shape, s=0.02):
        return jnp.asarray(r.normal(0, s, shape), jnp.float32)

    params = {"wte": w(vocab, d), "wpe": w(t, d), "lnf": (1 + w(d), w(d)), "blocks": [
        {"ln1": (1 + w(d), w(d)), "qkv": (w(d, 3 * d), w(3 * d)), "proj": (w(d, d), w(d)),
         "ln2": (1 + w(d), w(d)), "fc": (w(d, 4 * d), w(4 * d)), "out": (w(4 * d, d), w(d))}
        for _ in range(layers)]}

    def layer_norm(x, g, b, eps=1e-5):
        n = x.shape[-1]
        mu = jnp.sum(x, axis=-1, keepdims=True) / n
        var = jnp.sum((x - mu) ** 2, axis=-1, keepdims=True) / n
        return g * (x - mu) / jnp.sqrt(var + eps) + b

    def gelu(x):
        return 0.5 * x * (1 + jnp.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))

    def attention(x, p):
        b_, t_, _ = x.shape
        q, k, v = jnp.split(x @ p["qkv"][0] + p["qkv"][1], 3, axis=-1)
        split = lambda a: a.reshape(b_, t_, heads, d // heads).transpose(0, 2, 1, 3)  # noqa: E731
        q, k, v = split(q), split(k), split(v)
        s = q @ jnp.swapaxes(k, -1, -2) / np.sqrt(d // heads)
        causal = jnp.tril(jnp.ones((t_, t_), bool))
        s = jnp.where(causal, s, -jnp.inf)
        e = jnp.exp(s - jnp.max(s, axis=-1, keepdims=True))
        a = (e / jnp.sum(e, axis=-1, keepdims=True)) @ v
        return a.transpose(0, 2, 1, 3).reshape(b_, t_, d) @ p["proj"][0] + p["proj"][1]

    def run(ids):
        x = params["wte"][ids] + params["wpe"][jnp.arange(ids.shape[1])]
        for p in params["blocks"]:
            x = x + attention(layer_norm(x, *p["ln1"]), p)
            x = x + gelu(layer_norm(x, *p["ln2"]) @ p["fc"][0] + p["fc"][1]) @ p["out"][0] + p["out"][1]
        return layer_norm(x, *params["lnf"]) @ params["wte"].T

    ids = _rng(15).integers(0, vocab, size=(2, t)).astype(np.int32)
    return run, [ids]


MODELS: dict[str, Callable] = {
    "mlp_bn_gelu": mlp_bn_gelu,
    "cnn": cnn,
    "resnet_block": resnet_block,
    "vit": vit,
    "gpt2": gpt2,
    "lstm": lstm,
    "transformer_100m": transformer_100m,
    "equinox_cnn": equinox_cnn,
    "bert_encoder": bert_encoder,
    "vit_nnx": vit_nnx,
    "gpt2_by_hand": gpt2_by_hand,
}
