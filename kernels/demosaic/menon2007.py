"""Menon-Andriani-Calvagno demosaicing by directional filtering and a posteriori decision
(DDFAPD), with its refining step.

Reference: D. Menon, S. Andriani, G. Calvagno, "Demosaicing with directional filtering and a
posteriori decision", IEEE Transactions on Image Processing 16(1), 2007, pp. 132-141.
Green is interpolated horizontally and vertically (section II-A), the direction with the
smaller colour-difference gradients in a 5x5 window is kept (II-B), red and blue follow from
the colour differences along it (II-C) and the refining step of section III re-estimates
green, then red and blue, from low-passed colour differences along the chosen direction.
The arithmetic follows colour-demosaicing's `demosaicing_CFA_Bayer_Menon2007` so the two agree.

Schedule: as RCD's (see `kernels.demosaic.rcd`): L2-sized tiles shared dynamically between the
threads, each split into per-site half-resolution planes (`_common.load_tile`) so that every
step is a unit-stride loop over only the sites it computes and only the margin later steps read.
"""
import numba as nb
import numpy as np
from numba.extending import register_jitable

from kernels.demosaic._common import at as _at, krange, output, prepare, put as _put, load_tile_n, store_tile_n, tile_count
from kernels.demosaic._common import tile_scratch

CHUNK = 2  # tiles a thread takes at a time
TH, TW = 64, 256  # output rows and columns of a tile
PAD = 8  # reach of the steps back to the mosaic: 2 (1.) + 2 (2.) + 1 (3.) + 1 (5.) + 1 (6.) + 1 (7.)
S = (TW // 2 + PAD + 2 + 7) // 8 * 8  # row stride of the half-resolution planes
PL = (TH + 2 * PAD) * S  # plane size
# Plane offsets in a tile's flat scratch. X: red/blue sites, G: green sites.
CX, CG, GHX, GVX, CHX, CVX, GX, MX, RG, BG = [n * PL for n in range(10)]
NPLANES = 10
G2X, RX, BX = GHX, GVX, CHX  # refined green, red and blue at X sites, once the direction is chosen
GEOMETRY = (TH, TW, PAD, S, CX, CG, (RX, G2X, BX), (RG, CG, BG))

HALF = np.float32(0.5)
QUARTER = np.float32(0.25)
THIRD = np.float32(1.0 / 3.0)


@register_jitable(error_model="numpy")
def at(t, px, pg, s, p, i, k, di, dj):
    """The plane stored as px at X sites and pg at G sites, at (di, dj) from the site (s, p, i, k)."""
    return _at(t, S, px, pg, s, p, i, k, di, dj)


@register_jitable(error_model="numpy")
def put(t, plane, i, k, v):
    _put(t, S, plane, i, k, v)


@register_jitable(error_model="numpy")
def directional_green(c, n1, p1, n2, p2):
    """Green at a red/blue sample c from one line: neighbours n1, p1 (green) and n2, p2 (own colour)."""
    return (n1 + p1) * HALF + (c + c - (n2 + p2)) * QUARTER


@register_jitable(error_model="numpy")
def gradient(t, d, p, i, k, di, dj):
    """Menon's classifier along (di, dj) (rows: (0, 1), columns: (1, 0)): colour-difference
    gradients of plane d (X sites) summed over a 5x5 window."""
    ei, ej = dj, di  # across
    c0 = at(t, d, d, 0, p, i, k, 0, 0)
    centre = abs(at(t, d, d, 0, p, i, k, -2 * di, -2 * dj) - c0) + abs(c0 - at(t, d, d, 0, p, i, k, 2 * di, 2 * dj))
    a = at(t, d, d, 0, p, i, k, -2 * ei, -2 * ej)
    b = at(t, d, d, 0, p, i, k, 2 * ei, 2 * ej)
    far = (abs(at(t, d, d, 0, p, i, k, -2 * ei - 2 * di, -2 * ej - 2 * dj) - a)
           + abs(a - at(t, d, d, 0, p, i, k, -2 * ei + 2 * di, -2 * ej + 2 * dj))) + (
        abs(at(t, d, d, 0, p, i, k, 2 * ei - 2 * di, 2 * ej - 2 * dj) - b)
        + abs(b - at(t, d, d, 0, p, i, k, 2 * ei + 2 * di, 2 * ej + 2 * dj)))
    near = abs(at(t, d, d, 0, p, i, k, -ei - di, -ej - dj) - at(t, d, d, 0, p, i, k, -ei + di, -ej + dj)) + abs(
        at(t, d, d, 0, p, i, k, ei - di, ej - dj) - at(t, d, d, 0, p, i, k, ei + di, ej + dj))
    return np.float32(3) * centre + far + near


@register_jitable(error_model="numpy")
def along(t, a, b, s, p, i, k, di, dj):
    """Mean of A - B over the two neighbours at -(di, dj) and +(di, dj); A and B are (X, G)
    plane pairs."""
    return ((at(t, a[0], a[1], s, p, i, k, -di, -dj) - at(t, b[0], b[1], s, p, i, k, -di, -dj))
            + (at(t, a[0], a[1], s, p, i, k, di, dj) - at(t, b[0], b[1], s, p, i, k, di, dj))) * HALF


@register_jitable(error_model="numpy")
def mean3(t, a, b, s, p, i, k, di, dj):
    """Mean of A - B over the site and its two neighbours at -(di, dj) and +(di, dj)."""
    return ((at(t, a[0], a[1], s, p, i, k, 0, 0) - at(t, b[0], b[1], s, p, i, k, 0, 0))
            + ((at(t, a[0], a[1], s, p, i, k, -di, -dj) - at(t, b[0], b[1], s, p, i, k, -di, -dj))
               + (at(t, a[0], a[1], s, p, i, k, di, dj) - at(t, b[0], b[1], s, p, i, k, di, dj)))) * THIRD


# 1. Green along rows and columns at X sites, and the colour differences there.

@nb.njit(inline="always")
def _directional_row(t, i, p, jlo, jhi):
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):
        v = at(t, CX, CG, 0, p, i, k, 0, 0)
        gh = directional_green(v, at(t, CX, CG, 0, p, i, k, 0, -1), at(t, CX, CG, 0, p, i, k, 0, 1),
                               at(t, CX, CG, 0, p, i, k, 0, -2), at(t, CX, CG, 0, p, i, k, 0, 2))
        gv = directional_green(v, at(t, CX, CG, 0, p, i, k, -1, 0), at(t, CX, CG, 0, p, i, k, 1, 0),
                               at(t, CX, CG, 0, p, i, k, -2, 0), at(t, CX, CG, 0, p, i, k, 2, 0))
        put(t, GHX, i, k, gh)
        put(t, GVX, i, k, gv)
        put(t, CHX, i, k, v - gh)
        put(t, CVX, i, k, v - gv)


