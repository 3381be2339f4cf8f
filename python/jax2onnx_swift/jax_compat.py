"""The few JAX internals the tracer touches, each behind a guard so that a JAX release that moves
them degrades the bundle (no source locations, say) instead of breaking the export."""

from __future__ import annotations

import os
import sys

import numpy as np

import jax

try:  # public home since 0.4.3x
    from jax.extend import core as _xcore
except ImportError:  # pragma: no cover - older JAX
    _xcore = None
from jax._src import core as _core

ClosedJaxpr = getattr(_xcore, "ClosedJaxpr", None) or _core.ClosedJaxpr
Jaxpr = getattr(_xcore, "Jaxpr", None) or _core.Jaxpr
Literal = getattr(_xcore, "Literal", None) or _core.Literal
DropVar = getattr(_xcore, "DropVar", None) or getattr(_core, "DropVar", None)
Tracer = getattr(_core, "Tracer", ())

try:  # a submodule that `import jax` does not load before JAX 0.5
    from jax import export as _export
except ImportError:  # pragma: no cover
    _export = None

_is_symbolic_dim = getattr(_export, "is_symbolic_dim", None) or \
    getattr(_core, "is_symbolic_dim", lambda d: False)

try:
    from jax._src import source_info_util as _siu
except ImportError:  # pragma: no cover
    _siu = None

# Our own wrappers (input_params, NCHW, the NNX copy) call the user's code; a source location
# must name the user's line, never ours.
try:
    _siu.register_exclusion(os.path.dirname(os.path.abspath(__file__)) + os.sep)
except Exception:  # pragma: no cover - renamed in another JAX: locations may then name ours
    pass


def is_symbolic_dim(d) -> bool:
    if isinstance(d, (int, np.integer, str, bool)) or d is None:
        return False
    try:
        return bool(_is_symbolic_dim(d))
    except Exception:
        return False


def is_literal(a) -> bool:
    return isinstance(a, Literal)


def is_dropvar(v) -> bool:
    return DropVar is not None and isinstance(v, DropVar)


def is_closed_jaxpr(v) -> bool:
    return isinstance(v, ClosedJaxpr)


def is_jaxpr(v) -> bool:
    return isinstance(v, Jaxpr)


def is_concrete_array(v) -> bool:
    if isinstance(v, np.ndarray):
        return True
    return isinstance(v, jax.Array) and not isinstance(v, Tracer)


def _portable_path(path: str) -> str:
    """A source path without this machine's layout, where that loses nothing a reader needs:
    library files relative to their site-packages ("flax/nnx/nn/linear.py"), files under the
    working directory relative to it. Bundles and models then carry no home or venv paths."""
    try:
        absolute = os.path.abspath(path)
    except (TypeError, ValueError):
        return path
    for root in _library_roots():
        if absolute.startswith(root + os.sep):
            return os.path.relpath(absolute, root)
    cwd = os.getcwd()
    if absolute.startswith(cwd + os.sep):
        return os.path.relpath(absolute, cwd)
    return path


def _library_roots() -> list[str]:
    roots = [p for p in sys.path if p and os.path.basename(p) in ("site-packages", "dist-packages")]
    # Longest first, so a nested environment wins over an outer one.
    return sorted({os.path.abspath(p) for p in roots}, key=len, reverse=True)


def user_source(eqn) -> dict | None:
    """{"file", "line", "fn"} of the innermost frame outside JAX that created eqn, or None."""
    if _siu is None:
        return None
    si = getattr(eqn, "source_info", None)
    if si is None:
        return None
    frame = None
    # user_frame took a SourceInfo up to ~0.5 and takes a traceback since; try both.
    for arg in (getattr(si, "traceback", None), si):
        try:
            frame = _siu.user_frame(arg)
            break
        except Exception:
            continue
    if frame is None:
        return None
    try:
        out = {"file": _portable_path(str(frame.file_name)), "line": int(frame.start_line)}
    except Exception:
        return None
    fn = getattr(frame, "function_name", None)
    if fn:
        out["fn"] = str(fn)
    return out


def name_stack(eqn) -> str:
    try:
        return str(eqn.source_info.name_stack)
    except Exception:
        return ""


def symbolic_scope_of(shape):
    """The SymbolicScope of the first symbolic dim in shape, or None."""
    for d in shape:
        if is_symbolic_dim(d):
            return getattr(d, "scope", None)
    return None


def require_export(what: str) -> None:
    if _export is None:  # pragma: no cover
        raise RuntimeError(f"{what} needs jax.export, which JAX {jax.__version__} lacks")


def new_symbolic_scope():
    return _export.SymbolicScope()


def symbolic_shape(text: str, scope) -> tuple:
    return tuple(_export.symbolic_shape(text, scope=scope))


def as_dtype(dtype):
    """A dtype JAX accepts for an abstract input: numpy and ml_dtypes dtypes, jnp scalar types
    (jnp.float32 carries .dtype), names; extended dtypes (PRNG keys) pass as they are."""
    from .dtypes import is_extended
    if is_extended(dtype):
        return dtype
    if isinstance(dtype, type) and not issubclass(dtype, np.generic) and hasattr(dtype, "dtype"):
        dtype = dtype.dtype
    return np.dtype(dtype)


def dce(closed):
    """closed with equations whose results nothing uses removed (inputs all kept). A functional
    copy of an NNX module writes its state back (RNG counters, batch statistics); the export
    drops those writes, and lowering them would be wasted work. Returned unchanged if this JAX
    has no dce_jaxpr."""
    try:
        from jax._src.interpreters import partial_eval as pe
        jaxpr, _ = pe.dce_jaxpr(closed.jaxpr, [True] * len(closed.jaxpr.outvars), instantiate=True)
    except Exception:  # pragma: no cover - moved or changed in another JAX
        return closed
    return ClosedJaxpr(jaxpr, closed.consts)
