"""record_primitive_calls_file: one line per equation of the exported program.

Columns (tab-separated): index, nesting depth, primitive, a params summary, the user's source
line, and the pack that lowered the primitive. Nested equations (cond branches, loop bodies,
pjit calls) follow their parent with depth + 1, so the file reads as the program does. The pack
is the one the CLI's `inspect` names as the winner for that primitive at the opset.
"""

from __future__ import annotations

import os
import subprocess

from .bundle import read_bundle

_MAX_PARAMS = 160


def _summary(value) -> str:
    if isinstance(value, dict):
        tag = value.get("$")
        if tag in ("jaxpr", "closed_jaxpr"):
            body = value["v"]["jaxpr"] if tag == "closed_jaxpr" else value["v"]
            return f"<jaxpr {len(body['eqns'])} eqns>"
        if tag in ("dtype", "dim", "float"):
            return str(value["v"])
        if tag == "enum":
            return f"{value['type']}.{value['name']}"
        if tag in ("opaque", "record", "array", "scalar", "dict"):
            return f"<{value.get('type', tag)}>"
        return "{...}"
    if isinstance(value, list):
        return "(" + ",".join(_summary(v) for v in value) + ")"
    return repr(value)


def _params(params: dict) -> str:
    text = " ".join(f"{k}={_summary(v)}" for k, v in params.items())
    return text if len(text) <= _MAX_PARAMS else text[: _MAX_PARAMS - 3] + "..."


def _sub_jaxprs(value):
    if isinstance(value, dict):
        tag = value.get("$")
        if tag == "jaxpr":
            yield value["v"]
        elif tag == "closed_jaxpr":
            yield value["v"]["jaxpr"]
        else:
            for v in value.values():
                yield from _sub_jaxprs(v)
    elif isinstance(value, list):
        for v in value:
            yield from _sub_jaxprs(v)


def _walk(jaxpr, depth: int = 0):
    for eqn in jaxpr["eqns"]:
        yield depth, eqn
        for sub in _sub_jaxprs(eqn["params"]):
            yield from _walk(sub, depth + 1)


def _packs(inspect_cmd: list[str]) -> dict[str, str]:
    """primitive -> pack label from `jax2onnx inspect` (lines "  prim  xN  Pack@1.0 ...")."""
    proc = subprocess.run(inspect_cmd, capture_output=True, text=True)
    out = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if line.startswith("  ") and len(parts) >= 3 and parts[1].startswith("x"):
            out[parts[0]] = parts[2]
    return out


def write_record(path, bundle_path: str, inspect_cmd: list[str]) -> str:
    doc = read_bundle(bundle_path).doc
    packs = _packs(inspect_cmd)
    lines = ["# index\tdepth\tprimitive\tparams\tsource\tpack"]
    for k, (depth, eqn) in enumerate(_walk(doc["program"]["jaxpr"])):
        src = eqn.get("src")
        where = f"{src['file']}:{src['line']}" if src else "-"
        lines.append(f"{k}\t{depth}\t{eqn['prim']}\t{_params(eqn['params'])}\t{where}\t"
                     f"{packs.get(eqn['prim'], 'MISSING')}")
    path = os.fspath(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path
