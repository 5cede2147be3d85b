"""LUT kernels: 1D (per channel, regular or irregular domain), 3D (trilinear, tetrahedral), ASC CDL.

The semantics are OpenColorIO's CPU processor's, which the tests compare against:
- an input is mapped from the LUT's domain [lo, hi] to index space [0, n-1] and clamped there, so
  values outside the domain take the edge entries; NaN inputs index as the domain's low end;
- 1D LUTs interpolate linearly; 3D LUTs trilinearly or tetrahedrally (one of the six tetrahedra of
  the cube cell, chosen by the order of the fractional coordinates).

Per-pixel maths in `@njit(inline="always")` helpers for a fused pass:
  lut1d_value(x, table, c, lo, scale) -> float32
  lut1d_irregular_value(x, xs, ys) -> float32
  lut3d_tetrahedral(r, g, b, flat, n, lo, scale) -> (r, g, b)
  lut3d_trilinear(r, g, b, flat, n, lo, scale) -> (r, g, b)
  cdl_value(r, g, b, slope, offset, power, sat, clamp) -> (r, g, b)
Image drivers take pixels as (P, 3) float32 (a reshaped (H, W, 3) image) and an `out` of the same
shape, which may be the input itself.

3D tables are passed flattened: `flat = table.reshape(-1)` of a C-contiguous (n, n, n, 3) float32
table indexed [r, g, b, channel] (colour-science's LUT3D layout). `lo` and `scale` are float32
(3,) arrays: index = (x - lo) * scale, with scale = (n - 1) / (hi - lo).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(inline="always", cache=True)
def _index(x, lo, scale, top):
    """Index-space coordinate of x, clamped to [0, top]; NaN -> 0."""
    v = (x - lo) * scale
    if not v > np.float32(0.0):
        v = np.float32(0.0)
    if v > top:
        v = top
    return v


@njit(inline="always", cache=True)
def lut1d_value(x, table, c, lo, scale):
    """Linear interpolation of column `c` of an (n, 3) float32 table at x (domain lo .. lo + (n-1)/scale)."""
    n = table.shape[0]
    top = np.float32(n - 1)
    v = _index(np.float32(x), lo, scale, top)
    i = np.int64(v)
    if i > n - 2:
        i = n - 2
    f = v - np.float32(i)
    a = table[i, c]
    return a + f * (table[i + 1, c] - a)


@njit(inline="always", cache=True)
def lut1d_irregular_value(x, xs, ys):
    """Piecewise-linear interpolation through (xs[k], ys[k]) (xs increasing), clamped at the ends."""
    n = xs.shape[0]
    x = np.float32(x)
    if not x > xs[0]:
        return ys[0]
    if x >= xs[n - 1]:
        return ys[n - 1]
    lo = 0
    hi = n - 1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if xs[mid] <= x:
            lo = mid
        else:
            hi = mid
    f = (x - xs[lo]) / (xs[hi] - xs[lo])
    return ys[lo] + f * (ys[hi] - ys[lo])


@njit(inline="always", cache=True)
def _cell(r, g, b, n, lo, scale):
    """Flat offset (uint64: no negative-index handling) of the cube cell holding (r, g, b), and the
    fractional coordinates. Clamps use float min/max so no data-dependent branch is left."""
    top = np.float32(n - 1)
    z = np.float32(0.0)
    vr = (np.float32(r) - lo[0]) * scale[0]
    vg = (np.float32(g) - lo[1]) * scale[1]
    vb = (np.float32(b) - lo[2]) * scale[2]
    vr = min(vr if vr > z else z, top)  # NaN -> 0
    vg = min(vg if vg > z else z, top)
    vb = min(vb if vb > z else z, top)
    ir = min(np.int64(vr), n - 2)
    ig = min(np.int64(vg), n - 2)
    ib = min(np.int64(vb), n - 2)
    fr = vr - np.float32(ir)
    fg = vg - np.float32(ig)
    fb = vb - np.float32(ib)
    nn = np.uint64(n)
    base = ((np.uint64(ir) * nn + np.uint64(ig)) * nn + np.uint64(ib)) * np.uint64(3)
    return base, fr, fg, fb


@njit(inline="always", cache=True)
def _corners(flat, base, n, k, w000, w001, w010, w011, w100, w101, w110, w111):
    """Weighted sum of channel k over the 8 corners of the cell at `base`."""
    sb = np.uint64(3)
    sg = np.uint64(n) * sb
    sr = np.uint64(n) * sg
    b0 = base + np.uint64(k)
    b010 = b0 + sg
    b100 = b0 + sr
    b110 = b100 + sg
    return (w000 * flat[b0] + w001 * flat[b0 + sb] + w010 * flat[b010] + w011 * flat[b010 + sb]
            + w100 * flat[b100] + w101 * flat[b100 + sb] + w110 * flat[b110] + w111 * flat[b110 + sb])


@njit(inline="always", cache=True)
def lut3d_tetrahedral(r, g, b, flat, n, lo, scale):
    """Tetrahedral interpolation of a flattened (n, n, n, 3) table at (r, g, b).

    Branch-free: every corner of the cell gets its tetrahedral weight from min/max of the
    fractional coordinates (fr, fg, fb); the four corners of the tetrahedron holding the point
    get 1 - max, max - mid, mid - min and min, the other four exactly 0. With the fractions
    sorted f1 >= f2 >= f3 this is OCIO's (1-f1) c000 + (f1-f2) c_1 + (f2-f3) c_12 + f3 c111.
    A branchy six-case version mispredicts on real images and runs about 2x slower.
    """
    base, fr, fg, fb = _cell(r, g, b, n, lo, scale)
    z = np.float32(0.0)
    m_rg = max(fr, fg)
    n_rg = min(fr, fg)
    w000 = np.float32(1.0) - max(m_rg, fb)
    w111 = min(n_rg, fb)
    w100 = max(fr - max(fg, fb), z)
    w010 = max(fg - max(fr, fb), z)
    w001 = max(fb - m_rg, z)
    w110 = max(n_rg - fb, z)
    w101 = max(min(fr, fb) - fg, z)
    w011 = max(min(fg, fb) - fr, z)
    return (_corners(flat, base, n, 0, w000, w001, w010, w011, w100, w101, w110, w111),
            _corners(flat, base, n, 1, w000, w001, w010, w011, w100, w101, w110, w111),
            _corners(flat, base, n, 2, w000, w001, w010, w011, w100, w101, w110, w111))


@njit(inline="always", cache=True)
def lut3d_trilinear(r, g, b, flat, n, lo, scale):
    """Trilinear interpolation of a flattened (n, n, n, 3) table at (r, g, b)."""
    base, fr, fg, fb = _cell(r, g, b, n, lo, scale)
    one = np.float32(1.0)
    gr = one - fr
    gg = one - fg
    gb = one - fb
    w00 = gr * gg
    w01 = gr * fg
    w10 = fr * gg
    w11 = fr * fg
    w000 = w00 * gb
    w001 = w00 * fb
    w010 = w01 * gb
    w011 = w01 * fb
    w100 = w10 * gb
    w101 = w10 * fb
    w110 = w11 * gb
    w111 = w11 * fb
    return (_corners(flat, base, n, 0, w000, w001, w010, w011, w100, w101, w110, w111),
            _corners(flat, base, n, 1, w000, w001, w010, w011, w100, w101, w110, w111),
            _corners(flat, base, n, 2, w000, w001, w010, w011, w100, w101, w110, w111))


@njit(inline="always", cache=True)
def _clamp01(v):
    """v clamped to [0, 1]; NaN -> 0 (as OCIO)."""
    if not v > np.float32(0.0):
        return np.float32(0.0)
    if v > np.float32(1.0):
        return np.float32(1.0)
    return v


@njit(inline="always", cache=True)
def cdl_channel(x, slope, offset, power, clamp):
    """The CDL's slope, offset and power on one channel value (see `cdl_value` for `clamp`)."""
    v = x * slope + offset
    if clamp:
        return _clamp01(v) ** power
    if v > np.float32(0.0):
        return v ** power
    if v != v:  # NaN -> 0, as OCIO
        return np.float32(0.0)
    return v


