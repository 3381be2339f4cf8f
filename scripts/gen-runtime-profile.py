"""Regenerates Sources/Host/Runtime/RuntimeProfiles.generated.swift from the installed onnxruntime.

A runtime profile names the kernels a deployment target runs, as (op, domain, opset range, dtype)
entries; the host refuses a node its target lacks and hands the table to packs (ABI 1.5
`supports`), so a lowering picks a form the target runs.

Sources of truth, in order:
  1. ORT's kernel registry for the CPU execution provider (onnxruntime's get_all_opkernel_def):
     every registered kernel with its opset range and type constraints.
  2. Ops of the default domain with no CPU kernel but a function body (HardSwish, Mish,
     GroupNormalization, ...): ORT expands those into their body, so whether they run depends on
     the body's ops. Each is probed with a one-node model per dtype its schema allows, at the
     first opset of each schema version: the dtype is in the profile when ORT creates a session.

Line format, one per (op, first opset, last opset) of the default domain:
  Name;first;last;T=1.11,T1=7
  constraint dtypes are ONNX dtype codes, the union over the kernels registered for that range;
  a kernel that lists no dtypes for a constraint accepts any (written *).

`--check` recomputes the table and exits 1 when the committed file is stale for the installed
onnxruntime (CI runs it against the pinned version; it takes a few seconds).
"""
import hashlib
import os
import sys
import warnings

import onnx
import onnxruntime as ort
from onnx import defs, helper
from onnxruntime.capi import onnxruntime_pybind11_state as C

DTYPES = {
    "float": 1, "uint8": 2, "int8": 3, "uint16": 4, "int16": 5, "int32": 6, "int64": 7, "string": 8,
    "bool": 9, "float16": 10, "double": 11, "uint32": 12, "uint64": 13, "complex64": 14,
    "complex128": 15, "bfloat16": 16, "float8e4m3fn": 17, "float8e4m3fnuz": 18, "float8e5m2": 19,
    "float8e5m2fnuz": 20, "uint4": 21, "int4": 22, "float4e2m1": 23, "float8e8m0": 24,
}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "Host", "Runtime",
                   "RuntimeProfiles.generated.swift")
INF = 2**31 - 1


def tensor_code(t):
    if t.startswith("tensor(") and t.endswith(")"):
        return DTYPES.get(t[7:-1])
    return None


def kernel_rows():
    """(op, first, last) -> {constraint: set of codes or None (any)} for the CPU provider."""
    rows = {}
    for k in C.get_all_opkernel_def():
        if k.provider != "CPUExecutionProvider" or k.domain not in ("", "ai.onnx"):
            continue
        first, last = k.version_range
        key = (k.op_name, first, min(last, INF))
        row = rows.setdefault(key, {})
        for name, types in k.type_constraints.items():
            codes = {c for c in (tensor_code(t) for t in types) if c is not None}
            if row.get(name, set()) is None:
                continue
            # Sequence and optional types only: not an element type the host checks.
            row[name] = None if not codes else row.get(name, set()) | codes
    return rows


def keyed_constraint(schema):
    """The constraint the profile keys a function op on, as the host reads it: output 0's type
    variable when an input shares it, else input 0's, else output 0's."""
    names = {c.type_param_str for c in schema.type_constraints}
    out = schema.outputs[0].type_str if schema.outputs and schema.outputs[0].type_str in names else None
    if out and any(p.type_str == out for p in schema.inputs):
        return out
    if schema.inputs and schema.inputs[0].type_str in names:
        return schema.inputs[0].type_str
    return out


