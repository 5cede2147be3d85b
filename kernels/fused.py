"""The per-pixel end of the pipeline in one pass: camera RGB -> output colour space (3x3) ->
transfer function -> ASC CDL -> 1D shaper -> 3D LUT -> quantisation to the output's integers.

Halide's `camera_pipe` schedule in numba terms: the maths is the inline per-value functions of
`kernels.colour` and `kernels.lut`; this driver only decides the loop, so a frame (or a strip of
rows of it, see `isp.pipeline`) is read once and written once instead of once per stage.

Grade parameters travel as two tuples so the signature stays readable:
    cdl = (on, slope, offset, power, saturation, clamp)      slope/offset/power float32 (3,)
    lut = (shaper_on, shaper, shaper_lo, shaper_scale,       shaper (n1, 3) float32
           cube_on, flat, n, lo, scale, tetrahedral)         flat n*n*n*3 float32 table
`quantise` = 0 keeps floats; 255 or 65535 clips to [0, 1] and rounds to that integer range.

The transfer function and the CDL's slope/offset/power are per-channel curves of one value, so
they are evaluated together through a table (`curve_tables`) indexed by the bits of the float32
input, as half-float LUTs are: 1024 cells per octave for magnitudes from 2^-14 to 2^8 (each
sign its own half: noise around black goes negative), linear within a cell,
which keeps the error near 1e-6 of the exact curve (the tests hold it there); inputs outside
that range, NaN, and cells where a piecewise curve jumps take the exact function. A pow() or log() per channel per
pixel would otherwise be most of the pass's time.
"""
import numba as nb
import numpy as np

from kernels.colour import encode_value, mat3_apply
from kernels.lut import cdl_channel, cdl_saturation, lut1d_value, lut3d_tetrahedral, lut3d_trilinear


_MANTISSA_BITS = 10
_LOW_EXP, _HIGH_EXP = -14, 8  # tabulated inputs: [2^-14, 2^8)
_SHIFT = 23 - _MANTISSA_BITS
_BASE = (127 + _LOW_EXP) << _MANTISSA_BITS
_CELLS = (_HIGH_EXP - _LOW_EXP) << _MANTISSA_BITS
_FRAC = np.float32(1.0 / (1 << _SHIFT))


def curve_tables(tf: int, cdl: tuple, tolerance: float = 1e-6) -> np.ndarray:
    """(3, 2 * cells, 2) float32: per channel, (value at the cell's start, rise across the cell) of
    x -> CDL slope/offset/power (when `cdl` is on) of the transfer curve `tf` at x.

    Both are per-channel curves of one value, so one table lookup stands for a pow() or log() of
    the transfer and another of the CDL power. A cell whose midpoint the straight line misses by
    more than `tolerance` (a jump or kink in a piecewise curve, such as BT.709's at 0.018 or the
    CDL's clamp) gets a NaN rise: there the exact curve is used.
    """
    magnitude = (np.arange(_CELLS + 1, dtype=np.int64) + _BASE) << _SHIFT
    tables = np.empty((3, 2 * _CELLS, 2), np.float32)
    for half, sign in enumerate((0, 1 << 31)):  # positive inputs, then negative ones
        starts = (magnitude | sign).astype(np.uint32).view(np.float32)
        mids = ((magnitude[:-1] + (1 << (_SHIFT - 1))) | sign).astype(np.uint32).view(np.float32)
        cells = slice(half * _CELLS, (half + 1) * _CELLS)
        for c in range(3):
            ends = _curve_all(starts, c, tf, cdl).astype(np.float64)
            middle = _curve_all(mids, c, tf, cdl).astype(np.float64)
            tables[c, cells, 0] = ends[:-1]
            tables[c, cells, 1] = ends[1:] - ends[:-1]
            with np.errstate(invalid="ignore"):
                tables[c, cells, 1][np.abs(middle - (ends[:-1] + ends[1:]) / 2) > tolerance] = np.nan
    return tables


@nb.njit(cache=True)
def _curve_all(x, c, tf, cdl):
    out = np.empty(x.size, np.float32)
    for i in range(x.size):
        out[i] = curve_exact(x[i], c, tf, cdl)
    return out


