"""Issue 26 under symbolic dims: tile and broadcast_in_dim with symbolic repeats (a ViT class
token under a symbolic batch), random draws of symbolic shape, stack over a symbolic batch,
forces of an MLP energy over a symbolic number of atoms, and a small Llama-style decoder (RoPE via
jnp.stack, GQA via jnp.repeat, RMSNorm, SwiGLU, causal mask) with symbolic batch and sequence.
Each converts once and matches JAX at every listed size (test_symbolic.py's checks)."""

from __future__ import annotations

import numpy as np
import pytest

import jax
import jax.numpy as jnp

import cases_transforms
from casekit import jaxpr_primitives
from symbolic_cases import SymCase, arg, ints, weights
import test_symbolic
from test_symbolic import claimed  # noqa: F401  (a fixture)

D = 8


def vit_class_token_tile(x):
    """x (B, N, D): a learned class token tiled to the batch and prepended."""
    cls = weights(11, 1, 1, D)
    return jnp.concatenate([jnp.tile(cls, (x.shape[0], 1, 1)), x], axis=1)


def vit_class_token_broadcast(x):
    cls = weights(12, 1, 1, D)
    return jnp.concatenate([jnp.broadcast_to(cls, (x.shape[0], 1, D)), x], axis=1) * 2


def noisy(x):
    """Gaussian noise of the input's (symbolic) shape, from a fixed key."""
    return x + 0.1 * jax.random.normal(jax.random.key(7), x.shape)


def sample_per_row(logits):
    return jax.random.categorical(jax.random.key(3), logits, axis=-1)


def stack_batch(x):
    return jnp.stack([x, -x, x * x], axis=1)


# -- a small Llama-style decoder --------------------------------------------------------------
V, DM, H, KV, HD, F = 32, 16, 4, 2, 4, 24
_emb, _wq, _wk, _wv, _wo = weights(20, V, DM), weights(21, DM, H * HD), weights(22, DM, KV * HD), weights(23, DM, KV * HD), weights(24, H * HD, DM)
_w1, _w3, _w2, _wout = weights(25, DM, F), weights(26, DM, F), weights(27, F, DM), weights(28, DM, V)
_n1, _n2, _nf = 1 + weights(29, DM, scale=0.1), 1 + weights(30, DM, scale=0.1), 1 + weights(31, DM, scale=0.1)


def rms_norm(x, w, eps=1e-6):
    return x * jax.lax.rsqrt(jnp.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x):
    """x (B, T, heads, HD): rotate each (even, odd) pair by position * frequency."""
    t = x.shape[1]
    freqs = 1.0 / (10000.0 ** (jnp.arange(0, HD, 2, dtype=jnp.float32) / HD))
    angles = jnp.arange(t, dtype=jnp.float32)[:, None] * freqs[None, :]
    cos, sin = jnp.cos(angles)[None, :, None, :], jnp.sin(angles)[None, :, None, :]
    x1, x2 = x[..., ::2], x[..., 1::2]
    return jnp.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1).reshape(x.shape)


def llama_decoder(ids):
    b, t = ids.shape
    x = _emb[ids]
    h = rms_norm(x, _n1)
    q = rope((h @ _wq).reshape(b, t, H, HD))
    k = rope((h @ _wk).reshape(b, t, KV, HD))
    v = (h @ _wv).reshape(b, t, KV, HD)
    k, v = jnp.repeat(k, H // KV, axis=2), jnp.repeat(v, H // KV, axis=2)
    s = jnp.einsum("bthd,bshd->bhts", q, k) / np.float32(np.sqrt(HD))
    causal = jnp.arange(t)[:, None] >= jnp.arange(t)[None, :]
    s = jnp.where(causal[None, None], s, jnp.float32(-1e9))
    a = jnp.einsum("bhts,bshd->bthd", jax.nn.softmax(s, axis=-1), v).reshape(b, t, H * HD)
    x = x + a @ _wo
    h = rms_norm(x, _n2)
    x = x + (jax.nn.silu(h @ _w1) * (h @ _w3)) @ _w2
    return rms_norm(x, _nf) @ _wout


BT = ({"B": 2, "T": 5}, {"B": 1, "T": 3}, {"B": 3, "T": 1})

CASES = [
    SymCase("vit_class_token_tile", vit_class_token_tile, (arg("B", 4, D),), ({"B": 1}, {"B": 3})),
    SymCase("vit_class_token_broadcast", vit_class_token_broadcast, (arg("B", 4, D),), ({"B": 1}, {"B": 3})),
    SymCase("random_normal_symbolic", noisy, (arg("B", 3),), ({"B": 1}, {"B": 4})),
    SymCase("random_categorical_symbolic", sample_per_row, (arg("B", 5),), ({"B": 1}, {"B": 6})),
    SymCase("stack_symbolic", stack_batch, (arg("B", 3),), ({"B": 1}, {"B": 4})),
    SymCase("forces_symbolic_atoms", cases_transforms.forces, (arg("N", 3),), ({"N": 1}, {"N": 4}, {"N": 9}),
            rtol=1e-4),
    SymCase("llama_decoder", llama_decoder, (arg("B", "T", dtype=np.int32, gen=ints(0, V)),), BT, rtol=1e-4, atol=1e-4),
]


# Threefry needs opset 18's bitwise ops: random cases run at 18 where the others run at 17.
RUNS = [(c, 18 if c.id.startswith("random") and o < 18 else o, p) for c in CASES for o, p in test_symbolic.CONFIGS]


@pytest.mark.parametrize("case,opset,optimize", RUNS, ids=[f"{c.id}-op{o}-{'opt' if p else 'noopt'}" for c, o, p in RUNS])
def test_emitted_symbolic(case, opset, optimize, cli, claimed, tmp_path):  # noqa: F811
    test_symbolic.test_symbolic_case(case, opset, optimize, cli, claimed, tmp_path)


def test_cases_reach_the_primitives_they_exist_for():
    want = {"vit_class_token_tile": "tile", "random_normal_symbolic": "random_bits", "stack_symbolic": "stack",
            "forces_symbolic_atoms": "add_any", "llama_decoder": "stack"}
    for c in CASES:
        if c.id in want:
            found = jaxpr_primitives(jax.make_jaxpr(c.fn)(*test_symbolic.symbolic_args(c)))
            assert want[c.id] in found, f"{c.id} no longer traces to {want[c.id]}"
