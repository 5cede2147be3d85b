"""Malvar-He-Cutler demosaicing: bilinear interpolation corrected by the Laplacian of the
sample's own channel, as fixed 5x5 linear filters.

Reference: H. S. Malvar, L.-W. He, R. Cutler, "High-quality linear interpolation for
demosaicing of Bayer-patterned color images", Proc. IEEE ICASSP 2004, vol. 3, pp. 485-488
(the filters of its figure 2, gains 1/2, 5/8, 3/4).
"""
import numba as nb
import numpy as np

from kernels.demosaic._common import output, prepare, strip_scratch


@nb.njit(inline="always")
def pixel(b, i, j, on_rb):
    """(h, g, v) at b[i, j], laid out as in `bilinear.pixel`."""
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


def malvar2004(mosaic, pattern: str, out: np.ndarray | None = None) -> np.ndarray:
    """Demosaic an (H, W) float32 Bayer mosaic to (H, W, 3) float32 RGB with Malvar et al. 2004.

    `out`, if given, is a C-contiguous (H, W, 3) float32 array to write into (and return).
    """
    m, ry, rx = prepare(mosaic, pattern)
    out = output(m, out)
    from kernels.demosaic._linear import MALVAR, PAD, linear  # the driver imports this module

    linear(m, ry, rx, out, strip_scratch(m, PAD), MALVAR)
    return out
