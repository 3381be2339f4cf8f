"""ONNX local functions against the flat graph for a 12-block transformer (docs/functions.md):
ONNX Runtime latency (it inlines functions at load, so the two should match) and the size of the
model's graph part (nodes and their encoding, weights excluded).

    PYTHONPATH=python JAX2ONNX_CLI=.build/debug/jax2onnx JAX_PLATFORMS=cpu \
        /work/venv/bin/python Benchmarks/functions/latency_and_size.py [--blocks 12] [--runs 200]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import onnxruntime as ort
from flax import nnx

from jax2onnx_swift import onnx_function, to_onnx


@onnx_function
class MultiHeadAttention(nnx.Module):
    def __init__(self, d, heads, rngs):
        self.heads = heads
        self.qkv = nnx.Linear(d, 3 * d, rngs=rngs)
        self.out = nnx.Linear(d, d, rngs=rngs)

    def __call__(self, x):
        b, t, d = x.shape
        q, k, v = jnp.split(self.qkv(x), 3, axis=-1)
        split = lambda a: a.reshape(b, t, self.heads, d // self.heads).transpose(0, 2, 1, 3)
        q, k, v = split(q), split(k), split(v)
        a = jax.nn.softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(d // self.heads), axis=-1)
        return self.out((a @ v).transpose(0, 2, 1, 3).reshape(b, t, d))


@onnx_function
class Block(nnx.Module):
    def __init__(self, d, rngs):
        self.ln1 = nnx.LayerNorm(d, rngs=rngs)
        self.attn = MultiHeadAttention(d, 8, rngs)
        self.ln2 = nnx.LayerNorm(d, rngs=rngs)
        self.fc1 = nnx.Linear(d, 4 * d, rngs=rngs)
        self.fc2 = nnx.Linear(4 * d, d, rngs=rngs)

    def __call__(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(jax.nn.gelu(self.fc1(self.ln2(x))))


class Transformer(nnx.Module):
    def __init__(self, n, d, rngs):
        self.blocks = nnx.List([Block(d, rngs) for _ in range(n)])

    def __call__(self, x):
        for b in self.blocks:
            x = b(x)
        return x


def graph_bytes(model) -> int:
    """Bytes of everything but the weights: the graph with its initializers emptied, plus the
    functions."""
    import onnx
    m = onnx.ModelProto()
    m.CopyFrom(model)
    del m.graph.initializer[:]
    return m.ByteSize()


def latency(model, x, runs: int) -> float:
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = {s.get_inputs()[0].name: x}
    for _ in range(10):
        s.run(None, feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        s.run(None, feed)
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", type=int, default=12)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--runs", type=int, default=200)
    a = ap.parse_args()
    m = Transformer(a.blocks, a.dim, nnx.Rngs(0))
    x = np.random.default_rng(0).normal(size=(1, 64, a.dim)).astype(np.float32)
    want = np.asarray(m(x))
    rows = []
    for mode in ("decorated", "none"):
        model = to_onnx(m, [x], functions=mode)
        s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        err = float(np.abs(s.run(None, {s.get_inputs()[0].name: x})[0] - want).max())
        nodes = len(model.graph.node) + sum(len(f.node) for f in model.functions)
        rows.append((mode, len(model.functions), nodes, graph_bytes(model), latency(model, x, a.runs), err))
    print(f"{a.blocks}-block transformer, d={a.dim}, tokens=64, ORT CPU median of {a.runs} runs")
    print(f"{'functions':10} {'#fn':>4} {'nodes':>6} {'graph bytes':>12} {'ms':>8} {'max err':>9}")
    for r in rows:
        print(f"{r[0]:10} {r[1]:4} {r[2]:6} {r[3]:12} {r[4]:8.3f} {r[5]:9.2e}")


if __name__ == "__main__":
    main()
