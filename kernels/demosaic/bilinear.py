"""Bilinear demosaicing: each missing sample is the mean of its nearest same-colour neighbours.

Reference: O. Losson, L. Macaire, Y. Yang, "Comparison of color demosaicing methods",
Advances in Imaging and Electron Physics 162 (2010), section 3.1 (the method colour-demosaicing
implements as `demosaicing_CFA_Bayer_bilinear`).
"""
import numba as nb
import numpy as np

from kernels.demosaic._common import STRIP, band, buffers, load_strip, prepare

PAD = 2


@nb.njit(inline="always")
def pixel(b, i, j, on_rb):
    """(h, g, v) at b[i, j]: on a red/blue sample h is its own colour and v the other one;
    on a green sample h is the colour of the row's other samples and v the column's.

    Both cases are computed and selected so that a row loop vectorises.
    """
    c = b[i, j]
    hs = b[i, j - 1] + b[i, j + 1]
    vs = b[i - 1, j] + b[i + 1, j]
    ds = (b[i - 1, j - 1] + b[i - 1, j + 1]) + (b[i + 1, j - 1] + b[i + 1, j + 1])
    q = np.float32(0.25)
    half = np.float32(0.5)
    if on_rb:
        return c, (hs + vs) * q, ds * q
    return hs * half, c, vs * half


@nb.njit(inline="always")
def row(b, i, out_row, w, c0, red_row):
    """Demosaic buffer row i of the padded strip b into out_row (one image row, flattened:
    a flat index vectorises, an (x, channel) one does not); c0 is the column parity of the
    row's red/blue samples and red_row whether they are red."""
    for x in range(w):
        h, g, v = pixel(b, i, x + PAD, ((x ^ c0) & 1) == 0)
        out_row[3 * x] = h if red_row else v
        out_row[3 * x + 1] = g
        out_row[3 * x + 2] = v if red_row else h


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _bilinear(m, ry, rx, out, scratch):
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


def bilinear(mosaic, pattern: str) -> np.ndarray:
    """Demosaic an (H, W) float32 Bayer mosaic to (H, W, 3) float32 RGB by bilinear interpolation."""
    m, ry, rx = prepare(mosaic, pattern)
    out, scratch = buffers(m, 1, PAD)
    _bilinear(m, ry, rx, out, scratch)
    return out
