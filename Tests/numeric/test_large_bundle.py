"""A bundle over 4 GiB reads correctly (64-bit offsets) without needing 4 GiB of RAM or disk:
the tensor sits past the 4 GiB mark of a sparse file, so only its own pages exist."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

import jax
import jax.numpy as jnp

from jax2onnx_swift.bundle import HEADER, write_program
from jax2onnx_swift.convert import find_cli

ort = pytest.importorskip("onnxruntime")

GAP = (4 << 30) + (1 << 20)  # past 4 GiB, so 32-bit offsets would wrap


def _move_tensors_past_4gib(path):
    """Rewrites the bundle with its data section starting GAP bytes later (a sparse hole)."""
    with open(path, "rb") as f:
        data = f.read()
    magic, version, flags, json_off, json_len, data_off, data_len = HEADER.unpack_from(data, 0)
    doc = json.loads(data[json_off:json_off + json_len])
    payload = data[data_off:data_off + data_len]
    for t in doc["tensors"]:
        t["offset"] += GAP
    blob = json.dumps(doc, separators=(",", ":")).encode()
    new_data_off = (HEADER.size + len(blob) + 63) // 64 * 64
    with open(path, "wb") as f:
        f.write(HEADER.pack(magic, version, flags, HEADER.size, len(blob), new_data_off, GAP + data_len))
        f.write(blob)
        f.seek(new_data_off + GAP)
        f.write(payload)


def test_bundle_over_4gib_reads_tensors_at_64bit_offsets(tmp_path):
    free = shutil.disk_usage(tmp_path).free
    if free < (256 << 20):
        pytest.skip(f"needs 256 MiB of free disk in {tmp_path}, has {free >> 20} MiB")
    rng = np.random.default_rng(7)
    w = rng.standard_normal((64, 32)).astype(np.float32)
    b = rng.standard_normal((32,)).astype(np.float32)

    def fn(x):
        return jnp.tanh(x @ w + b)

    closed = jax.make_jaxpr(fn)(jax.ShapeDtypeStruct((3, 64), np.float32))
    bundle = str(tmp_path / "big.jaxpr")
    write_program(closed, bundle, input_names=["x"], output_names=["y"])
    _move_tensors_past_4gib(bundle)
    st = os.stat(bundle)
    assert st.st_size > (4 << 30)
    if st.st_blocks * 512 > (256 << 20):
        pytest.skip("this filesystem does not keep sparse files sparse")

    out = str(tmp_path / "big.onnx")
    p = subprocess.run([find_cli(), "convert", bundle, "-o", out], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    x = rng.standard_normal((3, 64)).astype(np.float32) * 3
    got = ort.InferenceSession(out, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, np.asarray(fn(x)), rtol=1e-5, atol=1e-5)
