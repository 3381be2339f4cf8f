"""jax2onnx's to_onnx keywords, same names and meanings: each case is converted, run in ONNX
Runtime and compared with JAX, plus what the keyword itself promises (a name, a file, a layout)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import jax
import jax.numpy as jnp

import onnx

from jax2onnx_swift import allclose, to_onnx

nnx = pytest.importorskip("flax.nnx")


def _mlp(x):
    return jnp.tanh(x @ jnp.linspace(-1, 1, 12, dtype=x.dtype).reshape(3, 4)) + 0.5


def _ops(model: onnx.ModelProto, op: str) -> int:
    return sum(n.op_type == op for n in model.graph.node)


def test_return_mode_proto_is_the_default(cli):
    model = to_onnx(_mlp, [("B", 3)], cli=cli)
    assert isinstance(model, onnx.ModelProto)
    onnx.checker.check_model(model)


def test_return_mode_file_and_output_path(cli, tmp_path):
    out = tmp_path / "m.onnx"
    got = to_onnx(_mlp, [("B", 3)], return_mode="file", output_path=out, cli=cli)
    assert got == str(out) and out.is_file()
    ok, msg = allclose(_mlp, got, [("B", 3)], rtol=1e-5, atol=1e-5)
    assert ok, msg
    with pytest.raises(ValueError, match="output_path"):
        to_onnx(_mlp, [("B", 3)], return_mode="file", cli=cli)


def test_proto_with_output_path_writes_the_file_too(cli, tmp_path):
    out = tmp_path / "m.onnx"
    model = to_onnx(_mlp, [("B", 3)], output_path=out, cli=cli)
    assert isinstance(model, onnx.ModelProto) and out.is_file()


def test_return_mode_ir(cli):
    onnx_ir = pytest.importorskip("onnx_ir")
    model = to_onnx(_mlp, [("B", 3)], return_mode="ir", cli=cli)
    assert isinstance(model, onnx_ir.Model)


def test_older_positional_path_form(cli, tmp_path):
    out = tmp_path / "old.onnx"
    assert to_onnx(_mlp, [("B", 3)], out, cli=cli) == str(out)
    assert allclose(_mlp, out, [np.ones((2, 3), np.float32)], 1e-5, 1e-5)[0]


def test_model_name_opset_names(cli, tmp_path):
    f = lambda x, y: {"sum": x + y, "prod": x * y}
    model = to_onnx(f, [("B", 3), ("B", 3)], model_name="pair", opset=21,
                    input_names=["left", "right"], output_names=["p", "s"], cli=cli)
    assert model.graph.name == "pair"
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [21]
    assert [i.name for i in model.graph.input] == ["left", "right"]
    assert [o.name for o in model.graph.output] == ["p", "s"]
    path = tmp_path / "pair.onnx"
    onnx.save(model, path)
    ok, msg = allclose(f, path, [("B", 3), ("B", 3)], rtol=1e-5, atol=1e-5)
    assert ok, msg


def test_enable_double_precision_restores_config(cli, tmp_path):
    before = bool(jax.config.jax_enable_x64)
    f = lambda x: jnp.sin(x) * 1e-3 + x
    model = to_onnx(f, [("B", 3)], enable_double_precision=True, cli=cli)
    assert bool(jax.config.jax_enable_x64) == before
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    path = tmp_path / "f64.onnx"
    onnx.save(model, path)
    ok, msg = allclose(f, path, [("B", 3)], rtol=1e-12, atol=1e-12, enable_double_precision=True)
    assert ok, msg
    assert bool(jax.config.jax_enable_x64) == before


def test_export_mode_web_is_one_file(cli, tmp_path):
    w = np.random.default_rng(0).normal(size=(600, 600)).astype(np.float32)  # 1.4 MB: a sidecar
    f = lambda x: x @ w
    std = to_onnx(f, [("B", 600)], return_mode="file", output_path=tmp_path / "s.onnx", cli=cli)
    assert [p.name for p in tmp_path.glob("s.onnx*.data")], list(tmp_path.iterdir())   # a sidecar
    web = to_onnx(f, [("B", 600)], return_mode="file", output_path=tmp_path / "w.onnx",
                  export_mode="web", cli=cli)
    assert not list(tmp_path.glob("w.onnx*.data")), list(tmp_path.iterdir())
    ok, msg = allclose(f, web, [("B", 600)], rtol=1e-4, atol=1e-4)
    assert ok, msg


class CNN(nnx.Module):
    def __init__(self, rngs):
        self.c1 = nnx.Conv(3, 8, (3, 3), rngs=rngs)
        self.c2 = nnx.Conv(8, 4, (3, 3), strides=2, rngs=rngs)

    def __call__(self, x):
        return self.c2(nnx.relu(self.c1(x)))


def test_nchw_interface_and_transpose_count(cli, tmp_path):
    cnn = CNN(nnx.Rngs(0))
    spec = [jax.ShapeDtypeStruct(("B", 16, 16, 3), jnp.float32)]
    nhwc = to_onnx(cnn, spec, cli=cli)
    nchw_path = tmp_path / "nchw.onnx"
    nchw = to_onnx(cnn, spec, inputs_as_nchw=[0], outputs_as_nchw=[0], return_mode="proto",
                   output_path=nchw_path, cli=cli)
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    assert dims(nchw.graph.input[0]) == ["B", 3, 16, 16]
    assert dims(nchw.graph.output[0])[:2] == ["B", 4]
    # NHWC at the boundary needs a Transpose on each side of the NCHW Conv chain; with an NCHW
    # interface the boundary swaps cancel them.
    print(f"Transpose nodes: NHWC interface {_ops(nhwc, 'Transpose')}, "
          f"NCHW interface {_ops(nchw, 'Transpose')}")
    assert _ops(nchw, "Transpose") == 0 < _ops(nhwc, "Transpose")
    ok, msg = allclose(cnn, nchw_path, [("B", 16, 16, 3)], rtol=1e-4, atol=1e-5,
                       inputs_as_nchw=[0], outputs_as_nchw=[0])
    assert ok, msg


def test_record_primitive_calls_file(cli, tmp_path):
    def f(x):
        y = jnp.sin(x) * 2.0  # record: sin
        return jax.lax.cond(y.sum() > 0, lambda: y + 1, lambda: y - 1)

    record = tmp_path / "calls.txt"
    to_onnx(f, [("B", 3)], record_primitive_calls_file=record, cli=cli)
    rows = [line.split("\t") for line in record.read_text().splitlines() if not line.startswith("#")]
    assert [len(r) for r in rows] == [6] * len(rows)
    prims = [r[2] for r in rows]
    assert "sin" in prims and "cond" in prims and "add" in prims  # add: nested in a branch
    sin = rows[prims.index("sin")]
    assert sin[4].endswith(f"test_dropin_keywords.py:{_line_of('# record: sin')}")
    assert sin[5].startswith("Lax@") and rows[prims.index("cond")][5].startswith("Control@")
    assert rows[prims.index("add")][1] == "1"
    assert [int(r[0]) for r in rows] == list(range(len(rows)))


def _line_of(marker: str) -> int:
    with open(__file__) as f:
        return next(k + 1 for k, line in enumerate(f) if line.rstrip().endswith(marker) and "_line_of" not in line)


@pytest.mark.parametrize("mode,native", [("auto", 1), ("prefer_native", 1), ("force_decomposed", 0)])
def test_normalization_mode(cli, tmp_path, mode, native):
    norm = nnx.LayerNorm(16, rngs=nnx.Rngs(0))
    path = tmp_path / f"{mode}.onnx"
    # a concrete batch: the optimizer's LayerNormalization fusion does not match a symbolic one
    model = to_onnx(norm, [(4, 16)], normalization_mode=mode, output_path=path, cli=cli)
    assert _ops(model, "LayerNormalization") == native
    ok, msg = allclose(norm, path, [(4, 16)], rtol=1e-4, atol=1e-5)
    assert ok, msg


def test_strict_nan_and_optimize(cli, tmp_path):
    pool = lambda x: jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    x = np.random.default_rng(1).normal(size=(1, 4, 4, 2)).astype(np.float32)
    x[0, 1, 1, 0] = np.nan
    strict = tmp_path / "strict.onnx"
    to_onnx(pool, [x], output_path=strict, strict_nan=True, cli=cli)
    ok, msg = allclose(pool, strict, [x], rtol=1e-6, atol=1e-6)
    assert ok, msg
    default = to_onnx(pool, [x], cli=cli)
    assert len(to_onnx(pool, [x], strict_nan=True, cli=cli).graph.node) > len(default.graph.node)
    # The optimizer never changes what the pack chose: unoptimized, the same numbers.
    import onnxruntime as ort
    outs = [ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
            for m in (default, to_onnx(pool, [x], optimize=False, cli=cli))]
    np.testing.assert_array_equal(outs[0], outs[1])


def test_plugins_keyword(cli, tmp_path):
    empty = tmp_path / "no-packs"
    empty.mkdir()
    model = to_onnx(_mlp, [("B", 3)], plugins=[empty], cli=cli)
    assert isinstance(model, onnx.ModelProto)


def test_unknown_keyword_is_a_type_error(cli):
    with pytest.raises(TypeError, match="verbose"):
        to_onnx(_mlp, [("B", 3)], verbose=True, cli=cli)
    for bad in (dict(return_mode="bytes"), dict(export_mode="tiny"), dict(normalization_mode="x")):
        with pytest.raises(ValueError, match=next(iter(bad))):
            to_onnx(_mlp, [("B", 3)], cli=cli, **bad)
