"""Ratio Corrected Demosaicing (RCD).

Reference: L. Sanz Rodríguez, "Ratio Corrected Demosaicing", release 2.3 (2017),
https://github.com/LuisSR/RCD-Demosaicing, the default Bayer demosaicer of RawTherapee and
darktable. Steps: (1) horizontal/vertical discrimination from squared high-pass filters of
the mosaic along columns and rows, which does not depend on colour; (2) a 3x3 low-pass of the
mosaic; (3) green at red/blue from the four cardinal green neighbours, each corrected by the
ratio of low-pass values and weighted by inverse gradients, blended by the (neighbourhood-
refined) discrimination; (4) red/blue at blue/red along the P/Q diagonals the same way, then
red/blue at green along rows and columns, on colour differences.

Why RCD over LMMSE or residual interpolation: it is the one production raw developers chose as
their default, it needs no iteration or regression (so it runs as a few stencil passes over
row strips, fusable into a pipeline), and its ratio correction avoids the overshoot of
colour-difference methods on hard, saturated edges: on McMaster-18 it scores 36.1 dB against
34.2 for Menon 2007. Its price is Kodak-24 (37.0 dB against 39.3); adaptive residual
interpolation (Monno et al. 2015) is stronger on both sets but iterative and several times
slower.

Schedule: the frame is cut in tiles of TH x TW pixels, shared dynamically between the threads
(as RawTherapee's and librtprocess's tiled RCD by I. Weyrich); each tile is loaded with a
PAD-pixel mirrored margin, split into per-site half-resolution planes (`_common.load_tile`),
run through the steps below as unit-stride loops over only the sites that need each value and
only the margin the later steps read, and interleaved into the output. A tile's planes stay in
the core's L2 cache.

Shared terms, computed once per site instead of once per use:
- green's gradients: the sum over four pixel steps of |c(r - 1) - c(r + 1)| along a line is
  the sum of two per-site terms A(r) = |c(r - 1) - c(r + 1)| + |c(r - 2) - c(r)| (one plane
  per direction), so N = (eps + A(0)) + A(-2) and S = (eps + A(1)) + A(3) (bit-identical to
  the direct sums);
- green's low-pass ratios: the ratio between two red/blue sites two pixels apart is taken
  once, with the symmetric denominator eps + (L0 + L2) (the reference's (eps + L0) + L2
  differs by one rounding), and serves the north estimate of the lower site and, negated
  (exactly), the south estimate of the upper one;
- red/blue at green: |C(-1) - C(1)| is shared by the two estimates along a line and the
  green gradients by red and blue.

Deviations: the low-pass is clamped at 0 so the ratio stays in [0, 2] for noisy
black-subtracted input; green and red/blue are not clamped to [0, 1] after each step (values
above 1 are kept); the discrimination d in [0, 1] is carried as s = 2d - 1 = (V - H) / (V + H)
so that flipping the mosaic flips the result exactly. `tests/kernels/rcd_reference.py`
transcribes the author's C whole-frame in numpy; the kernel matches it to float32 rounding
(the tests say where not), and on the full sets the C's clamping is worth 0.002 dB
(37.006 / 36.134 against 37.004 / 36.132).
"""
import numba as nb
import numpy as np
from numba.extending import register_jitable

from kernels.demosaic._common import at as _at, krange, output, prepare, put as _put, load_tile_n, store_tile_n, tile_count
from kernels.demosaic._common import tile_scratch

