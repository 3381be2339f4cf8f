"""to_onnx, find_cli and allclose without the real Swift CLI: a stand-in script records how it is
called, and small ONNX models are built by hand."""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import jax.numpy as jnp

try:
    import jax2onnx_swift  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jax2onnx_swift import ConversionError, allclose, find_cli, to_onnx
from jax2onnx_swift import convert as convert_mod
from jax2onnx_swift.convert import CLINotFoundError

HINT = "build it with `swift build -c release` in the repo and/or set JAX2ONNX_CLI"


def fake_cli(folder: Path, *, version="jax2onnx-swift 0.1.0", exit_code=0, stderr="",
             name="jax2onnx") -> Path:
    """A script that answers --version, and for `convert` copies its bundle to OUT and logs argv."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, shutil, sys
        args = sys.argv[1:]
        if args == ["--version"]:
            print({version!r}); sys.exit(0)
        with open({str(folder / "calls.jsonl")!r}, "a") as log:
            log.write(json.dumps(args) + "\\n")
        if {exit_code} != 0:
            sys.stderr.write({stderr!r}); sys.exit({exit_code})
        out = args[args.index("-o") + 1]
        shutil.copy(args[1], out + ".bundle")
        open(out, "wb").write(b"onnx")
        """))
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def bundle_doc(path) -> dict:
    """The JSON document of a bundle the fake CLI kept. Only the graph: the data file it names
    (beside the output, or a memory file of the to_onnx process) is gone by now."""
    from jax2onnx_swift.bundle import HEADER
    raw = Path(path).read_bytes()
    _, _, _, json_off, json_len, _, _ = HEADER.unpack_from(raw, 0)
    return json.loads(raw[json_off:json_off + json_len])


def calls(folder: Path) -> list[list[str]]:
    return [json.loads(line) for line in (folder / "calls.jsonl").read_text().splitlines()]


@pytest.fixture
def no_discovery(monkeypatch):
    """Hide the checkout's .build and the environment, so only what a test sets up is found."""
    monkeypatch.delenv("JAX2ONNX_CLI", raising=False)
    monkeypatch.setattr(convert_mod, "_repo_root", lambda: None)
    monkeypatch.setenv("PATH", os.defpath)


# -- find_cli -------------------------------------------------------------------------------

def test_explicit_cli_wins(tmp_path, no_discovery, monkeypatch):
    a = fake_cli(tmp_path / "a")
    b = fake_cli(tmp_path / "b")
    monkeypatch.setenv("JAX2ONNX_CLI", str(b))
    assert find_cli(a) == str(a)
    assert find_cli() == str(b)


def test_env_pointing_nowhere_is_an_error(tmp_path, no_discovery, monkeypatch):
    monkeypatch.setenv("JAX2ONNX_CLI", str(tmp_path / "missing"))
    with pytest.raises(CLINotFoundError, match="JAX2ONNX_CLI") as info:
        find_cli()
    assert HINT in str(info.value)


def test_repo_build_folders_release_first(tmp_path, no_discovery, monkeypatch):
    repo = tmp_path / "repo"
    debug = fake_cli(repo / ".build" / "debug")
    monkeypatch.setattr(convert_mod, "_repo_root", lambda: repo)
    assert find_cli() == str(debug)
    release = fake_cli(repo / ".build" / "release")
    assert find_cli() == str(release)


def test_path_only_if_it_is_ours(tmp_path, no_discovery, monkeypatch):
    other = fake_cli(tmp_path / "other", version="jax2onnx 0.9.0 (the PyPI one)")
    monkeypatch.setenv("PATH", str(other.parent))
    with pytest.raises(CLINotFoundError) as info:
        find_cli()
    assert HINT in str(info.value)
    ours = fake_cli(tmp_path / "ours")
    monkeypatch.setenv("PATH", os.pathsep.join([str(ours.parent), str(other.parent)]))
    assert find_cli() == str(ours)


def test_checkout_layout_is_detected():
    pkg = Path(convert_mod.__file__).resolve().parent
    if pkg.parent.name == "python":  # a checkout or an editable install
        assert convert_mod._repo_root() == pkg.parent.parent
    else:  # a regular install into site-packages has no repo to look in
        assert convert_mod._repo_root() is None


# -- to_onnx --------------------------------------------------------------------------------

def test_to_onnx_command_line(tmp_path, no_discovery):
    cli = fake_cli(tmp_path / "bin")
    out = tmp_path / "m.onnx"
    result = to_onnx(lambda x: jnp.sin(x), [("B", 3)], out, cli=cli, opset=21,
                     plugins=[tmp_path / "p1", str(tmp_path / "p2")], web=True, optimize=False,
                     input_names=["inp"], output_names=["res"])
    assert result == str(out) and out.read_bytes() == b"onnx"
    (args,) = calls(tmp_path / "bin")
    assert args[0] == "convert"
    assert args[2:] == ["-o", str(out), "--opset", "21", "--plugins", str(tmp_path / "p1"),
                        "--plugins", str(tmp_path / "p2"), "--web", "--no-optimize"]
    doc = bundle_doc(str(out) + ".bundle")
    assert doc["input_names"] == ["inp"] and doc["output_names"] == ["res"]
    assert doc["program"]["jaxpr"]["invars"][0]["aval"]["shape"] == ["B", 3]
    assert not Path(args[1]).exists()  # the temporary bundle is cleaned up


