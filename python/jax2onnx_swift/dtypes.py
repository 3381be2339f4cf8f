"""Dtype names as the bundle spells them (docs/bundle-format.md, DTYPE)."""

from __future__ import annotations

import numpy as np

_SHORT = {
    "bool": "bool",
    "int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64",
    "uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64",
    "float16": "f16", "bfloat16": "bf16", "float32": "f32", "float64": "f64",
    "complex64": "c64", "complex128": "c128",
}
_LONG = {v: k for k, v in _SHORT.items()}


def is_extended(dtype) -> bool:
    """True for JAX's extended dtypes (PRNG keys, ...), which have no byte form in the bundle."""
    if isinstance(dtype, (np.dtype, type, str)) or dtype is None:
        return False
    try:
        from jax._src.dtypes import ExtendedDType
        return isinstance(dtype, ExtendedDType)
    except ImportError:  # JAX moved it: fall back to the public, slower check
        pass
    try:
        import jax
        return bool(jax.dtypes.issubdtype(dtype, jax.dtypes.extended))
    except Exception:  # not something JAX reads as a dtype at all
        return False


_NAME_CACHE: dict[np.dtype, str] = {}


def dtype_name(dtype) -> str:
    """Bundle name of a numpy dtype, an ml_dtypes dtype, or a JAX extended dtype."""
    if isinstance(dtype, np.dtype):
        name = _NAME_CACHE.get(dtype)
        if name is None:  # np.dtype.name is slow enough to show up on big programs
            # float8/int4 families keep numpy's own spelling (float8_e4m3fn, ...).
            name = _NAME_CACHE[dtype] = _SHORT.get(dtype.name, dtype.name)
        return name
    if is_extended(dtype):
        return str(dtype)
    return dtype_name(np.dtype(dtype))


def numpy_dtype(name: str) -> np.dtype:
    """Inverse of dtype_name for the dtypes that have bytes; raises ValueError otherwise."""
    long = _LONG.get(name, name)
    try:
        return np.dtype(long)
    except TypeError:
        pass
    try:
        import ml_dtypes  # ships with jax; holds bf16, float8_*, int4, ...
        return np.dtype(getattr(ml_dtypes, long))
    except (ImportError, AttributeError, TypeError):
        raise ValueError(f"dtype {name!r} has no numpy equivalent") from None
