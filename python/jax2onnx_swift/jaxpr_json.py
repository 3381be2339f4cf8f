"""Encodes a traced JAX program as the bundle's JSON (docs/bundle-format.md).

Nothing here knows a primitive by name: equations are written as they are, and their params are
encoded by Python type, so a new primitive needs a lowering pack, never a change here.
"""

from __future__ import annotations

import dataclasses
import enum
import math

import numpy as np

from . import jax_compat as jc
from .dtypes import dtype_name, is_extended
from .functions import function_mark
from .tensors import TensorTable

# Bounds the recursion on exotic param objects (records of records ...) so a cycle cannot hang us.
_MAX_PARAM_DEPTH = 64
# Reprs of opaque params can be huge (closures print their whole environment); the host only
# shows them in messages.
_MAX_REPR = 500


def float_json(x: float):
    """A float as JSON: a plain number when finite, the spec's tagged form otherwise."""
    x = float(x)
    if math.isnan(x):
        return {"$": "float", "v": "nan"}
    if math.isinf(x):
        return {"$": "float", "v": "inf" if x > 0 else "-inf"}
    return x


def scalar_json(value, dtype: np.dtype):
    """A scalar of the given dtype as SCALAR, or None if it has no JSON form (complex)."""
    kind = dtype.kind
    v = np.asarray(value)
    if kind == "b":
        return bool(v)
    if kind in "iu" or dtype.name.startswith(("int", "uint")):  # ml_dtypes int4/uint4 are kind V
        return int(v)
    if kind == "f" or dtype.name.startswith("float") or dtype.name == "bfloat16":
        return float_json(float(v))
    return None


def dim_json(d):
    """DIM: an int, or the symbolic expression as JAX prints it."""
    if type(d) is int:
        return d
    if jc.is_symbolic_dim(d):
        return str(d)
    return int(d)


def physical_json(dtype):
    """How an extended dtype's elements are stored (PRNG keys: their key data, e.g. u32[2]); the
    host represents such arrays by that data, with these dims appended. None for other dtypes."""
    impl = getattr(dtype, "_impl", None)
    key_shape = getattr(impl, "key_shape", None)
    if not is_extended(dtype) or key_shape is None:
        return None
    return {"dtype": "u32", "shape": [int(d) for d in key_shape]}


def key_impl_name(atoms):
    """The PRNG impl of the first key-typed operand (e.g. "threefry2x32", "rbg"), or None. Key
    arrays reach the host as bare key data, in which keys of different PRNGs can look alike
    (threefry2x32 and philox4x32 both hold u32[2]); this name tells them apart."""
    for a in atoms:
        dtype = getattr(getattr(a, "aval", None), "dtype", None)
        impl = getattr(dtype, "_impl", None)
        if is_extended(dtype) and getattr(impl, "key_shape", None) is not None:
            return str(getattr(impl, "name", None) or "")
    return None


def aval_json(aval) -> dict:
    shape = getattr(aval, "shape", None)
    dtype = getattr(aval, "dtype", None)
    if shape is not None and dtype is not None:
        out = {"dtype": dtype_name(dtype), "shape": [dim_json(d) for d in shape]}
        physical = physical_json(dtype)
        if physical is not None:
            out["physical"] = physical
        return out
    if "token" in type(aval).__name__.lower():
        return {"kind": "token"}
    return {"kind": "other", "repr": _short_repr(aval)}


def _short_repr(x) -> str:
    try:
        r = repr(x)
    except Exception:  # a broken __repr__ must not stop the export
        r = f"<{type(x).__name__}>"
    return r if len(r) <= _MAX_REPR else r[: _MAX_REPR - 3] + "..."


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _is_dtype_like(x) -> bool:
    if isinstance(x, np.dtype):
        return True
    if isinstance(x, type):
        # numpy scalar types (np.float32) and jnp's scalar types (jnp.float32, which carry .dtype)
        return issubclass(x, np.generic) or isinstance(getattr(x, "dtype", None), np.dtype)
    return is_extended(x)


