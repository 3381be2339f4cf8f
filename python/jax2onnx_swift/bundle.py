"""Writing and reading JAXPR bundle files (docs/bundle-format.md, version 2; version 1 is read)."""

from __future__ import annotations

import functools
import json
import os
import re
import struct
import time
from typing import Any, Callable, NamedTuple

import numpy as np

import jax

from .dtypes import numpy_dtype
from .inputs import abstract_args
from .jaxpr_json import ProgramEncoder
from .preallocate import preallocate
from .trace import trace
from .shape_errors import INCONCLUSIVE, symbolic_shape_error
from .tensors import ALIGN, TensorTable, align

MAGIC = b"J2OBNDL\0"
VERSION = 2
READABLE_VERSIONS = (1, 2)
# Header flag: the data section lives in a file of its own, named by the JSON's "data_file".
FLAG_DATA_FILE = 1
HEADER = struct.Struct("<8sIIQQQQ16x")  # magic, version, flags, json off/len, data off/len
assert HEADER.size == 64

_PRODUCER_VERSION = "0.1.0"  # kept equal to jax2onnx_swift.__version__ (no import cycle)


def save_bundle(fn: Callable, inputs, path, *, input_names=None, output_names=None,
                name: str | None = None, input_params=None, inputs_as_nchw=None,
                outputs_as_nchw=None, float_dtype=np.float32, given_only: bool = False,
                data_file=None, timings: dict | None = None) -> str:
    """Traces fn on inputs with jax.make_jaxpr and writes the bundle to path; returns path.

    inputs: one entry per positional argument of fn, each a concrete array, a
    jax.ShapeDtypeStruct or ShapedArray (int, string or symbolic dims), an object with .shape and
    .dtype, a shape tuple such as ("B", 30) meaning float32 (float_dtype), or a pytree of those.
    input_params: named runtime parameters passed to fn as keyword arguments and made graph
    inputs after the positional ones (see trace.py). Pytree outputs are flattened in JAX's leaf
    order. A program that traces only for some sizes of a symbol raises ConversionError naming
    the line and the expression JAX could not decide. data_file: see write_program. timings, a
    dict, receives the seconds spent tracing ("trace") and writing ("write").
    """
    start = time.perf_counter()
    try:
        traced = trace(fn, inputs, input_params=input_params, inputs_as_nchw=inputs_as_nchw,
                       outputs_as_nchw=outputs_as_nchw, float_dtype=float_dtype,
                       given_only=given_only)
    except INCONCLUSIVE as e:
        raise symbolic_shape_error(e, abstract_args(inputs, float_dtype=float_dtype)) from None
    closed, out_shape = traced.closed, traced.out_shape
    n_params = len(input_params or {})
    if input_names is not None and n_params and traced.input_names is not None \
            and len(list(input_names)) == len(traced.input_names) - n_params:
        input_names = list(input_names) + traced.input_names[-n_params:]
    if input_names is None:
        input_names = traced.input_names if traced.input_names is not None \
            else _default_input_names(closed)
    if output_names is None:
        output_names = _default_output_names(out_shape)
    traced_at = time.perf_counter()
    out = write_program(closed, path, input_names=input_names, output_names=output_names,
                        name=name if name is not None else _default_name(fn), data_file=data_file)
    if timings is not None:
        timings["trace"] = traced_at - start
        timings["write"] = time.perf_counter() - traced_at
    return out


