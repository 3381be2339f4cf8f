"""Packaging hooks: the wheel carries the Swift CLI, its built-in packs and the Swift runtime
(build_swift.py builds them in release mode); an sdist carries the Swift sources to rebuild them.
An editable install (pip install -e) builds nothing: it uses the checkout's .build."""

import shutil
import sys
import sysconfig
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import build_swift  # noqa: E402


class BuildPy(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        build_swift.build(build_swift.swift_root(HERE),
                          Path(self.build_lib) / "jax2onnx_swift" / "_bin")


class SDist(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        root = build_swift.swift_root(HERE)
        dest = Path(base_dir) / "swift-src"
        for name in build_swift.SWIFT_SOURCES:
            src = root / name
            if src.is_dir():
                shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns(".build", ".*"))
            elif src.is_file():
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)


class BdistWheel(bdist_wheel):
    """Native executables inside, no CPython extension: py3-none-<platform>."""

    def get_tag(self):
        return "py3", "none", sysconfig.get_platform().replace("-", "_").replace(".", "_")


setup(cmdclass={"build_py": BuildPy, "sdist": SDist, "bdist_wheel": BdistWheel})
