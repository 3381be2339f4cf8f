"""Exports each model of models.py with our converter and, when it is installed, with the Python
jax2onnx from PyPI, then prints node counts and ONNX Runtime CPU latency side by side, with the
model under jax.jit on CPU as a third column.

    JAX2ONNX_CLI=.build/release/jax2onnx python Benchmarks/graphs/compare.py \
        [--runs 100] [--warmup 20] [--models mlp_bn_gelu,cnn] [--big] [--no-optimize] [--threads 1]

Run it in a venv that has jax, flax, onnxruntime (and jax2onnx for the side-by-side columns), with
`python/` importable and the Swift CLI built (`swift build -c release`).

Latency is made comparable on a busy machine: both exports get the same session options and the
same input arrays, both are warmed up, and then the timed runs alternate between the two sessions
(ours, theirs, jit, jit, theirs, ours, ...) so a burst of load hits all alike. Each column is the median of
--runs runs with its interquartile range; the latency ratio is the median of the per-round ratios
ours/theirs, which cancels load that drifts over the measurement. Every export is also checked
against JAX (max abs error printed), so a fast wrong graph shows up.
"""

from __future__ import annotations

import argparse
import gc
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


def session(path: str, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


class JitTimed:
    """The model itself under jax.jit on CPU, timed like a session (compiled during warm-up)."""

    def __init__(self, fn, inputs: list[np.ndarray]):
        self.fn = jax.jit(fn)
        self.inputs = [jax.device_put(x) for x in inputs]
        self.times: list[float] = []

    def run(self):
        return jax.block_until_ready(self.fn(*self.inputs))

    def timed(self) -> float:
        t0 = time.perf_counter()
        jax.block_until_ready(self.fn(*self.inputs))
        dt = time.perf_counter() - t0
        self.times.append(dt)
        return dt


class Timed:
    """One export under measurement: its session, feeds and the times of its runs."""

    def __init__(self, path: str, inputs: list[np.ndarray], threads: int):
        self.sess = session(path, threads)
        self.feeds = {i.name: x for i, x in zip(self.sess.get_inputs(), inputs)}
        self.times: list[float] = []

    def run(self) -> list[np.ndarray]:
        return self.sess.run(None, self.feeds)

    def timed(self) -> float:
        t0 = time.perf_counter()
        self.sess.run(None, self.feeds)
        dt = time.perf_counter() - t0
        self.times.append(dt)
        return dt


def measure(subjects: list[Timed], runs: int, warmup: int) -> list[float]:
    """Warms every subject up, then times them in alternating order; returns the per-round ratio
    of the first subject's time to the second's (empty with one subject)."""
    for _ in range(warmup):
        for s in subjects:
            s.run()
    ratios = []
    for i in range(runs):
        order = subjects if i % 2 == 0 else subjects[::-1]
        t = {id(s): s.timed() for s in order}
        if len(subjects) >= 2:
            ratios.append(t[id(subjects[0])] / t[id(subjects[1])])
    return ratios


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


def failure(e: Exception) -> str:
    return (str(e).splitlines() or [type(e).__name__])[-1][:100]


def stats_ms(times: list[float]) -> tuple[float, float, float]:
    q1, med, q3 = statistics.quantiles(times, n=4)
    return med * 1e3, q1 * 1e3, q3 * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=100, help="timed runs per export (at least 50)")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    ap.add_argument("--models", default="")
    ap.add_argument("--big", action="store_true", help="include transformer_100m")
    ap.add_argument("--no-optimize", action="store_true", help="export ours without the optimizer")
    ap.add_argument("--no-jit", action="store_true", help="leave out the jax.jit column")
    args = ap.parse_args()
    if args.runs < 50:
        ap.error("--runs must be at least 50")
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
            subjects: dict[str, Timed] = {}
            exporters = [("our", lambda p: export_ours(fn, inputs, p, not args.no_optimize))]
            if have_theirs:
                exporters.append(("their", lambda p: export_theirs(fn, inputs, p)))
            for who, export in exporters:
                path = os.path.join(tmp, f"{name}.{who}.onnx")
                try:
                    export(path)
                    row[f"{who}_nodes"] = count_nodes(onnx.load(path, load_external_data=False).graph)
                    subjects[who] = Timed(path, inputs, args.threads)
                    row[f"{who}_err"] = max_error(subjects[who].run(), want)
                except Exception as e:  # report and go on: one failing model must not hide the rest
                    row[f"{who}_fail"] = failure(e)
            if not args.no_jit:
                subjects["jit"] = JitTimed(fn, inputs)
            ratios = measure(list(subjects.values()), args.runs, args.warmup)
            if "our" not in subjects or "their" not in subjects:
                ratios = []
            for who, s in subjects.items():
                row[f"{who}_ms"], row[f"{who}_q1"], row[f"{who}_q3"] = stats_ms(s.times)
            if ratios:
                row["ratio"] = statistics.median(ratios)
            rows.append(row)
            print(_line(row), flush=True)
            del subjects
            gc.collect()
    print()
    print(_table(rows, have_theirs))
    return 0


def _line(r: dict) -> str:
    def cell(key, fmt):
        return fmt.format(r[key]) if key in r else "-"
    s = f"{r['model']:<18} ours {cell('our_nodes', '{:>5d}')} nodes {cell('our_ms', '{:8.3f}')} ms err {cell('our_err', '{:.1e}')}"
    if "their_nodes" in r or "their_fail" in r:
        s += f" | jax2onnx {cell('their_nodes', '{:>5d}')} nodes {cell('their_ms', '{:8.3f}')} ms err {cell('their_err', '{:.1e}')}"
    for k in ("our_fail", "their_fail"):
        if k in r:
            s += f"\n    {k}: {r[k]}"
    return s


def _table(rows: list[dict], have_theirs: bool) -> str:
    """The summary: node counts, median latency with its interquartile range, and the ratios."""
    def ms(r, who):
        return f"{r[who + '_ms']:.3f} [{r[who + '_q1']:.3f}-{r[who + '_q3']:.3f}]" if who + "_ms" in r else "failed"

    def nodes(r, who):
        return str(r[who + "_nodes"]) if who + "_nodes" in r else "-"
    head = ["model", "ours nodes", "ours ms [IQR]"]
    if have_theirs:
        head += ["jax2onnx nodes", "jax2onnx ms [IQR]", "nodes ratio", "latency ratio"]
    with_jit = any("jit_ms" in r for r in rows)
    if with_jit:
        head += ["jax.jit ms [IQR]"]
    lines = [head]
    for r in rows:
        line = [r["model"], nodes(r, "our"), ms(r, "our")]
        if have_theirs:
            nr = f"{r['our_nodes'] / r['their_nodes']:.2f}" if "our_nodes" in r and "their_nodes" in r else "-"
            lr = f"{r['ratio']:.2f}" if "ratio" in r else "-"
            line += [nodes(r, "their"), ms(r, "their"), nr, lr]
        if with_jit:
            line += [ms(r, "jit")]
        lines.append(line)
    widths = [max(len(l[i]) for l in lines) for i in range(len(head))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(l, widths)) + " |" for l in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
