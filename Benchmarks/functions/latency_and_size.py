"""ONNX local functions against the flat graph for a 12-block transformer (docs/functions.md):
ONNX Runtime latency (it inlines functions at load, so the two should match) and the size of the
model's graph part (nodes and their encoding, weights excluded).

The transformer is the graph benchmark's block (Benchmarks/graphs/models.py, transformer_stack),
undecorated: `auto` gives it its hierarchy (Stack → _TransformerBlock → _Attention, LayerNorm,
Linear), `decorated` the same block marked with onnx_function (one block function), `none` the
flat graph.

    PYTHONPATH=python JAX2ONNX_CLI=.build/debug/jax2onnx JAX_PLATFORMS=cpu \
        /work/venv/bin/python Benchmarks/functions/latency_and_size.py [--blocks 12] [--runs 200]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np
import onnxruntime as ort

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "graphs"))
sys.path.insert(0, str(HERE.parents[1] / "python"))

import models  # noqa: E402  (Benchmarks/graphs/models.py)
from jax2onnx_swift import onnx_function, to_onnx  # noqa: E402


def graph_bytes(model) -> int:
    """Bytes of everything but the weights: the graph with its initializers emptied, plus the
    functions."""
    import onnx
    m = onnx.ModelProto()
    m.CopyFrom(model)
    del m.graph.initializer[:]
    return m.ByteSize()


def latency(session, feed, runs: int) -> float:
    for _ in range(10):
        session.run(None, feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", type=int, default=12)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--runs", type=int, default=200)
    a = ap.parse_args()
    m, (x,) = models.transformer_stack(a.blocks, a.dim)
    want = np.asarray(m(x))
    exports = [(mode, to_onnx(m, [x], functions=mode)) for mode in ("none", "auto")]
    # Marking the shared block class changes it for this process only, so it comes last.
    onnx_function(type(m.blocks[0]))
    exports.append(("decorated", to_onnx(m, [x], functions="decorated")))
    sessions = []
    for mode, model in exports:
        s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        feed = {s.get_inputs()[0].name: x}
        err = float(np.abs(s.run(None, feed)[0] - want).max())
        nodes = len(model.graph.node) + sum(len(f.node) for f in model.functions)
        sessions.append((mode, model, s, feed, nodes, err))
    # Interleaved rounds, so load from other processes hits every mode alike.
    times = {mode: [] for mode, *_ in sessions}
    for _ in range(3):
        for mode, _, s, feed, _, _ in sessions:
            times[mode].append(latency(s, feed, a.runs // 3 or 1))
    print(f"{a.blocks}-block transformer, d={a.dim}, tokens={x.shape[1]}, ORT CPU, "
          f"median of {a.runs} runs in 3 interleaved rounds")
    print(f"{'functions':10} {'#fn':>4} {'nodes':>6} {'graph bytes':>12} {'ms':>8} {'max err':>9}")
    for mode, model, _, _, nodes, err in sessions:
        print(f"{mode:10} {len(model.functions):4} {nodes:6} {graph_bytes(model):12} "
              f"{float(np.median(times[mode])):8.3f} {err:9.2e}")


if __name__ == "__main__":
    main()
