"""Post-export check (issue 18): jax2onnx_swift.validate loads a model in ONNX Runtime and runs it
on random inputs of its declared shapes, several sizes per symbolic dimension; failures are
conversion errors."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import jax
import jax.numpy as jnp
import onnx
from onnx import TensorProto, helper

from jax2onnx_swift import ConversionError, save_bundle
from jax2onnx_swift.validate import dim_value, validate

PYTHON_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def convert(cli, fn, inputs, tmp_path, *extra):
    bundle = tmp_path / "m.jaxpr"
    save_bundle(fn, inputs, bundle)
    out = tmp_path / "m.onnx"
    proc = subprocess.run([cli, "convert", str(bundle), "-o", str(out), *extra], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


def test_symbolic_model_runs_at_several_sizes(cli, tmp_path):
    spec = jax.ShapeDtypeStruct(jax.export.symbolic_shape("B, 3"), np.float32)
    out = convert(cli, lambda x: jnp.concatenate([x, x * 2.0]) @ jnp.ones((3, 2), jnp.float32), [spec], tmp_path)
    r = validate(out, sizes=(1, 2, 5))
    assert [run["sizes"] for run in r.runs] == [{"B": 1}, {"B": 2}, {"B": 5}]
    assert [run["outputs"] for run in r.runs] == [[[2, 2]], [[4, 2]], [[10, 2]]]


def test_model_ort_cannot_load_is_a_conversion_error(cli, tmp_path):
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3)).astype(np.float32)
    out = convert(cli, lambda x: (x.astype(jnp.bfloat16) * 3.0).astype(jnp.float32), [x], tmp_path, "--target", "onnx")
    with pytest.raises(ConversionError, match="cannot load"):
        validate(out)
    assert validate(convert(cli, lambda x: (x.astype(jnp.bfloat16) * 3.0).astype(jnp.float32), [x], tmp_path)).runs


def wrong_output_model(path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 5])
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), str(path))
    return path


def test_output_of_another_shape_than_declared_is_reported(tmp_path):
    with pytest.raises(ConversionError, match=r"output 'y' has shape \[1, 4\].*declares \[1, 5\]"):
        validate(wrong_output_model(tmp_path / "bad.onnx"))


def test_command_line_exit_codes(tmp_path, cli):
    bad = wrong_output_model(tmp_path / "bad.onnx")
    proc = subprocess.run([sys.executable, "-m", "jax2onnx_swift.validate", str(bad)], capture_output=True, text=True, env=PYTHON_ENV)
    assert proc.returncode == 1 and "declares" in proc.stderr
    good = convert(cli, lambda x: jnp.sin(x) + 1.0, [np.ones((2, 2), np.float32)], tmp_path)
    proc = subprocess.run([sys.executable, "-m", "jax2onnx_swift.validate", str(good)], capture_output=True, text=True, env=PYTHON_ENV)
    assert proc.returncode == 0, proc.stderr
    assert "loads and runs on ort-cpu" in proc.stdout


def test_dimension_expressions():
    assert dim_value("2*B + 1", {"B": 3}) == 7
    assert dim_value("B*T", {"B": 2, "T": 5}) == 10
    with pytest.raises(ValueError):
        dim_value("__import__('os')", {})


def test_to_onnx_check_runtime(cli, tmp_path):
    """to_onnx(check_runtime=True) runs the written model in ONNX Runtime at several batch sizes
    and returns it when it runs; the numbers still match JAX."""
    import jax.numpy as jnp
    from jax2onnx_swift import allclose, to_onnx

    w = np.random.default_rng(3).normal(size=(6, 4)).astype(np.float32)
    fn = lambda x: jnp.tanh(x @ w)
    path = to_onnx(fn, [("B", 6)], return_mode="file", output_path=tmp_path / "m.onnx",
                   check_runtime=True, target="ort-cpu", cli=cli)
    ok, msg = allclose(fn, path, [("B", 6)])
    assert ok, msg
