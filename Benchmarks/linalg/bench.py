"""ONNX Runtime latency of exported linear algebra against jax.jit on CPU.

    JAX_PLATFORMS=cpu PYTHONPATH=python JAX2ONNX_CLI=.build/release/jax2onnx \
        python Benchmarks/linalg/bench.py [--batch 64] [--sizes 8 32 128] [--threads 1]

For each n: cholesky followed by a solve with the factor (cho_factor + cho_solve), eigh, and
svd, on a batch of well-conditioned float32 matrices. Both sides run on one thread by default
(ONNX Runtime intra-op threads; XLA via --xla_cpu_multi_thread_eigen=false), median of
repeated runs after a warm-up. Prints milliseconds and the ONNX / JAX ratio.
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--sizes", type=int, nargs="*", default=[8, 32, 128])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=15)
    a = ap.parse_args()
    if a.threads == 1:
        os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"

    import jax
    import jax.numpy as jnp
    import jax.scipy.linalg as jsl
    import onnxruntime as ort
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests" / "numeric"))
    from cases_linalg import general, rhs, spd, sym
    from jax2onnx_swift import to_onnx

    programs = {
        "cholesky+solve": (lambda a, b: jsl.cho_solve(jsl.cho_factor(a, lower=True), b),
                           lambda n: [spd(a.batch, n, n), rhs(a.batch, n, 4)]),
        "eigh": (lambda x: jnp.linalg.eigh(x), lambda n: [sym(a.batch, n, n)]),
        "svd": (lambda x: jnp.linalg.svd(x, full_matrices=False), lambda n: [general(a.batch, n, n)]),
    }

    def median_ms(run):
        run()
        times = []
        for _ in range(a.repeats):
            t = time.perf_counter(); run(); times.append(time.perf_counter() - t)
        return statistics.median(times) * 1e3

    print(f"batch {a.batch}, float32, {a.threads} thread(s); median of {a.repeats} runs")
    print(f"{'program':16} {'n':>5} {'onnx ms':>10} {'jax ms':>10} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.sizes:
            for name, (fn, make) in programs.items():
                inputs = [g(np.random.default_rng(n)) for g in make(n)]
                path = Path(tmp) / f"{name}_{n}.onnx"
                to_onnx(fn, inputs, path)
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = a.threads
                sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
                feeds = {i.name: x for i, x in zip(sess.get_inputs(), inputs)}
                jitted = jax.jit(fn)
                onnx_ms = median_ms(lambda: sess.run(None, feeds))
                jax_ms = median_ms(lambda: jax.block_until_ready(jitted(*inputs)))
                print(f"{name:16} {n:5d} {onnx_ms:10.2f} {jax_ms:10.2f} {onnx_ms / jax_ms:7.1f}", flush=True)


if __name__ == "__main__":
    main()
