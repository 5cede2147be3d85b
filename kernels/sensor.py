"""Sensor correction on the CFA mosaic, in one pass: black level, white level, defective pixels,
white balance and highlight clipping, from the stored uint16 mosaic to normalised float32.

Defective (hot or dead) pixels are found as in Halide's `apps/camera_pipe` hot-pixel suppression
(Ragan-Kelley et al., "Halide: a language and compiler for optimizing parallelism, locality,
and recomputation in image processing pipelines", PLDI 2013): a pixel is compared with its four
nearest neighbours of the same colour (two pixels away); one that stands above their maximum or
below their minimum by more than `threshold` is replaced by the median of the four.
White balance multiplies each CFA site by its channel's gain; `clip` then caps every value at the
lowest balanced saturation level so that blown highlights stay neutral instead of turning magenta
(dcraw/LibRaw's highlight mode 0).
"""
import numba as nb
import numpy as np

from kernels.wb import wb_value


@nb.njit(inline="always", cache=True)
def mirror(i, n):
    """Index i reflected into [0, n) about the edge pixels (…2 1 | 0 1 2 … n-1 | n-2 …)."""
    if i < 0:
        i = -i
    if i >= n:
        i = 2 * n - 2 - i
    return i


@nb.njit(inline="always", cache=True)
def normalised(raw, y, x, black, scale):
    """Pixel (y, x) of a uint16 mosaic with its site's black removed and white scaled to 1."""
    return (np.float32(raw[y, x]) - black[y & 1, x & 1]) * scale[y & 1, x & 1]


@nb.njit(inline="always", cache=True)
def suppress_defect(v, a, b, c, d, threshold):
    """v, or the median of its same-colour neighbours a..d (the mean of the middle two) when v
    stands out of their range by more than threshold. Branch-free, so it vectorises."""
    lo = min(min(a, b), min(c, d))
    hi = max(max(a, b), max(c, d))
    m = (a + b + c + d - lo - hi) * np.float32(0.5)
    outlier = (v > hi + threshold) | (v < lo - threshold)
    return m if outlier else v


@nb.njit(inline="always", cache=True)
def corrected(raw, y, x, black, scale, gain, threshold, clip):
    """The fully corrected value of pixel (y, x): normalised, defect-suppressed, balanced, clipped."""
    h, w = raw.shape
    v = normalised(raw, y, x, black, scale)
    if threshold > 0:
        if 2 <= y < h - 2 and 2 <= x < w - 2:
            a = normalised(raw, y - 2, x, black, scale)
            b = normalised(raw, y + 2, x, black, scale)
            c = normalised(raw, y, x - 2, black, scale)
            d = normalised(raw, y, x + 2, black, scale)
        else:
            a = normalised(raw, mirror(y - 2, h), x, black, scale)
            b = normalised(raw, mirror(y + 2, h), x, black, scale)
            c = normalised(raw, y, mirror(x - 2, w), black, scale)
            d = normalised(raw, y, mirror(x + 2, w), black, scale)
        v = suppress_defect(v, a, b, c, d, threshold)
    return wb_value(v, gain[y & 1, x & 1], clip)


def correct(raw, black, scale, gain, threshold, clip, out=None):
    """Corrected float32 mosaic from a uint16 one.

    black, scale, gain: (2, 2) float32 per CFA site (scale = 1 / (white - black); gain = the
    white-balance multiplier of the site's channel); threshold <= 0 turns defect suppression off;
    clip = np.inf (or any level not > 0) keeps highlights unclipped. out: an optional (H, W) float32 array to write into
    (a reused buffer saves a streaming pipeline the page faults of a fresh one per frame).

    `kernels.denoise.bilateral_cfa(raw, ..., levels=(black, scale), threshold=...)` does this
    (with gain 1) on load, inside the denoiser's single pass.
    """
    raw = np.asarray(raw)
    if out is None:
        out = np.empty(raw.shape, dtype=np.float32)
    elif out.shape != raw.shape or out.dtype != np.float32:
        raise ValueError(f"out must be a float32 array of shape {raw.shape}; got {out.dtype} {out.shape}")
    # canonical argument types (writable float32 (2, 2), float32 scalars): one compiled version per raw dtype
    _correct(raw, site_values(black), site_values(scale), site_values(gain), np.float32(threshold),
             np.float32(clip) if clip > 0 else np.float32(np.inf), out)
    return out


def site_values(v) -> np.ndarray:
    """A scalar or (2, 2) per-CFA-site value as a new writable float32 (2, 2) array."""
    return np.array(np.broadcast_to(np.asarray(v, dtype=np.float32), (2, 2)))


@nb.njit(parallel=True, cache=True, nogil=True)
def _correct(raw, black, scale, gain, threshold, clip, out):
    for y in nb.prange(raw.shape[0]):
        for x in range(raw.shape[1]):
            out[y, x] = corrected(raw, y, x, black, scale, gain, threshold, clip)
