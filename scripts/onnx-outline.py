#!/usr/bin/env python3
"""Print the function hierarchy of an ONNX model as a text tree, the way Netron shows it when
you open each function node: calls of local functions (ModelProto.functions) expand into their
bodies, runs of ordinary nodes are summarized by op type.

  python scripts/onnx-outline.py model.onnx [--ops] [--depth N]

--ops lists every ordinary node instead of summarizing a run; --depth stops expanding below N
levels. A function already expanded above is shown once more by name only. Needs `onnx`.
"""
from __future__ import annotations

import argparse
import collections
import sys

import onnx


def _type(v: onnx.ValueInfoProto) -> str:
    t = v.type.tensor_type
    if not v.type.HasField("tensor_type"):
        return v.name
    dt = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name if t.elem_type else "?"
    dims = [d.dim_param or str(d.dim_value) if (d.dim_param or d.HasField("dim_value")) else "?"
            for d in t.shape.dim]
    return f"{v.name}: {dt}[{','.join(dims)}]"


def _summary(ops: list[str]) -> str:
    counts = collections.Counter(ops)
    return ", ".join(f"{op} ×{n}" if n > 1 else op for op, n in counts.items())


def outline(model: onnx.ModelProto, list_ops: bool = False, depth: int | None = None) -> str:
    funcs = {(f.domain, f.name): f for f in model.functions}
    g = model.graph
    lines = [f"{g.name or 'graph'}  ({len(g.node)} nodes, {len(funcs)} functions, "
             f"{len(g.initializer)} initializers)",
             "  in:  " + "; ".join(_type(v) for v in g.input),
             "  out: " + "; ".join(_type(v) for v in g.output)]
    shown: set = set()

    def body(nodes, prefix: str, level: int):
        items: list = []  # ("ops", [op...]) or ("call", key, count)
        for n in nodes:
            key = (n.domain, n.op_type)
            if key in funcs:
                if items and items[-1][0] == "call" and items[-1][1] == key:
                    items[-1] = ("call", key, items[-1][2] + 1)
                else:
                    items.append(("call", key, 1))
            elif list_ops or not items or items[-1][0] != "ops":
                items.append(("ops", [n.op_type]))
            else:
                items[-1][1].append(n.op_type)
        for i, item in enumerate(items):
            last = i == len(items) - 1
            branch, cont = ("└─ ", "   ") if last else ("├─ ", "│  ")
            if item[0] == "ops":
                lines.append(prefix + branch + _summary(item[1]))
                continue
            _, key, count = item
            f = funcs[key]
            times = f" ×{count}" if count > 1 else ""
            head = f"{f.name}{times}  [{f.domain}]  ({len(f.input)} in, {len(f.output)} out, {len(f.node)} nodes)"
            if key in shown or (depth is not None and level >= depth):
                lines.append(prefix + branch + head + ("  (body above)" if key in shown else ""))
                continue
            shown.add(key)
            lines.append(prefix + branch + head)
            body(f.node, prefix + cont, level + 1)

    body(g.node, "", 0)
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--ops", action="store_true", help="list every node, not a summary per run")
    ap.add_argument("--depth", type=int, help="expand function calls down to this level")
    a = ap.parse_args(argv)
    try:
        model = onnx.load(a.model, load_external_data=False)
    except Exception as e:  # a missing or unreadable file: say so, exit 2
        print(f"onnx-outline: cannot read {a.model}: {e}", file=sys.stderr)
        return 2
    print(outline(model, a.ops, a.depth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
