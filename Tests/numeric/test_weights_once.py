"""Weights written once: to_onnx writes the tensor data beside the model and the host adopts that
file as the sidecar; weights the passes make are appended, dropped constants past the threshold
are compacted away, failures leave nothing, and the CLI's --data-in-place does the same for a
bundle with a data file of its own (docs/bundle-format.md)."""

from __future__ import annotations

import glob
import hashlib
import os
import subprocess

import numpy as np
import pytest

import jax
import jax.numpy as jnp

import onnx
import onnxruntime as ort

from jax2onnx_swift import ConversionError, save_bundle, to_onnx
from jax2onnx_swift import convert as convert_module
from jax2onnx_swift.bundle import read_bundle

from casekit import user_primitive as _user_primitive

rng = np.random.default_rng(22)


def _weights(*shape, scale=0.05):
    return jnp.asarray((rng.standard_normal(shape) * scale).astype(np.float32))


def _run_ort(path, x):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def _external(path):
    """(name, location, offset, length) of every initializer kept in a sidecar."""
    m = onnx.load(path, load_external_data=False)
    out = []
    for t in m.graph.initializer:
        e = {kv.key: kv.value for kv in t.external_data}
        if e:
            out.append((t.name, e["location"], int(e.get("offset", 0)), int(e["length"])))
    return out


def _digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


UNCLAIMED = _user_primitive("weights_once_unclaimed")


def test_weights_go_once_to_the_sidecar_and_the_temp_folder_holds_only_the_graph(cli, tmp_path, monkeypatch):
    w1, w2 = _weights(256, 1024), _weights(1024, 256)

    def f(x):
        return jnp.tanh(x @ w1) @ w2

    seen = {}
    real_run = convert_module._run

    def spy(cmd, **kw):
        # While the host runs: the bundle folder holds the graph only; the weights already sit
        # beside the output under a temporary name.
        bundle = cmd[2]
        seen["temp_bytes"] = sum(os.path.getsize(p) for p in glob.glob(os.path.join(os.path.dirname(bundle), "*")))
        (data,) = glob.glob(str(tmp_path / ".m.onnx.*.data.tmp-*"))
        seen["data_inode"] = os.stat(data).st_ino
        seen["data_size"] = os.path.getsize(data)
        assert "--data-in-place" in cmd
        return real_run(cmd, **kw)

    monkeypatch.setattr(convert_module, "_run", spy)
    out = str(tmp_path / "m.onnx")
    to_onnx(f, [("B", 256)], output_path=out, cli=cli)
    weight_bytes = (256 * 1024 + 1024 * 256) * 4
    assert seen["temp_bytes"] < 64 << 10, seen
    assert weight_bytes <= seen["data_size"] < weight_bytes + (64 << 10)
    (sidecar,) = glob.glob(out + ".*.data")
    # The very file Python wrote became the sidecar: renamed, not copied.
    assert os.stat(sidecar).st_ino == seen["data_inode"]
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(out), os.path.basename(sidecar)])
    x = rng.standard_normal((3, 256)).astype(np.float32)
    np.testing.assert_allclose(_run_ort(out, x), np.asarray(f(x)), rtol=1e-4, atol=1e-5)


def test_web_models_take_their_weights_from_memory_not_the_temp_folder(cli, tmp_path, monkeypatch):
    if not hasattr(os, "memfd_create"):
        pytest.skip("no memory files on this system")
    w1, w2 = _weights(256, 1024), _weights(1024, 256)

    def f(x):
        return jnp.tanh(x @ w1) @ w2

    seen = {}
    real_run = convert_module._run

    def spy(cmd, **kw):
        bundle = cmd[2]
        seen["temp_bytes"] = sum(os.path.getsize(p) for p in glob.glob(os.path.join(os.path.dirname(bundle), "*")))
        seen["pass_fds"] = kw.get("pass_fds")
        return real_run(cmd, **kw)

    monkeypatch.setattr(convert_module, "_run", spy)
    out = str(tmp_path / "w.onnx")
    to_onnx(f, [("B", 256)], output_path=out, cli=cli, export_mode="web")
    assert seen["temp_bytes"] < 64 << 10 and seen["pass_fds"], seen
    assert os.listdir(tmp_path) == ["w.onnx"]
    assert os.path.getsize(out) >= (256 * 1024 + 1024 * 256) * 4
    x = rng.standard_normal((3, 256)).astype(np.float32)
    np.testing.assert_allclose(_run_ort(out, x), np.asarray(f(x)), rtol=1e-4, atol=1e-5)