def write_program(closed, path, *, input_names=None, output_names=None, name=None,
                  data_file=None) -> str:
    """Writes an already traced ClosedJaxpr as a bundle (save_bundle's second half).

    data_file: when given, the tensor data goes to this new file (created exclusively, never
    through a symlink; an existing file is an error) instead of into the bundle, which then holds
    the graph alone. The host can adopt such a file as the model's external-data sidecar
    (`--data-in-place`), so the weights are written once. An int is an open, empty file
    descriptor to write the data to (a memory file); the bundle then names `/proc/self/fd/N`,
    so only a process that has that descriptor under the same number can read it.
    """
    tensors = TensorTable()
    program = ProgramEncoder(tensors).closed_jaxpr(closed)
    n_in, n_out = len(closed.jaxpr.invars), len(closed.jaxpr.outvars)
    doc: dict[str, Any] = {
        "format": "jax2onnx-bundle",
        "version": VERSION,
        "producer": {"name": "jax2onnx_swift", "version": _PRODUCER_VERSION, "jax": jax.__version__},
    }
    if name:
        doc["name"] = str(name)
    path = os.fspath(path)
    data_fd = data_file if isinstance(data_file, int) and not isinstance(data_file, bool) else None
    data_path = (f"/proc/self/fd/{data_fd}" if data_fd is not None
                 else os.fspath(data_file) if data_file is not None else None)
    if data_path is not None:
        doc["data_file"] = data_path if data_fd is not None else _data_file_reference(path, data_path)
    doc["tensors"] = tensors.entries
    doc["program"] = program
    if input_names is not None:
        doc["input_names"] = _check_names(input_names, n_in, "input_names")
    if output_names is not None:
        doc["output_names"] = _check_names(output_names, n_out, "output_names")

    # The encoder builds fresh containers all the way down (params are copied, recursion is
    # bounded), so the document cannot hold a cycle and json's cycle check is pure cost (~20% of dumps).
    blob = json.dumps(doc, separators=(",", ":"), allow_nan=False, ensure_ascii=False,
                      check_circular=False).encode("utf-8")
    json_offset = HEADER.size
    if data_path is not None:
        _write_split(path, data_path, blob, tensors, data_fd)
        return path
    data_offset = align(json_offset + len(blob))
    header = HEADER.pack(MAGIC, VERSION, 0, json_offset, len(blob), data_offset, tensors.data_length)

    # Written in place, like np.save: renaming a temp file over an existing bundle makes ext4
    # flush the new data synchronously (auto_da_alloc), which tripled the write time.
    try:
        with open(path, "wb") as f:
            preallocate(f.fileno(), data_offset + tensors.data_length)
            f.write(header)
            f.write(blob)
            f.write(b"\0" * (data_offset - json_offset - len(blob)))
            tensors.write_data(f)
    except BaseException:
        try:  # never leave a half-written bundle behind
            os.unlink(path)
        except OSError:
            pass
        raise
    return path


def _data_file_reference(bundle_path: str, data_path: str) -> str:
    """The data file as the bundle names it: its bare name beside the bundle, else absolute."""
    here = os.path.dirname(os.path.abspath(bundle_path))
    data_abs = os.path.abspath(data_path)
    return os.path.basename(data_abs) if os.path.dirname(data_abs) == here else data_abs


def _write_split(path: str, data_path: str, blob: bytes, tensors: TensorTable,
                 data_fd: int | None = None) -> None:
    """The data section as its own file (offset 0), then the graph-only bundle naming it."""
    if data_fd is None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(data_path, flags, 0o644)
    else:
        fd = data_fd
    try:
        with open(fd, "wb", closefd=data_fd is None) as f:
            if data_fd is None:
                preallocate(f.fileno(), tensors.data_length)
            tensors.write_data(f)
        header = HEADER.pack(MAGIC, VERSION, FLAG_DATA_FILE, HEADER.size, len(blob), 0, tensors.data_length)
        with open(path, "wb") as f:
            f.write(header)
            f.write(blob)
    except BaseException:
        for p in (path,) if data_fd is not None else (path, data_path):  # what this call created
            try:
                os.unlink(p)
            except OSError:
                pass
        raise


def _check_names(names, count: int, what: str) -> list[str]:
    names = [str(n) for n in names]
    if len(names) != count:
        raise ValueError(f"{what} has {len(names)} names for {count} program {what.split('_')[0]}s")
    return names


def _sanitize(path: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.]+", "_", path).strip("_")


def _unique_or_none(names):
    if not names or any(not n for n in names) or len(set(names)) != len(names):
        return None
    return names


def _default_input_names(closed):
    """Argument names from JAX's debug info ("x", "params['w']" -> "params_w"), when unique."""
    info = getattr(closed.jaxpr, "debug_info", None)
    arg_names = getattr(info, "arg_names", None)
    if not arg_names or len(arg_names) != len(closed.jaxpr.invars):
        return None
    return _unique_or_none([_sanitize(str(n)) for n in arg_names])


def _default_output_names(out_shape):
    """Names from the output pytree's paths ({"logits": ...} -> "logits"); None for a bare array,
    where the host's default is as good."""
    leaves_with_paths, _ = jax.tree_util.tree_flatten_with_path(out_shape)
    if len(leaves_with_paths) == 1 and not leaves_with_paths[0][0]:
        return None
    names = []
    for keypath, _leaf in leaves_with_paths:
        n = _sanitize(jax.tree_util.keystr(keypath))
        names.append(f"output_{n}" if not n or n[0].isdigit() else n)
    return _unique_or_none(names)


