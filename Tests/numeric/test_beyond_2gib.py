"""A model with more than 2 GiB of weights: the default sidecar holds them (offsets past 2 GiB)
and ONNX Runtime runs it; --web, whose single protobuf file cannot pass 2 GiB, fails with a clear
error and leaves no file behind.

Nothing here needs 2 GiB of RAM or of bundle on disk: the weights are zero except their first rows,
they live in a sparse file mapped by numpy, and the bundle is written with the zero rows left as
holes. Only the sidecar the converter writes takes its full size on disk, and it is deleted."""

import glob
import os
import shutil
import subprocess

import numpy as np
import pytest

import jax
import jax.numpy as jnp

from jax2onnx_swift import bundle as bundle_module
from jax2onnx_swift import tensors as tensors_module
from jax2onnx_swift.bundle import write_program
from jax2onnx_swift.convert import find_cli
from jax2onnx_swift.jax_compat import ClosedJaxpr

ort = pytest.importorskip("onnxruntime")

K, M = 1 << 23, 36          # each weight 8M x 36 f32 = 1.125 GiB; two of them pass 2 GiB
ROWS = 512                  # the non-zero rows at the top of each weight
WEIGHT_BYTES = K * M * 4
NEEDED_DISK = 2 * WEIGHT_BYTES + (512 << 20)


def _sparse_weights(path, rng):
    """Two (K, M) float32 weights in one sparse file, zero but for their first ROWS rows."""
    heads = [rng.standard_normal((ROWS, M)).astype(np.float32) for _ in range(2)]
    with open(path, "wb") as f:
        f.truncate(2 * WEIGHT_BYTES)
        for k, h in enumerate(heads):
            f.seek(k * WEIGHT_BYTES)
            f.write(h.tobytes())
    ws = [np.memmap(path, dtype=np.float32, mode="r", shape=(K, M), offset=k * WEIGHT_BYTES) for k in range(2)]
    return ws, heads


def _write_sparse_data(self, f):
    """TensorTable.write_data that seeks over the zero rows of big weights instead of writing them."""
    pos = 0
    for arr, entry in zip(self.arrays, self.entries):
        if entry["offset"] > pos:
            f.write(b"\0" * (entry["offset"] - pos))
            pos = entry["offset"]
        flat = arr.reshape(-1).view(np.uint8)
        if arr.nbytes == WEIGHT_BYTES:
            f.write(flat[:ROWS * M * 4].tobytes())
            f.seek(arr.nbytes - ROWS * M * 4, os.SEEK_CUR)
        else:
            f.write(flat.tobytes())
        pos += arr.nbytes
    f.truncate()


def _bundle(path, ws, monkeypatch):
    def fn(x, w1, w2):
        return jnp.tanh(x @ w1) + x @ w2

    spec = jax.ShapeDtypeStruct
    traced = jax.make_jaxpr(fn)(spec((2, K), np.float32), spec((K, M), np.float32), spec((K, M), np.float32))
    jaxpr = traced.jaxpr
    # The weights become constants of the program, without JAX ever holding them.
    closed = ClosedJaxpr(jaxpr.replace(invars=jaxpr.invars[:1], constvars=jaxpr.invars[1:]), ws)
    monkeypatch.setattr(tensors_module.TensorTable, "write_data", _write_sparse_data)
    monkeypatch.setattr(bundle_module, "preallocate", lambda fd, n: None)
    write_program(closed, path, input_names=["x"], output_names=["y"])
    return fn


def test_sidecar_past_2gib_runs_and_web_refuses(tmp_path, monkeypatch):
    free = shutil.disk_usage(tmp_path).free
    if free < NEEDED_DISK:
        pytest.skip(f"needs {NEEDED_DISK >> 20} MiB of free disk in {tmp_path}, has {free >> 20} MiB")
    rng = np.random.default_rng(11)
    ws, heads = _sparse_weights(str(tmp_path / "w.bin"), rng)
    bundle = str(tmp_path / "big.jaxpr")
    fn = _bundle(bundle, ws, monkeypatch)
    st = os.stat(bundle)
    assert st.st_size > 2 * WEIGHT_BYTES
    if st.st_blocks * 512 > (256 << 20):
        pytest.skip("this filesystem does not keep sparse files sparse")

    # --web first: it must refuse before writing anything.
    web = str(tmp_path / "web.onnx")
    p = subprocess.run([find_cli(), "convert", bundle, "-o", web, "--web"], capture_output=True, text=True)
    assert p.returncode != 0
    assert "2 GiB" in p.stderr and "sidecar" in p.stderr, p.stderr
    assert "Fatal error" not in p.stderr and "Stack dump" not in p.stderr, p.stderr
    assert sorted(os.listdir(tmp_path)) == ["big.jaxpr", "w.bin"]

    out = str(tmp_path / "big.onnx")
    try:
        p = subprocess.run([find_cli(), "convert", bundle, "-o", out], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert os.path.getsize(out) < (1 << 20)
        (data,) = glob.glob(out + ".*.data")
        assert os.path.getsize(data) >= 2 * WEIGHT_BYTES

        import onnx
        onnx.checker.check_model(out)  # the path form checks a model with external data

        x = np.zeros((2, K), np.float32)
        x[:, :ROWS] = rng.standard_normal((2, ROWS)).astype(np.float32) / 8
        x[:, ROWS:ROWS + 1000] = 5.0  # meets only zero rows: must contribute nothing
        sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
        got = sess.run(None, {"x": x})[0]
        del sess
        # JAX on the non-zero rows alone is the same function (the rest multiply zeros).
        want = np.asarray(fn(jnp.asarray(x[:, :ROWS]), jnp.asarray(heads[0]), jnp.asarray(heads[1])))
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    finally:
        for f in [out] + glob.glob(out + ".*.data"):
            if os.path.exists(f):
                os.unlink(f)