TH, TW = 64, 256  # output rows and columns of a tile
CHUNK = 2  # tiles a thread takes at a time: dynamic, so a core slowed by other load takes fewer
PAD = 10  # reach of the last step (red/blue at green) back to the mosaic
S = (TW // 2 + PAD + 2 + 7) // 8 * 8  # row stride of the half-resolution planes
PL = (TH + 2 * PAD) * S  # plane size
# Plane offsets in a tile's flat scratch. X: red/blue sites, G: green sites.
CX, CG, HVX, HVG, HHX, HHG, VHX, VHG, LPF, GX, RX, BX = [n * PL for n in range(12)]
NPLANES = 12
AVX, AVG, AHX, AHG = HVX, HVG, HHX, HHG  # green's gradient terms, once the directions are done
RV, RH = RX, BX  # green's low-pass ratios, before red and blue are computed
HP, HQ = HVX, HHX  # diagonal high-pass responses, once green is done
RG, BG = HVG, HHG  # red and blue at green sites
PQ = LPF  # diagonal discrimination, once green is done
GEOMETRY = (TH, TW, PAD, S, CX, CG, (RX, GX, BX), (RG, CG, BG))

EPS = np.float32(1e-5)
EPSSQ = np.float32(1e-10)
HALF = np.float32(0.5)
QUARTER = np.float32(0.25)
ONE = np.float32(1)


@register_jitable(error_model="numpy")
def at(t, px, pg, s, p, i, k, di, dj):
    """The plane stored as px at X sites and pg at G sites, at (di, dj) from the site (s, p, i, k)."""
    return _at(t, S, px, pg, s, p, i, k, di, dj)


@register_jitable(error_model="numpy")
def cfa(t, s, p, i, k, di, dj):
    """The mosaic at (di, dj) from the site (s, p, i, k)."""
    return _at(t, S, CX, CG, s, p, i, k, di, dj)


@register_jitable(error_model="numpy")
def put(t, plane, i, k, v):
    _put(t, S, plane, i, k, v)


@register_jitable(error_model="numpy")
def hpf(t, s, p, i, k, di, dj):
    """Squared high-pass response of the mosaic at the site along the direction (di, dj)."""
    v = ((cfa(t, s, p, i, k, -3 * di, -3 * dj) + cfa(t, s, p, i, k, 3 * di, 3 * dj))
         - (cfa(t, s, p, i, k, -di, -dj) + cfa(t, s, p, i, k, di, dj))
         - np.float32(3) * (cfa(t, s, p, i, k, -2 * di, -2 * dj) + cfa(t, s, p, i, k, 2 * di, 2 * dj))
         + np.float32(6) * cfa(t, s, p, i, k, 0, 0))
    return v * v


@register_jitable(error_model="numpy")
def refined(t, px, pg, s, p, i, k):
    """The central discrimination, or the mean of the four diagonal ones if that is stronger."""
    n = ((at(t, px, pg, s, p, i, k, -1, -1) + at(t, px, pg, s, p, i, k, -1, 1))
         + (at(t, px, pg, s, p, i, k, 1, -1) + at(t, px, pg, s, p, i, k, 1, 1))) * QUARTER
    c = at(t, px, pg, s, p, i, k, 0, 0)
    return n if abs(c) < abs(n) else c


@register_jitable(error_model="numpy")
def blend(s, along_p, along_q):
    """Estimate from the two directions; s > 0 (structure along p) favours along_q."""
    return (along_p + along_q) * HALF + s * (along_q - along_p) * HALF


@register_jitable(error_model="numpy")
def pair(g_m, g_p, e_m, e_p):
    """Inverse-gradient weighted mean of the estimates e_m, e_p from the two sides."""
    return (g_p * e_m + g_m * e_p) / (g_m + g_p)


# 1. Directions: squared high-pass along columns and rows, then (V - H) / (V + H).

@nb.njit(inline="always")
def _hpf_row(t, i, s, p, jlo, jhi):
    dv, dh = (HVX, HHX) if s == 0 else (HVG, HHG)
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):
        put(t, dv, i, k, hpf(t, s, p, i, k, 1, 0))
        put(t, dh, i, k, hpf(t, s, p, i, k, 0, 1))


