"""Bundle write time against np.save of the same constants (target: within 1.2x).

    .venv/bin/python python/benchmarks/bench_bundle_write.py [--mib 128] [--arrays 8]

Traces once, then times write_program (JSON encoding + data) and np.save into one file, each on
a fresh file after os.sync(), and prints medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

import jax
import jax.numpy as jnp

from jax2onnx_swift.bundle import write_program


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=float, default=128.0, help="total constant size")
    ap.add_argument("--arrays", type=int, default=8, help="number of weight matrices")
    ap.add_argument("--repeat", type=int, default=11)
    args = ap.parse_args()

    side = int((args.mib * 2**20 / args.arrays / 4) ** 0.5)
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((side, side)).astype(np.float32) for _ in range(args.arrays)]

    def model(x):
        for w in weights:
            x = jnp.tanh(x @ w)
        return x

    closed = jax.make_jaxpr(model)(jax.ShapeDtypeStruct((4, side), np.float32))
    with tempfile.TemporaryDirectory() as tmp:
        npy, bundle = os.path.join(tmp, "w.npy"), os.path.join(tmp, "w.jaxpr")

        def np_save():
            with open(npy, "wb") as f:
                for c in closed.consts:
                    np.save(f, np.asarray(c))

        times: dict[str, list[float]] = {"np.save": [], "bundle": []}
        for _ in range(args.repeat):
            for name, fn in (("np.save", np_save), ("bundle", lambda: write_program(closed, bundle))):
                for p in (npy, bundle):
                    if os.path.exists(p):
                        os.unlink(p)
                os.sync()
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    mib = sum(w.nbytes for w in weights) / 2**20
    print(f"{args.arrays} arrays, {mib:.0f} MiB: np.save {med['np.save'] * 1e3:.1f} ms, "
          f"bundle {med['bundle'] * 1e3:.1f} ms, ratio {med['bundle'] / med['np.save']:.2f}")


if __name__ == "__main__":
    main()
