"""Numeric comparison of a JAX function and its ONNX export (JAX is the reference)."""

from __future__ import annotations

import numbers
import re

import numpy as np

import jax

from .complex_pairs import to_pairs
from .dtypes import is_extended
from .inputs import abstract_args

# Sizes tried for each symbolic dimension when allclose draws its own inputs; symbol j of a
# call gets size + j, so two symbols never share a size and a mix-up shows.
SYMBOL_SIZES = (2, 3, 5)


def _concrete(x):
    """A numpy array, or a JAX array for extended dtypes (PRNG keys), which numpy cannot hold."""
    x = jax.numpy.asarray(x)
    return x if is_extended(x.dtype) else np.asarray(x)


def _physical(x) -> np.ndarray:
    """What the model takes or gives for x: a PRNG key array is its key data, a complex array its
    (real, imag) pairs."""
    if is_extended(getattr(x, "dtype", None)):
        x = jax.random.key_data(x)
    return to_pairs(x)


def _dtype_class(dt: np.dtype) -> str:
    if dt.kind == "b":
        return "bool"
    if dt.kind in "iu":
        return "signed int" if dt.kind == "i" else "unsigned int"
    if dt.kind == "c":
        return "complex"
    return "float"  # numpy floats and the ml_dtypes ones (bfloat16, float8) alike


class _Finding:
    """How far one output is from JAX: score > 1 means outside the tolerances."""

    def __init__(self, score: float, message: str) -> None:
        self.score, self.message = score, message


def _compare(k: int, name: str, got: np.ndarray, want: np.ndarray, rtol: float,
             atol: float) -> _Finding | None:
    label = f"output {k} ({name})" if name else f"output {k}"
    if got.shape != want.shape:
        return _Finding(np.inf, f"{label}: shape {got.shape} from ONNX, {want.shape} from JAX")
    if _dtype_class(got.dtype) != _dtype_class(want.dtype):
        return _Finding(np.inf, f"{label}: dtype {got.dtype} from ONNX, {want.dtype} from JAX")
    if want.dtype.kind == "b":  # tolerances mean nothing for bools
        bad = got != want
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            return _Finding(np.inf, f"{label}: {int(bad.sum())} of {want.size} booleans differ; "
                                    f"first at {idx}: ONNX {got[idx]}, JAX {want[idx]}")
        return None
    g = got.astype(np.complex128 if want.dtype.kind == "c" else np.float64)
    w = want.astype(g.dtype)
    nan_g, nan_w = np.isnan(g), np.isnan(w)
    if (nan_g != nan_w).any():
        idx = tuple(int(i) for i in np.argwhere(nan_g != nan_w)[0])
        return _Finding(np.inf, f"{label}: NaN positions differ, first at {idx}: "
                                f"ONNX {got[idx]}, JAX {want[idx]}")
    ok = np.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    if ok.all():
        return None
    finite = ~(nan_g | nan_w) & np.isfinite(g) & np.isfinite(w)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        abs_err = np.where(finite, np.abs(g - w), 0.0)
        rel_err = np.where(finite & (w != 0), abs_err / np.abs(np.where(w == 0, 1, w)), 0.0)
        excess = np.where(ok, 0.0, np.where(finite, abs_err / (atol + rtol * np.abs(w)), np.inf))
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), want.shape))
    return _Finding(float(excess[idx]), (
        f"{label}: {int((~ok).sum())} of {want.size} elements outside rtol={rtol}, atol={atol}; "
        f"max abs error {abs_err.max():.6g}, max rel error {rel_err.max():.6g}; worst at {idx}: "
        f"ONNX {got[idx]}, JAX {want[idx]}"))


# -- drawing inputs for specs ---------------------------------------------------------------

def _symbols(dims) -> list[str]:
    names = []
    for d in dims:
        if not isinstance(d, (int, np.integer)):
            names += re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(d))
    return names


_DIM_FUNCS = {"mod": lambda a, b: a % b, "floordiv": lambda a, b: a // b, "max": max, "min": min,
              "non_negative": lambda a: max(a, 0)}