def test_to_onnx_defaults(tmp_path, no_discovery):
    cli = fake_cli(tmp_path / "bin")
    to_onnx(jnp.cos, [np.ones(2, np.float32)], tmp_path / "m.onnx", cli=cli)
    (args,) = calls(tmp_path / "bin")
    # The weights go beside the model and the CLI adopts them as the sidecar.
    assert args[2:] == ["-o", str(tmp_path / "m.onnx"), "--opset", "23", "--data-in-place"]
    assert sorted(os.listdir(tmp_path)) == ["bin", "m.onnx", "m.onnx.bundle"]  # no data file left


def test_to_onnx_failure_carries_stderr(tmp_path, no_discovery):
    msg = "error: 1 primitive has no lowering at opset 23:\n  top_k  at /x.py:3 (f)\n"
    cli = fake_cli(tmp_path / "bin", exit_code=1, stderr=msg)
    with pytest.raises(ConversionError) as info:
        to_onnx(jnp.cos, [np.ones(2, np.float32)], tmp_path / "m.onnx", cli=cli)
    assert info.value.returncode == 1
    assert info.value.stderr == msg
    assert "top_k  at /x.py:3 (f)" in str(info.value)
    assert info.value.cmd[0] == str(cli)


def test_to_onnx_without_cli(tmp_path, no_discovery):
    with pytest.raises(CLINotFoundError) as info:
        to_onnx(jnp.cos, [np.ones(2, np.float32)], tmp_path / "m.onnx")
    assert HINT in str(info.value)


# -- allclose -------------------------------------------------------------------------------

def onnx_model(path: Path, op: str, dtype=np.float32, n_inputs=1):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    elem = {np.float32: TensorProto.FLOAT, np.int32: TensorProto.INT32}[dtype]
    inputs = [helper.make_tensor_value_info(f"x{k}", elem, ["N"]) for k in range(n_inputs)]
    output = helper.make_tensor_value_info("y", elem, ["N"])
    node = helper.make_node(op, [i.name for i in inputs], ["y"])
    graph = helper.make_graph([node], "g", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_allclose_agrees(tmp_path):
    pytest.importorskip("onnxruntime")
    path = onnx_model(tmp_path / "sin.onnx", "Sin")
    x = np.linspace(-3, 3, 11, dtype=np.float32)
    ok, msg = allclose(jnp.sin, path, [x])
    assert ok, msg


def test_allclose_reports_value_mismatch(tmp_path):
    pytest.importorskip("onnxruntime")
    path = onnx_model(tmp_path / "cos.onnx", "Cos")
    ok, msg = allclose(jnp.sin, path, [np.linspace(-3, 3, 11, dtype=np.float32)])
    assert not ok
    assert "output 0 (y)" in msg and "max abs error" in msg and "max rel error" in msg


def test_allclose_reports_nan_positions(tmp_path):
    pytest.importorskip("onnxruntime")
    path = onnx_model(tmp_path / "sqrt.onnx", "Sqrt")
    x = np.array([-1.0, 4.0], np.float32)
    ok, msg = allclose(jnp.sqrt, path, [x])  # NaN at the same place on both sides
    assert ok, msg
    ok, msg = allclose(lambda v: jnp.sqrt(jnp.abs(v)), path, [x])
    assert not ok and "NaN" in msg


def test_allclose_reports_shape_and_dtype(tmp_path):
    pytest.importorskip("onnxruntime")
    path = onnx_model(tmp_path / "neg.onnx", "Neg")
    x = np.arange(1, 5, dtype=np.float32)
    ok, msg = allclose(lambda v: -v[:2], path, [x])
    assert not ok and "shape" in msg
    ok, msg = allclose(lambda v: (-v).astype(jnp.int32), path, [x])
    assert not ok and "dtype" in msg


def test_allclose_integers_exact(tmp_path):
    pytest.importorskip("onnxruntime")
    path = onnx_model(tmp_path / "add.onnx", "Add", np.int32, n_inputs=2)
    a = np.array([1, -2, 300000], np.int32)
    b = np.array([5, 7, 1], np.int32)
    assert allclose(lambda p, q: p + q, path, [a, b], rtol=0, atol=0)[0]
    ok, msg = allclose(lambda p, q: p + q + jnp.array([0, 0, 1], jnp.int32), path, [a, b], rtol=0, atol=0)
    assert not ok and "output 0" in msg


def test_allclose_input_count_mismatch(tmp_path):
    pytest.importorskip("onnxruntime")
    path = onnx_model(tmp_path / "sin.onnx", "Sin")
    x = np.ones(3, np.float32)
    ok, msg = allclose(lambda a, b: jnp.sin(a), path, [x, x])
    assert not ok and "inputs" in msg


# -- jax2onnx's keywords that only change the command line ----------------------------------

def test_pack_options_export_mode_normalization(tmp_path, no_discovery):
    cli = fake_cli(tmp_path / "bin")
    out = tmp_path / "m.onnx"
    to_onnx(jnp.sin, [("B", 3)], return_mode="file", output_path=out, cli=cli,
            export_mode="web", normalization_mode="force_decomposed",
            pack_options={"NN.fuse": True, "Lax": {"level": 2}})
    (args,) = calls(tmp_path / "bin")
    assert args[2:] == ["-o", str(out), "--opset", "23", "--web", "--no-optimize",
                        "--pack-option", "NN.fuse=true", "--pack-option", "Lax.level=2"]
    with pytest.raises(ValueError, match="Pack.option"):
        to_onnx(jnp.sin, [("B", 3)], return_mode="file", output_path=out, cli=cli,
                pack_options={"fuse": 1})


def test_input_params_positional_and_names(tmp_path, no_discovery):
    cli = fake_cli(tmp_path / "bin")
    out = tmp_path / "m.onnx"
    to_onnx(lambda x, scale: x * scale, [("B", 3)], {"scale": 2.0}, "named", 21,
            return_mode="file", output_path=out, cli=cli, input_names=["inp"])
    doc = bundle_doc(str(out) + ".bundle")
    assert doc["name"] == "named" and doc["input_names"] == ["inp", "scale"]
    assert [v["aval"] for v in doc["program"]["jaxpr"]["invars"]] == [
        {"dtype": "f32", "shape": ["B", 3]}, {"dtype": "f32", "shape": []}]
    with pytest.raises(TypeError, match="input_params"):
        to_onnx(jnp.sin, [("B", 3)], [1.0], cli=cli)


def test_console_script_runs_the_cli(tmp_path, no_discovery, monkeypatch):
    import subprocess
    cli = fake_cli(tmp_path / "bin")
    monkeypatch.setenv("JAX2ONNX_CLI", str(cli))
    proc = subprocess.run([sys.executable, "-m", "jax2onnx_swift.cli", "--version"],
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(convert_mod.__file__).parents[1])})
    assert proc.returncode == 0 and "jax2onnx-swift 0.1.0" in proc.stdout
    monkeypatch.setenv("JAX2ONNX_CLI", str(tmp_path / "missing"))
    proc = subprocess.run([sys.executable, "-m", "jax2onnx_swift.cli", "--coverage"],
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(convert_mod.__file__).parents[1])})
    assert proc.returncode == 2 and "JAX2ONNX_CLI" in proc.stderr


