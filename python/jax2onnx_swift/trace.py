"""Tracing a callable for export: inputs, runtime parameters (input_params) and NCHW boundaries.

The program's graph inputs are the leaves of the positional inputs, then one input per entry of
input_params, in the mapping's order, each named by its key.

A parameter the program uses as data (`jnp.where(train, ...)`, a temperature in arithmetic) is
traced as an input. A bool parameter the program branches on in Python (`if train:`, Flax NNX
`deterministic`, Linen `train`, Equinox `inference`) cannot be: the program is traced once per
value and `lax.cond` on the input selects between the two at run time (an ONNX If). A value the
program itself refuses (Equinox dropout with inference=False and no key) is left out with a
warning; the model then computes the other value whatever the input says. A non-bool parameter
used as a static value (a loop count, a shape) is an error that says to close over it.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
import warnings
from typing import Any, Callable, NamedTuple

import numpy as np

import jax
from jax import lax

from . import jax_compat as jc
from .inputs import abstract_args


class Traced(NamedTuple):
    closed: Any             # the ClosedJaxpr
    out_shape: Any          # the output pytree of ShapeDtypeStructs
    input_names: list | None
    args: list              # the traceable positional arguments (after NCHW swaps)


_STATIC_USE = tuple(getattr(jax.errors, n) for n in (
    "ConcretizationTypeError", "TracerBoolConversionError", "TracerIntegerConversionError",
    "TracerArrayConversionError") if hasattr(jax.errors, n))


def _is_static_use(e: BaseException) -> bool:
    """The program needed a parameter's value while tracing (branched on it, sized with it)."""
    if isinstance(e, _STATIC_USE):
        return True
    # jnp.zeros(n), reshape(..., n) with a traced n: JAX says TypeError and shows the tracer
    return isinstance(e, TypeError) and ("Traced<" in str(e) or "tracer" in str(e).lower())


def functional(fn: Callable) -> Callable:
    """An NNX module mutates its own state when called (BatchNorm statistics, dropout RNG
    counters), which JAX forbids from inside a trace. Calling a copy merged from its state
    inside the trace keeps the user's module untouched; its state enters as constants."""
    nnx = sys.modules.get("flax.nnx")
    if nnx is None or not isinstance(fn, nnx.Module):
        return fn
    graphdef, state = nnx.split(fn)
    # Newer Flax reuses the Variables it is given unless asked to copy them; those belong to
    # the caller's level and may not be mutated in the trace.
    copy = {"copy": True} if "copy" in inspect.signature(nnx.merge).parameters else {}

    def call(*args, **kwargs):
        return nnx.merge(graphdef, state, **copy)(*args, **kwargs)

    call.__name__ = type(fn).__name__
    return call


def _param_aval(name: str, value):
    try:
        arr = np.asarray(value)
    except Exception:
        raise TypeError(f"input_params[{name!r}]: {type(value).__name__} is not an array or "
                        f"scalar, so it cannot be a model input; close over it instead") from None
    if arr.dtype == object:
        raise TypeError(f"input_params[{name!r}]: {type(value).__name__} is not an array or "
                        f"scalar, so it cannot be a model input; close over it instead")
    dtype = jax.dtypes.canonicalize_dtype(getattr(value, "dtype", arr.dtype))
    weak = isinstance(value, (int, float, complex)) and not isinstance(value, bool)
    try:
        return jax.ShapeDtypeStruct(arr.shape, dtype, weak_type=weak)
    except TypeError:  # pragma: no cover - JAX without weak_type on ShapeDtypeStruct
        return jax.ShapeDtypeStruct(arr.shape, dtype)


def _is_bool_flag(value) -> bool:
    arr = np.asarray(value)
    return arr.dtype == np.bool_ and arr.shape == ()


@dataclasses.dataclass
class _Data:
    """Leaf of the plan: these parameters are traced as inputs; the others have fixed values."""
    fixed: dict


@dataclasses.dataclass
class _Split:
    """Trace `name` once per value; a value the program refuses maps to None."""
    name: str
    branches: dict


class _Planner:
    def __init__(self, call, args, params: dict, avals: dict, given_only: bool) -> None:
        self.call, self.args, self.params, self.avals = call, args, params, avals
        self.given_only = given_only

    def probe(self, fixed: dict, dynamic: list) -> BaseException | None:
        def f(args, dyn):
            return self.call(args, {**fixed, **dict(zip(dynamic, dyn))})
        try:
            jax.make_jaxpr(f)(self.args, [self.avals[n] for n in dynamic])
        except Exception as e:
            return e
        return None

    def plan(self, fixed: dict, dynamic: list):
        err = self.probe(fixed, dynamic)
        if err is None:
            return _Data(dict(fixed))
        if not _is_static_use(err):
            raise err
        flags = [n for n in dynamic if _is_bool_flag(self.params[n])]
        if not flags:
            self.static_error(fixed, dynamic, err)
        name = flags[0]
        rest = [n for n in dynamic if n != name]
        given = bool(np.asarray(self.params[name]))
        branches = {given: self.plan({**fixed, name: given}, rest)}
        if self.given_only:
            branches[not given] = None
            return _Split(name, branches)
        try:
            branches[not given] = self.plan({**fixed, name: not given}, rest)
        except Exception as e:
            warnings.warn(f"input_params[{name!r}]: the program does not trace with "
                          f"{name}={not given} ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
                          f"the model computes {name}={given} whatever the input says",
                          stacklevel=4)
            branches[not given] = None
        return _Split(name, branches)

    def static_error(self, fixed: dict, dynamic: list, err: BaseException):
        culprits = [n for n in dynamic
                    if _is_static_use(self.probe({**fixed, **{m: self.params[m] for m in dynamic
                                                              if m != n}}, [n]) or ValueError())]
        names = culprits or dynamic
        shown = ", ".join(f"{n}={self.params[n]!r}" for n in names)
        raise ValueError(
            f"input_params {', '.join(repr(n) for n in names)} "
            f"{'is' if len(names) == 1 else 'are'} used as a static value while tracing (a "
            f"Python loop count, a shape, a branch), so {'it' if len(names) == 1 else 'they'} "
            f"cannot be a model input. Close over it instead: functools.partial(fn, {shown}) "
            f"and leave it out of input_params. JAX said: {type(err).__name__}: "
            f"{str(err).splitlines()[0][:300]}") from None

    def run(self, node, args, tracers: dict):
        if isinstance(node, _Data):
            values = {n: (node.fixed[n] if n in node.fixed else tracers[n]) for n in self.params}
            return self.call(args, values)
        live = [v for v in (True, False) if node.branches[v] is not None]
        if len(live) == 1:
            return self.run(node.branches[live[0]], args, tracers)
        try:
            return lax.cond(tracers[node.name],
                            lambda: self.run(node.branches[True], args, tracers),
                            lambda: self.run(node.branches[False], args, tracers))
        except TypeError as e:
            raise TypeError(f"input_params[{node.name!r}]: the program's outputs differ between "
                            f"{node.name}=True and {node.name}=False, so one model cannot serve "
                            f"both: {e}") from None


