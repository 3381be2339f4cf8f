"""Turns the `inputs` forms that to_onnx accepts into arguments jax.make_jaxpr can trace.

Accepted, alone, mixed, or nested in pytrees (dicts, lists, tuples, registered dataclasses):
concrete arrays (numpy, JAX, Python scalars; any dtype), jax.ShapeDtypeStruct and
jax.core.ShapedArray (int, string or JAX-symbolic dims), any other object with `.shape` and
`.dtype`, and shape tuples/lists of ints and dim strings (float32, or float64 under
enable_double_precision). Every string dim of one call lives in one symbolic scope, so "B" in two
inputs is the same size.
"""

from __future__ import annotations

import numpy as np

import jax

from . import jax_compat as jc


def is_shape_spec(x) -> bool:
    """A tuple or list of ints and dimension-name strings, like ("B", 30): a float input."""
    return isinstance(x, (tuple, list)) and not hasattr(type(x), "_fields") and all(
        isinstance(d, (int, np.integer, str)) and not isinstance(d, bool) for d in x)


def _is_concrete(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic, int, float, complex, bool)) or \
        jc.is_concrete_array(x)


def _is_spec_object(x) -> bool:
    """Has .shape and .dtype but holds no values: ShapeDtypeStruct, ShapedArray, user classes."""
    return not _is_concrete(x) and hasattr(x, "shape") and hasattr(x, "dtype") \
        and not isinstance(x, type)


def _is_leaf(x) -> bool:
    return is_shape_spec(x) or _is_spec_object(x)


class _Scope:
    """One symbolic scope for a call: created on first need, or taken from the first
    JAX-symbolic dim the user brings, so the user's symbols and the string dims can meet."""

    def __init__(self, leaves) -> None:
        self.scope = None
        for leaf in leaves:
            shape = getattr(leaf, "shape", None)
            if shape is not None and not is_shape_spec(leaf):
                found = jc.symbolic_scope_of(tuple(shape))
                if found is not None:
                    self.scope = found
                    break

    def dim(self, text: str, where: str):
        jc.require_export(f"the symbolic dimension {text!r} of {where}")
        if self.scope is None:
            self.scope = jc.new_symbolic_scope()
        if not text.strip() or "," in text:
            raise ValueError(f"{where}: dimension {text!r} is not a symbolic dimension "
                             f"(expected a name or expression such as 'B', '2*B', 'B+1')")
        try:
            (d,) = jc.symbolic_shape(text, self.scope)
        except Exception as e:  # JAX raises ValueError or its own parse errors
            raise ValueError(f"{where}: dimension {text!r} is not a valid symbolic dimension: "
                             f"{e}") from None
        return d


def _shape(dims, scope: _Scope, where: str) -> tuple:
    out = []
    for d in dims:
        if isinstance(d, str):
            out.append(scope.dim(d, where))
        elif jc.is_symbolic_dim(d):
            out.append(d)
        elif isinstance(d, (int, np.integer)) and not isinstance(d, bool):
            if int(d) < 0:
                raise ValueError(f"{where}: dimension {int(d)} is negative")
            out.append(int(d))
        else:
            raise ValueError(f"{where}: dimension {d!r} ({type(d).__name__}) is neither an int, "
                             f"a string nor a symbolic dimension")
    return tuple(out)


def abstract_args(inputs, *, float_dtype=np.float32) -> list:
    """One traceable argument per element of inputs (see the module doc for the forms)."""
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"inputs must be a list of arrays, ShapeDtypeStructs or shape tuples, "
                        f"got {type(inputs).__name__}")
    leaves = [leaf for x in inputs for leaf in jax.tree_util.tree_leaves(x, is_leaf=_is_leaf)]
    scope = _Scope(leaves)

    def convert(path, x):
        where = f"inputs{jax.tree_util.keystr(path)}"
        if is_shape_spec(x):
            return jax.ShapeDtypeStruct(_shape(x, scope, where), float_dtype)
        if _is_spec_object(x):
            try:
                dtype = jc.as_dtype(x.dtype)
            except TypeError as e:
                raise TypeError(f"{where}: dtype {x.dtype!r} is not a JAX dtype ({e})") from None
            return jax.ShapeDtypeStruct(_shape(tuple(x.shape), scope, where), dtype)
        return x

    # Each input mapped alone (a list of Python ints is a list of scalar inputs, never a
    # shape), with its index put in front of the path so a message names inputs[1]['w'].
    def one(k, x):
        head = (jax.tree_util.SequenceKey(k),)
        return jax.tree_util.tree_map_with_path(lambda p, leaf: convert(head + tuple(p), leaf), x,
                                                is_leaf=_is_leaf)

    return [one(k, x) for k, x in enumerate(inputs)]
