"""The packaged build's refusals, which need no Swift build to check."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PYTHON_DIR))
import build_swift  # noqa: E402

sys.path.pop(0)


def test_no_toolchain_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no swift here
    with pytest.raises(SystemExit) as info:
        build_swift.build(PYTHON_DIR.parent, tmp_path / "bin")
    message = str(info.value)
    assert message == build_swift.NO_TOOLCHAIN and "\n" not in message
    assert "Swift" in message and "swift.org/install" in message


def test_swift_sources_are_found(tmp_path):
    assert build_swift.swift_root(PYTHON_DIR) == PYTHON_DIR.parent  # a checkout
    sdist = tmp_path / "sdist"
    (sdist / "swift-src" / "Sources" / "jax2onnx").mkdir(parents=True)
    (sdist / "swift-src" / "Package.swift").write_text("// swift-tools-version:6.0\n")
    assert build_swift.swift_root(sdist) == sdist / "swift-src"  # an unpacked sdist
    with pytest.raises(SystemExit, match="no Swift sources"):
        build_swift.swift_root(tmp_path / "elsewhere" / "python")
