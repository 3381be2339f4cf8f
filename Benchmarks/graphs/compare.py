"""Exports each model of models.py with our converter and, when it is installed, with the Python
jax2onnx from PyPI, then prints node counts and ONNX Runtime CPU latency side by side.

    python Benchmarks/graphs/compare.py [--runs 50] [--models mlp_bn_gelu,cnn] [--big] [--no-optimize]

Run it in a venv that has jax, flax, onnxruntime (and jax2onnx for the side-by-side columns), with
`python/` importable and the Swift CLI built (`swift build -c release`). Both exports run with the
same session options and the same inputs; latency is the median of --runs timed runs after warm-up.
Every export is also checked against JAX (max abs error printed), so a fast wrong graph shows up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "python"))

import jax  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402

from models import MODELS  # noqa: E402

ort.set_default_logger_severity(3)


def count_nodes(graph) -> int:
    n = 0
    for node in graph.node:
        n += 1
        for a in node.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                n += count_nodes(a.g)
            for g in a.graphs:
                n += count_nodes(g)
    return n


def latency_ms(path: str, inputs: list[np.ndarray], runs: int) -> tuple[float, list[np.ndarray]]:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    feeds = {i.name: x for i, x in zip(sess.get_inputs(), inputs)}
    for _ in range(5):
        out = sess.run(None, feeds)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, out


def export_ours(fn, inputs, path: str, optimize: bool) -> None:
    from jax2onnx_swift import to_onnx
    to_onnx(fn, inputs, path, optimize=optimize)


def export_theirs(fn, inputs, path: str) -> None:
    import jax2onnx
    jax2onnx.to_onnx(fn, [jax.ShapeDtypeStruct(x.shape, x.dtype) for x in inputs],
                     return_mode="file", output_path=path)


def max_error(got: list[np.ndarray], want) -> float:
    want = [np.asarray(w) for w in jax.tree_util.tree_leaves(want)]
    return max(float(np.max(np.abs(g.astype(np.float64) - w.astype(np.float64)))) for g, w in zip(got, want))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--models", default="")
    ap.add_argument("--big", action="store_true", help="include transformer_100m")
    ap.add_argument("--no-optimize", action="store_true", help="export ours without the optimizer")
    args = ap.parse_args()
    names = [m for m in (args.models.split(",") if args.models else MODELS) if m]
    if not args.big and not args.models:
        names = [n for n in names if n != "transformer_100m"]
    try:
        import jax2onnx  # noqa: F401
        have_theirs = True
    except ImportError:
        have_theirs = False
        print("jax2onnx (PyPI) is not installed: printing our columns only", file=sys.stderr)

    rows = []
    with tempfile.TemporaryDirectory(prefix="j2o-graphs-") as tmp:
        for name in names:
            fn, inputs = MODELS[name]()
            want = fn(*inputs)
            row = {"model": name}
            ours = os.path.join(tmp, f"{name}.ours.onnx")
            try:
                export_ours(fn, inputs, ours, not args.no_optimize)
                row["our_nodes"] = count_nodes(onnx.load(ours, load_external_data=False).graph)
                row["our_ms"], out = latency_ms(ours, inputs, args.runs)
                row["our_err"] = max_error(out, want)
            except Exception as e:  # report and go on: one failing model must not hide the rest
                row["our_fail"] = str(e).splitlines()[-1][:100] if str(e) else type(e).__name__
            if have_theirs:
                theirs = os.path.join(tmp, f"{name}.theirs.onnx")
                try:
                    export_theirs(fn, inputs, theirs)
                    row["their_nodes"] = count_nodes(onnx.load(theirs, load_external_data=False).graph)
                    row["their_ms"], out = latency_ms(theirs, inputs, args.runs)
                    row["their_err"] = max_error(out, want)
                except Exception as e:
                    row["their_fail"] = (str(e).splitlines() or [type(e).__name__])[-1][:100]
            rows.append(row)
            print(_line(row), flush=True)
    return 0


def _line(r: dict) -> str:
    def cell(key, fmt):
        return fmt.format(r[key]) if key in r else "-"
    s = f"{r['model']:<18} ours {cell('our_nodes', '{:>5d}')} nodes {cell('our_ms', '{:8.3f}')} ms err {cell('our_err', '{:.1e}')}"
    if "their_nodes" in r or "their_fail" in r:
        s += f" | jax2onnx {cell('their_nodes', '{:>5d}')} nodes {cell('their_ms', '{:8.3f}')} ms err {cell('their_err', '{:.1e}')}"
        if "our_ms" in r and "their_ms" in r:
            s += f" | nodes {r['our_nodes'] / r['their_nodes']:.2f}x latency {r['our_ms'] / r['their_ms']:.2f}x"
    for k in ("our_fail", "their_fail"):
        if k in r:
            s += f"\n    {k}: {r[k]}"
    return s


if __name__ == "__main__":
    sys.exit(main())
