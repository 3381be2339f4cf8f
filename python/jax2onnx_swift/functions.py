"""`onnx_function`: mark a function or module class so that its calls export as an ONNX local
function (a FunctionProto and one call node per call) instead of being inlined.

The decorated callable traces as a nested `jit` program whose name is a marker registered here;
the bundle writer (jaxpr_json) recognizes the marker and records a generic "function" field on
that call equation (docs/bundle-format.md). The host outlines every such call after optimizing
the flat graph (docs/functions.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import itertools
import sys
import types

import jax
import numpy as np

DEFAULT_NAMESPACE = "custom"

# marker (the nested program's name) -> the "function" record the bundle carries
_MARKS: dict[str, dict] = {}
_counter = itertools.count()


def function_mark(program_name) -> dict | None:
    """The bundle's "function" record for a nested program of this name, if it is a marked one."""
    if not isinstance(program_name, str):
        return None
    return _MARKS.get(program_name)


def _is_array(x) -> bool:
    return isinstance(x, (jax.Array, np.ndarray, np.generic)) or hasattr(x, "aval")


def _wrap(fn, spec: dict, bound_self=None):
    marker = f"{spec['name']}__onnx_function_{next(_counter)}"
    _MARKS[marker] = spec

    @functools.wraps(fn)
    def call(*args, **kwargs):
        # Arrays go through the nested program's inputs; everything else (flags, modules, ints)
        # is fixed at trace time, as the decorated code sees it.
        leaves, tree = jax.tree_util.tree_flatten((args, kwargs))
        dynamic = [i for i, x in enumerate(leaves) if _is_array(x)]

        def body(*arrays):
            filled = list(leaves)
            for i, a in zip(dynamic, arrays):
                filled[i] = a
            a, kw = jax.tree_util.tree_unflatten(tree, filled)
            return fn(*a, **kw) if bound_self is None else fn(bound_self, *a, **kw)

        body.__name__ = marker
        body.__qualname__ = marker
        return jax.jit(body)(*[leaves[i] for i in dynamic])

    return call


def onnx_function(target=None, *, unique: bool = False, namespace: str | None = None,
                  name: str | None = None, type: str | None = None):
    """Export each call of `target` (a function, or a class whose instances are called) as an
    ONNX local function.

    name / type: the function's op_type (type wins when both are given); defaults to the
    callable's Python name. namespace: the function's domain (default "custom"). unique: give
    every call its own FunctionProto; by default calls with the same structure, attributes and
    input types share one.

    Usable bare (`@onnx_function`) or with options (`@onnx_function(namespace="vit")`).
    """
    def decorate(t):
        spec = {"name": type or name or getattr(t, "__name__", "function"),
                "domain": namespace or DEFAULT_NAMESPACE, "unique": bool(unique)}
        if type is not None:
            spec["type"] = type
        if inspect.isclass(t):
            original = t.__call__

            t.__call__ = _decorated_call(original, spec)
            t.__onnx_function__ = spec
            return t
        return _wrap(t, spec)

    return decorate if target is None else decorate(target)


def _roots(fn) -> list:
    """What fn can reach without being called: itself, a bound method's object, a closure's
    cells, default arguments, and the globals its code names."""
    roots = [fn, getattr(fn, "__self__", None)]
    roots += [c.cell_contents for c in (getattr(fn, "__closure__", None) or ()) if _cell_set(c)]
    roots += list(getattr(fn, "__defaults__", None) or ())
    roots += list((getattr(fn, "__kwdefaults__", None) or {}).values())
    code, scope = getattr(fn, "__code__", None), getattr(fn, "__globals__", None)
    if code is not None and isinstance(scope, dict):
        roots += [scope.get(n) for n in code.co_names]
    return roots


def _modules(fn):
    """(path, module) of every Flax NNX or Equinox module reachable from fn (see _roots)."""
    found, seen = [], set()
    for root in _roots(fn):
        for path, node in _nnx_tree(root) + _eqx_tree(root):
            if id(node) not in seen:
                seen.add(id(node))
                found.append((tuple(path), node))
    return found


def _nnx_tree(root):
    try:
        from flax import nnx
    except ImportError:
        return []
    if not isinstance(root, nnx.Module):
        return []
    return [(p, n) for p, n in nnx.iter_graph(root) if isinstance(n, nnx.Module)]


def _eqx_tree(root):
    """Equinox modules are frozen dataclasses whose fields hold arrays, modules and containers
    of them; paths name fields and container positions, as NNX's do."""
    eqx = sys.modules.get("equinox")
    if eqx is None or not isinstance(root, eqx.Module):
        return []
    out = []

    def walk(v, path, depth):
        if depth > 64:
            return
        if isinstance(v, eqx.Module):
            out.append((path, v))
            for f in dataclasses.fields(v):
                walk(getattr(v, f.name, None), path + (f.name,), depth + 1)
        elif isinstance(v, (list, tuple)):
            for i, x in enumerate(v):
                walk(x, path + (i,), depth + 1)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, path + (k,), depth + 1)

    walk(root, (), 0)
    return out


def _cell_set(cell) -> bool:
    try:
        cell.cell_contents
        return True
    except ValueError:
        return False