@njit(inline="always", cache=True)
def cdl_saturation(r, g, b, sat, clamp):
    """The CDL's saturation on one pixel, with Rec.709 luma weights, as the spec says."""
    luma = np.float32(0.2126) * r + np.float32(0.7152) * g + np.float32(0.0722) * b
    r = luma + sat * (r - luma)
    g = luma + sat * (g - luma)
    b = luma + sat * (b - luma)
    if clamp:
        r = _clamp01(r)
        g = _clamp01(g)
        b = _clamp01(b)
    return r, g, b


@njit(inline="always", cache=True)
def cdl_value(r, g, b, slope, offset, power, sat, clamp):
    """ASC CDL v1.2 on one pixel: out = clamp(luma + sat * (sop - luma)), sop = (in*slope+offset)**power.

    `clamp` True is the ASC v1.2 style (clamp to [0, 1] before the power and after the saturation);
    False is OpenColorIO's default CDL_NO_CLAMP (no clamps; the power leaves values <= 0 alone).
    """
    r = cdl_channel(np.float32(r), slope[0], offset[0], power[0], clamp)
    g = cdl_channel(np.float32(g), slope[1], offset[1], power[1], clamp)
    b = cdl_channel(np.float32(b), slope[2], offset[2], power[2], clamp)
    return cdl_saturation(r, g, b, sat, clamp)


# ---------------------------------------------------------------------------------------------
# image drivers
# ---------------------------------------------------------------------------------------------
@njit(parallel=True, cache=True)
def apply_lut1d(pixels, table, lo, scale, out):
    """Per-channel 1D LUT: out[p, c] = table[:, c] at pixels[p, c]; table (n, 3) float32."""
    npx = pixels.shape[0]
    for p in prange(npx):
        for c in range(3):
            out[p, c] = lut1d_value(pixels[p, c], table, c, lo[c], scale[c])
    return out


