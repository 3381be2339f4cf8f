"""Shrinking a failing program to a small one that fails the same way, and writing it out as a
standalone reproducer (a .py that converts and compares, plus its bundle)."""

from __future__ import annotations

import os
import re
import textwrap

from .oracle import check, signature, write_bundle
from .program import Program, input_source

TOKEN = re.compile(r"\b([avkp]\d+|branch\d+|loop\d+|step\d+|inner\d+)\b")


def _defined(line: str) -> list[str]:
    lhs = line.split(" = ", 1)[0]
    return [t.strip() for t in lhs.split(",") if t.strip()]


def _uses(text: str) -> set[str]:
    return set(TOKEN.findall(text))


def dead_code(p: Program) -> Program:
    """Drops lines, helper defs and arguments nothing returned depends on."""
    live = set(p.outputs)
    body = []
    for line in reversed(p.body):
        if any(n in live for n in _defined(line)):
            body.append(line)
            live |= _uses(line.split(" = ", 1)[1])
    body.reverse()
    defs = list(p.defs)
    changed = True
    while changed:  # defs may call defs
        changed = False
        for d in defs:
            name = d[0][4:].split("(")[0]
            if name in live:
                used = _uses("\n".join(d[1:]))
                if not used <= live:
                    live |= used
                    changed = True
    defs = [d for d in defs if d[0][4:].split("(")[0] in live]
    keep = [i for i, a in enumerate(p.args) if a in live]
    return p.with_(body=body, defs=defs, args=[p.args[i] for i in keep],
                   inputs=[p.inputs[i] for i in keep])


def shrink(p: Program, sig: str, cli: str, budget: int = 80, log=None) -> Program:
    """Greedy: fewer outputs, then each line replaced by one of its operands, then dead code
    removed; a step is kept when the program still fails with the same class."""
    tries = [0]

    def still_fails(q: Program) -> bool:
        if tries[0] >= budget:
            return False
        tries[0] += 1
        return signature(check(q, cli)) == sig

    best = dead_code(p)
    dce = dead_code
    if best.body != p.body and not still_fails(best):
        # the failure needs an unused equation: shrink without dropping dead code
        best, dce = p, lambda q: q
    for o in list(best.outputs):
        if len(best.outputs) > 1:
            q = dce(best.with_(outputs=[x for x in best.outputs if x != o]))
            if still_fails(q):
                best = q
    progress = True
    while progress and tries[0] < budget:
        progress = False
        for i in range(len(best.body) - 1, -1, -1):
            if i >= len(best.body):
                continue
            line = best.body[i]
            lhs = _defined(line)
            if len(lhs) != 1:
                continue
            for name in sorted(_uses(line.split(" = ", 1)[1]), key=lambda n: -len(n)):
                if not name[0] in "avkp" or name in lhs:
                    continue
                body = list(best.body)
                body[i] = f"{lhs[0]} = {name}"
                q = dce(best.with_(body=body))
                if still_fails(q):
                    best = q
                    progress = True
                    break
    if log:
        log(f"shrunk seed {p.seed} from {len(p.body)} to {len(best.body)} lines in {tries[0]} checks")
    return best


def write_reproducer(p: Program, cls: str, detail: str, outdir: str) -> str:
    """outdir/<cls>_<seed>/: repro.py (standalone: converts and compares) and p.jaxpr."""
    d = os.path.join(outdir, f"{cls}_{p.seed}")
    os.makedirs(d, exist_ok=True)
    inputs = ",\n".join("    " + input_source(x) for x in p.inputs)
    src = f'''"""difftest reproducer: seed {p.seed}, class {cls}.
{textwrap.indent(detail.strip(), "    ")}

Run: PYTHONPATH=python JAX2ONNX_CLI=.build/debug/jax2onnx python {os.path.join(d, "repro.py")}
As a numeric-table case: case("difftest_{p.seed}", f, [lambda rng, x=x: x for x in INPUTS], [...prims...]{", x64=True" if p.x64 else ""})
"""
import sys, tempfile, os
import numpy as np
import jax
import jax.numpy as jnp
from jax import lax

X64 = {p.x64}

{p.source()}
INPUTS = [
{inputs}
]

if __name__ == "__main__":
    from jax2onnx_swift import allclose, to_onnx
    with jax.enable_x64(X64):
        for optimize in (True, False):
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "m.onnx")
                to_onnx(f, INPUTS, path, optimize=optimize)
                print("optimize" if optimize else "no-optimize", allclose(f, path, INPUTS, rtol=1e-5, atol=1e-5))
'''
    with open(os.path.join(d, "repro.py"), "w") as fh:
        fh.write(src)
    try:
        write_bundle(p, os.path.join(d, "p.jaxpr"))
    except Exception:  # noqa: BLE001 - the .py alone still reproduces
        pass
    return d