@nb.njit(cache=True)
def curve_exact(x, c, tf, cdl):
    """Channel c's curve computed exactly: the transfer, then the CDL's slope, offset, power.
    A call rather than inlined: rare, and inlining it thrice makes the pass slow to compile."""
    v = np.float32(encode_value(x, tf))
    if cdl[0]:
        v = cdl_channel(v, cdl[1][c], cdl[2][c], cdl[3][c], cdl[5])
    return v


@nb.njit(inline="always", cache=True)
def curve(x, c, tables, tf, cdl):
    """Channel c's curve through `tables` (from curve_tables), exact outside the table's range."""
    bits = np.float32(x).view(np.uint32)
    i = np.int64((bits & 0x7FFFFFFF) >> _SHIFT) - _BASE
    if 0 <= i < _CELLS:
        i += _CELLS * np.int64(bits >> 31)  # negative inputs have their own half of the table
        rise = tables[c, i, 1]
        if not np.isnan(rise):
            return tables[c, i, 0] + np.float32(bits & ((1 << _SHIFT) - 1)) * _FRAC * rise
    return curve_exact(x, c, tf, cdl)


@nb.njit(inline="always", cache=True)
def colour_pixel(r, g, b, m, tf, tables, cdl):
    """One pixel through the matrix, the transfer and CDL curves, and the CDL saturation."""
    r, g, b = mat3_apply(m, r, g, b)
    r = curve(r, 0, tables, tf, cdl)
    g = curve(g, 1, tables, tf, cdl)
    b = curve(b, 2, tables, tf, cdl)
    if cdl[0]:
        r, g, b = cdl_saturation(r, g, b, cdl[4], cdl[5])
    return r, g, b


@nb.njit(inline="always", cache=True)
def lut_pixel(r, g, b, lut):
    """One pixel through the 1D shaper and the 3D cube, each when it is on."""
    if lut[0]:
        r = lut1d_value(r, lut[1], 0, lut[2][0], lut[3][0])
        g = lut1d_value(g, lut[1], 1, lut[2][1], lut[3][1])
        b = lut1d_value(b, lut[1], 2, lut[2][2], lut[3][2])
    if lut[4]:
        if lut[9]:
            r, g, b = lut3d_tetrahedral(r, g, b, lut[5], lut[6], lut[7], lut[8])
        else:
            r, g, b = lut3d_trilinear(r, g, b, lut[5], lut[6], lut[7], lut[8])
    return r, g, b


@nb.njit(inline="always", cache=True)
def quantised(v, quantise):
    """v as stored: unchanged for float output, else clipped to [0, 1] and rounded to 0..quantise."""
    if quantise == 0:
        return v
    return np.floor(min(max(v, np.float32(0.0)), np.float32(1.0)) * quantise + np.float32(0.5))


@nb.njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def finish(src, y0, y1, dst, dst_y0, m, tf, tables, cdl, lut, quantise):
    """Rows y0..y1 of the (H, W, 3) float32 `src`, through colour, grade and quantisation, into
    `dst` from row dst_y0. Each row goes through a small buffer one stage at a time: the LUT's
    loop on its own runs faster than with the colour maths in the same loop body."""
    w = src.shape[1]
    for y in nb.prange(y0, y1):
        oy = dst_y0 + y - y0
        row = np.empty((w, 3), np.float32)
        for x in range(w):
            row[x, 0], row[x, 1], row[x, 2] = colour_pixel(src[y, x, 0], src[y, x, 1], src[y, x, 2], m, tf, tables, cdl)
        if lut[0] or lut[4]:
            for x in range(w):
                row[x, 0], row[x, 1], row[x, 2] = lut_pixel(row[x, 0], row[x, 1], row[x, 2], lut)
        for x in range(w):
            dst[oy, x, 0] = quantised(row[x, 0], quantise)
            dst[oy, x, 1] = quantised(row[x, 1], quantise)
            dst[oy, x, 2] = quantised(row[x, 2], quantise)
    return dst