def _nchw(index, spec, where: str):
    shape = getattr(spec, "shape", None)
    if shape is None or len(shape) != 4:
        raise ValueError(f"{where} {index}: an NCHW input or output must be one rank-4 array, "
                         f"got {getattr(spec, 'shape', type(spec).__name__)}")


def trace(fn: Callable, inputs, *, input_params=None, inputs_as_nchw=None,
          outputs_as_nchw=None, float_dtype=np.float32, given_only: bool = False) -> Traced:
    """given_only: trace a branched-on flag for its given value only (the input stays, unused);
    to_onnx's fallback when the other value's graph cannot be converted."""
    args = abstract_args(inputs, float_dtype=float_dtype)
    params = dict(input_params or {})
    for k in params:
        if not isinstance(k, str):
            raise TypeError(f"input_params keys must be strings, got {k!r}")
    in_nchw = sorted({int(i) for i in (inputs_as_nchw or ())})
    out_nchw = {int(i) for i in (outputs_as_nchw or ())}
    for i in in_nchw:
        if not 0 <= i < len(args):
            raise ValueError(f"inputs_as_nchw: index {i} is outside the {len(args)} inputs")
        _nchw(i, args[i], "inputs_as_nchw: input")
        s = args[i]
        args[i] = jax.ShapeDtypeStruct((s.shape[0], s.shape[3], s.shape[1], s.shape[2]), s.dtype)

    target = functional(fn)

    def call(a, kw):
        a = list(a)
        for i in in_nchw:  # the model takes NCHW; the program wants NHWC
            a[i] = jax.numpy.transpose(a[i], (0, 2, 3, 1))
        out = target(*a, **kw)
        if out_nchw:
            leaves, tree = jax.tree_util.tree_flatten(out)
            for i in out_nchw:
                if not 0 <= i < len(leaves):
                    raise ValueError(f"outputs_as_nchw: index {i} is outside the {len(leaves)} "
                                     f"outputs")
                _nchw(i, leaves[i], "outputs_as_nchw: output")
                leaves[i] = jax.numpy.transpose(leaves[i], (0, 3, 1, 2))
            out = jax.tree_util.tree_unflatten(tree, leaves)
        return out

    avals = {n: _param_aval(n, v) for n, v in params.items()}
    try:
        if params:
            planner = _Planner(call, args, params, avals, given_only)
            root = planner.plan({}, list(params))
            closed, out_shape = jax.make_jaxpr(
                lambda a, p: planner.run(root, a, dict(zip(params, p))), return_shape=True)(
                args, [avals[n] for n in params])
        elif target is fn and not in_nchw and not out_nchw:
            closed, out_shape = jax.make_jaxpr(fn, return_shape=True)(*args)
            return Traced(closed, out_shape, None, args)
        else:
            closed, out_shape = jax.make_jaxpr(lambda *a: call(a, {}), return_shape=True)(*args)
    except Exception as e:
        if type(e).__name__ == "TraceContextError":  # Flax's, not importable without Flax
            raise RuntimeError(f"{e}\nThe callable mutates an NNX module it closes over; pass "
                               f"the module itself to to_onnx (the export then traces a copy of "
                               f"its state)") from e
        raise
    closed = jc.dce(closed)
    names = positional_names(fn, args)
    if names is not None or params:
        names = (names or [f"input_{k}" for k in range(len(jax.tree_util.tree_leaves(args)))]) \
            + list(params)
    return Traced(closed, out_shape, names, args)


def _sanitize(path: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.]+", "_", path).strip("_")


def positional_names(fn, args) -> list | None:
    """Input names from fn's parameter names and each argument's pytree paths ("x",
    "params_w"); None when they are not unique."""
    try:
        sig = inspect.signature(fn)
        pos = [p.name for p in sig.parameters.values()
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        star = next((p.name for p in sig.parameters.values() if p.kind == p.VAR_POSITIONAL), None)
    except (TypeError, ValueError):
        pos, star = [], None
    names = []
    for k, a in enumerate(args):
        base = pos[k] if k < len(pos) else (f"{star}_{k - len(pos)}" if star else f"input_{k}")
        for path, _leaf in jax.tree_util.tree_flatten_with_path(a)[0]:
            names.append(_sanitize(base + jax.tree_util.keystr(path)) or f"input_{k}")
    if not names or len(set(names)) != len(names):
        return None
    return names