def _default_name(fn) -> str | None:
    """The function's name, or the class name for callable objects (an nnx/Equinox module)."""
    if isinstance(fn, functools.partial):
        return _default_name(fn.func)
    name = getattr(fn, "__name__", None)
    if isinstance(name, str):
        return None if name == "<lambda>" else name
    return type(fn).__name__


class BundleContents(NamedTuple):
    """What read_bundle returns: doc is the JSON document, tensor(k) the k-th constant as a numpy
    array (a read-only view), header the fixed header's fields."""
    doc: dict
    tensor: Callable[[int], np.ndarray]
    header: dict


class BundleError(ValueError):
    pass


def read_bundle(path) -> BundleContents:
    """Reads and validates a bundle: header, section bounds, tensor alignment and sizes."""
    with open(path, "rb") as f:
        data = f.read()
    size = len(data)
    if size < HEADER.size:
        raise BundleError(f"{path}: {size} bytes, shorter than the {HEADER.size}-byte header")
    magic, version, flags, json_off, json_len, data_off, data_len = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise BundleError(f"{path}: bad magic {magic!r}")
    if version not in READABLE_VERSIONS:
        raise BundleError(f"{path}: unsupported bundle version {version}")
    if data[48:64] != b"\0" * 16:
        raise BundleError(f"{path}: reserved header bytes are not zero")
    if json_off < HEADER.size or json_off + json_len > size:
        raise BundleError(f"{path}: JSON section [{json_off}, +{json_len}) outside the {size}-byte file")
    if flags & ~FLAG_DATA_FILE or (version == 1 and flags):
        raise BundleError(f"{path}: unknown header flags {flags:#x}")
    doc = json.loads(data[json_off:json_off + json_len].decode("utf-8"))
    if doc.get("format") != "jax2onnx-bundle" or doc.get("version") not in READABLE_VERSIONS:
        raise BundleError(f"{path}: JSON format/version is not jax2onnx-bundle "
                          f"v{'/'.join(map(str, READABLE_VERSIONS))}")
    if flags & FLAG_DATA_FILE:
        ref = doc.get("data_file")
        if not isinstance(ref, str) or not ref:
            raise BundleError(f"{path}: the header says the data is in a file of its own, but "
                              f"'data_file' does not name one")
        data_path = os.path.join(os.path.dirname(os.path.abspath(path)), ref)
        with open(data_path, "rb") as f:
            data = f.read()
        size, where = len(data), data_path
    else:
        where = path
        if data_off < json_off + json_len:
            raise BundleError(f"{path}: data section [{data_off}, +{data_len}) overlaps the JSON")
    if data_off % ALIGN or data_off + data_len > size:
        raise BundleError(f"{where}: data section [{data_off}, +{data_len}) is misaligned or "
                          f"outside the {size}-byte file (truncated?)")
    entries = doc.get("tensors", [])
    for k, t in enumerate(entries):
        off, nbytes = t["offset"], t["nbytes"]
        if off % ALIGN or off < 0 or off + nbytes > data_len:
            raise BundleError(f"{path}: tensors[{k}] at [{off}, +{nbytes}) is misaligned or outside "
                              f"the {data_len}-byte data section")
        try:
            itemsize = numpy_dtype(t["dtype"]).itemsize
        except ValueError:
            continue
        if int(np.prod(t["shape"], dtype=np.int64)) * itemsize != nbytes:
            raise BundleError(f"{path}: tensors[{k}] nbytes {nbytes} does not match "
                              f"{t['dtype']}{t['shape']}")
    buf = memoryview(data)

    def tensor(k: int) -> np.ndarray:
        t = entries[k]
        dt = numpy_dtype(t["dtype"]).newbyteorder("<")
        start = data_off + t["offset"]
        arr = np.frombuffer(buf[start:start + t["nbytes"]], dtype=dt)
        return arr.reshape(t["shape"])

    header = {"magic": magic, "version": version, "flags": flags, "json_offset": json_off,
              "json_length": json_len, "data_offset": data_off, "data_length": data_len}
    return BundleContents(doc, tensor, header)
