"""Bilinear demosaicing: each missing sample is the mean of its nearest same-colour neighbours.

Reference: O. Losson, L. Macaire, Y. Yang, "Comparison of color demosaicing methods",
Advances in Imaging and Electron Physics 162 (2010), section 3.1 (the method colour-demosaicing
implements as `demosaicing_CFA_Bayer_bilinear`).
"""
import numba as nb
import numpy as np

from kernels.demosaic._common import output, prepare, strip_scratch


@nb.njit(inline="always")
def pixel(b, i, j, on_rb):
    """(h, g, v) at b[i, j]: on a red/blue sample h is its own colour and v the other one;
    on a green sample h is the colour of the row's other samples and v the column's."""
    c = b[i, j]
    hs = b[i, j - 1] + b[i, j + 1]
    vs = b[i - 1, j] + b[i + 1, j]
    ds = (b[i - 1, j - 1] + b[i - 1, j + 1]) + (b[i + 1, j - 1] + b[i + 1, j + 1])
    q = np.float32(0.25)
    half = np.float32(0.5)
    if on_rb:
        return c, (hs + vs) * q, ds * q
    return hs * half, c, vs * half


def bilinear(mosaic, pattern: str, out: np.ndarray | None = None) -> np.ndarray:
    """Demosaic an (H, W) float32 Bayer mosaic to (H, W, 3) float32 RGB by bilinear interpolation.

    `out`, if given, is a C-contiguous (H, W, 3) float32 array to write into (and return).
    """
    m, ry, rx = prepare(mosaic, pattern)
    out = output(m, out)
    from kernels.demosaic._linear import BILINEAR, PAD, linear  # the driver imports this module

    linear(m, ry, rx, out, strip_scratch(m, PAD), BILINEAR)
    return out