@nb.njit(inline="always")
def _vh_row(t, i, s, p, jlo, jhi):
    dst = VHX if s == 0 else VHG
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):
        sv = max(EPSSQ, at(t, HVX, HVG, s, p, i, k, 0, 0)
                 + (at(t, HVX, HVG, s, p, i, k, -1, 0) + at(t, HVX, HVG, s, p, i, k, 1, 0)))
        sh = max(EPSSQ, at(t, HHX, HHG, s, p, i, k, 0, 0)
                 + (at(t, HHX, HHG, s, p, i, k, 0, -1) + at(t, HHX, HHG, s, p, i, k, 0, 1)))
        put(t, dst, i, k, (sv - sh) / (sv + sh))


@nb.njit(cache=True, error_model="numpy")
def _directions(t, th, tw, sx):
    """Discrimination at X sites within 6 px of the output (green reads it at their diagonal
    neighbours), at G sites within 1 px (red/blue at green reads it there)."""
    j0 = PAD + sx
    for i in range(PAD - 7, PAD + th + 7):
        if i & 1:
            _hpf_row(t, i, 0, 1, j0 - 7, j0 + tw + 7)
            _hpf_row(t, i, 1, 0, j0 - 7, j0 + tw + 7)
        else:
            _hpf_row(t, i, 0, 0, j0 - 7, j0 + tw + 7)
            _hpf_row(t, i, 1, 1, j0 - 7, j0 + tw + 7)
    for i in range(PAD - 6, PAD + th + 6):
        if i & 1:
            _vh_row(t, i, 0, 1, j0 - 6, j0 + tw + 6)
        else:
            _vh_row(t, i, 0, 0, j0 - 6, j0 + tw + 6)
    for i in range(PAD - 1, PAD + th + 1):
        if i & 1:
            _vh_row(t, i, 1, 0, j0 - 1, j0 + tw + 1)
        else:
            _vh_row(t, i, 1, 1, j0 - 1, j0 + tw + 1)


# 2. Low-pass of the mosaic at X sites, clamped at 0; green's shared terms; 3. green at X sites.

@nb.njit(inline="always")
def _lpf_row(t, i, p, jlo, jhi):
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):
        v = cfa(t, 0, p, i, k, 0, 0) + HALF * (
            (cfa(t, 0, p, i, k, -1, 0) + cfa(t, 0, p, i, k, 1, 0))
            + (cfa(t, 0, p, i, k, 0, -1) + cfa(t, 0, p, i, k, 0, 1))) + QUARTER * (
            (cfa(t, 0, p, i, k, -1, -1) + cfa(t, 0, p, i, k, -1, 1))
            + (cfa(t, 0, p, i, k, 1, -1) + cfa(t, 0, p, i, k, 1, 1)))
        put(t, LPF, i, k, max(np.float32(0), v))


@register_jitable(error_model="numpy")
def absdiffs(t, s, p, i, k, di, dj):
    """A = |c(-1) - c(1)| + |c(-2) - c(0)| along the direction (di, dj) from the site."""
    return (abs(cfa(t, s, p, i, k, -di, -dj) - cfa(t, s, p, i, k, di, dj))
            + abs(cfa(t, s, p, i, k, -2 * di, -2 * dj) - cfa(t, s, p, i, k, 0, 0)))


@nb.njit(inline="always")
def _absdiff_row(t, i, s, p, jlo, jhi, di, dj, dst):
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):
        put(t, dst, i, k, absdiffs(t, s, p, i, k, di, dj))


@nb.njit(inline="always")
def _absdiff_rows(t, i, jlo, jhi, di, dj, px, pg):
    """A along (di, dj) at both site types of buffer row i, into planes px (X) and pg (G)."""
    if i & 1:
        _absdiff_row(t, i, 0, 1, jlo, jhi, di, dj, px)
        _absdiff_row(t, i, 1, 0, jlo, jhi, di, dj, pg)
    else:
        _absdiff_row(t, i, 0, 0, jlo, jhi, di, dj, px)
        _absdiff_row(t, i, 1, 1, jlo, jhi, di, dj, pg)