# 2. Decide the direction at X sites (M = 1: horizontal) and keep that green.

@nb.njit(inline="always")
def _decide_row(t, i, p, jlo, jhi):
    """Three loops (MX holds the vertical classifier, then the decision): one loop doing it all
    is not vectorised when numba compiles step 2 on its own, only as the copy inside a caller,
    and the process that compiles the kernel runs the former (bench/RESULTS-demosaic.md)."""
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):
        put(t, MX, i, k, gradient(t, CVX, p, i, k, 1, 0))
    for k in range(klo, khi):
        horizontal = at(t, MX, MX, 0, p, i, k, 0, 0) >= gradient(t, CHX, p, i, k, 0, 1)
        put(t, MX, i, k, np.float32(1) if horizontal else np.float32(0))
    for k in range(klo, khi):
        gh = at(t, GHX, GHX, 0, p, i, k, 0, 0)  # both loaded, then selected: a loop with
        gv = at(t, GVX, GVX, 0, p, i, k, 0, 0)  # conditional loads does not vectorise
        put(t, GX, i, k, gh if at(t, MX, MX, 0, p, i, k, 0, 0) != np.float32(0) else gv)


# 3. and 6. Red and blue at G sites from the colour differences (cfa - g) of the neighbours.

@nb.njit(inline="always")
def _at_green_row(t, i, p, jlo, jhi, red_row, gx):
    if red_row:
        _at_green_loop(t, i, p, jlo, jhi, gx, RG, BG)
    else:
        _at_green_loop(t, i, p, jlo, jhi, gx, BG, RG)


@nb.njit(inline="always")
def _at_green_loop(t, i, p, jlo, jhi, gx, hplane, vplane):
    """Red/blue along the row into hplane, along the column into vplane (planes, not a flag:
    a select on a flag inlined from a caller stops the vectoriser)."""
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):
        g = at(t, CG, CG, 1, p, i, k, 0, 0)
        h = g + along(t, (CX, CG), (gx, CG), 1, p, i, k, 0, 1)
        v = g + along(t, (CX, CG), (gx, CG), 1, p, i, k, 1, 0)
        put(t, hplane, i, k, h)
        put(t, vplane, i, k, v)


