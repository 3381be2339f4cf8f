"""jax2onnx for Swift, Python side: trace JAX programs into bundles and convert them to ONNX with
the Swift CLI."""

__version__ = "0.1.0"

from .bundle import read_bundle, save_bundle
from .compare import allclose
from .complex_pairs import from_pairs, to_pairs
from .convert import CLINotFoundError, ConversionError, find_cli, to_onnx
from .functions import onnx_function

__all__ = [
    "save_bundle", "read_bundle", "to_onnx", "allclose", "ConversionError", "CLINotFoundError",
    "find_cli", "to_pairs", "from_pairs", "onnx_function", "__version__",
]
