"""The CLI's failure contract: exit codes, messages naming what is wrong and where, and no
half-written or clobbered output."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from casekit import user_primitive as _user_primitive

import jax.numpy as jnp
from jax import lax

from jax2onnx_swift import ConversionError, save_bundle, to_onnx

from jax2onnx_swift.testing import marker_line

# Bundles name a file under the working directory relative to it (no machine paths in models).
THIS_FILE = os.path.relpath(Path(__file__).resolve()) if str(Path(__file__).resolve()).startswith(os.getcwd() + os.sep) \
    else str(Path(__file__).resolve())


def line_of(marker: str) -> int:
    return marker_line(THIS_FILE, marker)


CHOLESKY_LIKE = _user_primitive("my_factorization")
SOLVE_LIKE = _user_primitive("my_solve")


def unsupported(x):
    # Two primitives of the user's own: no pack claims them.
    sq = x[:, :3]
    a = CHOLESKY_LIKE.bind(sq)  # CHOLESKY
    values = SOLVE_LIKE.bind(x)  # TRIANGULAR_SOLVE
    return a, values


def good(x):
    return jnp.tanh(x) * 2.0


X = np.ones((3, 4), np.float32)


def run(cli, *args):
    return subprocess.run([cli, *map(str, args)], capture_output=True, text=True, timeout=300)


def assert_no_crash(proc):
    assert proc.returncode in (1, 2), (proc.returncode, proc.stderr)
    assert "Fatal error" not in proc.stderr and "Stack dump" not in proc.stderr, proc.stderr


@pytest.fixture
def bad_bundle(tmp_path):
    return Path(save_bundle(unsupported, [X], tmp_path / "bad.jaxpr"))


def test_unclaimed_primitives_are_listed_with_sources(cli, bad_bundle, tmp_path):
    out = tmp_path / "bad.onnx"
    proc = run(cli, "convert", bad_bundle, "-o", out)
    assert_no_crash(proc)
    assert proc.returncode == 1, proc.stderr
    for prim, marker in (("my_factorization", "CHOLESKY"), ("my_solve", "TRIANGULAR_SOLVE")):
        lines = [ln for ln in proc.stderr.splitlines() if prim in ln]
        assert lines, f"{prim} not named in stderr:\n{proc.stderr}"
        assert any(f"{THIS_FILE}:{line_of(marker)}" in ln for ln in lines), proc.stderr
    assert not out.exists()
    assert not list(tmp_path.glob("bad.onnx*")), list(tmp_path.iterdir())


def test_to_onnx_raises_with_stderr(cli, tmp_path):
    out = tmp_path / "bad.onnx"
    with pytest.raises(ConversionError) as info:
        to_onnx(unsupported, [X], out, cli=cli)
    assert info.value.returncode == 1
    assert "my_factorization" in info.value.stderr and "my_solve" in info.value.stderr
    assert "my_factorization" in str(info.value)
    assert not out.exists()


def test_failed_convert_keeps_existing_output(cli, bad_bundle, tmp_path):
    out = tmp_path / "model.onnx"
    to_onnx(good, [X], out, cli=cli)
    before = out.read_bytes()
    assert before
    proc = run(cli, "convert", bad_bundle, "-o", out)
    assert_no_crash(proc)
    assert proc.returncode == 1
    assert out.read_bytes() == before


def test_missing_input_is_exit_2(cli, tmp_path):
    missing = tmp_path / "does-not-exist.jaxpr"
    proc = run(cli, "convert", missing, "-o", tmp_path / "x.onnx")
    assert_no_crash(proc)
    assert proc.returncode == 2
    assert "does-not-exist.jaxpr" in proc.stderr
    assert not (tmp_path / "x.onnx").exists()


@pytest.mark.parametrize("fraction", [0.5, 0.1, 0.01])
def test_truncated_bundle_is_an_error_not_a_crash(cli, tmp_path, fraction):
    big = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
    full = Path(save_bundle(lambda x: x @ big, [("B", 64)], tmp_path / "full.jaxpr"))
    raw = full.read_bytes()
    cut = tmp_path / "cut.jaxpr"
    cut.write_bytes(raw[: int(len(raw) * fraction)])
    out = tmp_path / "cut.onnx"
    proc = run(cli, "convert", cut, "-o", out)
    assert_no_crash(proc)
    assert proc.stderr.strip()
    assert "bundle" in proc.stderr.lower() or "cut.jaxpr" in proc.stderr, proc.stderr
    assert not out.exists()


def test_version_identifies_the_swift_cli(cli):
    proc = run(cli, "--version")
    assert proc.returncode == 0
    assert "jax2onnx-swift" in proc.stdout