# 4. The other colour at X sites, along the chosen direction.

@nb.njit(inline="always")
def _other_row(t, i, p, jlo, jhi, red_row):
    if red_row:
        _other_loop(t, i, p, jlo, jhi, (BG, BG), (RG, RG), RX, BX)
    else:
        _other_loop(t, i, p, jlo, jhi, (RG, RG), (BG, BG), BX, RX)


@nb.njit(inline="always")
def _other_loop(t, i, p, jlo, jhi, other, own, own_x, other_x):
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):
        c = at(t, CX, CX, 0, p, i, k, 0, 0)
        h = along(t, other, own, 0, p, i, k, 0, 1)
        v = along(t, other, own, 0, p, i, k, 1, 0)
        o = c + (h if at(t, MX, MX, 0, p, i, k, 0, 0) == 1 else v)
        put(t, own_x, i, k, c)
        put(t, other_x, i, k, o)


# 5. Refining: green at X sites from the low-passed own colour minus green.

@nb.njit(inline="always")
def _refine_green_row(t, i, p, jlo, jhi, red_row):
    if red_row:
        _refine_green_loop(t, i, p, jlo, jhi, (CX, RG))
    else:
        _refine_green_loop(t, i, p, jlo, jhi, (CX, BG))


@nb.njit(inline="always")
def _refine_green_loop(t, i, p, jlo, jhi, own):
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):  # three loops, for the reason _decide_row gives (CVX is free after step 2)
        put(t, CVX, i, k, mean3(t, own, (GX, CG), 0, p, i, k, 1, 0))
    for k in range(klo, khi):
        put(t, G2X, i, k, mean3(t, own, (GX, CG), 0, p, i, k, 0, 1))
    for k in range(klo, khi):
        c = at(t, CX, CX, 0, p, i, k, 0, 0)
        h = at(t, G2X, G2X, 0, p, i, k, 0, 0)
        v = at(t, CVX, CVX, 0, p, i, k, 0, 0)
        put(t, G2X, i, k, c - (h if at(t, MX, MX, 0, p, i, k, 0, 0) == 1 else v))


# 7. Refining: red at blue and blue at red from the low-passed red minus blue.

@nb.njit(inline="always")
def _refine_other_row(t, i, p, jlo, jhi, red_row):
    if red_row:
        _refine_other_loop(t, i, p, jlo, jhi, BX, np.float32(-1))  # blue = red - (red - blue)
    else:
        _refine_other_loop(t, i, p, jlo, jhi, RX, np.float32(1))


@nb.njit(inline="always")
def _refine_other_loop(t, i, p, jlo, jhi, dst, sign):
    klo, khi = krange(jlo, jhi, p)
    for k in range(klo, khi):
        c = at(t, CX, CX, 0, p, i, k, 0, 0)
        h = mean3(t, (RX, RG), (BX, BG), 0, p, i, k, 0, 1)
        v = mean3(t, (RX, RG), (BX, BG), 0, p, i, k, 1, 0)
        d = h if at(t, MX, MX, 0, p, i, k, 0, 0) == 1 else v
        put(t, dst, i, k, c + sign * d)


@nb.njit(cache=True, error_model="numpy")
def _step1(t, th, tw, sx, ry):
    """1. Directional greens and colour differences at X sites within 6 px of the output."""
    j0 = PAD + sx
    for i in range(PAD - 6, PAD + th + 6):
        if i & 1:
            _directional_row(t, i, 1, j0 - 6, j0 + tw + 6)
        else:
            _directional_row(t, i, 0, j0 - 6, j0 + tw + 6)


@nb.njit(cache=True, error_model="numpy")
def _step2(t, th, tw, sx, ry):
    """2. Direction and green at X sites within 4 px."""
    j0 = PAD + sx
    for i in range(PAD - 4, PAD + th + 4):
        if i & 1:
            _decide_row(t, i, 1, j0 - 4, j0 + tw + 4)
        else:
            _decide_row(t, i, 0, j0 - 4, j0 + tw + 4)


@nb.njit(cache=True, error_model="numpy")
def _step3(t, th, tw, sx, ry):
    """3. Red and blue at G sites within 3 px."""
    j0 = PAD + sx
    for i in range(PAD - 3, PAD + th + 3):  # G sites: column parity 1 - (i & 1)
        if i & 1:
            if ry == 1:
                _at_green_row(t, i, 0, j0 - 3, j0 + tw + 3, True, GX)
            else:
                _at_green_row(t, i, 0, j0 - 3, j0 + tw + 3, False, GX)
        else:
            if ry == 0:
                _at_green_row(t, i, 1, j0 - 3, j0 + tw + 3, True, GX)
            else:
                _at_green_row(t, i, 1, j0 - 3, j0 + tw + 3, False, GX)