@nb.njit(inline="always")
def _ratio_row(t, i, p, jlo, jhi, di, dj, dst):
    """(L0 - L) / (eps + (L0 + L)) between the X site and the X site at (-2di, -2dj)."""
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):
        l0 = at(t, LPF, LPF, 0, p, i, k, 0, 0)
        ln = at(t, LPF, LPF, 0, p, i, k, -2 * di, -2 * dj)
        put(t, dst, i, k, (l0 - ln) / (EPS + (l0 + ln)))


@register_jitable(error_model="numpy")
def green_pair(t, p, i, k, di, dj, a, r):
    """Inverse-gradient weighted ratio-corrected estimate of green at the X site from its two
    neighbours along (di, dj); a: the plane pair of A terms, r: the ratio plane."""
    g_m = (EPS + at(t, a[0], a[1], 0, p, i, k, 0, 0)) + at(t, a[0], a[1], 0, p, i, k, -2 * di, -2 * dj)
    g_p = (EPS + at(t, a[0], a[1], 0, p, i, k, di, dj)) + at(t, a[0], a[1], 0, p, i, k, 3 * di, 3 * dj)
    e_m = cfa(t, 0, p, i, k, -di, -dj) * (ONE + at(t, r, r, 0, p, i, k, 0, 0))
    e_p = cfa(t, 0, p, i, k, di, dj) * (ONE - at(t, r, r, 0, p, i, k, 2 * di, 2 * dj))
    return pair(g_m, g_p, e_m, e_p)


@nb.njit(inline="always")
def _green_row(t, i, p, jlo, jhi):
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):
        v = green_pair(t, p, i, k, 1, 0, (AVX, AVG), RV)
        h = green_pair(t, p, i, k, 0, 1, (AHX, AHG), RH)
        put(t, GX, i, k, blend(refined(t, VHX, VHG, 0, p, i, k), v, h))


@nb.njit(cache=True, error_model="numpy")
def _green(t, th, tw, sx):
    """Green at X sites within 5 px of the output (red/blue at X reads it 2 px diagonally)."""
    j0 = PAD + sx
    for i in range(PAD - 7, PAD + th + 7):
        if i & 1:
            _lpf_row(t, i, 1, j0 - 7, j0 + tw + 7)
        else:
            _lpf_row(t, i, 0, j0 - 7, j0 + tw + 7)
    for i in range(PAD - 7, PAD + th + 8):  # A along columns
        _absdiff_rows(t, i, j0 - 5, j0 + tw + 5, 1, 0, AVX, AVG)
    for i in range(PAD - 5, PAD + th + 5):  # A along rows
        _absdiff_rows(t, i, j0 - 7, j0 + tw + 8, 0, 1, AHX, AHG)
    for i in range(PAD - 5, PAD + th + 7):
        if i & 1:
            _ratio_row(t, i, 1, j0 - 5, j0 + tw + 5, 1, 0, RV)
        else:
            _ratio_row(t, i, 0, j0 - 5, j0 + tw + 5, 1, 0, RV)
    for i in range(PAD - 5, PAD + th + 5):
        if i & 1:
            _ratio_row(t, i, 1, j0 - 5, j0 + tw + 7, 0, 1, RH)
            _green_row(t, i, 1, j0 - 5, j0 + tw + 5)
        else:
            _ratio_row(t, i, 0, j0 - 5, j0 + tw + 7, 0, 1, RH)
            _green_row(t, i, 0, j0 - 5, j0 + tw + 5)


# 4.1 Diagonal discrimination at X sites (whose diagonal neighbours are X sites).

@nb.njit(inline="always")
def _hpq_row(t, i, p, jlo, jhi):
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):
        put(t, HP, i, k, hpf(t, 0, p, i, k, 1, 1))
        put(t, HQ, i, k, hpf(t, 0, p, i, k, 1, -1))


