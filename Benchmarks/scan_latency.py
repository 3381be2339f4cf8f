"""ONNX Runtime latency of an LSTM-sized scan exported by the Swift CLI.

    JAX_PLATFORMS=cpu PYTHONPATH=python python Benchmarks/scan_latency.py [--steps 100] [--hidden 256]

Converts a one-layer LSTM over time (lax.scan, forward and reverse) and times the model in
ONNX Runtime (CPU, one intra-op thread, median of repeated runs). The Control pack lowers a scan
with xs to ONNX Scan; to compare with its Loop lowering, set `preferScanOp = false` in
Plugins/Control/Scan.swift, rebuild, and run again.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import jax
import jax.numpy as jnp
from jax import lax

from jax2onnx_swift import allclose, to_onnx


def lstm_fn(wx, wh, b, hidden, reverse):
    def fn(xs, h0, c0):
        def step(carry, x):
            h, c = carry
            z = x @ wx + h @ wh + b
            i, f, g, o = (z[:, k * hidden:(k + 1) * hidden] for k in range(4))
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h
        (h, c), hs = lax.scan(step, (h0, c0), xs, reverse=reverse)
        return hs, h, c
    return fn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--features", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--runs", type=int, default=30)
    a = ap.parse_args()

    import onnx
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    wx = (rng.standard_normal((a.features, 4 * a.hidden)) * 0.1).astype(np.float32)
    wh = (rng.standard_normal((a.hidden, 4 * a.hidden)) * 0.1).astype(np.float32)
    b = np.zeros(4 * a.hidden, np.float32)
    xs = rng.standard_normal((a.steps, a.batch, a.features)).astype(np.float32)
    h0 = np.zeros((a.batch, a.hidden), np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        for reverse in (False, True):
            fn = lstm_fn(wx, wh, b, a.hidden, reverse)
            path = Path(tmp) / f"lstm_{reverse}.onnx"
            to_onnx(fn, [xs, h0, h0], path)
            ok, msg = allclose(fn, path, [xs, h0, h0], rtol=1e-4, atol=1e-4)
            assert ok, msg
            ops = sorted({n.op_type for n in onnx.load(str(path)).graph.node})
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            feeds = {i.name: v for i, v in zip(sess.get_inputs(), [xs, h0, h0])}
            for _ in range(3):
                sess.run(None, feeds)
            times = []
            for _ in range(a.runs):
                t = time.perf_counter()
                sess.run(None, feeds)
                times.append(time.perf_counter() - t)
            print(f"reverse={reverse!s:5}  top-level ops {ops}  median {statistics.median(times) * 1e3:.2f} ms  "
                  f"min {min(times) * 1e3:.2f} ms  (T={a.steps} B={a.batch} D={a.features} H={a.hidden}, {a.runs} runs)")


if __name__ == "__main__":
    main()
