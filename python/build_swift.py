"""Builds the Swift CLI and its built-in packs for the wheel (setup.py calls this).

The CLI, every libJ2OPack*.so the release build makes (whatever packs Package.swift declares),
and the Swift runtime libraries they load all go into one folder, jax2onnx_swift/_bin. They are
linked without the toolchain's RUNPATH, so each finds the others through $ORIGIN alone: the
installed package needs no Swift toolchain and never loads from it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

NO_TOOLCHAIN = ("jax2onnx-swift: building this package needs a Swift 6 toolchain (`swift` on PATH, "
                "https://www.swift.org/install); none was found")


def _fail(message: str):
    # One line, no traceback: pip shows the backend's output as it is.
    raise SystemExit(message)


def _run(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        _fail(f"jax2onnx-swift: `{' '.join(cmd)}` failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def _runtime_dirs(swift: str) -> list[str]:
    try:
        info = json.loads(subprocess.run([swift, "-print-target-info"], capture_output=True,
                                         text=True, check=True).stdout)
        return [os.path.realpath(p) for p in info["paths"]["runtimeLibraryPaths"]]
    except Exception:
        return [os.path.realpath(Path(swift).resolve().parents[1] / "lib" / "swift" / "linux")]


def _dependencies(binary: Path) -> list[Path]:
    """Shared libraries binary loads, as the loader resolves them now (with the toolchain's
    folders on LD_LIBRARY_PATH, so the runtime libraries are found even without a RUNPATH)."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        m = re.match(r"\s*\S+ => (/\S+)", line)
        if m:
            found.append(Path(m.group(1)))
    return found


def _runpaths(lib: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True).stdout
    paths = []
    for line in out.splitlines():
        m = re.search(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[(.*)\]", line)
        if m:
            paths += m.group(1).split(":")
    return paths


def build(swift_root: Path, dest: Path) -> list[Path]:
    """Release-builds swift_root's package and fills dest; returns the files written."""
    swift = shutil.which("swift")
    if swift is None:
        _fail(NO_TOOLCHAIN)
    if sys.platform != "linux":
        _fail(f"jax2onnx-swift: the packaged build is Linux-only for now (this is {sys.platform}); "
              f"build with `swift build -c release` and set JAX2ONNX_CLI")
    for tool in ("ldd", "readelf"):
        if shutil.which(tool) is None:
            _fail(f"jax2onnx-swift: building this package needs `{tool}` (binutils / libc-bin)")
    scratch = Path(os.environ.get("JAX2ONNX_SWIFT_SCRATCH") or swift_root / ".build" / "wheel")
    # No toolchain RUNPATH: the runtime libraries are copied beside the CLI and found by $ORIGIN.
    cmd = [swift, "build", "-c", "release", "--scratch-path", str(scratch),
           "-Xswiftc", "-no-toolchain-stdlib-rpath"]
    print(f"jax2onnx-swift: {' '.join(cmd)} (the CLI and the built-in packs)", flush=True)
    _run(cmd, swift_root)
    bin_dir = Path(_run(cmd + ["--show-bin-path"], swift_root).strip().splitlines()[-1])
    cli = bin_dir / "jax2onnx"
    packs = sorted(bin_dir.glob("libJ2OPack*.so"))
    if not cli.is_file() or not packs:
        _fail(f"jax2onnx-swift: the release build in {bin_dir} made no CLI or no packs")

    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for f in [cli, *packs]:
        shutil.copy2(f, dest / f.name)
        written.append(dest / f.name)
    runtime = _runtime_dirs(swift)
    env_path = os.pathsep.join(runtime + [str(bin_dir)])
    os.environ["LD_LIBRARY_PATH"] = env_path + (os.pathsep + os.environ["LD_LIBRARY_PATH"]
                                                if os.environ.get("LD_LIBRARY_PATH") else "")
    needed: dict[str, Path] = {}
    for f in [cli, *packs]:
        for dep in _dependencies(f):
            real = os.path.realpath(dep)
            if any(real.startswith(d + os.sep) for d in runtime + [str(bin_dir.resolve())]):
                needed[dep.name] = dep
    for name, dep in sorted(needed.items()):
        if not (dest / name).exists():
            shutil.copy2(os.path.realpath(dep), dest / name)
            written.append(dest / name)
    for f in written:
        outside = [p for p in _runpaths(f) if p not in ("$ORIGIN", "$ORIGIN/")]
        if outside:
            _fail(f"jax2onnx-swift: {f.name} has a RUNPATH outside the package: {outside}")
    print(f"jax2onnx-swift: packaged the CLI, {len(packs)} packs "
          f"({', '.join(p.name[len('libJ2OPack'):-3] for p in packs)}) and {len(needed)} runtime "
          f"libraries", flush=True)
    return written


def swift_root(here: Path) -> Path:
    """The Swift package to build: an sdist carries it in swift-src/; a checkout is python/.."""
    for root in (here / "swift-src", here.parent):
        if (root / "Package.swift").is_file() and (root / "Sources" / "jax2onnx").is_dir():
            return root
    _fail("jax2onnx-swift: no Swift sources found (expected ../Package.swift or swift-src/)")


# What an sdist needs to rebuild the CLI and the packs without the checkout.
SWIFT_SOURCES = ("Package.swift", "Package.resolved", "Sources", "Plugins", "SDK")
