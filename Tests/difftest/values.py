"""Input values: ordinary numbers mixed with the edges where implementations differ (NaN, ±inf,
-0.0, denormals, the largest finite values, integer limits)."""

from __future__ import annotations

import numpy as np

import jax.numpy as jnp

from .program import FLOATS, code_of


def draw_values(rng: np.random.Generator, shape, dtype: np.dtype) -> np.ndarray:
    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64))
    special_rate = float(rng.choice([0.0, 0.0, 0.05, 0.2]))
    if dtype == np.bool_:
        return (rng.random(size) < 0.5).reshape(shape)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = max(int(info.min), -20), min(int(info.max), 20)
        v = rng.integers(lo, hi + 1, size=size).astype(dtype)
        edges = np.array(sorted({int(info.min), int(info.min) + 1, int(info.max), int(info.max) - 1, 0, 1}
                                | ({-1} if info.min < 0 else set())), dtype=dtype)
        pick = rng.random(size) < special_rate
        v[pick] = rng.choice(edges, size=int(pick.sum()))
        return v.reshape(shape)
    # floats: both signs, magnitudes over a few decades
    v = rng.standard_normal(size) * np.exp(rng.uniform(-2, 2, size))
    v = v.astype(np.float64)
    if dtype in (np.dtype(jnp.bfloat16), np.dtype(np.float16)):
        v = np.clip(v, -200, 200)
    v = v.astype(dtype)
    finfo = jnp.finfo(dtype)
    tiny = float(finfo.smallest_normal)
    edges = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, tiny / 4, -tiny / 4, float(finfo.max),
                      -float(finfo.max), tiny, 1.0, -1.0, 0.5]).astype(dtype)
    pick = rng.random(size) < special_rate
    v[pick] = edges[rng.integers(len(edges), size=int(pick.sum()))]
    return v.reshape(shape)


def denormal(x: np.ndarray):
    """Where x holds denormals (None for non-float or empty x)."""
    if code_of(x.dtype) not in FLOATS or x.size == 0:
        return None
    tiny = float(jnp.finfo(x.dtype).smallest_normal)
    with np.errstate(invalid="ignore"):
        return (np.abs(x.astype(np.float64)) < tiny) & (x != 0)


def has_denormals(inputs) -> bool:
    return any(m is not None and m.any() for m in map(denormal, inputs))


def flush_denormals(inputs):
    out = []
    for x in inputs:
        m = denormal(x)
        out.append(x if m is None else np.where(m, np.copysign(np.zeros_like(x), x), x).astype(x.dtype))
    return out