def test_weights_the_passes_make_are_appended_and_load(cli, tmp_path):
    big = _weights(1024, 8192, scale=0.01)  # 32 MiB, used as it is
    w = _weights(512, 1024)                 # 2 MiB, scaled and transposed: a new weight
    inner = jax.jit(lambda x, big, w: jnp.tanh(x @ big)[:, :1024] @ (w * 0.5).T)

    def f(x):
        return inner(x, big, w)

    out = str(tmp_path / "m.onnx")
    to_onnx(f, [("B", 1024)], output_path=out, cli=cli)
    (sidecar,) = glob.glob(out + ".*.data")
    ext = _external(out)
    python_end = (1024 * 8192 + 512 * 1024) * 4 + 4096
    # The kept weight points into the bytes Python wrote; the folded one was appended after them.
    assert any(off < python_end and n == 1024 * 8192 * 4 for _, _, off, n in ext), ext
    assert any(off >= python_end - 4096 and n == 512 * 1024 * 4 for _, _, off, n in ext), ext
    assert all(off % 4096 == 0 for _, _, off, _ in ext)
    assert os.path.getsize(sidecar) >= python_end - 4096 + 512 * 1024 * 4
    x = rng.standard_normal((3, 1024)).astype(np.float32)
    np.testing.assert_allclose(_run_ort(out, x), np.asarray(f(x)), rtol=1e-4, atol=1e-4)


def test_batchnorm_folded_into_a_conv_is_appended_and_matches(cli, tmp_path):
    from flax import nnx

    class Net(nnx.Module):
        def __init__(self, rngs):
            self.conv = nnx.Conv(256, 512, (3, 3), rngs=rngs)  # 4.5 MiB, folded with the BatchNorm
            self.bn = nnx.BatchNorm(512, use_running_average=True, rngs=rngs)
            self.head = nnx.Linear(512, 24576, rngs=rngs)     # 48 MiB, kept as it is

        def __call__(self, x):
            return self.head(nnx.relu(self.bn(self.conv(x))).mean(axis=(1, 2)))

    net = Net(nnx.Rngs(0))
    net.bn.mean.value = _weights(512, scale=0.3)
    net.bn.var.value = jnp.asarray(rng.uniform(0.5, 2.0, 512).astype(np.float32))
    net.bn.scale.value = jnp.asarray(rng.uniform(0.5, 1.5, 512).astype(np.float32))
    out = str(tmp_path / "net.onnx")
    to_onnx(net, [(2, 8, 8, 256)], output_path=out, cli=cli)
    (sidecar,) = glob.glob(out + ".*.data")
    assert not glob.glob(str(tmp_path / ".*"))
    kernel = 512 * 256 * 9 * 4
    python_end = 512 * 24576 * 4 + kernel  # what Python wrote, give or take small tensors
    ext = {n: off for _, _, off, n in _external(out)}
    # The folded kernel (OIHW, BatchNorm scale applied) follows the bytes Python wrote; the
    # original kernel stays behind as a hole under the 10% rule.
    assert ext[kernel] >= python_end and ext[512 * 24576 * 4] < python_end, ext
    x = rng.standard_normal((2, 8, 8, 256)).astype(np.float32)
    np.testing.assert_allclose(_run_ort(out, x), np.asarray(net(x)), rtol=1e-4, atol=1e-4)


def test_dropped_constants_past_the_threshold_are_compacted(cli, tmp_path):
    w = _weights(512, 1024)
    dead = _weights(1024, 1024)  # 4 MiB nothing reads once dead code is gone: 2/3 of the file
    inner = jax.jit(lambda x, w, d: (x @ w.T, (x @ d).sum()))

    def f(x):
        return inner(x, w, dead)[0]

    out = str(tmp_path / "m.onnx")
    to_onnx(f, [("B", 1024)], output_path=out, cli=cli)
    (sidecar,) = glob.glob(out + ".*.data")
    assert os.path.getsize(sidecar) < (512 * 1024 + 1024 * 1024) * 4 * 0.5
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(out), os.path.basename(sidecar)])
    x = rng.standard_normal((3, 1024)).astype(np.float32)
    np.testing.assert_allclose(_run_ort(out, x), np.asarray(f(x)), rtol=1e-4, atol=1e-4)


