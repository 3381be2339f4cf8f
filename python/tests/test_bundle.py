"""Bundle round trips: write with save_bundle, read back with read_bundle, check against the spec
(docs/bundle-format.md). No Swift needed."""

from __future__ import annotations

import dataclasses
import enum
import io
import json
import math
import os
import struct
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

import jax
import jax.numpy as jnp
from jax import lax
from jax import export  # a submodule JAX did not import by itself before 0.5

try:
    import jax2onnx_swift  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e ./python`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jax2onnx_swift import read_bundle, save_bundle
from jax2onnx_swift.bundle import BundleError, write_program
from jax2onnx_swift.dtypes import numpy_dtype
from jax2onnx_swift.jaxpr_json import ProgramEncoder
from jax2onnx_swift.preallocate import preallocate
from jax2onnx_swift.tensors import TensorTable

from jax2onnx_swift.testing import marker_line

# Bundles name a file under the working directory relative to it (no machine paths in models).
THIS_FILE = os.path.relpath(Path(__file__).resolve()) if str(Path(__file__).resolve()).startswith(os.getcwd() + os.sep) \
    else str(Path(__file__).resolve())


def line_of(marker: str) -> int:
    return marker_line(THIS_FILE, marker)


# -- walking the JSON -----------------------------------------------------------------------

def iter_jaxprs(jaxpr: dict):
    """jaxpr and every JAXPR nested in its params, depth first."""
    yield jaxpr
    for eqn in jaxpr["eqns"]:
        for p in eqn["params"].values():
            yield from _param_jaxprs(p)


def _param_jaxprs(p):
    if isinstance(p, list):
        for x in p:
            yield from _param_jaxprs(x)
    elif isinstance(p, dict):
        kind = p.get("$")
        if kind == "jaxpr":
            yield from iter_jaxprs(p["v"])
        elif kind == "closed_jaxpr":
            yield from iter_jaxprs(p["v"]["jaxpr"])
        elif kind == "record":
            for x in p["fields"].values():
                yield from _param_jaxprs(x)
        elif kind == "dict":
            for x in p["v"].values():
                yield from _param_jaxprs(x)


def all_eqns(doc):
    for jx in iter_jaxprs(doc["program"]["jaxpr"]):
        yield from jx["eqns"]


def declared_ids(doc) -> list[int]:
    ids = []
    for jx in iter_jaxprs(doc["program"]["jaxpr"]):
        ids += [v["id"] for v in jx["constvars"] + jx["invars"]]
        for e in jx["eqns"]:
            ids += [o["id"] for o in e["out"] if "id" in o]
    return ids


def eqns_named(doc, prim: str) -> list[dict]:
    return [e for e in all_eqns(doc) if e["prim"] == prim]


def assert_uses_are_declared(jaxpr: dict):
    """Every {"var": id} refers to a variable declared earlier in the same jaxpr."""
    seen = {v["id"] for v in jaxpr["constvars"] + jaxpr["invars"]}
    for e in jaxpr["eqns"]:
        for a in e["in"]:
            if "var" in a:
                assert a["var"] in seen, (e["prim"], a)
        seen |= {o["id"] for o in e["out"] if "id" in o}
    for a in jaxpr["outvars"]:
        if "var" in a:
            assert a["var"] in seen


def save(tmp_path, fn, inputs, **kw):
    path = tmp_path / "model.jaxpr"
    save_bundle(fn, inputs, path, **kw)
    return read_bundle(path), path


# -- the file layout ------------------------------------------------------------------------

BIG = np.arange(3000, dtype=np.float32).reshape(100, 30) / 7.0
SMALL_I = np.array([[3, -1, 4]], dtype=np.int32)
SMALL_B = np.array([True, False, True])
SMALL_F16 = np.array([0.5, -2.0, 65504.0], dtype=np.float16)


def consts_fn(x):
    y = x @ BIG.T
    z = y[:, :3] + BIG[0, :3] + BIG.T[:3, 0]  # equal content, two objects, two constvars
    w = jnp.where(SMALL_B, z * SMALL_I, z) + SMALL_F16
    # content-identical small constants that are distinct objects are stored once as well
    return w + np.array([1.0, 2.0, 3.0], np.float32) + np.array([1.0, 2.0, 3.0], np.float32)


def test_header_and_sections(tmp_path):
    (doc, tensor, header), path = save(tmp_path, consts_fn, [np.zeros((2, 30), np.float32)])
    raw = path.read_bytes()
    assert raw[:8] == b"J2OBNDL\0"
    assert header["version"] == 2 and header["flags"] == 0
    assert header["json_offset"] == 64
    assert raw[48:64] == b"\0" * 16
    assert header["data_offset"] % 64 == 0
    assert header["data_offset"] >= header["json_offset"] + header["json_length"]
    assert header["data_offset"] + header["data_length"] <= len(raw)
    # the JSON section is exactly the document, UTF-8 without BOM
    blob = raw[header["json_offset"]:header["json_offset"] + header["json_length"]]
    assert not blob.startswith(b"\xef\xbb\xbf")
    assert json.loads(blob.decode("utf-8")) == doc
    assert doc["format"] == "jax2onnx-bundle" and doc["version"] == 2
    assert doc["producer"]["name"] == "jax2onnx_swift"
    assert doc["producer"]["jax"] == jax.__version__
    assert doc["name"] == "consts_fn"
    # header integers are little-endian u32/u64 at the documented offsets
    assert struct.unpack_from("<Q", raw, 32)[0] == header["data_offset"]


def test_tensors_aligned_exact_and_deduplicated(tmp_path):
    (doc, tensor, header), _ = save(tmp_path, consts_fn, [np.zeros((2, 30), np.float32)])
    entries = doc["tensors"]
    for k, t in enumerate(entries):
        assert t["offset"] % 64 == 0
        assert (header["data_offset"] + t["offset"]) % 64 == 0
        assert t["offset"] + t["nbytes"] <= header["data_length"]
        assert tensor(k).nbytes == t["nbytes"]
    # no two tensors overlap
    spans = sorted((t["offset"], t["offset"] + t["nbytes"]) for t in entries)
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        assert a1 <= b0
    values = [tensor(k) for k in range(len(entries))]
    big = [v for v in values if v.shape == BIG.T.shape]
    assert len(big) == 1 and big[0].dtype == np.float32
    assert big[0].tobytes() == np.ascontiguousarray(BIG.T).tobytes()
    assert len(doc["program"]["consts"]) > len(entries)  # JAX's duplicate constvars share tensors
    assert sum(np.array_equal(v, BIG[0, :3]) for v in values) == 1
    # every constant array the function closes over is in the table, bit for bit
    for arr in (SMALL_I, SMALL_B, SMALL_F16):
        matches = [v for v in values if v.dtype == arr.dtype and v.shape == arr.shape
                   and v.tobytes() == arr.tobytes()]
        assert len(matches) == 1, arr
    ones23 = np.array([1.0, 2.0, 3.0], np.float32)
    assert sum(v.shape == (3,) and v.dtype == np.float32 and np.array_equal(v, ones23)
               for v in values) == 1
    # the closed program's consts name tensors of the table
    consts = doc["program"]["consts"]
    assert len(consts) == len(doc["program"]["jaxpr"]["constvars"])
    assert all(0 <= c["tensor"] < len(entries) for c in consts)
    dtypes = {t["dtype"] for t in entries}
    assert {"f32", "i32", "bool", "f16"} <= dtypes


def test_bool_and_f16_bytes(tmp_path):
    (doc, tensor, _), _ = save(tmp_path, consts_fn, [np.zeros((2, 30), np.float32)])
    for k, t in enumerate(doc["tensors"]):
        if t["dtype"] == "bool":
            assert set(tensor(k).view(np.uint8).tolist()) <= {0, 1}
            assert t["nbytes"] == int(np.prod(t["shape"]))
        if t["dtype"] == "f16":
            assert t["nbytes"] == 2 * int(np.prod(t["shape"]))


def test_big_constant_written_straight(tmp_path):
    big = np.random.default_rng(0).standard_normal((512, 1024)).astype(np.float32)
    (doc, tensor, header), path = save(tmp_path, lambda x: x @ big, [("B", 512)])
    (k,) = [k for k, t in enumerate(doc["tensors"]) if t["shape"] == [512, 1024]]
    assert np.array_equal(tensor(k), big)
    # the file ends with the last tensor: reserving its blocks up front adds nothing after it
    assert path.stat().st_size == header["data_offset"] + header["data_length"]


def test_rewriting_a_bundle_leaves_no_stale_bytes(tmp_path):
    big = np.random.default_rng(1).standard_normal((256, 512)).astype(np.float32)
    small = np.arange(6, dtype=np.float32)
    _, path = save(tmp_path, lambda x: x @ big, [(3, 256)])
    (doc, tensor, header), path = save(tmp_path, lambda x: x + small, [(6,)])
    assert path.stat().st_size == header["data_offset"] + header["data_length"]
    assert [t["shape"] for t in doc["tensors"]] == [[6]]
    assert np.array_equal(tensor(0), small)


def test_preallocate_ignores_what_cannot_be_preallocated():
    r, w = os.pipe()
    try:
        preallocate(w, 1 << 20)
        preallocate(w, 0)
    finally:
        os.close(r)
        os.close(w)


def test_non_contiguous_constants(tmp_path):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    strided = base[:, ::2]                      # not C-contiguous
    (doc, tensor, _), _ = save(tmp_path, lambda x: x + strided, [np.zeros((4, 3), np.float32)])
    vals = [tensor(k) for k in range(len(doc["tensors"]))]
    assert any(v.shape == (4, 3) and np.array_equal(v, strided) for v in vals)


def test_table_writes_little_endian_and_dedupes_objects(tmp_path):
    # JAX canonicalizes byte order itself, so drive the table directly
    table = TensorTable()
    be = np.arange(5, dtype=">i4")
    big = np.ones(100_000, np.float32)          # above the content-dedupe size
    k_be = table.add(be)
    assert table.add(be) == k_be
    k_big = table.add(big)
    assert table.add(big) == k_big
    assert table.add(np.ones(100_000, np.float32)) != k_big   # big copies are not hashed
    assert table.add(np.arange(5, dtype="<i4")) == k_be         # same content, same tensor
    out = io.BytesIO()
    table.write_data(out)
    data = out.getvalue()
    assert len(data) == table.data_length
    for k, arr in ((k_be, np.arange(5, dtype="<i4")), (k_big, big)):
        t = table.entries[k]
        assert t["offset"] % 64 == 0
        assert data[t["offset"]:t["offset"] + t["nbytes"]] == arr.tobytes()
    assert table.entries[k_be]["dtype"] == "i32"


def test_x64_constants_follow_the_aval(tmp_path):
    w = np.linspace(-1, 1, 12).reshape(3, 4)  # float64; JAX without x64 traces it as f32
    (doc, tensor, _), _ = save(tmp_path, lambda x: x @ w, [np.zeros((2, 3), np.float32)])
    (cv,) = doc["program"]["jaxpr"]["constvars"]
    (c,) = doc["program"]["consts"]
    assert doc["tensors"][c["tensor"]]["dtype"] == cv["aval"]["dtype"]
    np.testing.assert_array_equal(tensor(c["tensor"]), w.astype(cv["aval"]["dtype"].replace("f", "float")))


# -- variables ------------------------------------------------------------------------------

@jax.jit
def jitted_inner(x):
    return jnp.sin(x) * 2.0  # JITTED-LINE


def nested_fn(x):
    a = jitted_inner(x)
    b = lax.cond(a.sum() > 0, lambda v: v * 3.0, lambda v: jitted_inner(v) - 1.0, a)
    return jitted_inner(b), a


def test_var_ids_unique_across_nested_jaxprs(tmp_path):
    (doc, _, _), _ = save(tmp_path, nested_fn, [np.ones((3, 4), np.float32)])
    ids = declared_ids(doc)
    assert len(ids) == len(set(ids))
    assert all(isinstance(i, int) for i in ids)
    jaxprs = list(iter_jaxprs(doc["program"]["jaxpr"]))
    assert len(jaxprs) >= 5  # program, 3 jit bodies (one in a branch), 2 branches
    for jx in jaxprs:
        assert_uses_are_declared(jx)


def test_nested_closed_jaxpr_from_jit(tmp_path):
    (doc, _, _), _ = save(tmp_path, nested_fn, [np.ones((3, 4), np.float32)])
    calls = [e for e in doc["program"]["jaxpr"]["eqns"] if e["prim"] in ("jit", "pjit")]
    assert len(calls) == 2
    for call in calls:
        inner = call["params"]["jaxpr"]
        assert inner["$"] == "closed_jaxpr"
        body = inner["v"]["jaxpr"]
        assert [e["prim"] for e in body["eqns"]] == ["sin", "mul"]
        assert len(body["invars"]) == len(call["in"])
        assert len(body["outvars"]) == len(call["out"])
        assert call["params"]["name"] == "jitted_inner"
        # shardings and meshes have no JSON form: opaque, with a type and a repr
        assert all(p["$"] == "opaque" and p["type"] and "repr" in p
                   for p in call["params"]["in_shardings"])
        assert call["params"]["ctx_mesh"]["$"] == "opaque"
        assert call["params"]["donated_invars"] == [False]


def test_cond_branches(tmp_path):
    (doc, _, _), _ = save(tmp_path, nested_fn, [np.ones((3, 4), np.float32)])
    (cond,) = eqns_named(doc, "cond")
    branches = cond["params"]["branches"]
    assert isinstance(branches, list) and len(branches) == 2
    assert all(b["$"] == "closed_jaxpr" for b in branches)
    prims = [[e["prim"] for e in b["v"]["jaxpr"]["eqns"]] for b in branches]
    # branch 0 is the false branch
    assert prims[1] == ["mul"]
    assert prims[0][0] in ("jit", "pjit") and prims[0][-1] == "sub"
    assert cond["in"][0]["var"] is not None  # the index operand comes first
    for b in branches:
        assert len(b["v"]["jaxpr"]["invars"]) == len(cond["in"]) - 1


def test_dropped_outputs(tmp_path):
    def fn(x):
        _, idx = lax.top_k(x, 2)
        return idx

    closed = jax.make_jaxpr(fn)(np.ones((3, 5), np.float32))
    (top_k,) = closed.jaxpr.eqns
    # JAX 0.10 leaves unused outputs as ordinary Vars (printed "_"); DropVar itself only comes out
    # of some transformations, so build one the way they do.
    from jax._src.core import DropVar
    values_aval = top_k.outvars[0].aval
    dropped = closed.jaxpr.replace(eqns=[top_k.replace(outvars=[DropVar(values_aval), top_k.outvars[1]])])
    closed = closed.replace(jaxpr=dropped)
    path = tmp_path / "drop.jaxpr"
    write_program(closed, path)
    doc = read_bundle(path).doc
    (eqn,) = doc["program"]["jaxpr"]["eqns"]
    assert eqn["out"][0] == {"drop": True, "aval": {"dtype": "f32", "shape": [3, 2]}}
    assert "id" in eqn["out"][1] and eqn["out"][1]["aval"] == {"dtype": "i32", "shape": [3, 2]}
    assert doc["program"]["jaxpr"]["outvars"] == [{"var": eqn["out"][1]["id"]}]


def test_unused_outputs_are_plain_variables(tmp_path):
    (doc, _, _), _ = save(tmp_path, lambda x: lax.top_k(x, 2)[1], [np.ones((3, 5), np.float32)])
    (eqn,) = doc["program"]["jaxpr"]["eqns"]
    assert [("id" in o) for o in eqn["out"]] == [True, True]


# -- literals -------------------------------------------------------------------------------

def literals_fn(x, n, b):
    y = x * 2.5 + jnp.nan
    z = jnp.where(x > 0, jnp.inf, -jnp.inf)
    return y, z, n + 7, jnp.logical_and(b, True)


def all_literals(doc):
    for jx in iter_jaxprs(doc["program"]["jaxpr"]):
        for e in jx["eqns"]:
            for a in e["in"]:
                if "lit" in a:
                    yield e["prim"], a["lit"]


def test_scalar_literals(tmp_path):
    (doc, _, _), _ = save(tmp_path, literals_fn, [np.ones(3, np.float32), np.ones(3, np.int32),
                                                  np.ones(3, bool)])
    lits = list(all_literals(doc))
    values = [lit.get("value") for _, lit in lits]
    assert 2.5 in values
    assert {"$": "float", "v": "nan"} in values
    assert {"$": "float", "v": "inf"} in values
    assert {"$": "float", "v": "-inf"} in values
    assert any(v == 7 and isinstance(v, int) and lit["aval"] == {"dtype": "i32", "shape": []}
               for (_, lit), v in zip(lits, values))
    for _, lit in lits:
        assert lit["aval"]["shape"] == []
        assert ("value" in lit) != ("tensor" in lit)
        if lit["aval"]["dtype"] == "bool":
            assert isinstance(lit["value"], bool)
        if lit["aval"]["dtype"] == "f32" and not isinstance(lit["value"], dict):
            assert isinstance(lit["value"], float)
    # the raw JSON never holds NaN/Infinity tokens (they are not JSON)
    blob = (tmp_path / "model.jaxpr").read_bytes()
    assert b"NaN" not in blob and b"Infinity" not in blob


def test_array_literal_goes_to_the_tensor_table(tmp_path):
    closed = jax.make_jaxpr(lambda x: x + 1.0)(np.ones(3, np.float32))
    (add,) = closed.jaxpr.eqns
    from jax._src.core import Literal
    arr = np.array([1.0, -2.0, 4.0], np.float32)
    lit = Literal(arr, jax.core.ShapedArray((3,), np.float32))
    closed = closed.replace(jaxpr=closed.jaxpr.replace(eqns=[add.replace(invars=[add.invars[0], lit])]))
    path = tmp_path / "lit.jaxpr"
    write_program(closed, path)
    doc, tensor, _ = read_bundle(path)
    (eqn,) = doc["program"]["jaxpr"]["eqns"]
    lit_json = eqn["in"][1]["lit"]
    assert lit_json["aval"] == {"dtype": "f32", "shape": [3]}
    assert "value" not in lit_json
    np.testing.assert_array_equal(tensor(lit_json["tensor"]), arr)


def test_literal_program_output(tmp_path):
    (doc, _, _), _ = save(tmp_path, lambda x: (x, 3.0), [np.ones(2, np.float32)])
    outs = doc["program"]["jaxpr"]["outvars"]
    assert outs[0] == {"var": doc["program"]["jaxpr"]["invars"][0]["id"]}
    # JAX may return the constant as a literal atom or via an equation; both are legal ATOMs
    assert "lit" in outs[1] or "var" in outs[1]


# -- params ---------------------------------------------------------------------------------

def records_fn(x, idx, img, ker):
    g = x[idx]                                             # gather: GatherDimensionNumbers
    c = lax.conv_general_dilated(img, ker, (1, 1), "SAME",
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
    s = jnp.take(x, idx, axis=0, mode="clip")              # GatherScatterMode.CLIP
    return g, c, s


def test_records_and_enums(tmp_path):
    (doc, _, _), _ = save(tmp_path, records_fn,
                          [np.ones((5, 3), np.float32), np.array([0, 4], np.int32),
                           np.ones((1, 6, 6, 2), np.float32), np.ones((3, 3, 2, 4), np.float32)])
    gathers = eqns_named(doc, "gather")
    assert len(gathers) == 2
    for g in gathers:
        dn = g["params"]["dimension_numbers"]
        assert dn["$"] == "record" and dn["type"] == "GatherDimensionNumbers"
        assert {"offset_dims", "collapsed_slice_dims", "start_index_map"} <= set(dn["fields"])
        assert all(isinstance(v, list) for v in dn["fields"].values())
        assert g["params"]["slice_sizes"] == [1, 3]
        mode = g["params"]["mode"]
        assert mode["$"] == "enum" and mode["type"] == "GatherScatterMode"
        assert mode["value"] == lax.GatherScatterMode[mode["name"]].value
    assert {g["params"]["mode"]["name"] for g in gathers} >= {"CLIP"}
    (conv,) = eqns_named(doc, "conv_general_dilated")
    dn = conv["params"]["dimension_numbers"]
    assert dn["$"] == "record" and dn["type"] == "ConvDimensionNumbers"
    assert dn["fields"]["lhs_spec"] == [0, 3, 1, 2]
    assert dn["fields"]["rhs_spec"] == [3, 2, 0, 1]
    assert dn["fields"]["out_spec"] == [0, 3, 1, 2]
    assert conv["params"]["padding"] == [[1, 1], [1, 1]]
    assert conv["params"]["feature_group_count"] == 1


def test_dtype_and_plain_params(tmp_path):
    (doc, _, _), _ = save(tmp_path, lambda x: (x.astype(jnp.int32), jnp.sum(x, axis=(0, 1)),
                                                lax.integer_pow(x, 3)),
                          [np.ones((2, 3), np.float32)])
    (cvt,) = eqns_named(doc, "convert_element_type")
    assert cvt["params"]["new_dtype"] == {"$": "dtype", "v": "i32"}
    assert cvt["params"]["weak_type"] is False
    (red,) = eqns_named(doc, "reduce_sum")
    assert red["params"]["axes"] == [0, 1]
    (ipow,) = eqns_named(doc, "integer_pow")
    assert ipow["params"]["y"] == 3


class Color(enum.Enum):
    RED = "r"
    BLUE = 2.5


class Pair(NamedTuple):
    a: int
    b: object


@dataclasses.dataclass(frozen=True)
class Config:
    scale: float
    dims: tuple


def test_param_encoding_by_type():
    enc = ProgramEncoder(TensorTable())
    p = enc.param
    assert p(None) is None
    assert p(True) is True and p(np.bool_(False)) is False
    assert p(3) == 3 and isinstance(p(np.int64(3)), int) and p(np.uint8(7)) == 7
    assert p(0.25) == 0.25 and isinstance(p(1.0), float)
    assert p(float("nan")) == {"$": "float", "v": "nan"}
    assert p(-math.inf) == {"$": "float", "v": "-inf"}
    assert p(np.float32(0.5)) == {"$": "scalar", "dtype": "f32", "v": 0.5}
    assert p(np.float64("inf")) == {"$": "scalar", "dtype": "f64", "v": {"$": "float", "v": "inf"}}
    assert p("x") == "x"
    assert p((1, [2, (3,)])) == [1, [2, [3]]]
    assert p(np.dtype("float16")) == {"$": "dtype", "v": "f16"}
    assert p(np.int8) == {"$": "dtype", "v": "i8"}
    assert p(jnp.bfloat16) == {"$": "dtype", "v": "bf16"}
    assert p(jnp.float32) == {"$": "dtype", "v": "f32"}
    assert p(Color.RED) == {"$": "enum", "type": "Color", "name": "RED", "value": "r"}
    assert p(Color.BLUE) == {"$": "enum", "type": "Color", "name": "BLUE"}
    assert p(lax.Precision.HIGHEST)["name"] == "HIGHEST"
    assert p(Pair(1, None)) == {"$": "record", "type": "Pair", "fields": {"a": 1, "b": None}}
    assert p(Config(0.5, (1, 2))) == {"$": "record", "type": "Config",
                                      "fields": {"scale": 0.5, "dims": [1, 2]}}
    assert p({"k": 1, 2: (3,)}) == {"$": "dict", "v": {"k": 1, "2": [3]}}
    opaque = p(lambda v: v)
    assert opaque["$"] == "opaque" and opaque["type"] == "function" and "lambda" in opaque["repr"]
    assert p(object())["$"] == "opaque"
    arr = p(np.arange(4, dtype=np.int16))
    assert arr["$"] == "array" and enc.tensors.entries[arr["tensor"]]["dtype"] == "i16"
    jarr = p(jnp.ones((2,), jnp.float32))
    assert jarr["$"] == "array" and enc.tensors.entries[jarr["tensor"]]["shape"] == [2]
    # everything above is plain JSON
    json.dumps([p(x) for x in (Color.RED, Pair(1, 2.0), np.float32(1))], allow_nan=False)


def test_extended_dtype_params_and_avals(tmp_path):
    def fn(x):
        key = jax.random.key(0)
        return x + jax.random.uniform(key, x.shape)

    (doc, _, _), _ = save(tmp_path, fn, [np.ones(3, np.float32)])
    key_avals = [o["aval"] for e in all_eqns(doc) for o in e["out"]
                 if o["aval"].get("dtype", "").startswith("key<")]
    assert key_avals and all(a["dtype"] == "key<fry>" for a in key_avals)


# -- shapes ---------------------------------------------------------------------------------

def test_symbolic_dims_share_one_scope(tmp_path):
    def fn(x, y):
        z = jnp.concatenate([x, y], axis=0)
        return z, x + y

    (doc, _, _), _ = save(tmp_path, fn, [("B", 4), ("B", 4)])
    invars = doc["program"]["jaxpr"]["invars"]
    assert [v["aval"] for v in invars] == [{"dtype": "f32", "shape": ["B", 4]}] * 2
    (cat,) = eqns_named(doc, "concatenate")
    assert cat["out"][0]["aval"]["shape"] == ["2*B", 4]
    (add,) = eqns_named(doc, "add")
    assert add["out"][0]["aval"]["shape"] == ["B", 4]


def test_every_aval_matches_its_variable(tmp_path):
    # many variables share few avals, across dtypes, weak types and symbolic shapes
    def fn(x):
        n = (x * 3).astype(jnp.int32) + 1
        h = x.astype(jnp.float16) * 2
        c = jnp.concatenate([x, x])
        p = jnp.pad(x, ((0, 1), (0, 0)))
        return c.sum(0), jnp.where(x > 0, x, 0.0), n * n, h + h, p - 1.0, jnp.float32(2) * x[0, 0]

    closed = jax.make_jaxpr(fn)(jax.ShapeDtypeStruct(export.symbolic_shape("B, 4"), np.float32))
    path = tmp_path / "m.jaxpr"
    write_program(closed, path)
    doc = read_bundle(path).doc
    jaxpr = doc["program"]["jaxpr"]
    pairs = list(zip(closed.jaxpr.invars, jaxpr["invars"]))
    assert len(jaxpr["eqns"]) == len(closed.jaxpr.eqns)
    for eqn, e in zip(closed.jaxpr.eqns, jaxpr["eqns"]):
        pairs += list(zip(eqn.outvars, e["out"]))
    shapes = set()
    for var, enc in pairs:
        assert numpy_dtype(enc["aval"]["dtype"]) == var.aval.dtype
        assert [str(d) for d in enc["aval"]["shape"]] == [str(d) for d in var.aval.shape]
        shapes.add(tuple(str(d) for d in var.aval.shape))
    assert {("B", "4"), ("2*B", "4"), ("B + 1", "4"), ("4",), ()} <= shapes


def test_symbolic_dims_in_params(tmp_path):
    spec = jax.ShapeDtypeStruct(export.symbolic_shape("T, 6"), np.int32)
    (doc, _, _), _ = save(tmp_path, lambda x: jnp.reshape(x, (-1, 3)), [spec])
    (rs,) = eqns_named(doc, "reshape")
    assert rs["params"]["new_sizes"] == [{"$": "dim", "v": "2*T"}, 3]
    assert rs["out"][0]["aval"] == {"dtype": "i32", "shape": ["2*T", 3]}


def test_shape_tuple_mixed_with_shape_dtype_struct(tmp_path):
    scope = export.SymbolicScope()
    s = jax.ShapeDtypeStruct(export.symbolic_shape("N, 2", scope=scope), np.float32)
    # "N" in the tuple joins the struct's scope, so x + y type-checks
    (doc, _, _), _ = save(tmp_path, lambda x, y: x + y, [s, ("N", 2)])
    assert [v["aval"]["shape"] for v in doc["program"]["jaxpr"]["invars"]] == [["N", 2], ["N", 2]]


def test_concrete_and_static_shape_inputs(tmp_path):
    (doc, _, _), _ = save(tmp_path, lambda a, b, c: (a * 2, b + 1, c),
                          [np.ones((2, 3), np.float16), (4, 5), jax.ShapeDtypeStruct((7,), jnp.int32)])
    avals = [v["aval"] for v in doc["program"]["jaxpr"]["invars"]]
    assert avals == [{"dtype": "f16", "shape": [2, 3]}, {"dtype": "f32", "shape": [4, 5]},
                     {"dtype": "i32", "shape": [7]}]


# -- names and source locations -------------------------------------------------------------

def located_fn(x):
    y = jnp.sin(x)  # SIN-LINE
    with jax.named_scope("block"):
        z = jnp.cos(y)  # COS-LINE
    return z


def test_source_locations_point_here(tmp_path):
    (doc, _, _), _ = save(tmp_path, located_fn, [np.ones(3, np.float32)])
    (sin,) = eqns_named(doc, "sin")
    (cos,) = eqns_named(doc, "cos")
    assert sin["src"] == {"file": THIS_FILE, "line": line_of("SIN-LINE"), "fn": "located_fn"}
    assert cos["src"] == {"file": THIS_FILE, "line": line_of("COS-LINE"), "fn": "located_fn"}
    assert "scope" not in sin
    assert cos["scope"] == "block"


def test_nested_equations_have_sources(tmp_path):
    (doc, _, _), _ = save(tmp_path, nested_fn, [np.ones((3, 4), np.float32)])
    inner = [e for e in all_eqns(doc) if e["prim"] == "sin"]
    assert inner and all(e["src"]["file"] == THIS_FILE for e in inner)
    assert all(e["src"]["line"] == line_of("JITTED-LINE") for e in inner)
    assert all(e["src"]["fn"] == "jitted_inner" for e in inner)


def test_input_and_output_names(tmp_path):
    def fn(image, params):
        return {"logits": image @ params["w"], "aux": (image.sum(), image.max())}

    (doc, _, _), _ = save(tmp_path, fn, [np.ones((2, 3), np.float32), {"w": np.ones((3, 4), np.float32)}])
    assert doc["input_names"] == ["image", "params_w"]
    assert doc["output_names"] == ["aux_0", "aux_1", "logits"]
    (doc, _, _), _ = save(tmp_path, fn, [np.ones((2, 3), np.float32), {"w": np.ones((3, 4), np.float32)}],
                          input_names=["a", "b"], output_names=["p", "q", "r"], name="Custom")
    assert doc["input_names"] == ["a", "b"] and doc["output_names"] == ["p", "q", "r"]
    assert doc["name"] == "Custom"
    with pytest.raises(ValueError, match="input_names"):
        save(tmp_path, fn, [np.ones((2, 3), np.float32), {"w": np.ones((3, 4), np.float32)}],
             input_names=["only_one"])


def test_single_output_has_no_default_name(tmp_path):
    (doc, _, _), _ = save(tmp_path, lambda x: x * 2, [np.ones(2, np.float32)])
    assert "output_names" not in doc
    assert "name" not in doc  # a lambda has no useful name


def test_callable_object_is_named_by_class(tmp_path):
    class Scale:
        def __init__(self):
            self.w = np.full((3,), 2.0, np.float32)

        def __call__(self, x):
            return x * self.w

    (doc, tensor, _), _ = save(tmp_path, Scale(), [np.ones(3, np.float32)])
    assert doc["name"] == "Scale"
    assert doc["input_names"] == ["x"]
    np.testing.assert_array_equal(tensor(doc["program"]["consts"][0]["tensor"]), np.full(3, 2.0))


def test_flax_nnx_module(tmp_path):
    nnx = pytest.importorskip("flax.nnx")
    model = nnx.Linear(4, 2, rngs=nnx.Rngs(0))
    (doc, tensor, _), _ = save(tmp_path, model, [("B", 4)])
    assert doc["name"] == "Linear"
    consts = [tensor(c["tensor"]) for c in doc["program"]["consts"]]
    assert any(np.array_equal(c, np.asarray(model.kernel[...])) for c in consts)
    assert doc["program"]["jaxpr"]["invars"][0]["aval"]["shape"] == ["B", 4]


# -- reading is strict ----------------------------------------------------------------------

def test_read_bundle_rejects_damage(tmp_path):
    _, path = save(tmp_path, consts_fn, [np.zeros((2, 30), np.float32)])
    raw = path.read_bytes()
    bad = tmp_path / "bad.jaxpr"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(BundleError, match="outside"):
        read_bundle(bad)
    bad.write_bytes(b"NOTABNDL" + raw[8:])
    with pytest.raises(BundleError, match="magic"):
        read_bundle(bad)
    bad.write_bytes(raw[:8] + struct.pack("<I", 3) + raw[12:])
    with pytest.raises(BundleError, match="version"):
        read_bundle(bad)
    bad.write_bytes(raw[:30])
    with pytest.raises(BundleError, match="header"):
        read_bundle(bad)


def test_failed_save_leaves_nothing(tmp_path):
    def broken(x):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        save_bundle(broken, [np.ones(2, np.float32)], tmp_path / "x.jaxpr")
    assert list(tmp_path.iterdir()) == []