@njit(parallel=True, cache=True)
def apply_lut1d_irregular(pixels, xs, ys, out):
    """Per-channel 1D LUT through points (xs[:, c], ys[:, c]); xs, ys (n, 3) float32."""
    npx = pixels.shape[0]
    for p in prange(npx):
        for c in range(3):
            out[p, c] = lut1d_irregular_value(pixels[p, c], xs[:, c], ys[:, c])
    return out


# Only FMA contraction (a*b+c in one rounding): NaN/inf handling is untouched, results move by
# ~1 ulp, and the 3D LUT loop gets ~25% faster.
_CONTRACT = {"contract"}

_BLOCK = 4096  # pixels per parallel task: amortises the scheduling, keeps the loop simple


@njit(parallel=True, cache=True, fastmath=_CONTRACT)
def apply_lut3d_tetrahedral(pixels, flat, n, lo, scale, out):
    """Tetrahedral 3D LUT on (P, 3) float32 pixels."""
    npx = pixels.shape[0]
    nblocks = (npx + _BLOCK - 1) // _BLOCK
    for blk in prange(nblocks):
        end = min(npx, (blk + 1) * _BLOCK)
        for p in range(blk * _BLOCK, end):
            r, g, b = lut3d_tetrahedral(pixels[p, 0], pixels[p, 1], pixels[p, 2], flat, n, lo, scale)
            out[p, 0] = r
            out[p, 1] = g
            out[p, 2] = b
    return out


@njit(parallel=True, cache=True, fastmath=_CONTRACT)
def apply_lut3d_trilinear(pixels, flat, n, lo, scale, out):
    """Trilinear 3D LUT on (P, 3) float32 pixels."""
    npx = pixels.shape[0]
    nblocks = (npx + _BLOCK - 1) // _BLOCK
    for blk in prange(nblocks):
        end = min(npx, (blk + 1) * _BLOCK)
        for p in range(blk * _BLOCK, end):
            r, g, b = lut3d_trilinear(pixels[p, 0], pixels[p, 1], pixels[p, 2], flat, n, lo, scale)
            out[p, 0] = r
            out[p, 1] = g
            out[p, 2] = b
    return out


@njit(parallel=True, cache=True, fastmath=_CONTRACT)
def apply_shaper_lut3d(pixels, shaper, shaper_lo, shaper_scale, flat, n, lo, scale, tetrahedral, out):
    """A per-channel 1D shaper (n1, 3) followed by a 3D LUT, in one pass (Resolve .cube 1D + 3D)."""
    npx = pixels.shape[0]
    nblocks = (npx + _BLOCK - 1) // _BLOCK
    for blk in prange(nblocks):
        end = min(npx, (blk + 1) * _BLOCK)
        for p in range(blk * _BLOCK, end):
            r = lut1d_value(pixels[p, 0], shaper, 0, shaper_lo[0], shaper_scale[0])
            g = lut1d_value(pixels[p, 1], shaper, 1, shaper_lo[1], shaper_scale[1])
            b = lut1d_value(pixels[p, 2], shaper, 2, shaper_lo[2], shaper_scale[2])
            if tetrahedral:
                r, g, b = lut3d_tetrahedral(r, g, b, flat, n, lo, scale)
            else:
                r, g, b = lut3d_trilinear(r, g, b, flat, n, lo, scale)
            out[p, 0] = r
            out[p, 1] = g
            out[p, 2] = b
    return out


@njit(parallel=True, cache=True)
def apply_cdl(pixels, slope, offset, power, sat, clamp, out):
    """ASC CDL on (P, 3) float32 pixels; slope, offset, power float32 (3,), sat float32."""
    npx = pixels.shape[0]
    for p in prange(npx):
        r, g, b = cdl_value(pixels[p, 0], pixels[p, 1], pixels[p, 2], slope, offset, power, sat, clamp)
        out[p, 0] = r
        out[p, 1] = g
        out[p, 2] = b
    return out


@njit(parallel=True, cache=True)
def apply_matrix_offset(pixels, m, offset, out):
    """out[p] = m @ pixels[p] + offset (colour-science's LUTOperatorMatrix, OCIO's MatrixTransform)."""
    npx = pixels.shape[0]
    for p in prange(npx):
        r = pixels[p, 0]
        g = pixels[p, 1]
        b = pixels[p, 2]
        out[p, 0] = m[0, 0] * r + m[0, 1] * g + m[0, 2] * b + offset[0]
        out[p, 1] = m[1, 0] * r + m[1, 1] * g + m[1, 2] * b + offset[1]
        out[p, 2] = m[2, 0] * r + m[2, 1] * g + m[2, 2] * b + offset[2]
    return out
