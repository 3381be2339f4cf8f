"""Post-export check: load a written model in ONNX Runtime with the target's provider and run it on
random inputs of the declared shapes, several sizes for each symbolic dimension. A model that
does not load, does not run, or returns outputs of other shapes than it declares is reported as a
conversion error, not left behind as a silently broken file.

    jax2onnx-validate MODEL.onnx [--target ort-cpu] [--sizes 1,2,5]
    python -m jax2onnx_swift.validate MODEL.onnx
    validate("model.onnx")            # from Python; raises ConversionError
"""

from __future__ import annotations

import argparse
import ast
import operator
import sys
from dataclasses import dataclass, field

import numpy as np

from .convert import ConversionError

# The providers each target runs with here. ONNX Runtime Web's WebAssembly backend runs the CPU
# provider's kernels, so the CPU provider stands in for it outside a browser.
PROVIDERS = {"ort-cpu": ["CPUExecutionProvider"], "ort-web": ["CPUExecutionProvider"]}


@dataclass
class ValidationReport:
    model: str
    target: str
    runs: list[dict] = field(default_factory=list)


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}


def dim_value(text: str, sizes: dict[str, int]) -> int:
    """The value of a dimension text such as "B", "2*B" or "B*T + 1" for the given symbol sizes."""
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in sizes:
                raise KeyError(node.id)
            return sizes[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        raise ValueError(f"cannot evaluate dimension '{text}'")
    return int(ev(ast.parse(text, mode="eval")))


def _symbols(text: str) -> set[str]:
    try:
        return {n.id for n in ast.walk(ast.parse(text, mode="eval")) if isinstance(n, ast.Name)}
    except SyntaxError:
        return {text}


def _random(rng, dtype, shape):
    import onnx
    np_type = onnx.helper.tensor_dtype_to_np_dtype(dtype) if dtype != onnx.TensorProto.BFLOAT16 else np.float32
    if np.issubdtype(np_type, np.floating):
        return rng.standard_normal(shape).astype(np_type)
    if np_type == np.bool_:
        return rng.random(shape) < 0.5
    # Small non-negative integers: valid as indices, counts and sizes alike.
    return rng.integers(0, 3, shape).astype(np_type)


def _ort_value(x, dtype):
    import onnx
    import onnxruntime as ort
    if dtype == onnx.TensorProto.BFLOAT16:
        # numpy has no bfloat16 ORT accepts: hand over the bit patterns (the top halves of f32).
        bits = (np.ascontiguousarray(x, np.float32).view(np.uint32) >> 16).astype(np.uint16)
        return ort.OrtValue.ortvalue_from_numpy_with_onnx_type(bits, onnx.TensorProto.BFLOAT16)
    return ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(x))


def validate(model_path, *, target: str = "ort-cpu", sizes=(1, 2, 5), seed: int = 0) -> ValidationReport:
    """Loads model_path in ONNX Runtime and runs it once per size in `sizes` (every symbolic
    dimension of the inputs set to that size, an expression such as 2*B evaluated from it).
    Raises ConversionError naming the model, the sizes and ORT's message on any failure."""
    import onnx
    import onnxruntime as ort

    path = str(model_path)
    if target == "onnx":
        raise ConversionError(f"{path}: target 'onnx' is the specification alone; there is no runtime to validate with")
    if target not in PROVIDERS:
        raise ConversionError(f"{path}: unknown target '{target}'; use one of {', '.join(PROVIDERS)}")
    model = onnx.load(path, load_external_data=False)
    try:
        session = ort.InferenceSession(path, providers=PROVIDERS[target])
    except Exception as e:  # noqa: BLE001 - ORT raises several unrelated types
        raise ConversionError(f"{path}: ONNX Runtime ({target}) cannot load the model: {e}") from None

    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    symbols: set[str] = set()
    for vi in list(inputs) + list(model.graph.output):
        for d in vi.type.tensor_type.shape.dim:
            if d.HasField("dim_param"):
                symbols |= _symbols(d.dim_param)
    report = ValidationReport(path, target)
    rng = np.random.default_rng(seed)
    for size in (sizes if symbols else sizes[:1]):
        env = {s: size for s in symbols}
        feeds = {}
        try:
            for vi in inputs:
                tt = vi.type.tensor_type
                shape = [d.dim_value if d.HasField("dim_value") else dim_value(d.dim_param, env) for d in tt.shape.dim]
                feeds[vi.name] = _ort_value(_random(rng, tt.elem_type, shape), tt.elem_type)
        except (KeyError, ValueError) as e:
            raise ConversionError(f"{path}: cannot size the inputs for symbols {env}: {e}") from None
        try:
            outs = session.run_with_ort_values(None, feeds)
        except Exception as e:  # noqa: BLE001
            raise ConversionError(f"{path}: ONNX Runtime ({target}) fails to run the model with {env or 'its static shapes'}: {e}") from None
        for vi, out in zip(model.graph.output, outs):
            got = list(out.shape())
            dims = vi.type.tensor_type.shape.dim
            if not dims and not vi.type.tensor_type.HasField("shape"):
                continue
            want = []
            for d in dims:
                if d.HasField("dim_value"):
                    want.append(d.dim_value)
                elif d.HasField("dim_param"):
                    try:
                        want.append(dim_value(d.dim_param, env))
                    except (KeyError, ValueError):
                        want.append(None)
                else:
                    want.append(None)
            if len(got) != len(want) or any(w is not None and w != g for g, w in zip(got, want)):
                raise ConversionError(f"{path}: output '{vi.name}' has shape {got} at {env or 'static shapes'}, "
                                      f"but the model declares {want}")
        report.runs.append({"sizes": env, "outputs": [list(o.shape()) for o in outs]})
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="jax2onnx-validate", description=__doc__.split("\n\n")[0])
    p.add_argument("model")
    p.add_argument("--target", default="ort-cpu", choices=sorted(PROVIDERS))
    p.add_argument("--sizes", default="1,2,5", help="sizes to try for every symbolic dimension")
    a = p.parse_args(argv)
    try:
        r = validate(a.model, target=a.target, sizes=tuple(int(s) for s in a.sizes.split(",")))
    except ConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{a.model}: loads and runs on {a.target} ({len(r.runs)} run{'s' if len(r.runs) != 1 else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