def probe(schema, opset, dtype_name):
    """True when ORT creates a session for a one-node model of `schema` at `opset` whose keyed
    constraint is `dtype_name` (other constraints take their first allowed tensor type)."""
    key = keyed_constraint(schema)
    allowed = {c.type_param_str: c.allowed_type_strs for c in schema.type_constraints}

    def elem(type_str):
        if type_str == key:
            return DTYPES[dtype_name]
        if type_str in allowed:
            for t in allowed[type_str]:
                if tensor_code(t) is not None:
                    return tensor_code(t)
            return None
        return tensor_code(type_str)

    inputs, names = [], []
    for i, p in enumerate(schema.inputs):
        if p.option == defs.OpSchema.FormalParameterOption.Optional:
            break
        code = elem(p.type_str)
        if code is None:
            return False
        inputs.append(helper.make_tensor_value_info(f"i{i}", code, None))
        names.append(f"i{i}")
    outputs = []
    for i, p in enumerate(schema.outputs[:1]):
        code = elem(p.type_str)
        if code is None:
            return False
        outputs.append(helper.make_tensor_value_info(f"o{i}", code, None))
    node = helper.make_node(schema.name, names, [o.name for o in outputs])
    graph = helper.make_graph([node], "probe", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 10)
    so = ort.SessionOptions()
    so.log_severity_level = 4
    try:
        ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        return True
    except Exception:
        return False


def function_rows(kernel_ops, max_opset):
    rows = {}
    by_name = {}
    for s in defs.get_all_schemas_with_history():
        if s.domain in ("", "ai.onnx") and s.name not in kernel_ops:
            by_name.setdefault(s.name, []).append(s)
    for name, versions in sorted(by_name.items()):
        versions.sort(key=lambda s: s.since_version)
        for i, s in enumerate(versions):
            if s.since_version > max_opset or s.deprecated:
                continue
            last = versions[i + 1].since_version - 1 if i + 1 < len(versions) else INF
            if name == "Constant":
                # Folded into an initializer when the session is created: runs for every type.
                rows[(name, s.since_version, last)] = {}
                continue
            key = keyed_constraint(s)
            if key is None or not (s.has_function or s.has_context_dependent_function):
                continue
            allowed = next(c.allowed_type_strs for c in s.type_constraints if c.type_param_str == key)
            codes = set()
            for t in allowed:
                code = tensor_code(t)
                if code is not None and probe(s, s.since_version, t[7:-1]):
                    codes.add(code)
            if codes:
                rows[(name, s.since_version, last)] = {key: codes}
    return rows


def table():
    max_opset = max(s.since_version for s in defs.get_all_schemas_with_history() if s.domain == "")
    rows = kernel_rows()
    rows.update(function_rows({k[0] for k in rows}, min(max_opset, onnx.defs.onnx_opset_version())))
    lines = []
    for (name, first, last), cons in sorted(rows.items()):
        parts = []
        for c, codes in sorted(cons.items()):
            parts.append(f"{c}=*" if codes is None else f"{c}=" + ".".join(str(x) for x in sorted(codes)))
        lines.append(f"{name};{first};{last if last < INF else 0};{','.join(parts)}")
    return lines


def render(lines):
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
    return (
        f"// Generated by scripts/gen-runtime-profile.py from onnxruntime {ort.__version__} (CPU provider)"
        f" and onnx {onnx.__version__}. Do not edit.\n"
        f"// Format: see the script. {len(lines)} rows; table hash {digest}.\n"
        f"let ortCPUVersion = \"{ort.__version__}\"\n"
        f"let ortCPUProfileTable = \"\"\"\n" + "\n".join(lines) + "\n\"\"\"\n"
    )


def main():
    warnings.filterwarnings("ignore")
    if "--check" in sys.argv[1:]:
        have = open(OUT).read() if os.path.exists(OUT) else ""
        pinned = next((l.split('"')[1] for l in have.splitlines() if l.startswith("let ortCPUVersion")), None)
        if pinned != ort.__version__:
            print(f"{os.path.relpath(OUT)} was generated from onnxruntime {pinned}, but {ort.__version__} is installed: "
                  f"install onnxruntime=={pinned}, or regenerate and commit the table for the new version", file=sys.stderr)
            sys.exit(1)
        text = render(table())
        if have != text:
            print(f"{os.path.relpath(OUT)} is stale for onnxruntime {ort.__version__}: "
                  "run python scripts/gen-runtime-profile.py", file=sys.stderr)
            sys.exit(1)
        print(f"runtime profile current for onnxruntime {ort.__version__}")
        return
    text = render(table())
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(OUT)}: {text.count(chr(10)) - 5} rows")


if __name__ == "__main__":
    main()