@nb.njit(cache=True, error_model="numpy")
def _step4(t, th, tw, sx, ry):
    """4. The other colour at X sites of the output."""
    j0 = PAD + sx
    for i in range(PAD, PAD + th):
        if i & 1:
            if ry == 1:
                _other_row(t, i, 1, j0, j0 + tw, True)
            else:
                _other_row(t, i, 1, j0, j0 + tw, False)
        else:
            if ry == 0:
                _other_row(t, i, 0, j0, j0 + tw, True)
            else:
                _other_row(t, i, 0, j0, j0 + tw, False)


@nb.njit(cache=True, error_model="numpy")
def _step5(t, th, tw, sx, ry):
    """5. Refined green at X sites within 2 px."""
    j0 = PAD + sx
    for i in range(PAD - 2, PAD + th + 2):
        if i & 1:
            if ry == 1:
                _refine_green_row(t, i, 1, j0 - 2, j0 + tw + 2, True)
            else:
                _refine_green_row(t, i, 1, j0 - 2, j0 + tw + 2, False)
        else:
            if ry == 0:
                _refine_green_row(t, i, 0, j0 - 2, j0 + tw + 2, True)
            else:
                _refine_green_row(t, i, 0, j0 - 2, j0 + tw + 2, False)


@nb.njit(cache=True, error_model="numpy")
def _step6(t, th, tw, sx, ry):
    """6. Refined red and blue at G sites within 1 px."""
    j0 = PAD + sx
    for i in range(PAD - 1, PAD + th + 1):  # G sites: column parity 1 - (i & 1)
        if i & 1:
            if ry == 1:
                _at_green_row(t, i, 0, j0 - 1, j0 + tw + 1, True, G2X)
            else:
                _at_green_row(t, i, 0, j0 - 1, j0 + tw + 1, False, G2X)
        else:
            if ry == 0:
                _at_green_row(t, i, 1, j0 - 1, j0 + tw + 1, True, G2X)
            else:
                _at_green_row(t, i, 1, j0 - 1, j0 + tw + 1, False, G2X)


@nb.njit(cache=True, error_model="numpy")
def _step7(t, th, tw, sx, ry):
    """7. Refined other colour at X sites of the output."""
    j0 = PAD + sx
    for i in range(PAD, PAD + th):
        if i & 1:
            if ry == 1:
                _refine_other_row(t, i, 1, j0, j0 + tw, True)
            else:
                _refine_other_row(t, i, 1, j0, j0 + tw, False)
        else:
            if ry == 0:
                _refine_other_row(t, i, 0, j0, j0 + tw, True)
            else:
                _refine_other_row(t, i, 0, j0, j0 + tw, False)


@nb.njit(cache=True, error_model="numpy")
def _steps(t, th, tw, sx, ry):
    _step1(t, th, tw, sx, ry)
    _step2(t, th, tw, sx, ry)
    _step3(t, th, tw, sx, ry)
    _step4(t, th, tw, sx, ry)
    _step5(t, th, tw, sx, ry)
    _step6(t, th, tw, sx, ry)
    _step7(t, th, tw, sx, ry)


@nb.njit(cache=True, error_model="numpy")
def _tile(m, n, ry, sx, out, t):
    y0, x0, th, tw = load_tile_n(m, n, sx, t, GEOMETRY)
    _steps(t, th, tw, sx, ry)
    store_tile_n(t, out, y0, x0, th, tw, sx, GEOMETRY)


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _menon(m, ry, sx, out, scratch):
    for n in nb.prange(tile_count(m.shape[0], m.shape[1], TH, TW)):
        _tile(m, np.int64(n), ry, sx, out, scratch[nb.get_thread_id()])


def menon2007(mosaic, pattern: str, out: np.ndarray | None = None) -> np.ndarray:
    """Demosaic an (H, W) float32 Bayer mosaic to (H, W, 3) float32 RGB with Menon et al. 2007.

    `out`, if given, is a C-contiguous (H, W, 3) float32 array to write into (and return).
    """
    m, ry, rx = prepare(mosaic, pattern)
    out = output(m, out)
    with nb.parallel_chunksize(CHUNK):
        _menon(m, ry, (ry + rx) & 1, out, tile_scratch(NPLANES, PL))
    return out