@nb.njit(inline="always")
def _pq_row(t, i, p, jlo, jhi):
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):
        sa = max(EPSSQ, at(t, HP, HP, 0, p, i, k, 0, 0)
                 + (at(t, HP, HP, 0, p, i, k, -1, -1) + at(t, HP, HP, 0, p, i, k, 1, 1)))
        sb = max(EPSSQ, at(t, HQ, HQ, 0, p, i, k, 0, 0)
                 + (at(t, HQ, HQ, 0, p, i, k, -1, 1) + at(t, HQ, HQ, 0, p, i, k, 1, -1)))
        put(t, PQ, i, k, (sa - sb) / (sa + sb))


@nb.njit(cache=True, error_model="numpy")
def _diagonals(t, th, tw, sx):
    """P/Q discrimination (> 0 where Q is smoother) at X sites within 4 px of the output."""
    j0 = PAD + sx
    for i in range(PAD - 5, PAD + th + 5):
        if i & 1:
            _hpq_row(t, i, 1, j0 - 5, j0 + tw + 5)
        else:
            _hpq_row(t, i, 0, j0 - 5, j0 + tw + 5)
    for i in range(PAD - 4, PAD + th + 4):
        if i & 1:
            _pq_row(t, i, 1, j0 - 4, j0 + tw + 4)
        else:
            _pq_row(t, i, 0, j0 - 4, j0 + tw + 4)


# 4.2 Red and blue at X sites: the sample, and the other colour along the P/Q diagonals.

@register_jitable(error_model="numpy")
def diagonal_side(t, p, i, k, di, dj):
    """Gradient and colour difference from the diagonal neighbour at (di, dj) of an X site,
    which holds the other colour."""
    grad = EPS + (abs(cfa(t, 0, p, i, k, -di, -dj) - cfa(t, 0, p, i, k, di, dj))
                  + abs(cfa(t, 0, p, i, k, di, dj) - cfa(t, 0, p, i, k, 3 * di, 3 * dj))) + abs(
        at(t, GX, CG, 0, p, i, k, 0, 0) - at(t, GX, CG, 0, p, i, k, 2 * di, 2 * dj))
    return grad, cfa(t, 0, p, i, k, di, dj) - at(t, GX, CG, 0, p, i, k, di, dj)


@nb.njit(inline="always")
def _red_blue_row(t, i, p, jlo, jhi, own, other):
    """own: the plane of the row's own colour (RX or BX), other: the other one. Planes, not a
    flag: a select on a flag inlined from a caller stops the vectoriser."""
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):
        g_nw, e_nw = diagonal_side(t, p, i, k, -1, -1)
        g_se, e_se = diagonal_side(t, p, i, k, 1, 1)
        g_ne, e_ne = diagonal_side(t, p, i, k, -1, 1)
        g_sw, e_sw = diagonal_side(t, p, i, k, 1, -1)
        o = at(t, GX, CG, 0, p, i, k, 0, 0) + blend(refined(t, PQ, PQ, 0, p, i, k), pair(g_nw, g_se, e_nw, e_se),
                                                    pair(g_ne, g_sw, e_ne, e_sw))
        c = cfa(t, 0, p, i, k, 0, 0)
        put(t, own, i, k, c)
        put(t, other, i, k, o)


@nb.njit(cache=True, error_model="numpy")
def _red_blue(t, th, tw, sx, ry):
    """Red and blue at X sites within 3 px of the output (red/blue at green reads them there)."""
    j0 = PAD + sx
    for i in range(PAD - 3, PAD + th + 3):
        if i & 1:
            if ry == 1:
                _red_blue_row(t, i, 1, j0 - 3, j0 + tw + 3, RX, BX)
            else:
                _red_blue_row(t, i, 1, j0 - 3, j0 + tw + 3, BX, RX)
        else:
            if ry == 0:
                _red_blue_row(t, i, 0, j0 - 3, j0 + tw + 3, RX, BX)
            else:
                _red_blue_row(t, i, 0, j0 - 3, j0 + tw + 3, BX, RX)


# 4.3 Red and blue at G sites along rows and columns, on colour differences.

