"""Bundle write time against np.save of the same constants (target: within 1.2x).

    .venv/bin/python python/benchmarks/bench_bundle_write.py [--mib 128] [--arrays 8]
    .venv/bin/python python/benchmarks/bench_bundle_write.py --transformer    # ~100M parameters

Traces once, then times write_program (JAXPR JSON + tensor table + data) against np.save of every
constant of the traced program, one after the other into one .npy stream. Both write onto a fresh
file (the previous one unlinked, dirty pages flushed by os.sync() outside the timed region) and
neither fsyncs, so both measure the same thing: getting the bytes into the page cache. The two
alternate run by run. Printed: wall and CPU time (user + system), each as median, minimum and the
median of the per-run ratios (each bundle run against the np.save run beside it).

What the ratio compares: np.save gets each constant through np.asarray, exactly as the bundle
writer does, so a constant that lives on a device (a jax.Array) costs both sides its host copy
(JAX keeps that copy, so only the first run pays it). The bundle writer also pays for what
np.save has no counterpart for: encoding the equations as JSON and laying out the table. Tracing
is excluded from both. The transformer's weights are numpy arrays closed over, as in
Benchmarks/conversion.
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

import jax
import jax.numpy as jnp

ROOT = Path(__file__).resolve().parents[2]
try:
    import jax2onnx_swift  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e ./python`
    sys.path.insert(0, str(ROOT / "python"))

from jax2onnx_swift.bundle import write_program  # noqa: E402


def synthetic(mib: float, arrays: int):
    """`arrays` square f32 matrices of `mib` MiB in total, chained as x = tanh(x @ w)."""
    side = int((mib * 2**20 / arrays / 4) ** 0.5)
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((side, side)).astype(np.float32) for _ in range(arrays)]

    def model(x):
        for w in weights:
            x = jnp.tanh(x @ w)
        return x

    return model, [jax.ShapeDtypeStruct((4, side), np.float32)]


def transformer():
    sys.path.insert(0, str(ROOT / "Benchmarks" / "conversion"))
    from models import transformer as build  # the conversion benchmark's ~100M-parameter model
    return build()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=float, default=128.0, help="total constant size (synthetic)")
    ap.add_argument("--arrays", type=int, default=8, help="number of weight matrices (synthetic)")
    ap.add_argument("--transformer", action="store_true",
                    help="the ~100M-parameter transformer of Benchmarks/conversion/models.py")
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--dir", default=None, help="where to write (default: a temporary folder)")
    args = ap.parse_args()

    fn, inputs = transformer() if args.transformer else synthetic(args.mib, args.arrays)
    closed = jax.make_jaxpr(fn)(*inputs)
    label = "transformer" if args.transformer else "synthetic"
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        npy, bundle = os.path.join(tmp, "w.npy"), os.path.join(tmp, "w.jaxpr")

        def np_save():
            with open(npy, "wb") as f:
                for c in closed.consts:
                    np.save(f, np.asarray(c))

        def bundle_write():
            write_program(closed, bundle)

        wall: dict[str, list[float]] = {"np.save": [], "bundle": []}
        cpu: dict[str, list[float]] = {"np.save": [], "bundle": []}
        for i in range(args.repeat):
            order = (("np.save", np_save, npy), ("bundle", bundle_write, bundle))
            for name, fn_, path in order if i % 2 == 0 else order[::-1]:
                if os.path.exists(path):
                    os.unlink(path)
                os.sync()
                c, t = time.process_time(), time.perf_counter()
                fn_()
                wall[name].append(time.perf_counter() - t)
                cpu[name].append(time.process_time() - c)
        npy_size, bundle_size = os.path.getsize(npy), os.path.getsize(bundle)
    print(f"{label}: {len(closed.consts)} constants, {len(closed.jaxpr.eqns)} equations; "
          f".npy {npy_size / 2**20:.1f} MiB, bundle {bundle_size / 2**20:.1f} MiB; {args.repeat} runs each")
    for what, times in (("wall", wall), ("cpu", cpu)):
        med = {k: statistics.median(v) for k, v in times.items()}
        low = {k: min(v) for k, v in times.items()}
        # Each bundle run sits next to an np.save run, so their ratio shares the machine's load
        # of the moment: on a busy machine it is steadier than the ratio of the medians.
        paired = statistics.median(b / n for b, n in zip(times["bundle"], times["np.save"]))
        print(f"{what:4s} median: np.save {med['np.save'] * 1e3:7.1f} ms, bundle {med['bundle'] * 1e3:7.1f} ms, "
              f"ratio {med['bundle'] / med['np.save']:.2f} | min: np.save {low['np.save'] * 1e3:7.1f} ms, "
              f"bundle {low['bundle'] * 1e3:7.1f} ms, ratio {low['bundle'] / low['np.save']:.2f} | "
              f"paired ratio {paired:.2f}")

if __name__ == "__main__":
    main()