class ProgramEncoder:
    """Turns (closed) jaxprs into JSON, assigning bundle-wide unique variable ids and putting every
    constant into the tensor table."""

    def __init__(self, tensors: TensorTable | None = None) -> None:
        self.tensors = tensors if tensors is not None else TensorTable()
        self._next_id = 0
        # Equal avals encode equally, and a program has few distinct ones: encoding each once (and
        # sharing the dict, which json.dumps writes out at every use) cut a third of the encoding
        # time on a 1000-equation transformer.
        self._avals: dict = {}

    def aval(self, aval) -> dict:
        try:
            out = self._avals.get(aval)
        except Exception:  # unhashable, or an __eq__ that raises: the cache is only a shortcut
            return aval_json(aval)
        if out is None:
            out = self._avals[aval] = aval_json(aval)
        return out

    # -- programs ---------------------------------------------------------------------------

    def closed_jaxpr(self, closed) -> dict:
        jaxpr = closed.jaxpr
        consts = []
        for var, value in zip(jaxpr.constvars, closed.consts):
            dtype = getattr(var.aval, "dtype", None)
            if is_extended(dtype) and physical_json(dtype) is not None:
                # A PRNG key constant (an NNX module's RNG stream) is stored as its key data,
                # which is how the host holds key arrays (the aval's "physical").
                import jax
                k = self.tensors.add(np.asarray(jax.random.key_data(value)))
            else:
                k = self.tensors.add(value, dtype if isinstance(dtype, np.dtype) else None)
            consts.append({"tensor": k} if k is not None else {"opaque": type(value).__name__})
        return {"jaxpr": self.jaxpr(jaxpr), "consts": consts}

    def jaxpr(self, jaxpr) -> dict:
        # Ids are scoped per encoded jaxpr: JAX may reuse one Var object in an outer and an inner
        # jaxpr, and the bundle promises ids that never need scoping.
        env: dict[int, int] = {}

        def declare(var) -> dict:
            self._next_id += 1
            env[id(var)] = self._next_id
            return {"id": self._next_id, "aval": self.aval(var.aval)}

        def atom(a) -> dict:
            if jc.is_literal(a):
                return {"lit": self._literal(a)}
            try:
                return {"var": env[id(a)]}
            except KeyError:
                raise ValueError(f"jaxpr uses variable {a} before defining it") from None

        constvars = [declare(v) for v in jaxpr.constvars]
        invars = [declare(v) for v in jaxpr.invars]
        eqns = []
        for eqn in jaxpr.eqns:
            ins = [atom(a) for a in eqn.invars]
            params = {str(k): self.param(v) for k, v in eqn.params.items()}
            if "key_impl" not in params:
                impl = key_impl_name(eqn.invars)
                if impl:
                    params["key_impl"] = impl
            outs = [{"drop": True, "aval": self.aval(v.aval)} if jc.is_dropvar(v) else declare(v)
                    for v in eqn.outvars]
            e = {"prim": eqn.primitive.name, "in": ins, "out": outs, "params": params}
            src = jc.user_source(eqn)
            if src is not None:
                e["src"] = src
            scope = jc.name_stack(eqn)
            if scope:
                e["scope"] = scope
            mark = function_mark(eqn.params.get("name"))
            if mark is not None:
                e["function"] = mark
            eqns.append(e)
        outvars = [atom(a) for a in jaxpr.outvars]
        return {"constvars": constvars, "invars": invars, "outvars": outvars, "eqns": eqns}

    def _literal(self, lit) -> dict:
        aval = lit.aval
        out = {"aval": self.aval(aval)}
        dtype = getattr(aval, "dtype", None)
        shape = tuple(getattr(aval, "shape", ()))
        if shape == () and isinstance(dtype, np.dtype):
            v = scalar_json(lit.val, dtype)
            if v is not None:
                out["value"] = v
                return out
        k = self.tensors.add(lit.val, dtype if isinstance(dtype, np.dtype) else None)
        if k is None:
            raise ValueError(f"literal {lit} of type {type(lit.val).__name__} has no byte form")
        out["tensor"] = k
        return out

    # -- params -----------------------------------------------------------------------------

    def param(self, v, depth: int = 0):
        # Exact-type fast path: params are overwhelmingly None, ints, bools and plain tuples, and
        # the isinstance cascade below dominated encoding time on big programs. Subclasses (IntEnum,
        # NamedTuple, np.float64) never match an exact type, so they still reach their own rules.
        t = type(v)
        if v is None or t is bool or t is int or t is str:
            return v
        if t is tuple or t is list:
            if depth > _MAX_PARAM_DEPTH:
                return self._opaque(v)
            return [self.param(x, depth + 1) for x in v]
        if t is float:
            return float_json(v)
        if depth > _MAX_PARAM_DEPTH:
            return self._opaque(v)
        d = depth + 1
        if isinstance(v, enum.Enum):  # before int/str: IntEnum and StrEnum are both
            out = {"$": "enum", "type": type(v).__name__, "name": v.name}
            if isinstance(v.value, (int, str)) and not isinstance(v.value, bool):
                out["value"] = v.value
            return out
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, np.generic):  # before float: np.float64 subclasses float
            if isinstance(v, np.integer):
                return int(v)
            value = scalar_json(v, v.dtype)
            if value is None:
                return self._opaque(v)
            return {"$": "scalar", "dtype": dtype_name(v.dtype), "v": value}
        if isinstance(v, int):
            return int(v)
        if isinstance(v, float):
            return float_json(v)
        if isinstance(v, str):
            return str(v)
        if _is_dtype_like(v):
            dt = v if isinstance(v, np.dtype) or is_extended(v) else \
                (np.dtype(v) if issubclass(v, np.generic) else v.dtype)
            return {"$": "dtype", "v": dtype_name(dt)}
        if jc.is_symbolic_dim(v):
            return {"$": "dim", "v": str(v)}
        if jc.is_closed_jaxpr(v):
            return {"$": "closed_jaxpr", "v": self.closed_jaxpr(v)}
        if jc.is_jaxpr(v):
            return {"$": "jaxpr", "v": self.jaxpr(v)}
        if jc.is_concrete_array(v):
            k = self.tensors.add(v)
            return {"$": "array", "tensor": k} if k is not None else self._opaque(v)
        if _is_namedtuple(v):
            return {"$": "record", "type": type(v).__name__,
                    "fields": {f: self.param(getattr(v, f), d) for f in type(v)._fields}}
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {"$": "record", "type": type(v).__name__,
                    "fields": {f.name: self.param(getattr(v, f.name, None), d)
                               for f in dataclasses.fields(v)}}
        if isinstance(v, (tuple, list)):
            return [self.param(x, d) for x in v]
        if isinstance(v, dict):
            return {"$": "dict", "v": {str(k): self.param(x, d) for k, x in v.items()}}
        return self._opaque(v)

    @staticmethod
    def _opaque(v) -> dict:
        return {"$": "opaque", "type": type(v).__name__, "repr": _short_repr(v)}
