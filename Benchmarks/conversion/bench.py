"""Conversion speed and memory: how long the Swift host takes per JAXPR equation on deep models,
how fast it moves weight bytes, and its peak resident memory.

    .venv/bin/python Benchmarks/conversion/bench.py                # deep stacks + transformer
    .venv/bin/python Benchmarks/conversion/bench.py --quick        # smaller, for a smoke run
    .venv/bin/python Benchmarks/conversion/bench.py --blocks 834 8334 --no-transformer
                                                                   # deep stacks only (~5k, ~50k eqns)
    .venv/bin/python Benchmarks/conversion/bench.py --reference /work/venv-ref/bin/python
                                                                   # + the Python jax2onnx side by side

Build the host first (`swift build -c release`); the runner uses `.build/release/jax2onnx`
unless JAX2ONNX_CLI says otherwise. Every conversion runs as its own process under
`/usr/bin/time`, `--runs` times (median reported); "host" is the host's own phase total from
`--report` (read + lower + optimize + write), "command" is the whole process wall time, "RSS" its
peak resident memory. The machine should be otherwise idle.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from models import deep_stack, transformer  # noqa: E402


def cli() -> str:
    return os.environ.get("JAX2ONNX_CLI") or str(ROOT / ".build" / "release" / "jax2onnx")


def equations(bundle: str) -> int:
    out = subprocess.run([cli(), "inspect", bundle], capture_output=True, text=True).stdout
    m = re.search(r"(\d+) equations", out)
    return int(m.group(1)) if m else -1


def convert(bundle: str, out: str, extra: list[str]) -> dict:
    """One conversion in a fresh process: host phases, wall time, peak RSS."""
    # A fresh output each time: replacing a model also pays the file system for freeing the old
    # one's blocks (on ext4 about 0.1 s per 400 MB), which is not conversion work.
    for stale in (out, out + ".data"):
        if os.path.exists(stale):
            os.unlink(stale)
    cmd = ["/usr/bin/time", "-f", "%M %e", cli(), "convert", bundle, "-o", out, "--report", "--quiet", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"conversion failed: {proc.stderr[-2000:]}")
    rss_kb, _ = proc.stderr.strip().splitlines()[-1].split()
    phases = dict((k, float(v)) for k, v in re.findall(r"(\w+) ([0-9.]+) ms", proc.stdout + proc.stderr))
    return {"wall": wall, "rss": int(rss_kb) * 1024, "host": sum(phases.values()) / 1e3, "phases": phases}


def median_run(bundle: str, out: str, extra: list[str], runs: int) -> dict:
    results = [convert(bundle, out, extra) for _ in range(runs)]
    pick = lambda k: statistics.median(r[k] for r in results)  # noqa: E731
    return {"wall": pick("wall"), "host": pick("host"), "rss": max(r["rss"] for r in results),
            "phases": results[len(results) // 2]["phases"]}


def reference_seconds(python: str, model: str, arg: int, tmp: str) -> float | None:
    """The Python jax2onnx exporting the same model, timed in its own interpreter."""
    script = f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
import jax, jax2onnx
from models import {model}
fn, inputs = {model}({arg})
specs = [jax.ShapeDtypeStruct(x.shape, x.dtype) for x in inputs]
t0 = time.perf_counter()
jax2onnx.to_onnx(fn, specs, return_mode="file", output_path={os.path.join(tmp, "ref.onnx")!r})
print(time.perf_counter() - t0)
"""
    proc = subprocess.run([python, "-c", script], capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    if proc.returncode != 0:
        print(f"  reference exporter failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return float(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--reference", metavar="PYTHON", help="a python with jax2onnx (PyPI) installed, for ratios")
    ap.add_argument("--reference-max-eqns", type=int, default=6000,
                    help="skip the reference on bigger deep stacks (it is quadratic)")
    ap.add_argument("--blocks", type=int, nargs="+", metavar="N",
                    help="deep stack sizes in blocks of 6 equations (default: 100 834 8334, i.e. ~600, ~5k, ~50k)")
    ap.add_argument("--no-transformer", action="store_true", help="skip the ~100M-parameter transformer")
    args = ap.parse_args()
    from jax2onnx_swift import save_bundle

    blocks = args.blocks or ([100, 834] if args.quick else [100, 834, 8334])
    rows = []
    with tempfile.TemporaryDirectory(prefix="j2o-bench-") as tmp:
        for n in blocks:
            fn, inputs = deep_stack(n)
            bundle = os.path.join(tmp, f"deep{n}.jaxpr")
            t0 = time.perf_counter()
            save_bundle(fn, inputs, bundle)
            trace = time.perf_counter() - t0
            eqns = equations(bundle)
            r = median_run(bundle, os.path.join(tmp, "deep.onnx"), [], args.runs)
            row = {"model": f"deep stack x{n}", "eqns": eqns, "trace": trace, **r,
                   "us_per_eqn": r["host"] / eqns * 1e6}
            if args.reference and eqns <= args.reference_max_eqns:
                row["reference"] = reference_seconds(args.reference, "deep_stack", n, tmp)
            rows.append(row)
            print(line(row), flush=True)

        deep = [r for r in rows if "us_per_eqn" in r]
        if len(deep) >= 2:
            small, big = deep[-2], deep[-1]
            ratio = big["us_per_eqn"] / small["us_per_eqn"]
            print(f"linearity: {big['us_per_eqn']:.2f} us/eqn at {big['eqns']} eqns vs {small['us_per_eqn']:.2f} at "
                  f"{small['eqns']}: {ratio:.2f}x (target < 1.5x); worst {max(r['us_per_eqn'] for r in deep[1:]):.2f} "
                  f"us/eqn (target <= 20)", flush=True)
        if args.no_transformer:
            return finish(rows)
        width = 256 if args.quick else 768
        fn, inputs = transformer(width)
        bundle = os.path.join(tmp, "transformer.jaxpr")
        t0 = time.perf_counter()
        save_bundle(fn, inputs, bundle)
        trace = time.perf_counter() - t0
        weight_bytes = os.path.getsize(bundle)
        eqns = equations(bundle)
        for mode, extra in [("sidecar", []), ("--web", ["--web"])]:
            r = median_run(bundle, os.path.join(tmp, f"t{mode}.onnx"), extra, args.runs)
            row = {"model": f"transformer d={width} ({mode})", "eqns": eqns, "trace": trace, **r,
                   "weights": weight_bytes, "gbps": weight_bytes / r["host"] / 1e9,
                   "rss_over_weights": (r["rss"] - weight_bytes) / 2**20}
            if args.reference and mode == "sidecar":
                row["reference"] = reference_seconds(args.reference, "transformer", width, tmp)
            rows.append(row)
            print(line(row), flush=True)
    return finish(rows)


def finish(rows: list[dict]) -> int:
    with open(os.path.join(ROOT, ".build", "bench-conversion.json"), "w") as f:
        print(json.dumps(rows, indent=1, default=str), file=f)
    return 0


def line(r: dict) -> str:
    s = (f"{r['model']:<32} {r['eqns']:>7} eqns  host {r['host'] * 1e3:9.1f} ms  command {r['wall'] * 1e3:9.1f} ms  "
         f"RSS {r['rss'] / 2**20:7.1f} MiB")
    if "us_per_eqn" in r:
        per = {k: v * 1e3 / r["eqns"] for k, v in r["phases"].items()}
        s += f"  {r['us_per_eqn']:6.2f} us/eqn (" + " ".join(f"{k} {v:.1f}" for k, v in per.items()) + ")"
    if "gbps" in r:
        s += f"  {r['gbps']:5.2f} GB/s of weights, RSS - weights {r['rss_over_weights']:6.1f} MiB"
    if r.get("reference"):
        s += f"  | jax2onnx {r['reference']:8.2f} s ({r['reference'] / r['wall']:.0f}x)"
    return s


if __name__ == "__main__":
    sys.exit(main())
