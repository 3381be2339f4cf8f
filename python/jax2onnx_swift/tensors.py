"""The bundle's constant table: every constant stored once, 64-byte aligned, little-endian."""

from __future__ import annotations

import numpy as np

from .dtypes import dtype_name, is_extended

ALIGN = 64
# Large tensors start on page boundaries: the data section can then serve as an ONNX model's
# external-data file as it is, and ONNX Runtime maps page-aligned external tensors instead of
# reading them (docs/bundle-format.md, "The data file as the model's sidecar").
PAGE_ALIGN = 4096
PAGE_ALIGN_MIN_BYTES = 1 << 20
# Arrays up to this size are also deduplicated by content: cheap to hash, and JAX tends to repeat
# small constants (iota tables, masks, literals hoisted to constvars) as distinct objects. Larger
# ones are only deduplicated by identity, so hashing never shows up next to the write itself.
CONTENT_DEDUPE_MAX_BYTES = 4096
# From this size numpy's tofile beats file.write of a memoryview (measured ~25% faster on 16 MiB
# arrays; it is what np.save uses). Both write straight from the array, without a copy.
TOFILE_MIN_BYTES = 1 << 20


def align(n: int, to: int = ALIGN) -> int:
    return (n + to - 1) // to * to


def as_array(value, dtype=None) -> np.ndarray | None:
    """A C-contiguous little-endian numpy view of value (copying only when the layout demands it),
    or None when it has no byte form (extended dtypes, tokens, arbitrary objects)."""
    if is_extended(getattr(value, "dtype", np.dtype("f4"))):
        return None
    try:
        arr = np.asarray(value)
    except Exception:  # e.g. a deleted jax.Array or some non-array object
        return None
    if arr.dtype == object:
        return None
    if dtype is not None and isinstance(dtype, np.dtype) and arr.dtype != dtype:
        # JAX canonicalizes constants (f64 -> f32 without x64) but may keep the original object.
        arr = arr.astype(dtype)
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    # not np.ascontiguousarray: it turns a 0-d constant (an NNX RNG counter) into shape (1,)
    return arr if arr.flags.c_contiguous else np.array(arr, order="C")


class TensorTable:
    """Collects constants while the program is encoded and lays them out for writing."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.entries: list[dict] = []
        self._by_object: dict[int, int] = {}
        self._keepalive: list[object] = []  # so id() keys cannot be reused while encoding
        self._by_content: dict[tuple, int] = {}
        self._end = 0

    def add(self, value, dtype=None) -> int | None:
        """Index of value in the table, adding it if new; None if it has no byte form."""
        key = id(value)
        if key in self._by_object:
            return self._by_object[key]
        arr = as_array(value, dtype)
        if arr is None:
            return None
        content_key = None
        if arr.nbytes <= CONTENT_DEDUPE_MAX_BYTES:
            content_key = (arr.dtype.str, arr.shape, arr.tobytes())
            found = self._by_content.get(content_key)
            if found is not None:
                self._remember(value, found)
                return found
        index = len(self.arrays)
        offset = align(self._end, PAGE_ALIGN if arr.nbytes >= PAGE_ALIGN_MIN_BYTES else ALIGN)
        self.arrays.append(arr)
        self.entries.append({"dtype": dtype_name(arr.dtype), "shape": list(arr.shape),
                             "offset": offset, "nbytes": int(arr.nbytes)})
        self._end = offset + arr.nbytes
        if content_key is not None:
            self._by_content[content_key] = index
        self._remember(value, index)
        return index

    def _remember(self, value, index: int) -> None:
        self._by_object[id(value)] = index
        self._keepalive.append(value)

    @property
    def data_length(self) -> int:
        return self._end

    def write_data(self, f) -> None:
        """Writes the data section to f at its current position (which must be 64-aligned)."""
        pos = 0
        for arr, entry in zip(self.arrays, self.entries):
            if entry["offset"] > pos:
                f.write(b"\0" * (entry["offset"] - pos))
                pos = entry["offset"]
            if arr.nbytes:
                # A flat uint8 view of a C-contiguous array is free and exposes the buffer protocol
                # even for dtypes memoryview cannot describe (bfloat16, float8).
                flat = arr.reshape(-1).view(np.uint8)
                if arr.nbytes >= TOFILE_MIN_BYTES and _has_fileno(f):
                    flat.tofile(f)  # numpy flushes f first and moves its position past the data
                else:
                    f.write(flat.data)
            pos += arr.nbytes


def _has_fileno(f) -> bool:
    try:
        f.fileno()
        return True
    except (AttributeError, OSError, ValueError):  # BytesIO and friends
        return False
