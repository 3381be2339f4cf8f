"""Bundle write time against np.save of the same constants (target: within 1.2x).

    .venv/bin/python python/benchmarks/bench_bundle_write.py [--mib 128] [--arrays 8]
    .venv/bin/python python/benchmarks/bench_bundle_write.py --transformer    # ~100M parameters

Traces once, then times write_program (JAXPR JSON + tensor table + data) against np.save of every
constant of the traced program, one after the other into one .npy stream. Both write onto a fresh
file (the previous one unlinked, dirty pages flushed by os.sync() outside the timed region) and
neither fsyncs, so both measure the same thing: getting the bytes into the page cache. The two
alternate run by run; medians are printed with their ratio.

What the ratio compares: np.save gets each constant through np.asarray, exactly as the bundle
writer does, so a constant that lives on a device (a jax.Array) costs both sides its host copy.
The bundle writer also pays for what np.save has no counterpart for: encoding the equations as
JSON and laying out the table. Tracing is excluded from both.
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

        times: dict[str, list[float]] = {"np.save": [], "bundle": []}
        for i in range(args.repeat):
            order = (("np.save", np_save, npy), ("bundle", bundle_write, bundle))
            for name, fn_, path in order if i % 2 == 0 else order[::-1]:
                if os.path.exists(path):
                    os.unlink(path)
                os.sync()
                t = time.perf_counter()
                fn_()
                times[name].append(time.perf_counter() - t)
        npy_size, bundle_size = os.path.getsize(npy), os.path.getsize(bundle)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{label}: {len(closed.consts)} constants, {len(closed.jaxpr.eqns)} equations; "
          f".npy {npy_size / 2**20:.1f} MiB, bundle {bundle_size / 2**20:.1f} MiB")
    print(f"median of {args.repeat}: np.save {med['np.save'] * 1e3:.1f} ms, "
          f"bundle {med['bundle'] * 1e3:.1f} ms, ratio {med['bundle'] / med['np.save']:.2f}")
    print(f"min: np.save {min(times['np.save']) * 1e3:.1f} ms, "
          f"bundle {min(times['bundle']) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
