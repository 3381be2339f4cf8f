"""Complex arrays at the model boundary: ONNX Runtime has no complex tensors, so an exported model
takes and returns each complex64 (complex128) array of shape S as float32 (float64) of shape
S + (2,), the last axis holding (real, imag). These convert between the two forms."""

from __future__ import annotations

import numpy as np


def to_pairs(x) -> np.ndarray:
    """A complex array as the model's float pairs; any other array unchanged."""
    x = np.asarray(x)
    if x.dtype.kind != "c":
        return x
    part = np.float32 if x.dtype == np.complex64 else np.float64
    return np.ascontiguousarray(x).view(part).reshape(x.shape + (2,))


def from_pairs(x) -> np.ndarray:
    """The inverse of to_pairs for a model output known to be complex."""
    x = np.asarray(x)
    if x.shape[-1:] != (2,):
        raise ValueError(f"complex pairs need a trailing axis of 2, got shape {x.shape}")
    return x[..., 0] + 1j * x[..., 1]
