"""Control flow under symbolic dimensions: exported once with a symbolic batch (or sequence)
dimension, then run at several sizes against JAX."""

from __future__ import annotations

import numpy as np
import pytest

import jax.numpy as jnp
import onnx
from jax import lax

from cases_control import D, H, T, gru, lstm, newton_cbrt
from jax2onnx_swift import allclose, to_onnx


def cond_batch(p, x):
    return lax.cond(p, lambda x: jnp.tanh(x) * 2.0, lambda x: x.sum(axis=1, keepdims=True) + x, x)


def cumulative(c, xs):
    """A scan whose length is the symbolic sequence dimension."""
    return lax.scan(lambda c, x: (c * 0.5 + x, c - x), c, xs, reverse=True)


def rng_f32(rng, *shape, lo=0.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


GRU_W = [np.random.default_rng(7).uniform(0, 0.5, s).astype(np.float32) for s in [(D, 3 * H), (H, 3 * H), (3 * H,)]]

MODELS = {
    # name: (fn, input specs, inputs for a given size n)
    "lstm_batch": (lstm, [(T, "B", D), ("B", H), ("B", H)],
                   lambda r, n: [rng_f32(r, T, n, D), rng_f32(r, n, H), rng_f32(r, n, H)]),
    "gru_reverse_batch": (lambda xs, h: gru(xs, h, *GRU_W, reverse=True), [(T, "B", D), ("B", H)],
                          lambda r, n: [rng_f32(r, T, n, D), rng_f32(r, n, H)]),
    "newton_batch": (newton_cbrt, [("B",)], lambda r, n: [rng_f32(r, n, lo=-20.0, hi=20.0)]),
    "cond_batch": (cond_batch, [np.bool_(True), ("B", 3)], lambda r, n: [np.array(n % 2 == 0), rng_f32(r, n, 3, lo=-2.0)]),
    "scan_symbolic_length": (cumulative, [(3,), ("T", 3)], lambda r, n: [rng_f32(r, 3), rng_f32(r, n, 3, lo=-1.0)]),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_symbolic_control_flow(name, cli, tmp_path):
    fn, specs, make = MODELS[name]
    path = tmp_path / f"{name}.onnx"
    to_onnx(fn, specs, path, cli=cli)
    onnx.checker.check_model(str(path), full_check=True)
    rng = np.random.default_rng(0)
    # a sequence of length 0 at runtime: the Scan runs no step
    for n in ((0, 1, 2, 5) if name == "scan_symbolic_length" else (1, 2, 5)):
        ok, message = allclose(fn, path, make(rng, n), rtol=1e-5, atol=1e-5)
        assert ok, f"{name} at size {n}: {message}"
