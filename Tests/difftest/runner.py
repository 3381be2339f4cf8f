"""python -m difftest --programs N --seed S [--out DIR] [--shrink K] [--jobs J]

(with Tests/ and python/ on PYTHONPATH, or run Tests/difftest/run.py). Prints counts per class
and per primitive; failures are shrunk and written as reproducers under --out."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict

from .generate import generate
from .oracle import CLASSES, FAILURES, check, signature
from .shrink import shrink, write_reproducer


def load_claims(cli: str) -> dict:
    out = subprocess.run([cli, "--coverage", "--format", "json"], capture_output=True, text=True, check=True)
    return {p["primitive"]: set(p["claims"][0]["dtypes"] or []) for p in json.loads(out.stdout)["primitives"]}


def find_cli() -> str:
    from jax2onnx_swift import find_cli as find
    return find()


def run(programs: int, seed: int, cli: str, claims: dict, out: str | None = None, shrink_max: int = 0,
        log=print, stride: int = 1, offset: int = 0):
    """Runs programs seed+offset, seed+offset+stride, ...; returns (per-class counts,
    per-primitive counts, failures)."""
    classes = Counter()
    per_prim = defaultdict(Counter)
    failures = []
    shrunk = 0
    t0 = time.time()
    for i in range(offset, programs, stride):
        s = seed + i
        try:
            p = generate(s, claims)
        except Exception as e:  # noqa: BLE001 - a tester bug must not end a long run
            classes["generator_error"] += 1
            log(f"seed {s}: generator error {type(e).__name__}: {e}")
            continue
        o = check(p, cli)
        classes[o.cls] += 1
        for prim in o.prims:
            per_prim[prim][o.cls] += 1
        if o.accepted:
            classes["accepted"] += 1
        if o.sym:
            kind = o.sym.split(" ", 1)[0]
            classes[f"sym_{kind}"] += 1
            if kind == "declined":
                classes["sym_declined: " + o.sym.split(" ", 1)[1]] += 1
        if o.cls in FAILURES:
            log(f"seed {s}: {o.cls} ({o.mode}) {o.detail.splitlines()[0][:300] if o.detail else ''}")
            failures.append((s, o.cls, o.detail))
            if out and shrunk < shrink_max:
                shrunk += 1
                small = shrink(p, signature(o), cli, log=log)
                d = write_reproducer(small, o.cls, o.detail, out)
                log(f"  reproducer: {d}")
        if (i - offset) // stride % 100 == 99:
            log(f"[{i + 1}/{programs}] {dict(classes)} {time.time() - t0:.0f}s")
    return classes, per_prim, failures


def report(classes, per_prim, elapsed, log=print):
    log(f"\n== {sum(classes[c] for c in CLASSES)} programs in {elapsed:.0f}s")
    for c in CLASSES + ("accepted", "generator_error"):
        log(f"  {c:14s} {classes.get(c, 0)}")
    log("\n== symbolic mode (leading dim made symbolic)")
    for c in ("sym_ran", "sym_untraceable", "sym_declined"):
        log(f"  {c:16s} {classes.get(c, 0)}")
    for c in sorted(k for k in classes if k.startswith("sym_declined: ")):
        log(f"    {classes[c]:5d}  {c[len('sym_declined: '):]}")
    log("\n== per primitive (programs using it)")
    cols = CLASSES
    log("  " + f"{'primitive':28s}" + "".join(f"{c:>14s}" for c in cols))
    for prim in sorted(per_prim):
        log("  " + f"{prim:28s}" + "".join(f"{per_prim[prim].get(c, 0):14d}" for c in cols))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="difftest", description=__doc__.splitlines()[0])
    ap.add_argument("--programs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="folder for shrunk reproducers")
    ap.add_argument("--shrink", type=int, default=20, help="shrink at most this many failures")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--json", default=None, help="also write the counts as JSON here")
    ap.add_argument("--cli", default=None)
    a = ap.parse_args(argv)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    cli = a.cli or find_cli()
    claims = load_claims(cli)
    t0 = time.time()
    if a.jobs <= 1:
        classes, per_prim, failures = run(a.programs, a.seed, cli, claims, a.out, a.shrink)
    else:
        import multiprocessing as mp
        ctx = mp.get_context("spawn")
        with ctx.Pool(a.jobs) as pool:
            parts = pool.starmap(_worker, [(a.programs, a.seed, cli, a.out, a.shrink // a.jobs, a.jobs, j)
                                           for j in range(a.jobs)])
        classes, per_prim, failures = Counter(), defaultdict(Counter), []
        for c, pp, f in parts:
            classes.update(c)
            for k, v in pp.items():
                per_prim[k].update(v)
            failures += f
    report(classes, per_prim, time.time() - t0)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"classes": classes, "per_primitive": per_prim,
                       "failures": [{"seed": s, "class": c, "detail": d} for s, c, d in failures]}, fh, indent=1)
    return 1 if any(classes.get(c) for c in FAILURES) else 0


def _worker(programs, seed, cli, out, shrink_max, stride, offset):
    claims = load_claims(cli)
    log = lambda m: print(m, flush=True)  # noqa: E731
    c, pp, f = run(programs, seed, cli, claims, out, shrink_max, log, stride, offset)
    return c, {k: dict(v) for k, v in pp.items()}, f

