"""Driving the Swift CLI: find it, hand it a bundle, report its errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .bundle import save_bundle

BUILD_HINT = "build it with `swift build -c release` in the repo and/or set JAX2ONNX_CLI"


class ConversionError(RuntimeError):
    """The CLI exited non-zero. `stderr` holds its messages, `returncode` its exit code
    (1: the model could not be converted, 2: usage or I/O error)."""

    def __init__(self, message: str, *, returncode: int | None = None, stderr: str = "",
                 cmd: list[str] | None = None) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr
        self.cmd = cmd


class CLINotFoundError(FileNotFoundError):
    """No jax2onnx Swift binary could be found."""


def _repo_root() -> Path | None:
    """The checkout this package was loaded from (python/ lives at its top), if any."""
    here = Path(__file__).resolve().parent
    if here.parent.name == "python" and here.parent.parent.is_dir():
        return here.parent.parent
    return None


def _is_ours(exe: str) -> bool:
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return "jax2onnx-swift" in (out.stdout + out.stderr)


def find_cli(cli: str | os.PathLike | None = None) -> str:
    """Path of the jax2onnx Swift CLI.

    Looks at, in order: the explicit `cli`; $JAX2ONNX_CLI; <repo>/.build/release/jax2onnx and
    <repo>/.build/debug/jax2onnx when this package sits in the repo's python/ folder; `jax2onnx`
    on PATH, but only if `--version` says it is jax2onnx-swift (the PyPI jax2onnx installs a
    different command of the same name).
    """
    for origin, value in (("cli argument", cli), ("JAX2ONNX_CLI", os.environ.get("JAX2ONNX_CLI"))):
        if value:
            path = Path(value)
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
            raise CLINotFoundError(f"jax2onnx CLI from {origin} ({value}) is not an executable "
                                   f"file: {BUILD_HINT}")
    repo = _repo_root()
    if repo is not None:
        for config in ("release", "debug"):
            path = repo / ".build" / config / "jax2onnx"
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    on_path = shutil.which("jax2onnx")
    if on_path and _is_ours(on_path):
        return on_path
    raise CLINotFoundError(f"jax2onnx Swift CLI not found: {BUILD_HINT}")


def to_onnx(fn, inputs, output_path, *, opset: int = 23, plugins=None, input_names=None,
            output_names=None, web: bool = False, optimize: bool = True, strict_nan: bool = False,
            cli=None) -> str:
    """Traces fn on inputs (see save_bundle for the accepted forms), converts the bundle with the
    Swift CLI and returns output_path. Raises ConversionError with the CLI's stderr on failure."""
    exe = find_cli(cli)
    output_path = os.fspath(output_path)
    if isinstance(plugins, (str, os.PathLike)):
        plugins = [plugins]
    with tempfile.TemporaryDirectory(prefix="jax2onnx-") as tmp:
        bundle = os.path.join(tmp, "model.jaxpr")
        save_bundle(fn, inputs, bundle, input_names=input_names, output_names=output_names)
        cmd = [exe, "convert", bundle, "-o", output_path, "--opset", str(int(opset))]
        for p in plugins or ():
            cmd += ["--plugins", os.fspath(p)]
        if web:
            cmd.append("--web")
        if not optimize:
            cmd.append("--no-optimize")
        if strict_nan:
            cmd.append("--strict-nan")
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        how = (f"crashed (signal {-proc.returncode})" if proc.returncode < 0
               else f"failed (exit {proc.returncode})")
        raise ConversionError(
            f"jax2onnx convert {how}:\n{proc.stderr.strip()}",
            returncode=proc.returncode, stderr=proc.stderr, cmd=cmd)
    return output_path
