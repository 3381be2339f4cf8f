"""`pip install ./python` into a fresh venv: the wheel carries the CLI, the built-in packs and
the Swift runtime, with RUNPATHs inside the package, and converts a Flax model with no
JAX2ONNX_CLI and no checkout in sight. Slow (a release build of the Swift package, then jax and
flax from the index): runs when J2O_INSTALL_TEST=1, as CI does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(os.environ.get("J2O_INSTALL_TEST", "") in ("", "0"),
                                reason="slow: set J2O_INSTALL_TEST=1 to install into a fresh venv")

CONVERT = textwrap.dedent("""
    import os, sys, jax, jax.numpy as jnp, numpy as np
    from flax import nnx
    import jax2onnx_swift
    from jax2onnx_swift import to_onnx, find_cli
    assert "JAX2ONNX_CLI" not in os.environ
    print("CLI", find_cli())
    class MLP(nnx.Module):
        def __init__(self, rngs):
            self.l1 = nnx.Linear(30, 20, rngs=rngs)
            self.bn = nnx.BatchNorm(20, rngs=rngs)
            self.drop = nnx.Dropout(0.2, rngs=rngs)
            self.l2 = nnx.Linear(20, 10, rngs=rngs)
        def __call__(self, x, deterministic=True):
            h = self.drop(self.bn(self.l1(x), use_running_average=deterministic), deterministic=deterministic)
            return self.l2(nnx.gelu(h))
    model = MLP(nnx.Rngs(0))
    proto = to_onnx(model, [jax.ShapeDtypeStruct(("B", 30), jnp.float32)],
                    input_params={"deterministic": True}, output_path="mlp.onnx")
    import onnx
    onnx.checker.check_model(proto)
    print("INPUTS", [i.name for i in proto.graph.input])
""")

CHECK = textwrap.dedent("""
    import numpy as np
    from flax import nnx
    import onnxruntime as ort
    exec(open("convert.py").read().split("model = MLP")[0])
    model = MLP(nnx.Rngs(0))
    x = np.random.default_rng(0).normal(size=(7, 30)).astype(np.float32)
    got = ort.InferenceSession("mlp.onnx").run(None, {"x": x, "deterministic": np.array(True)})[0]
    np.testing.assert_allclose(got, model(x, deterministic=True), rtol=1e-4, atol=1e-5)
    print("MATCH")
""")


def _toolchain_libs() -> list[str]:
    sys.path.insert(0, str(REPO / "python"))
    try:
        import build_swift
        import shutil
        swift = shutil.which("swift")
        return build_swift._runtime_dirs(swift) if swift else []
    finally:
        sys.path.pop(0)


TOOLCHAIN_LIBS = _toolchain_libs()


def run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


PACKS = sorted(f"libJ2OPack{name}.so" for name in re.findall(
    r'"(\w+)"', re.search(r"let packs = \[(.*?)\]", (REPO / "Package.swift").read_text()).group(1)))


def fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    env = {k: v for k, v in os.environ.items() if k not in ("JAX2ONNX_CLI", "PYTHONPATH")}
    return venv, env


def check_installed(venv, env, tmp_path):
    """The installed package carries every pack with RUNPATHs inside it, its console script runs,
    and it converts a Flax model that ONNX Runtime then matches, with no checkout in sight."""
    py = venv / "bin" / "python"
    site = Path(run([str(py), "-c", "import jax2onnx_swift, os; print(os.path.dirname(jax2onnx_swift.__file__))"],
                    env=env, cwd=tmp_path).strip())
    assert REPO not in site.parents  # a real install, not the checkout
    bin_dir = site / "_bin"
    packs = sorted(p.name for p in bin_dir.glob("libJ2OPack*.so"))
    assert packs == PACKS, (packs, PACKS)
    for f in [bin_dir / "jax2onnx", *bin_dir.glob("*.so*")]:
        dyn = run(["readelf", "-d", str(f)])
        for paths in re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[(.*)\]", dyn):
            assert set(paths.split(":")) <= {"$ORIGIN"}, f"{f.name}: RUNPATH {paths}"
        deps = run(["ldd", str(f)], env={**env, "LD_LIBRARY_PATH": ""})
        assert "not found" not in deps, f"{f.name}:\n{deps}"
        for toolchain in TOOLCHAIN_LIBS:
            assert toolchain not in deps, f"{f.name} loads from the toolchain:\n{deps}"

    coverage = run([str(venv / "bin" / "jax2onnx-swift"), "--coverage"], env=env, cwd=tmp_path)
    assert "sin" in coverage and "Lax" in coverage
    (tmp_path / "convert.py").write_text(CONVERT)
    out = run([str(py), "convert.py"], env=env, cwd=tmp_path)
    assert f"CLI {bin_dir / 'jax2onnx'}" in out and "INPUTS ['x', 'deterministic']" in out
    # onnxruntime only now: the conversion above ran with the package, jax and flax alone
    run([str(py), "-m", "pip", "install", "-q", "onnxruntime"], env=env)
    (tmp_path / "check.py").write_text(CHECK)
    assert "MATCH" in run([str(py), "check.py"], env=env, cwd=tmp_path)


def test_fresh_venv_install(tmp_path):
    venv, env = fresh_venv(tmp_path)
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(REPO / "python"), "flax"], env=env)
    check_installed(venv, env, tmp_path)


def test_wheel_built_from_sdist(tmp_path):
    """`python -m build python/` makes the sdist, then the wheel from the unpacked sdist alone:
    the sdist must carry every Swift source the release build needs."""
    venv, env = fresh_venv(tmp_path)
    py = venv / "bin" / "python"
    run([str(py), "-m", "pip", "install", "-q", "build"], env=env)
    dist = tmp_path / "dist"
    run([str(py), "-m", "build", str(REPO / "python"), "--outdir", str(dist)], env=env)
    wheels = list(dist.glob("jax2onnx_swift-*.whl"))
    sdists = list(dist.glob("jax2onnx_swift-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(dist.iterdir())
    run([str(py), "-m", "pip", "install", "-q", str(wheels[0]), "flax"], env=env)
    check_installed(venv, env, tmp_path)
