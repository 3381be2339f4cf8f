"""Clean errors for symbolic shapes that JAX cannot trace: a model that only works for some sizes
(a reshape that needs B divisible by 4, a comparison of B with a constant) fails in JAX's shape
polymorphism with an InconclusiveDimensionOperation deep inside jax. The user needs three things
from it: the line of their code, the operation, and the expression JAX could not decide."""

from __future__ import annotations

import os
import re
import traceback

import jax

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_JAX_DIR = os.path.dirname(os.path.abspath(jax.__file__)) + os.sep
_STDLIB_DIR = os.path.dirname(os.path.abspath(os.__file__)) + os.sep
# Libraries whose frames sit between the user's line and JAX's check.
_LIBRARIES = {"jax", "jaxlib", "flax", "equinox", "numpy", "ml_dtypes", "jax2onnx_swift"}


def _is_library(filename: str) -> bool:
    if filename.startswith("<"):
        return True
    path = os.path.abspath(filename)
    if path.startswith((_PACKAGE_DIR, _JAX_DIR)):
        return True
    parts = path.split(os.sep)
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            k = parts.index(marker)
            return k + 1 < len(parts) and parts[k + 1] in _LIBRARIES
    return path.startswith(_STDLIB_DIR)


def _inconclusive_types() -> tuple[type, ...]:
    kinds = [getattr(jax.errors, "InconclusiveDimensionOperation", None)]
    return tuple(k for k in kinds if isinstance(k, type))


def _where(tb) -> tuple[str | None, str | None]:
    """(user source line, JAX operation) of the innermost user frame of a traceback."""
    frames = list(traceback.walk_tb(tb))
    user = None
    for k, (frame, line) in enumerate(frames):
        if not _is_library(frame.f_code.co_filename):
            user = k
    if user is None:
        return None, None
    frame, line = frames[user]
    src = f"{frame.f_code.co_filename}:{line} ({frame.f_code.co_name})"
    op = None
    if user + 1 < len(frames):
        op = frames[user + 1][0].f_code.co_name.strip("_")
        if op in ("meth", "op", "deferring_binary_op", "wrapper", "reraise_with_filtered_traceback"):
            op = frames[user + 2][0].f_code.co_name.strip("_") if user + 2 < len(frames) else None
    return src, op


def describe(error: BaseException, symbols: list[str]) -> str:
    src, op = _where(error.__traceback__)
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    head = "cannot trace the model with symbolic dimensions"
    if src:
        head += f": at {src}"
    if op:
        head += f", in {op}"
    lines = [head, f"  {first}"]
    used = [s for s in symbols if re.search(rf"(?<![A-Za-z0-9_]){re.escape(s)}(?![A-Za-z0-9_])", first)]
    if used:
        divisor = re.search(r"mod\(.*?,\s*-?\s*(\d+)\)", first)
        fix = (f"a dimension expression that is always divisible (\"{divisor.group(1)}*k\")" if divisor
               else "code that holds for every size")
        lines.append(f"  The program traces only for some sizes of {', '.join(used)}: give that input a concrete "
                     f"size, or use {fix}.")
    return "\n".join(lines)


INCONCLUSIVE: tuple[type, ...] = _inconclusive_types()


def symbolic_shape_error(error: BaseException, args):
    """The ConversionError to raise (from None) for JAX's shape-polymorphism failure `error`
    while tracing with `args`: it names the user's line, the operation and the expression."""
    from .convert import ConversionError  # convert imports bundle, which imports this module
    message = describe(error, symbols_of(args))
    return ConversionError(message, returncode=1, stderr=message)


def symbols_of(args) -> list[str]:
    """The symbol names in the (abstract) arguments' shapes."""
    names: set[str] = set()
    for leaf in jax.tree_util.tree_leaves(args):
        for d in getattr(leaf, "shape", ()):
            if not isinstance(d, int):
                names.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(d)))
    return sorted(names - {"floordiv", "mod", "max", "min", "non_negative"})


