"""Uncompressed OpenEXR scan lines ("OpenEXR File Layout", openexr.com: a NO_COMPRESSION scanline
chunk is int32 y, int32 byte count, then each channel's samples of the line in the header's
channel order, little endian), built in parallel straight from a float32 image.
"""
import numba as nb
import numpy as np

from kernels.half import half_bits


@nb.njit(parallel=True, cache=True, nogil=True)
def scanlines(src, order, half, out):
    """Lines of `src` ((H, W, C) float32) as EXR chunks into `out` ((H, 4 + C * W * (1 if half
    else 2)) uint16, each row one chunk read as little-endian 16-bit words): channel order[p] of
    the image is the chunk's p-th channel, as HALF (binary16, rounded to nearest even) if `half`,
    else FLOAT (the float32 bits)."""
    h, w, c = src.shape
    words = 1 if half else 2
    size = c * w * 2 * words
    for y in nb.prange(h):
        out[y, 0] = np.uint16(y & 0xFFFF)
        out[y, 1] = np.uint16(y >> 16)
        out[y, 2] = np.uint16(size & 0xFFFF)
        out[y, 3] = np.uint16(size >> 16)
        for p in range(c):
            ch = order[p]
            base = 4 + p * w * words
            if half:
                for x in range(w):
                    out[y, base + x] = half_bits(src[y, x, ch])
            else:
                for x in range(w):
                    bits = np.float32(src[y, x, ch]).view(np.uint32)
                    out[y, base + 2 * x] = np.uint16(bits & np.uint32(0xFFFF))
                    out[y, base + 2 * x + 1] = np.uint16(bits >> np.uint32(16))
    return out
