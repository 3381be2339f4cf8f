"""Numeric comparison of a JAX function and its ONNX export (JAX is the reference)."""

from __future__ import annotations

import numpy as np

import jax

from .complex_pairs import to_pairs
from .dtypes import is_extended


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


def _compare(k: int, name: str, got: np.ndarray, want: np.ndarray, rtol: float, atol: float):
    label = f"output {k} ({name})" if name else f"output {k}"
    if got.shape != want.shape:
        return f"{label}: shape {got.shape} from ONNX, {want.shape} from JAX"
    if _dtype_class(got.dtype) != _dtype_class(want.dtype):
        return f"{label}: dtype {got.dtype} from ONNX, {want.dtype} from JAX"
    if want.dtype.kind == "b":  # tolerances mean nothing for bools
        bad = got != want
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            return (f"{label}: {int(bad.sum())} of {want.size} booleans differ; first at {idx}: "
                    f"ONNX {got[idx]}, JAX {want[idx]}")
        return None
    g = got.astype(np.complex128 if want.dtype.kind == "c" else np.float64)
    w = want.astype(g.dtype)
    nan_g, nan_w = np.isnan(g), np.isnan(w)
    if (nan_g != nan_w).any():
        idx = tuple(int(i) for i in np.argwhere(nan_g != nan_w)[0])
        return f"{label}: NaN positions differ, first at {idx}: ONNX {got[idx]}, JAX {want[idx]}"
    ok = np.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    if ok.all():
        return None
    finite = ~(nan_g | nan_w)
    with np.errstate(invalid="ignore", divide="ignore"):
        abs_err = np.where(finite, np.abs(g - w), 0.0)
        rel_err = np.where(finite & (w != 0), abs_err / np.abs(np.where(w == 0, 1, w)), 0.0)
    idx = tuple(int(i) for i in np.argwhere(~ok)[0])
    return (f"{label}: {int((~ok).sum())} of {want.size} elements outside rtol={rtol}, atol={atol}; "
            f"max abs error {abs_err.max():.6g}, max rel error {rel_err.max():.6g}; first at {idx}: "
            f"ONNX {got[idx]}, JAX {want[idx]}")


def allclose(fn, onnx_path, inputs, rtol: float = 1e-5, atol: float = 1e-5) -> tuple[bool, str]:
    """Runs fn in JAX and the ONNX model in onnxruntime (CPU) on the same concrete inputs and
    compares every output: shape, dtype class, values (np.allclose semantics, NaN where JAX has
    NaN). Returns (ok, message); the message names the first output that differs."""
    import onnxruntime as ort

    args = [jax.tree_util.tree_map(_concrete, a) for a in inputs]
    want = [_physical(x) for x in jax.tree_util.tree_leaves(fn(*args))]
    feeds_values = [_physical(x) for x in jax.tree_util.tree_leaves(args)]

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    model_inputs = sess.get_inputs()
    if len(model_inputs) != len(feeds_values):
        return False, (f"the model has {len(model_inputs)} inputs "
                       f"({', '.join(i.name for i in model_inputs)}) but {len(feeds_values)} were given")
    feeds = {mi.name: v for mi, v in zip(model_inputs, feeds_values)}
    outputs = sess.get_outputs()
    got = sess.run(None, feeds)
    if len(got) != len(want):
        return False, f"the model has {len(got)} outputs, JAX returned {len(want)}"
    for k, (g, w) in enumerate(zip(got, want)):
        problem = _compare(k, outputs[k].name, np.asarray(g), w, rtol, atol)
        if problem:
            return False, problem
    return True, f"all {len(want)} outputs match (rtol={rtol}, atol={atol})"