@register_jitable(error_model="numpy")
def colour_pair(t, c, p, i, k, di, dj, gg_m, gg_p):
    """Inverse-gradient weighted colour difference of plane c (held at X sites) at a G site from
    its two neighbours along (di, dj); gg_m, gg_p: eps + the green gradient on each side."""
    cm = at(t, c, c, 1, p, i, k, -di, -dj)
    cp = at(t, c, c, 1, p, i, k, di, dj)
    d = abs(cm - cp)
    g_m = (gg_m + d) + abs(cm - at(t, c, c, 1, p, i, k, -3 * di, -3 * dj))
    g_p = (gg_p + d) + abs(cp - at(t, c, c, 1, p, i, k, 3 * di, 3 * dj))
    e_m = cm - at(t, GX, CG, 1, p, i, k, -di, -dj)
    e_p = cp - at(t, GX, CG, 1, p, i, k, di, dj)
    return pair(g_m, g_p, e_m, e_p)


@register_jitable(error_model="numpy")
def green_grad(t, p, i, k, di, dj):
    """eps + |G(0) - G(2 (di, dj))| at a G site."""
    return EPS + abs(at(t, GX, CG, 1, p, i, k, 0, 0) - at(t, GX, CG, 1, p, i, k, 2 * di, 2 * dj))


@nb.njit(inline="always")
def _at_green_row(t, i, p, jlo, jhi):
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):
        s = refined(t, VHX, VHG, 1, p, i, k)
        g0 = at(t, GX, CG, 1, p, i, k, 0, 0)
        gn, gs = green_grad(t, p, i, k, -1, 0), green_grad(t, p, i, k, 1, 0)
        gw, ge = green_grad(t, p, i, k, 0, -1), green_grad(t, p, i, k, 0, 1)
        r = g0 + blend(s, colour_pair(t, RX, p, i, k, 1, 0, gn, gs), colour_pair(t, RX, p, i, k, 0, 1, gw, ge))
        b = g0 + blend(s, colour_pair(t, BX, p, i, k, 1, 0, gn, gs), colour_pair(t, BX, p, i, k, 0, 1, gw, ge))
        put(t, RG, i, k, r)
        put(t, BG, i, k, b)


@nb.njit(cache=True, error_model="numpy")
def _red_blue_at_green(t, th, tw, sx):
    j0 = PAD + sx
    for i in range(PAD, PAD + th):
        if i & 1:
            _at_green_row(t, i, 0, j0, j0 + tw)
        else:
            _at_green_row(t, i, 1, j0, j0 + tw)


@nb.njit(cache=True, error_model="numpy")
def _steps(t, th, tw, sx, ry):
    _directions(t, th, tw, sx)
    _green(t, th, tw, sx)
    _diagonals(t, th, tw, sx)
    _red_blue(t, th, tw, sx, ry)
    _red_blue_at_green(t, th, tw, sx)


@nb.njit(cache=True, error_model="numpy")
def _tile(m, n, ry, sx, out, t):
    y0, x0, th, tw = load_tile_n(m, n, sx, t, GEOMETRY)
    _steps(t, th, tw, sx, ry)
    store_tile_n(t, out, y0, x0, th, tw, sx, GEOMETRY)


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _rcd(m, ry, sx, out, scratch):
    for n in nb.prange(tile_count(m.shape[0], m.shape[1], TH, TW)):
        _tile(m, np.int64(n), ry, sx, out, scratch[nb.get_thread_id()])


def rcd(mosaic, pattern: str, out: np.ndarray | None = None) -> np.ndarray:
    """Demosaic an (H, W) float32 Bayer mosaic to (H, W, 3) float32 RGB with RCD.

    `out`, if given, is a C-contiguous (H, W, 3) float32 array to write into (and return).
    """
    m, ry, rx = prepare(mosaic, pattern)
    out = output(m, out)
    with nb.parallel_chunksize(CHUNK):
        _rcd(m, ry, (ry + rx) & 1, out, tile_scratch(NPLANES, PL))
    return out
