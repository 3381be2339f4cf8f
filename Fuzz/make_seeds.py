"""Writes the fuzzer's seed corpus: bundles the tracer makes from small JAX programs covering the
bundle's features (an MLP with constants, a CNN, control flow, indexing, symbolic dims, random
bits). Usage: python Fuzz/make_seeds.py OUT_DIR"""
import os
import shutil
import sys

import jax
import jax.numpy as jnp
import numpy as np

from jax2onnx_swift import save_bundle


def programs():
    rng = np.random.default_rng(0)
    w1 = jnp.asarray(rng.normal(size=(8, 16)).astype(np.float32))
    w2 = jnp.asarray(rng.normal(size=(16, 4)).astype(np.float32))
    yield "mlp", lambda x: jax.nn.gelu(x @ w1) @ w2, [("B", 8)]
    k = jnp.asarray(rng.normal(size=(4, 3, 3, 3)).astype(np.float32))

    def cnn(x):
        y = jax.lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW", "NCHW"))
        y = jax.lax.reduce_window(jax.nn.relu(y), -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        return jnp.mean(y, axis=(2, 3))
    yield "cnn", cnn, [(2, 3, 8, 8)]

    def control(x):
        y = jax.lax.fori_loop(0, 3, lambda i, c: c * 0.5 + jnp.sin(c), x)
        y = jax.lax.cond(jnp.sum(y) > 0, lambda a: a + 1, lambda a: a - 1, y)
        _, ys = jax.lax.scan(lambda c, r: (c + r, c * r), jnp.zeros(x.shape[1:]), y)
        return jnp.cumsum(ys, axis=0)
    yield "control", control, [(5, 6)]

    def indexing(x, i):
        g = x[i]
        s = jax.lax.dynamic_slice(x, (i[0], 1), (2, 3))
        u = x.at[i].add(1.0)
        return g.sum() + s.sum() + jnp.take_along_axis(u, jnp.argsort(u, axis=1), axis=1)
    yield "indexing", indexing, [(6, 5), jax.ShapeDtypeStruct((3,), jnp.int32)]

    def symbolic(x):
        y = jnp.concatenate([x, x[::-1]], axis=0)
        return jnp.transpose(y.reshape(-1, 2, x.shape[1] // 2), (2, 0, 1)).sum(axis=-1)
    yield "symbolic", symbolic, [("2*B", 8)]

    def shapes(x):
        b = jnp.broadcast_to(x[:, None, :], (x.shape[0], 3, x.shape[1]))
        p = jnp.pad(b, ((0, 0), (1, 1), (2, 0)))
        return jnp.squeeze(jnp.max(p, axis=1, keepdims=True), 1).astype(jnp.int32) // 3
    yield "shapes", shapes, [(4, 5)]

    def rand(x):
        key = jax.random.key(3)
        return x + jax.random.uniform(key, x.shape)
    yield "random", rand, [(3, 4)]


def main(out):
    os.makedirs(out, exist_ok=True)
    for name, fn, inputs in programs():
        save_bundle(fn, inputs, os.path.join(out, name + ".jaxpr"))
    here = os.path.dirname(os.path.abspath(__file__))
    shutil.copy(os.path.join(here, "..", "Examples", "mlp.jaxpr"), os.path.join(out, "example_mlp.jaxpr"))


if __name__ == "__main__":
    main(sys.argv[1])
