"""MIPI CSI-2 packed raw formats (RAW10, RAW12, RAW14): unpack to uint16 and pack back.

MIPI Alliance, CSI-2 specification v1.3, section 11.4 ("RAW image data types"): a group of
pixels (4 for RAW10 and RAW14, 2 for RAW12) is stored as one byte of the 8 most significant
bits of each pixel, followed by the remaining low bits of all pixels of the group packed
little-endian (pixel 0 in the lowest bits), which fill a whole number of bytes.
"""
import numba as nb
import numpy as np


def group(bits: int) -> tuple[int, int]:
    """(pixels, bytes) of one packing group for RAW10/12/14; ValueError for other depths."""
    if bits == 10:
        return 4, 5
    if bits == 12:
        return 2, 3
    if bits == 14:
        return 4, 7
    raise ValueError(f"MIPI packing exists for 10, 12 and 14 bits, not {bits}")


def row_bytes(width: int, bits: int) -> int:
    """Bytes of one packed row of `width` pixels (width must be a multiple of the group)."""
    pixels, nbytes = group(bits)
    if width % pixels:
        raise ValueError(f"RAW{bits} rows hold a multiple of {pixels} pixels, not {width}")
    return width // pixels * nbytes


@nb.njit(parallel=True, cache=True)
def _unpack(buf, height, width, bits, stride, pixels, nbytes):
    out = np.empty((height, width), dtype=np.uint16)
    low = bits - 8
    mask = (1 << low) - 1
    for y in nb.prange(height):
        row = y * stride
        for g in range(width // pixels):
            base = row + g * nbytes
            lsb = np.int64(0)
            for k in range(nbytes - pixels):
                lsb |= np.int64(buf[base + pixels + k]) << (8 * k)
            for p in range(pixels):
                msb = np.int64(buf[base + p])
                out[y, g * pixels + p] = (msb << low) | ((lsb >> (low * p)) & mask)
    return out


def unpack(buf: np.ndarray, height: int, width: int, bits: int, stride: int = 0) -> np.ndarray:
    """Unpack a MIPI RAW10/12/14 buffer (uint8) to an (height, width) uint16 mosaic.

    `stride` is the bytes per row including any line padding; 0 means tightly packed.
    """
    pixels, nbytes = group(bits)
    stride = stride or row_bytes(width, bits)
    return _unpack(np.ascontiguousarray(buf, dtype=np.uint8), height, width, bits, stride, pixels, nbytes)


@nb.njit(parallel=True, cache=True)
def _pack(mosaic, bits, pixels, nbytes):
    height, width = mosaic.shape
    stride = width // pixels * nbytes
    out = np.zeros(height * stride, dtype=np.uint8)
    low = bits - 8
    mask = (1 << low) - 1
    for y in nb.prange(height):
        for g in range(width // pixels):
            base = y * stride + g * nbytes
            lsb = np.int64(0)
            for p in range(pixels):
                v = np.int64(mosaic[y, g * pixels + p])
                out[base + p] = np.uint8(v >> low)
                lsb |= (v & mask) << (low * p)
            for k in range(nbytes - pixels):
                out[base + pixels + k] = np.uint8((lsb >> (8 * k)) & 0xFF)
    return out


def pack(mosaic: np.ndarray, bits: int) -> np.ndarray:
    """Pack an (H, W) uint16 mosaic of `bits`-bit values into a MIPI RAW10/12/14 byte buffer."""
    pixels, nbytes = group(bits)
    row_bytes(mosaic.shape[1], bits)
    return _pack(np.ascontiguousarray(mosaic, dtype=np.uint16), bits, pixels, nbytes)
