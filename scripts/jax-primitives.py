#!/usr/bin/env python3
"""Writes scripts/jax-primitives.json: every primitive the installed JAX (and Equinox) registers,
found by importing their modules and collecting the Primitive objects that exist afterwards, never
from a hand-written list. Each entry carries the module that defines it and, when
scripts/primitives-out-of-scope.json names it, the one-line reason it is out of scope (or, for one
in scope but not lowered yet, why it is missing).

    /work/venv/bin/python scripts/jax-primitives.py            # rewrite the file
    /work/venv/bin/python scripts/jax-primitives.py --check    # exit 1 if the file is stale

`jax2onnx --coverage --format markdown --jax-primitives scripts/jax-primitives.json` turns it into
the claimed / out of scope / missing counts on docs/coverage.md.
"""
from __future__ import annotations

import gc
import importlib
import json
import os
import pkgutil
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "jax-primitives.json")
REASONS = os.path.join(HERE, "primitives-out-of-scope.json")
PACKAGES = ("jax", "equinox")
# Test-only modules and GPU plugin shims that register nothing an exported program can contain.
SKIP = (".tests", "_test", "jax_cuda", "jax_rocm", "jax.collect_profile", "jax.experimental.jax2tf")


def registered() -> dict[str, str]:
    """Primitive name -> the module that holds it (the first by name when several do)."""
    warnings.filterwarnings("ignore")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    from jax._src import core
    for pkg in PACKAGES:
        try:
            root = importlib.import_module(pkg)
        except ImportError:
            continue
        for info in pkgutil.walk_packages(root.__path__, pkg + "."):
            if any(s in info.name for s in SKIP):
                continue
            try:
                importlib.import_module(info.name)
            except BaseException:  # optional back ends (Mosaic GPU, TF) are absent on CPU installs
                pass
    homes: dict[int, str] = {}
    for name, mod in sorted(sys.modules.items()):
        if mod is None or not name.startswith(PACKAGES):
            continue
        for value in list(vars(mod).values()):
            if isinstance(value, core.Primitive):
                homes.setdefault(id(value), name)
    found: dict[str, str] = {}
    for o in gc.get_objects():
        if isinstance(o, core.Primitive):
            home = homes.get(id(o), type(o).__module__)
            if o.name not in found or home < found[o.name]:
                found[o.name] = home
    return found


def build() -> dict:
    import jax
    versions = {"jax": jax.__version__}
    try:
        import equinox
        versions["equinox"] = equinox.__version__
    except ImportError:
        pass
    with open(REASONS) as f:
        reasons = json.load(f)
    out_of_scope = {p: g["reason"] for g in reasons["out_of_scope"] for p in g["primitives"]}
    known_missing = {p: g["reason"] for g in reasons.get("known_missing", []) for p in g["primitives"]}
    both = sorted(set(out_of_scope) & set(known_missing))
    if both:
        sys.exit(f"{REASONS} lists these both out of scope and missing: {both}")
    prims = registered()
    stale = sorted((set(out_of_scope) | set(known_missing)) - set(prims))
    if stale:
        sys.exit(f"{REASONS} names primitives this JAX does not register: {stale}")
    entries = []
    for name in sorted(prims):
        e = {"primitive": name, "module": prims[name]}
        if name in out_of_scope:
            e["out_of_scope"] = out_of_scope[name]
        if name in known_missing:
            e["missing"] = known_missing[name]
        entries.append(e)
    return {"generated_by": "scripts/jax-primitives.py", "versions": versions, "primitives": entries}


def main() -> None:
    text = json.dumps(build(), indent=1) + "\n"
    if "--check" in sys.argv:
        with open(OUT) as f:
            if f.read() != text:
                sys.exit(f"{OUT} is stale: run scripts/jax-primitives.py")
        return
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
