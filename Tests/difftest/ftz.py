"""Flush-to-zero for the calling thread, so ONNX Runtime can be run the way XLA's CPU backend
computes: denormal results flushed to zero (FTZ) and denormal operands read as zero (DAZ).

JAX on CPU runs with both bits set in MXCSR; ONNX Runtime and numpy run with neither. When a
model disagrees with JAX, the oracle reruns it under `flush_to_zero()`: agreement there means
the difference is XLA's denormal mode, not the conversion. Python has no way to write MXCSR, so
two tiny functions (ldmxcsr / stmxcsr) are placed in an executable page and called through
ctypes. x86-64 only; elsewhere, or where the system refuses executable pages, `available` is
False and the oracle falls back to flushing the inputs alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import platform

FTZ_DAZ = 0x8040  # MXCSR bit 15 (flush to zero) | bit 6 (denormals are zero)

_set = _get = None
if platform.machine() in ("x86_64", "AMD64"):
    try:
        # set(v): mov [rsp-4], edi; ldmxcsr [rsp-4]; ret      get(): stmxcsr [rsp-4]; mov eax, [rsp-4]; ret
        _code = bytes([0x89, 0x7C, 0x24, 0xFC, 0x0F, 0xAE, 0x54, 0x24, 0xFC, 0xC3,
                       0x0F, 0xAE, 0x5C, 0x24, 0xFC, 0x8B, 0x44, 0x24, 0xFC, 0xC3])
        _page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        _page.write(_code)
        _addr = ctypes.addressof(ctypes.c_char.from_buffer(_page))
        _set = ctypes.CFUNCTYPE(None, ctypes.c_uint32)(_addr)
        _get = ctypes.CFUNCTYPE(ctypes.c_uint32)(_addr + 10)
    except (OSError, ValueError, AttributeError):  # no executable pages here
        _set = _get = None

available = _set is not None


@contextlib.contextmanager
def flush_to_zero():
    """FTZ and DAZ on for the body (this thread only); the previous mode is restored after."""
    if not available:
        raise RuntimeError("flush-to-zero is not available on this machine")
    old = _get()
    _set(old | FTZ_DAZ)
    try:
        yield
    finally:
        _set(old)
