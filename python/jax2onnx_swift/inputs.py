"""Turns the `inputs` forms that to_onnx accepts into arguments jax.make_jaxpr can trace."""

from __future__ import annotations

import numpy as np

import jax

from . import jax_compat as jc


def is_shape_spec(x) -> bool:
    """A tuple or list of ints and dimension-name strings, like ("B", 30): a float32 input."""
    return isinstance(x, (tuple, list)) and not hasattr(type(x), "_fields") and all(
        isinstance(d, (int, np.integer, str)) and not isinstance(d, bool) for d in x)


def abstract_args(inputs) -> list:
    """One traceable argument per element of inputs.

    Elements may be concrete arrays, jax.ShapeDtypeStruct (symbolic shapes allowed), shape specs,
    or pytrees of those. All string dims across all inputs live in ONE symbolic scope, so "B" in
    two inputs is the same size; if a ShapeDtypeStruct already carries symbolic dims, its scope is
    reused so the user's symbols and ours can meet.
    """
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"inputs must be a list of arrays, ShapeDtypeStructs or shape tuples, "
                        f"got {type(inputs).__name__}")
    leaves = jax.tree_util.tree_leaves(list(inputs), is_leaf=is_shape_spec)
    scope = None
    for leaf in leaves:
        if isinstance(leaf, jax.ShapeDtypeStruct):
            scope = scope or jc.symbolic_scope_of(leaf.shape)
    needs_scope = any(is_shape_spec(x) and any(isinstance(d, str) for d in x) for x in leaves)
    if needs_scope and scope is None:
        scope = jax.export.SymbolicScope()

    def convert(x):
        if is_shape_spec(x):
            if any(isinstance(d, str) for d in x):
                spec = ", ".join(str(d) for d in x)
                shape = jax.export.symbolic_shape(spec, scope=scope)
            else:
                shape = tuple(int(d) for d in x)
            return jax.ShapeDtypeStruct(shape, np.float32)
        return x

    return [jax.tree_util.tree_map(convert, x, is_leaf=is_shape_spec) for x in inputs]
