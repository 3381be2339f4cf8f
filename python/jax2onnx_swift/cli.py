"""The `jax2onnx-swift` console script: runs the Swift CLI installed with this package (or the
one find_cli finds) with the same arguments, e.g. `jax2onnx-swift --coverage`."""

from __future__ import annotations

import os
import sys

from .convert import CLINotFoundError, find_cli


def main() -> None:
    try:
        exe = find_cli()
    except CLINotFoundError as e:
        sys.stderr.write(f"jax2onnx-swift: {e}\n")
        raise SystemExit(2)
    os.execv(exe, [exe, *sys.argv[1:]])


if __name__ == "__main__":
    main()
