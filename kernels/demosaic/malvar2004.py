"""Malvar-He-Cutler demosaicing: bilinear interpolation corrected by the Laplacian of the
sample's own channel, as fixed 5x5 linear filters.

Reference: H. S. Malvar, L.-W. He, R. Cutler, "High-quality linear interpolation for
demosaicing of Bayer-patterned color images", Proc. IEEE ICASSP 2004, vol. 3, pp. 485-488
(the filters of its figure 2, gains 1/2, 5/8, 3/4).
"""
import numba as nb
import numpy as np

from kernels.demosaic._common import STRIP, band, buffers, load_strip, prepare

PAD = 2


@nb.njit(inline="always")
def pixel(b, i, j, on_rb):
    """(h, g, v) at b[i, j], laid out as in `bilinear.pixel`.

    Both cases are computed and one selected so that a row loop vectorises.
    """
    c = b[i, j]
    h1 = b[i, j - 1] + b[i, j + 1]
    v1 = b[i - 1, j] + b[i + 1, j]
    h2 = b[i, j - 2] + b[i, j + 2]
    v2 = b[i - 2, j] + b[i + 2, j]
    d = (b[i - 1, j - 1] + b[i - 1, j + 1]) + (b[i + 1, j - 1] + b[i + 1, j + 1])
    e = np.float32(0.125)
    if on_rb:
        g = (np.float32(4) * c + np.float32(2) * (h1 + v1) - (h2 + v2)) * e
        o = (np.float32(6) * c + np.float32(2) * d - np.float32(1.5) * (h2 + v2)) * e
        return c, g, o
    c5d = np.float32(5) * c - d
    h = (c5d + np.float32(4) * h1 - h2 + np.float32(0.5) * v2) * e
    v = (c5d + np.float32(4) * v1 - v2 + np.float32(0.5) * h2) * e
    return h, c, v


@nb.njit(inline="always")
def row(b, i, out_row, w, c0, red_row):
    """Demosaic buffer row i of the padded strip b into out_row (arguments as `bilinear.row`)."""
    for x in range(w):
        h, g, v = pixel(b, i, x + PAD, ((x ^ c0) & 1) == 0)
        out_row[3 * x] = h if red_row else v
        out_row[3 * x + 1] = g
        out_row[3 * x + 2] = v if red_row else h


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _malvar(m, ry, rx, out, scratch):
    h, w = m.shape
    chunks = scratch.shape[0]
    for chunk in nb.prange(chunks):
        start, stop = band(h, chunk, chunks)
        buf = scratch[chunk, 0]
        for y0 in range(start, stop, STRIP):
            load_strip(m, y0, PAD, buf)
            for y in range(y0, min(y0 + STRIP, stop)):
                red_row = (y & 1) == ry
                row(buf, y - y0 + PAD, out[y].reshape(3 * w), w, rx if red_row else 1 - rx, red_row)


def malvar2004(mosaic, pattern: str) -> np.ndarray:
    """Demosaic an (H, W) float32 Bayer mosaic to (H, W, 3) float32 RGB with Malvar et al. 2004."""
    m, ry, rx = prepare(mosaic, pattern)
    out, scratch = buffers(m, 1, PAD)
    _malvar(m, ry, rx, out, scratch)
    return out
