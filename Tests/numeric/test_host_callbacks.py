"""Host callbacks in an exported program (issue 26): jax.debug.print and jax.debug.callback are
dropped with one warning line each and the model still matches JAX; pure_callback and io_callback
cannot be exported (an ONNX model cannot call Python), and the error names the user's line."""

from __future__ import annotations

import os

import subprocess
from pathlib import Path

import numpy as np
import pytest

import jax
import jax.numpy as jnp

from jax2onnx_swift import ConversionError, allclose, to_onnx
from jax2onnx_swift.bundle import save_bundle
from jax2onnx_swift.testing import marker_line

# Bundles name a file under the working directory relative to it (no machine paths in models).
THIS_FILE = os.path.relpath(Path(__file__).resolve()) if str(Path(__file__).resolve()).startswith(os.getcwd() + os.sep) \
    else str(Path(__file__).resolve())
X = np.random.default_rng(26).uniform(-2, 2, size=(3, 4)).astype(np.float32)


def printing(x):
    jax.debug.print("x is {}", x)
    jax.debug.callback(lambda v: None, x * 2)
    return jnp.tanh(x) * 3


def test_debug_output_is_dropped_with_a_warning(cli, tmp_path):
    bundle = save_bundle(printing, [X], tmp_path / "m.jaxpr")
    out = tmp_path / "m.onnx"
    proc = subprocess.run([cli, "convert", str(bundle), "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    warnings = [l for l in proc.stderr.splitlines() if l.startswith("warning:")]
    assert any("debug_print" in l and "x is {}" in l for l in warnings), proc.stderr
    assert any("debug_callback" in l for l in warnings), proc.stderr
    ok, message = allclose(printing, out, [X])
    assert ok, message


def calls_python(x):
    y = jax.pure_callback(np.sin, jax.ShapeDtypeStruct(x.shape, x.dtype), x)  # PURE_CALLBACK
    return y * 2


def calls_python_io(x):
    from jax.experimental import io_callback
    y = io_callback(np.cos, jax.ShapeDtypeStruct(x.shape, x.dtype), x)  # IO_CALLBACK
    return y + 1


@pytest.mark.parametrize("fn,prim,marker", [(calls_python, "pure_callback", "PURE_CALLBACK"),
                                            (calls_python_io, "io_callback", "IO_CALLBACK")])
def test_python_callbacks_fail_naming_the_line(fn, prim, marker, cli, tmp_path):
    path = tmp_path / "m.onnx"
    with pytest.raises(ConversionError) as failed:
        to_onnx(fn, [X], path, cli=cli)
    message = str(failed.value)
    assert failed.value.returncode == 1
    assert prim in message and f"{THIS_FILE}:{marker_line(THIS_FILE, marker)}" in message, message
    assert not path.exists()