def test_small_holes_stay_in_place(cli, tmp_path):
    w = _weights(1024, 2048)   # 8 MiB kept
    dead = _weights(128, 1024)  # 512 KiB dropped: under 10%, left as a hole
    inner = jax.jit(lambda x, w, d: (x @ w, (x[:, :128] @ d).sum()))

    def f(x):
        return inner(x, w, dead)[0]

    out = str(tmp_path / "m.onnx")
    to_onnx(f, [("B", 1024)], output_path=out, cli=cli)
    (sidecar,) = glob.glob(out + ".*.data")
    assert os.path.getsize(sidecar) >= (1024 * 2048 + 128 * 1024) * 4
    x = rng.standard_normal((3, 1024)).astype(np.float32)
    np.testing.assert_allclose(_run_ort(out, x), np.asarray(f(x)), rtol=1e-4, atol=1e-4)


def test_a_failed_run_keeps_the_good_model_and_removes_its_data_file(cli, tmp_path):
    w = _weights(512, 1024)
    out = str(tmp_path / "m.onnx")
    to_onnx(lambda x: x @ w.T, [("B", 1024)], output_path=out, cli=cli)
    (sidecar,) = glob.glob(out + ".*.data")
    before = {p: _digest(p) for p in (out, sidecar)}

    w_new = _weights(512, 1024)
    with pytest.raises(ConversionError, match="weights_once_unclaimed"):
        to_onnx(lambda x: UNCLAIMED.bind(x @ w_new.T), [("B", 1024)], output_path=out, cli=cli)
    assert {p: _digest(p) for p in glob.glob(str(tmp_path / "*")) + glob.glob(str(tmp_path / ".*"))} == before
    x = rng.standard_normal((2, 1024)).astype(np.float32)
    np.testing.assert_allclose(_run_ort(out, x), x @ np.asarray(w).T, rtol=1e-4, atol=1e-4)


def test_a_failure_at_the_last_step_removes_the_new_weights(cli, tmp_path):
    # The output is a folder: everything succeeds up to the final rename of the model.
    out = tmp_path / "m.onnx"
    out.mkdir()
    (out / "keep").write_text("x")
    w = _weights(512, 1024)
    with pytest.raises(ConversionError):
        to_onnx(lambda x: x @ w.T, [("B", 1024)], output_path=str(out), cli=cli)
    assert sorted(os.listdir(tmp_path)) == ["m.onnx"]


def test_concurrent_runs_to_one_path_leave_one_model_with_its_own_weights(cli, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    ws = [_weights(512, 1024) for _ in range(4)]
    fns = [(lambda w: (lambda x: x @ w.T))(w) for w in ws]
    out = str(tmp_path / "m.onnx")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda f: to_onnx(f, [("B", 1024)], output_path=out, cli=cli), fns))
    (sidecar,) = glob.glob(out + ".*.data")
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(out), os.path.basename(sidecar)])
    x = rng.standard_normal((2, 1024)).astype(np.float32)
    got = _run_ort(out, x)
    # Whichever run committed last, the model computes with the weights written for it.
    assert any(np.allclose(got, x @ np.asarray(w).T, rtol=1e-4, atol=1e-4) for w in ws)


def test_a_missing_output_folder_is_still_the_clis_error(cli, tmp_path):
    w = _weights(512, 1024)
    with pytest.raises(ConversionError) as e:
        to_onnx(lambda x: x @ w.T, [("B", 1024)], output_path=str(tmp_path / "missing" / "m.onnx"), cli=cli)
    assert e.value.returncode == 2
    assert os.listdir(tmp_path) == []


def _split_bundle(tmp_path, f, shape):
    bundle = str(tmp_path / "model.jaxpr")
    data = str(tmp_path / "model.jaxpr.data")
    save_bundle(f, [shape], bundle, data_file=data)
    assert os.path.getsize(bundle) < 64 << 10
    return bundle, data