def test_allclose_older_positional_tolerances(tmp_path):
    pytest.importorskip("onnxruntime")
    path = onnx_model(tmp_path / "sin.onnx", "Sin")
    x = np.linspace(-3, 3, 11, dtype=np.float32)
    ok, msg = allclose(lambda v: jnp.sin(v) + 1e-4, path, [x], 1e-6, 1e-6)
    assert not ok and "rtol=1e-06, atol=1e-06" in msg
    ok, msg = allclose(lambda v: jnp.sin(v) + 1e-4, path, [x])  # jax2onnx's defaults: 1e-3, 1e-5
    assert not ok
    ok, msg = allclose(lambda v: jnp.sin(v) + 1e-6, path, [x])
    assert ok, msg


def test_allclose_names_the_worst_output(tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N"]) for n in ("a", "b")]
    graph = helper.make_graph([helper.make_node("Sin", ["x"], ["a"]), helper.make_node("Cos", ["x"], ["b"])],
                              "g", [x], outs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "two.onnx"))
    # output 0 a little off, output 1 far off at index 2: the message is about output 1
    f = lambda v: (jnp.sin(v) * 1.01, jnp.cos(v) + jnp.array([0, 0, 5.0, 0]))
    ok, msg = allclose(f, tmp_path / "two.onnx", [np.array([0.5, 1, 1.5, 2], np.float32)])
    assert not ok and msg.startswith("output 1 (b)") and "worst at (2,)" in msg
    assert "max abs error 5" in msg and "max rel error" in msg


def test_allclose_draws_inputs_for_shapes(tmp_path):
    pytest.importorskip("onnxruntime")
    path = onnx_model(tmp_path / "neg.onnx", "Neg")
    ok, msg = allclose(lambda v: -v, path, [("N",)])
    assert ok and "N=2; N=3; N=5" in msg, msg
    seen = []
    ok, msg = allclose(lambda v: seen.append(np.asarray(v)) or -v, path, [("N",)])
    assert [s.shape for s in seen] == [(2,), (3,), (5,)] and all(np.abs(s).min() > 0 or s.std() > 0 for s in seen)
