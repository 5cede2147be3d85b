"""float32 -> IEEE 754 binary16 ("half", EXR's HALF) conversion, rounding to nearest even.

numba has no float16 type, and numpy's `astype(np.float16)` runs one scalar conversion per value
(~150 ms for a UHD RGB frame here), so half output would cost more than developing the frame.
`half_bits` builds the 16 bits with integer arithmetic (IEEE 754-2008 section 3.6 for the
binary16 layout; the rounding follows the usual exponent-rebias method, with subnormals rounded by
the FPU through a float add, as described by F. Giesen, "Half to float done quic", 2016), and
branches only by selects, so the pass vectorises. The result, viewed as float16, equals numpy's
conversion bit for bit (tests check every float32 class: normals, ties, subnormals, overflow,
inf, NaN, signed zeros).
"""
import numba as nb
import numpy as np

_HALF_MAX_BITS = np.uint32((127 + 16) << 23)  # 65536.0: from here on the half is inf (or NaN)
_HALF_NORMAL_BITS = np.uint32((127 - 14) << 23)  # 2^-14, the smallest normal half
_SUBNORMAL_MAGIC = np.float32(0.5)  # adding it puts a subnormal half's bits in the low mantissa
_SUBNORMAL_MAGIC_BITS = _SUBNORMAL_MAGIC.view(np.uint32)  # its bits
_REBIAS = np.uint32(((15 - 127) << 23) & 0xFFFFFFFF) + np.uint32(0xFFF)


@nb.njit(inline="always", cache=True)
def half_bits(x):
    """The binary16 bits (uint16) of float32 x, rounded to nearest, ties to even."""
    u = np.float32(x).view(np.uint32)
    sign = np.uint16((u >> np.uint32(16)) & np.uint32(0x8000))
    a = np.uint32(u & np.uint32(0x7FFFFFFF))  # numba widens integer arithmetic: cast back
    # normal halves: rebias the exponent and round the 13 dropped mantissa bits to nearest even
    normal = (a + _REBIAS + ((a >> np.uint32(13)) & np.uint32(1))) >> np.uint32(13)
    # subnormal halves: the FPU rounds when 0.5 is added, leaving the half's bits at the bottom
    sub = np.float32(a.view(np.float32) + _SUBNORMAL_MAGIC).view(np.uint32) - _SUBNORMAL_MAGIC_BITS
    special = np.uint32(0x7E00) if a > np.uint32(0x7F800000) else np.uint32(0x7C00)  # NaN, else inf
    h = normal if a >= _HALF_NORMAL_BITS else sub
    h = special if a >= _HALF_MAX_BITS else h
    return np.uint16(h) | sign


@nb.njit(parallel=True, cache=True, nogil=True)
def to_half(src, out):
    """`src` (float32, any shape, C-contiguous) as float16 bits into `out` (uint16, same shape);
    view `out` as np.float16 to use it."""
    s = src.reshape(-1)
    o = out.reshape(-1)
    n = s.size
    chunk = 1 << 16
    for c in nb.prange((n + chunk - 1) // chunk):
        for i in range(c * chunk, min(n, (c + 1) * chunk)):
            o[i] = half_bits(s[i])
    return out


def as_half(image: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """`image` (float32) as a float16 array, converted in parallel; `out` (uint16 or float16) is
    reused when given."""
    src = np.ascontiguousarray(image, dtype=np.float32)
    if out is not None and (out.shape != src.shape or out.dtype.itemsize != 2 or not out.flags.c_contiguous):
        raise ValueError(f"out: expected a C-contiguous {src.shape} uint16 or float16 array, got {out.shape} {out.dtype}")
    bits = np.empty(src.shape, np.uint16) if out is None else out.view(np.uint16)
    to_half(src, bits)
    return bits.view(np.float16)