def _size(d, env: dict) -> int:
    if isinstance(d, (int, np.integer)):
        return int(d)
    return int(eval(str(d), {"__builtins__": {}}, {**_DIM_FUNCS, **env}))  # JAX's own dim text


def _draw(rng, shape, dtype) -> np.ndarray:
    """Representative values: never all zeros, of a spread a typical program sees."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind == "u":
        return rng.integers(1, 10, size=shape).astype(dt)
    if dt.kind == "i":
        return rng.integers(-9, 10, size=shape).astype(dt)
    if dt.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    return rng.standard_normal(shape).astype(dt)  # floats, bfloat16 and float8 alike


def _input_sets(inputs, float_dtype, seed: int = 0):
    """[(description, concrete inputs)]: the inputs themselves when all are concrete, else one
    random draw per round of sizes for the symbolic dims."""
    specs = abstract_args(inputs, float_dtype=float_dtype)
    leaves = jax.tree_util.tree_leaves(specs)
    abstract = [x for x in leaves if isinstance(x, jax.ShapeDtypeStruct)]
    if not abstract:
        return [("", specs)]
    names = []
    for s in abstract:
        for n in _symbols(s.shape):
            if n not in names and n not in _DIM_FUNCS:
                names.append(n)
    rng = np.random.default_rng(seed)
    rounds = SYMBOL_SIZES if names else SYMBOL_SIZES[:1]
    out = []
    for size in rounds:
        env = {n: size + j for j, n in enumerate(names)}
        drawn = jax.tree_util.tree_map(
            lambda x: _draw(rng, tuple(_size(d, env) for d in x.shape), x.dtype)
            if isinstance(x, jax.ShapeDtypeStruct) else x, specs)
        out.append((", ".join(f"{n}={v}" for n, v in env.items()), drawn))
    return out


# -- allclose -------------------------------------------------------------------------------

def allclose(fn, onnx_model_path, inputs, input_params=None, rtol: float = 1e-3,
             atol: float = 1e-5, *, enable_double_precision: bool = False, inputs_as_nchw=None,
             outputs_as_nchw=None) -> tuple[bool, str]:
    """Runs fn in JAX and the ONNX model in ONNX Runtime (CPU) on the same inputs and compares
    every output: shape, dtype class, values (np.isclose semantics, NaN where JAX has NaN,
    exact for bools). jax2onnx 0.17's signature.

    onnx_model_path: a path, or an onnx.ModelProto. inputs: concrete arrays, or shapes in any to_onnx form; for shapes, random values are drawn
    per dtype and each symbolic dim is tried at several sizes. input_params: passed to fn as
    keywords and fed to the model's inputs of those names. inputs_as_nchw / outputs_as_nchw:
    as given to to_onnx (fn sees NHWC; the model's side is NCHW). enable_double_precision:
    JAX runs under x64 (restored afterwards). The older form allclose(fn, path, inputs, rtol,
    atol) still works. Returns (ok, message); the message names the worst output, its max abs
    and rel error, and where.
    """
    if isinstance(input_params, numbers.Real) and not isinstance(input_params, bool):
        # allclose(fn, path, inputs, rtol, atol): the form before input_params existed
        input_params, rtol, atol = None, float(input_params), (rtol if rtol != 1e-3 else atol)
    from .convert import _x64
    with _x64(enable_double_precision):
        sets = _input_sets(inputs, np.float64 if enable_double_precision else np.float32)
        results = [(what, _run_once(fn, onnx_model_path, xs, dict(input_params or {}), rtol, atol,
                                    inputs_as_nchw, outputs_as_nchw)) for what, xs in sets]
    tried = f"; sizes tried: {'; '.join(w for w, _ in results)}" if results[0][0] else ""
    for what, (ok, msg) in results:
        if not ok:
            return False, (f"with {what}: " if what else "") + msg
    return True, results[0][1][1] + tried


def _run_once(fn, path, inputs, params, rtol, atol, in_nchw, out_nchw) -> tuple[bool, str]:
    import onnxruntime as ort

    args = [jax.tree_util.tree_map(_concrete, a) for a in inputs]
    want = [_physical(x) for x in jax.tree_util.tree_leaves(fn(*args, **params))]
    model_args = list(args)
    for i in sorted({int(i) for i in (in_nchw or ())}):
        model_args[i] = np.transpose(_physical(model_args[i]), (0, 3, 1, 2))
    feeds_values = [_physical(x) for x in jax.tree_util.tree_leaves(model_args)]

    # a ModelProto (to_onnx's default return) is taken too, so `m = to_onnx(...)` then
    # allclose(fn, m, ...) works whichever return_mode made m
    model = path.SerializeToString() if hasattr(path, "SerializeToString") else str(path)
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    if any(v.type == "tensor(bfloat16)" for v in sess.get_inputs() + sess.get_outputs()):
        sess = ort.InferenceSession(_bf16_as_f32(path), providers=["CPUExecutionProvider"])
    model_inputs = sess.get_inputs()
    n_pos = len(model_inputs) - len(params)
    if n_pos != len(feeds_values):
        return False, (f"the model has {len(model_inputs)} inputs "
                       f"({', '.join(i.name for i in model_inputs)}) but {len(feeds_values)} "
                       f"were given" + (f" and {len(params)} input_params" if params else ""))
    feeds = {mi.name: (v.astype(np.float32) if str(v.dtype) == "bfloat16" else v)
             for mi, v in zip(model_inputs[:n_pos], feeds_values)}
    for (name, value), mi in zip(params.items(), model_inputs[n_pos:]):
        feeds[mi.name] = np.asarray(value, dtype=_ort_dtype(mi.type, value))
    outputs = sess.get_outputs()
    got = sess.run(None, feeds)
    if len(got) != len(want):
        return False, f"the model has {len(got)} outputs, JAX returned {len(want)}"
    out_nchw = {int(i) for i in (out_nchw or ())}
    worst = None
    for k, (g, w) in enumerate(zip(got, want)):
        g = np.asarray(g)
        if k in out_nchw and g.ndim == 4:
            g = np.transpose(g, (0, 2, 3, 1))
        finding = _compare(k, outputs[k].name.removesuffix("__f32"), g, w, rtol, atol)
        if finding is not None and (worst is None or finding.score > worst.score):
            worst = finding
    if worst is not None:
        return False, worst.message
    return True, f"all {len(want)} outputs match (rtol={rtol}, atol={atol})"


def _bf16_as_f32(path) -> bytes:
    """The model with each bfloat16 input and output carried as float32 across the boundary
    (a Cast inside, exact both ways): ONNX Runtime's Python API has no bfloat16 arrays, so
    a bf16 model could not be fed or fetched."""
    import onnx
    from onnx import TensorProto, helper

    m = path if hasattr(path, "graph") else onnx.load(str(path))
    m = onnx.ModelProto.FromString(m.SerializeToString()) if hasattr(path, "graph") else m
    g = m.graph
    casts_in, casts_out = [], []
    for v in g.input:
        if v.type.tensor_type.elem_type == TensorProto.BFLOAT16:
            outer = v.name + "__f32"
            casts_in.append(helper.make_node("Cast", [outer], [v.name], to=TensorProto.BFLOAT16))
            v.name = outer
            v.type.tensor_type.elem_type = TensorProto.FLOAT
    for v in g.output:
        if v.type.tensor_type.elem_type == TensorProto.BFLOAT16:
            outer = v.name + "__f32"
            casts_out.append(helper.make_node("Cast", [v.name], [outer], to=TensorProto.FLOAT))
            v.name = outer
            v.type.tensor_type.elem_type = TensorProto.FLOAT
    nodes = casts_in + list(g.node) + casts_out
    del g.node[:]
    g.node.extend(nodes)
    return m.SerializeToString()


def _ort_dtype(type_name: str, value):
    names = {"tensor(bool)": np.bool_, "tensor(float)": np.float32, "tensor(double)": np.float64,
             "tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(float16)": np.float16}
    return names.get(type_name, np.asarray(value).dtype)
