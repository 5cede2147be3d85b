"""Turning and stretching a developed (H, W, 3) image: TIFF/EXIF orientations and non-square pixels.

Orientation values are those of TIFF tag 274 (TIFF 6.0, section 8; EXIF 2.3 "Orientation"):
1 as stored, 2 mirrored left-right, 3 turned 180 degrees, 4 mirrored top-bottom, 5 transposed,
6 turned 90 degrees clockwise, 7 transverse, 8 turned 90 degrees counter-clockwise. The stretch
is dcraw's / LibRaw's `stretch()`: linear interpolation along the axis that grows.
"""
import numba as nb
import numpy as np


@nb.njit(cache=True)
def flips(orientation):
    """(swap the axes, then flip the rows, then flip the columns) for a TIFF orientation 1-8."""
    swap = orientation >= 5
    k = orientation - 4 if swap else orientation
    return swap, k == 3 or k == 4, k == 2 or k == 3


@nb.njit(parallel=True, cache=True)
def orient(src, orientation, out):
    """out = the (H, W, C) `src` as `orientation` says it is displayed; out is (W, H, C) for 5-8."""
    swap, flip_rows, flip_cols = flips(orientation)
    h, w, nc = out.shape
    for i in nb.prange(h):
        i = np.int64(i)  # prange's index is unsigned: mixed with h - 1 - i it would type as float
        a = h - 1 - i if flip_rows else i
        for j in range(w):
            b = w - 1 - j if flip_cols else j
            si, sj = (b, a) if swap else (a, b)
            for c in range(nc):
                out[i, j, c] = src[si, sj, c]


@nb.njit(parallel=True, cache=True)
def stretch(src, pixel_aspect, round_half_up, out):
    """out = `src` resampled to square pixels (dcraw's `stretch()`): for a pixel aspect below 1,
    row k of out is at source row k * aspect; above 1, column k at source column k / aspect;
    linear between the two nearest samples, the last one repeated past the end. Integer outputs
    get + 0.5 before the cast (`round_half_up`)."""
    h, w, nc = src.shape
    oh, ow = out.shape[0], out.shape[1]
    half = np.float32(0.5) if round_half_up else np.float32(0)
    if pixel_aspect < 1:
        for i in nb.prange(oh):
            pos = i * pixel_aspect
            i0 = min(int(pos), h - 1)
            i1 = min(i0 + 1, h - 1)
            f = np.float32(pos - i0)
            for j in range(ow):
                for c in range(nc):
                    a = np.float32(src[i0, j, c])
                    out[i, j, c] = a + (np.float32(src[i1, j, c]) - a) * f + half
    else:
        step = 1.0 / pixel_aspect
        for i in nb.prange(oh):
            for j in range(ow):
                pos = j * step
                j0 = min(int(pos), w - 1)
                j1 = min(j0 + 1, w - 1)
                f = np.float32(pos - j0)
                for c in range(nc):
                    a = np.float32(src[i, j0, c])
                    out[i, j, c] = a + (np.float32(src[i, j1, c]) - a) * f + half