def test_cli_data_in_place_links_the_bundle_data_and_keeps_the_bundle(cli, tmp_path):
    big = _weights(1024, 8192, scale=0.02)  # 32 MiB kept
    w = _weights(256, 1024)                 # 1 MiB folded into a new weight
    # (Each in-place run appends the folded weight again: a second run leaves the first run's
    # copy and the unfolded original, 2 MiB, as holes, under the 10% rule.)
    inner = jax.jit(lambda x, big, w: jnp.tanh(x @ big)[:, :1024] @ (w * 2.0).T)

    def f(x):
        return inner(x, big, w)

    bundle, data = _split_bundle(tmp_path, f, (2, 1024))
    data_size, data_digest = os.path.getsize(data), _digest(data)
    out = str(tmp_path / "m.onnx")
    p = subprocess.run([cli, "convert", bundle, "-o", out, "--data-in-place"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    (sidecar,) = glob.glob(out + ".*.data")
    assert os.stat(sidecar).st_ino == os.stat(data).st_ino  # a second name, not a copy
    x = rng.standard_normal((2, 1024)).astype(np.float32)
    np.testing.assert_allclose(_run_ort(out, x), np.asarray(f(x)), rtol=1e-4, atol=1e-4)
    # The bundle still reads (its bytes are untouched; the folded weight was appended after them)
    # and converts again; the replaced model's sidecar name goes, the data file stays.
    with open(data, "rb") as fh:
        assert hashlib.sha256(fh.read(data_size)).hexdigest() == data_digest
    read_bundle(bundle)
    p = subprocess.run([cli, "convert", bundle, "-o", out, "--data-in-place"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    (sidecar2,) = glob.glob(out + ".*.data")
    assert sidecar2 != sidecar and os.stat(sidecar2).st_ino == os.stat(data).st_ino
    np.testing.assert_allclose(_run_ort(out, x), np.asarray(f(x)), rtol=1e-4, atol=1e-4)

    # A run that fails at the last step cuts what it appended off the bundle's data file again.
    size_now = os.path.getsize(data)
    blocked = tmp_path / "blocked.onnx"
    blocked.mkdir()
    (blocked / "keep").write_text("x")
    p = subprocess.run([cli, "convert", bundle, "-o", str(blocked), "--data-in-place"], capture_output=True, text=True)
    assert p.returncode == 2, p.stderr
    assert os.path.getsize(data) == size_now
    assert not glob.glob(str(tmp_path / ".*")) and not glob.glob(str(blocked) + ".*")


def test_cli_without_data_in_place_copies_and_elsewhere_falls_back(cli, tmp_path):
    w = _weights(512, 1024)

    def f(x):
        return jnp.tanh(x @ w.T)

    bundle, data = _split_bundle(tmp_path, f, (2, 1024))
    x = rng.standard_normal((2, 1024)).astype(np.float32)
    for args, where in (([], tmp_path / "a.onnx"), (["--data-in-place"], tmp_path / "sub" / "b.onnx")):
        where.parent.mkdir(exist_ok=True)
        p = subprocess.run([cli, "convert", bundle, "-o", str(where)] + args, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        (sidecar,) = glob.glob(str(where) + ".*.data")
        assert os.stat(sidecar).st_ino != os.stat(data).st_ino
        np.testing.assert_allclose(_run_ort(str(where), x), np.asarray(f(x)), rtol=1e-4, atol=1e-4)
    p = subprocess.run([cli, "convert", bundle, "-o", str(tmp_path / "c.onnx"), "--data-in-place", "--web"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "exclude" in p.stderr


def test_a_version_1_bundle_still_converts(cli, tmp_path):
    w = _weights(300, 400)

    def f(x):
        return jnp.tanh(x @ w)

    v2 = str(tmp_path / "v2.jaxpr")
    save_bundle(f, [(2, 300)], v2)
    raw = bytearray(open(v2, "rb").read())
    assert raw[8:12] == (2).to_bytes(4, "little") and raw.count(b'"version":2') == 1
    # A version 1 file: same layout, the version in the header and the JSON says 1.
    raw[8:12] = (1).to_bytes(4, "little")
    raw = raw.replace(b'"version":2', b'"version":1')
    v1 = tmp_path / "v1.jaxpr"
    v1.write_bytes(bytes(raw))
    assert read_bundle(v1).header["version"] == 1
    out = str(tmp_path / "v1.onnx")
    p = subprocess.run([cli, "convert", str(v1), "-o", out], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    x = rng.standard_normal((2, 300)).astype(np.float32)
    np.testing.assert_allclose(_run_ort(out, x), np.asarray(f(x)), rtol=1e-4, atol=1e-4)
    # Version 1 knows no header flags: the data-file flag on a v1 header is refused.
    raw[12:16] = (1).to_bytes(4, "little")
    v1.write_bytes(bytes(raw))
    p = subprocess.run([cli, "convert", str(v1), "-o", out], capture_output=True, text=True)
    assert p.returncode == 2 and "flags" in p.stderr, p.stderr
