"""Numeric suite setup: import the package from the checkout if it is not installed, and find the
Swift CLI. Without a CLI the conversion tests skip, unless J2O_REQUIRE_CLI=1 (CI) makes that a
failure."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

try:
    import jax2onnx_swift  # noqa: F401
except ImportError:
    sys.path.insert(0, str(REPO / "python"))
sys.path.insert(0, str(HERE))  # so tests can `import cases`

from jax2onnx_swift import find_cli  # noqa: E402
from jax2onnx_swift.convert import CLINotFoundError  # noqa: E402


def _require_cli() -> bool:
    return os.environ.get("J2O_REQUIRE_CLI", "").strip() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def cli() -> str:
    """Path of the jax2onnx Swift CLI; skips (or fails under J2O_REQUIRE_CLI=1) without one."""
    try:
        return find_cli()
    except CLINotFoundError as e:
        if _require_cli():
            pytest.fail(f"J2O_REQUIRE_CLI is set but the CLI is missing: {e}", pytrace=False)
        pytest.skip(f"numeric suite needs the Swift CLI: {e}")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: minutes rather than seconds (a fresh clone's build, an install); CI runs them")
