"""The README's first command works on a fresh clone, word for word: it must build what it needs
(the CLI and the built-in packs) and convert the bundled example with no Python involved.

A clone of the committed HEAD into a temporary folder, then the command exactly as the README's
first line spells it. Slow (a full debug build, about two minutes on two cores); CI runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def readme_first_command() -> str:
    lines = (REPO / "README.md").read_text().splitlines()
    assert lines[0].startswith("```"), "the README must open with its two commands"
    command = lines[1].split("  #", 1)[0].strip()
    assert "Examples/mlp.jaxpr" in command
    return command


@pytest.mark.slow
def test_readme_first_command_on_fresh_clone(tmp_path):
    if shutil.which("git") is None or shutil.which("swift") is None:
        pytest.skip("needs git and swift")
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX2ONNX_", "VIRTUAL_ENV"))}
    # No Python on the way: the command must not need the venv.
    env["PATH"] = ":".join(p for p in env.get("PATH", "").split(":") if ".venv" not in p)
    command = readme_first_command()
    run = subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True, text=True, timeout=1500)
    assert run.returncode == 0, f"`{command}` failed ({run.returncode}):\n{run.stderr[-3000:]}"
    model = clone / "mlp.onnx"
    assert model.stat().st_size > 0

    import onnxruntime as ort
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    (inp,) = sess.get_inputs()
    x = np.random.default_rng(0).normal(size=(5, 30)).astype(np.float32)
    (y,) = sess.run(None, {inp.name: x})
    assert y.shape == (5, 10) and np.isfinite(y).all() and np.abs(y).max() > 0
