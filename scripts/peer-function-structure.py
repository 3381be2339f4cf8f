#!/usr/bin/env python3
"""Compare the ONNX function structure this project exports for the Python jax2onnx's
`onnx_functions` examples with what jax2onnx itself exports, and check both against JAX.

Run in the peer-suite venv (jax2onnx 0.17.1 installed, ../shared/peer-suite/README.md), with this
project's package on PYTHONPATH and JAX2ONNX_CLI set:

  /tmp/peer-venv/bin/python scripts/peer-function-structure.py [--filter 017] [--show]

For each testcase it prints the call tree of each export, e.g. `Model[Block ×2[Attention]]`:
the functions the main graph calls, in order, each with the functions its body calls. Function
names are compared without the `_N` suffix this project adds to tell different bodies of one
name apart (jax2onnx tells them apart by domain: `custom.Block.1`, `custom.Block.2`). Also
compared: that every domain starts with the namespace. The number of FunctionProtos is shown,
not compared: jax2onnx keeps a block's weights inside its body, so N blocks are N functions, while
here weights are passed in and N equal blocks share one. Exit 1 when a structure or a number
differs.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile

import numpy as np


def call_tree(model) -> str:
    funcs = {(f.domain, f.name): f for f in model.functions}

    def body(nodes, seen):
        parts: list[list] = []
        for n in nodes:
            key = (n.domain, n.op_type)
            if key not in funcs:
                continue
            name = re.sub(r"_\d+$", "", n.op_type) if n.domain and not n.domain.count(".") else n.op_type
            inner = body(funcs[key].node, seen | {key}) if key not in seen else "…"
            label = name + (f"[{inner}]" if inner else "")
            if parts and parts[-1][0] == label:
                parts[-1][1] += 1
            else:
                parts.append([label, 1])
        return ", ".join(l if c == 1 else f"{l} ×{c}" for l, c in parts)

    return body(model.graph.node, frozenset())


def namespaces(model) -> list[str]:
    return sorted({f.domain.split(".")[0] for f in model.functions})


def cases(flt):
    from jax2onnx.plugins.plugin_system import EXAMPLE_REGISTRY, import_all_plugins
    import logging
    logging.disable(logging.WARNING)
    import_all_plugins()
    for md in EXAMPLE_REGISTRY.values():
        if md.get("context") != "examples.onnx_functions":
            continue
        for tc in md.get("testcases") or []:
            if tc.get("callable") is None or (flt and flt not in tc["testcase"]):
                continue
            yield tc


def concrete(shape):
    return tuple(3 if isinstance(d, str) else d for d in shape)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--filter")
    ap.add_argument("--show", action="store_true", help="print both call trees for every case")
    a = ap.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import onnx
    import onnxruntime as ort
    from jax2onnx import to_onnx as peer_to_onnx
    from jax2onnx_swift import to_onnx as our_to_onnx

    bad = 0
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for tc in sorted(cases(a.filter), key=lambda t: t["testcase"]):
            fn = tc["callable"]
            if hasattr(fn, "instantiate"):
                fn = fn.instantiate()
            params = dict(tc.get("input_params") or {})
            shapes = [concrete(s) for s in tc["input_shapes"]]
            dtypes = tc.get("input_dtypes") or [np.float32] * len(shapes)
            specs = [jax.ShapeDtypeStruct(s, d) for s, d in zip(shapes, dtypes)]
            xs = [(rng.standard_normal(s) * 0.5).astype(d) for s, d in zip(shapes, dtypes)]
            want = [np.asarray(y) for y in jax.tree_util.tree_leaves(fn(*xs, **params))]
            models = {}
            peer_path = os.path.join(tmp, "peer.onnx")
            peer_to_onnx(fn, specs, return_mode="file", output_path=peer_path,
                         **({"input_params": params} if params else {}))
            models["jax2onnx"] = onnx.load(peer_path)
            models["ours"] = our_to_onnx(fn, specs, input_params=params or None)
            notes = []
            for who, m in models.items():
                s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
                feed = {i.name: x for i, x in zip(s.get_inputs(), xs)}
                for i in s.get_inputs()[len(xs):]:  # input_params the model takes as inputs
                    v = params[i.name] if i.name in params else None
                    if v is None:
                        notes.append(f"{who}: no value for input {i.name}")
                        continue
                    feed[i.name] = np.asarray(v, dtype=bool if isinstance(v, bool) else None)
                got = s.run(None, feed)
                for g, w in zip(got, want):
                    tol = max(float(tc.get("atol", 0) or 0), 1e-4)
                    if not np.allclose(g, w, rtol=tol, atol=tol):
                        notes.append(f"{who}: differs from JAX by {np.max(np.abs(g - w)):.3g}")
            trees = {w: call_tree(m) for w, m in models.items()}
            counts = {w: len(m.functions) for w, m in models.items()}
            spaces = {w: namespaces(m) for w, m in models.items()}
            same = trees["ours"] == trees["jax2onnx"] and spaces["ours"] == spaces["jax2onnx"]
            ok = same and not notes
            bad += not ok
            print(f"{'ok  ' if ok else 'DIFF'} {tc['testcase']}: {counts['ours']} functions "
                  f"(jax2onnx {counts['jax2onnx']})")
            if a.show or not ok:
                for w in models:
                    print(f"     {w:8} {spaces[w]} {trees[w]}")
            for n in notes:
                print("     " + n)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
