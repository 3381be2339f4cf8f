"""Every input form jax2onnx's to_onnx accepts, alone and mixed: each case is converted, run in
ONNX Runtime and compared with JAX (allclose draws random values, several sizes per symbol, when
given shapes)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import jax
import jax.numpy as jnp

from jax2onnx_swift import allclose, to_onnx

RNG = np.random.default_rng(7)


class SpecLike:
    """Any object with .shape and .dtype (a user's own spec class)."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class Pair:
    a: object
    b: object


def _scope_dims(text):
    from jax import export  # a submodule JAX did not import by itself before 0.5
    return export.symbolic_shape(text)


B, = _scope_dims("B")

# (id, fn, to_onnx inputs, allclose inputs or None to let allclose draw them from the specs)
CASES = [
    ("numpy_f32", lambda x: jnp.tanh(x) * 2, [RNG.normal(size=(4, 3)).astype(np.float32)], None),
    ("jax_int32", lambda x: x * 3 - 1, [jnp.asarray(RNG.integers(-9, 9, (5,)), jnp.int32)], None),
    ("numpy_bool_uint8", lambda m, x: jnp.where(m, x, x // 2),
     [RNG.random((6,)) < 0.5, RNG.integers(0, 200, (6,)).astype(np.uint8)], None),
    ("numpy_f16", lambda x: x * x, [RNG.normal(size=(3, 2)).astype(np.float16)], None),
    ("sds_int_dims", jnp.sin, [jax.ShapeDtypeStruct((2, 3), jnp.float32)], None),
    ("sds_string_dim", lambda x: x.sum(axis=1), [jax.ShapeDtypeStruct(("B", 30), jnp.float32)], None),
    ("sds_expressions", lambda x, y, z: (jnp.concatenate([x, x]) + y, z[1:] * x),
     [jax.ShapeDtypeStruct(("B", 3), jnp.float32), jax.ShapeDtypeStruct(("2*B", 3), jnp.float32),
      jax.ShapeDtypeStruct(("B+1", 3), jnp.float32)], None),
    ("sds_two_symbols", lambda x, y: x @ y,
     [jax.ShapeDtypeStruct(("B", "T"), jnp.float32), jax.ShapeDtypeStruct(("T", 4), jnp.float32)],
     None),
    ("sds_jax_symbolic", lambda x: jnp.cumsum(x, axis=0),
     [jax.ShapeDtypeStruct((B, 4), jnp.float32)], None),
    ("sds_int_dtype", lambda x: x.max(axis=-1), [jax.ShapeDtypeStruct(("B", 5), jnp.int32)], None),
    ("shaped_array", lambda x: jnp.exp(-x * x), [jax.core.ShapedArray((3, 4), jnp.float32)], None),
    ("spec_object", lambda x: x[::-1], [SpecLike(("B", 2), np.float32)], None),
    ("shape_tuple", lambda x: jnp.abs(x), [("B", 30)], None),
    ("shape_list", lambda x: x.T, [["B", 7]], None),
    ("shape_tuple_T", lambda x, y: x.mean(axis=1) + y, [("B", "T", 3), ("B", 3)], None),
    ("pytree_dict_list", lambda d: d["w"][0] @ d["w"][1] + d["b"],
     [{"w": [("B", 4), jax.ShapeDtypeStruct((4, 2), jnp.float32)], "b": np.ones(2, np.float32)}],
     None),
    ("pytree_tuple_dataclass", lambda t: t[0].a * t[0].b + t[1],
     [(Pair(a=("B", 3), b=SpecLike((3,), np.float32)), jax.ShapeDtypeStruct(("B", 1), jnp.float32))],
     None),
    ("mixed_one_call", lambda x, y, z, n: (x + y) * z.sum() + n.astype(jnp.float32),
     [np.ones((2, 3), np.float32) * 0.5, jax.ShapeDtypeStruct((2, 3), jnp.float32),
      ("B",), jax.ShapeDtypeStruct((2, 3), jnp.int32)], None),
]


@pytest.mark.parametrize("name,fn,inputs,check", CASES, ids=[c[0] for c in CASES])
def test_input_form(cli, tmp_path, name, fn, inputs, check):
    path = to_onnx(fn, inputs, return_mode="file", output_path=tmp_path / f"{name}.onnx", cli=cli)
    ok, message = allclose(fn, path, check if check is not None else inputs, rtol=1e-5, atol=1e-5)
    assert ok, message


def test_string_dims_share_one_scope(cli, tmp_path):
    """"B" in a shape tuple, a ShapeDtypeStruct and an object is one size: x + y traces."""
    import onnx
    model = to_onnx(lambda x, y, z: x + y + z,
                    [("B", 3), jax.ShapeDtypeStruct(("B", 3), jnp.float32), SpecLike(("B", 3), np.float32)],
                    cli=cli)
    dims = {d.dim_param for i in model.graph.input for d in i.type.tensor_type.shape.dim if d.dim_param}
    assert dims == {"B"}
    assert isinstance(model, onnx.ModelProto)


@pytest.mark.parametrize("bad,where,dim", [
    ([("B+", 3)], "inputs[0]", "B+"),
    ([np.ones(2, np.float32), {"k": jax.ShapeDtypeStruct(("2*", 4), jnp.float32)}], "inputs[1]['k']", "2*"),
    ([("", 3)], "inputs[0]", ""),
    ([SpecLike(("B,C",), np.float32)], "inputs[0]", "B,C"),
])
def test_malformed_dim_is_a_value_error(bad, where, dim):
    with pytest.raises(ValueError) as info:
        to_onnx(jnp.sin, bad, return_mode="file", output_path="/nonexistent/never-written.onnx",
                cli="/bin/true")
    assert where in str(info.value) and repr(dim) in str(info.value)
