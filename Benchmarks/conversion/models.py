"""The benchmark's JAX models: plain jax.numpy with numpy weights closed over, so both exporters
see the same program and the weights become bundle constants."""

from __future__ import annotations

import numpy as np

import jax
import jax.numpy as jnp


def deep_stack(blocks: int, width: int = 8):
    """`blocks` small residual blocks, 5 equations each: x + 0.5 * tanh(x @ W + b)."""
    rng = np.random.default_rng(0)
    ws = [rng.normal(0, 0.3, (width, width)).astype(np.float32) for _ in range(blocks)]
    bs = [rng.normal(0, 0.1, (width,)).astype(np.float32) for _ in range(blocks)]

    def fn(x):
        for w, b in zip(ws, bs):
            x = x + 0.5 * jnp.tanh(x @ w + b)
        return x

    return fn, [rng.normal(size=(4, width)).astype(np.float32)]


def transformer(width: int = 768, layers: int = 12, vocab: int = 20000, tokens: int = 16):
    """A decoder-only transformer without the embedding lookup (token embeddings are the input):
    at width 768, 12 layers and a 20000-word output head it has ~100M parameters (~400 MB f32)."""
    rng = np.random.default_rng(1)
    heads = width // 64

    def dense(n_in, n_out):
        return (rng.standard_normal((n_in, n_out), dtype=np.float32) * (n_in ** -0.5)).astype(np.float32), \
               np.zeros(n_out, np.float32)

    params = [dict(qkv=dense(width, 3 * width), out=dense(width, width), up=dense(width, 4 * width),
                   down=dense(4 * width, width), g1=np.ones(width, np.float32), g2=np.ones(width, np.float32))
              for _ in range(layers)]
    head = dense(width, vocab)[0]

    def norm(x, g):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) * jax.lax.rsqrt(var + 1e-5) * g

    def fn(x):
        b, t, d = x.shape
        mask = np.tril(np.ones((t, t), bool))
        for p in params:
            h = norm(x, p["g1"])
            qkv = (h @ p["qkv"][0] + p["qkv"][1]).reshape(b, t, 3, heads, d // heads)
            q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
            s = jnp.where(mask, q @ k.transpose(0, 1, 3, 2) / 8.0, -1e9)
            a = (jax.nn.softmax(s, -1) @ v).transpose(0, 2, 1, 3).reshape(b, t, d)
            x = x + a @ p["out"][0] + p["out"][1]
            h = norm(x, p["g2"])
            x = x + jax.nn.gelu(h @ p["up"][0] + p["up"][1]) @ p["down"][0] + p["down"][1]
        return x @ head

    return fn, [rng.normal(size=(1, tokens, width)).astype(np.float32)]