@contextlib.contextmanager
def module_scopes(fn, enabled: bool = True):
    """While tracing fn: classes and free functions marked by jax2onnx's own `onnx_function` (the
    attributes `__j2o_onnx_function*__` it sets and nothing else) export as functions too, and,
    when `enabled` (`functions="auto"`), each Flax NNX and Equinox module call records itself on
    JAX's name stack as `Type@path`, path being where the module sits in the model. NNX records
    nothing there; Equinox records only the class of its built-in layers, the same for every
    instance, so two layers called back to back would read as one. The host groups equations by
    those names (docs/functions.md)."""
    modules = _modules(fn)
    patched = {}

    def patch(m, make):
        owner = next((c for c in type(m).__mro__ if "__call__" in c.__dict__), None)
        if owner is not None and owner not in patched:
            patched[owner] = owner.__dict__["__call__"]
            owner.__call__ = make(patched[owner])

    for _, m in modules:
        t = type(m)
        if getattr(t, "__j2o_onnx_function__", False) and not hasattr(t, "__onnx_function__"):
            patch(m, lambda original, spec=_peer_spec(t): _decorated_call(original, spec))
    if enabled:
        labels = _labels(modules)
        for _, m in modules:
            if not _is_function_class(type(m)):
                patch(m, lambda original: _scoped_call(original, labels))
    restore = _patch_marked_functions(fn, [type(m) for _, m in modules])
    try:
        yield
    finally:
        for owner, original in patched.items():
            owner.__call__ = original
        for scope, name, original in reversed(restore):
            scope[name] = original


def _peer_spec(target) -> dict:
    """The function record for a target marked by jax2onnx's decorator. jax2onnx shares one
    function between calls with equal bodies whatever its `unique` says (its `unique=True`
    means reuse), which is this package's default, so the mark's `unique` is not carried over."""
    return {"name": getattr(target, "__j2o_onnx_function_type__", None) or target.__name__,
            "domain": getattr(target, "__j2o_onnx_function_namespace__", None) or DEFAULT_NAMESPACE,
            "unique": False}


def _is_peer_marked_function(v) -> bool:
    return inspect.isfunction(v) and getattr(v, "__j2o_onnx_function__", False) is True


def _patch_marked_functions(fn, classes) -> list:
    """Free functions marked by jax2onnx's decorator are plain functions that the calling code
    finds by name in its module's globals (the decorator returns them unchanged). So the name is
    rebound, for the trace only, to a wrapper that calls it as a function, in every globals dict
    the traced code can read: fn's, the modules fn names, the methods' of the module classes
    found, and those of the marked functions themselves (a marked function calling another).
    Returns what to restore."""
    scopes: dict[int, dict] = {}

    def add(f):
        f = getattr(f, "__func__", f)
        try:
            f = inspect.unwrap(f)
        except ValueError:
            return
        g = getattr(f, "__globals__", None)
        if isinstance(g, dict):
            scopes.setdefault(id(g), g)

    for r in [fn, getattr(type(fn), "__call__", None)] + _roots(fn):
        if isinstance(r, types.ModuleType):  # `mod.fn(...)`: the name is looked up in mod
            scopes.setdefault(id(r.__dict__), r.__dict__)
        elif callable(r):
            add(r)
    for cls in classes:
        for owner in cls.__mro__:
            for v in owner.__dict__.values():
                if inspect.isfunction(v):
                    add(v)
    wrappers: dict[int, object] = {}  # original's id -> its wrapper
    made: set[int] = set()  # the wrappers' ids (functools.wraps copies the marks onto them)
    restore: list = []
    done: set[int] = set()
    while len(done) < len(scopes):
        for key, scope in list(scopes.items()):
            if key in done:
                continue
            done.add(key)
            for name, v in list(scope.items()):
                if not _is_peer_marked_function(v) or id(v) in made:
                    continue
                if id(v) not in wrappers:
                    wrappers[id(v)] = _wrap(v, _peer_spec(v))
                    made.add(id(wrappers[id(v)]))
                    add(v)
                restore.append((scope, name, v))
                scope[name] = wrappers[id(v)]
    return restore


def _is_function_class(t) -> bool:
    return hasattr(t, "__onnx_function__") or getattr(t, "__j2o_onnx_function__", False)


def _decorated_call(original, spec):
    @functools.wraps(original)
    def __call__(self, *args, **kwargs):
        return _wrap(original, spec, bound_self=self)(*args, **kwargs)
    return __call__


_active: list[int] = []


def _labels(modules) -> dict:
    return {id(m): type(m).__name__ + "@" + (".".join(map(str, p)) or "root") for p, m in modules
            if not _is_function_class(type(m))}


def _scoped_call(original, labels):
    @functools.wraps(original)
    def call(self, *args, **kwargs):
        if not _active and id(self) not in labels:
            # The tracer calls a copy merged from the model's state (trace.functional), and
            # a module may be built while tracing: label its modules by their place in it.
            labels.update(_labels(_modules(self)))
        label = labels.get(id(self))
        # A subclass's __call__ reaching its parent's through super() is one module call.
        if label is None or (_active and _active[-1] == id(self)):
            return original(self, *args, **kwargs)
        _active.append(id(self))
        try:
            with jax.named_scope(label):
                return original(self, *args, **kwargs)
        finally:
            _active.pop()
    return call
