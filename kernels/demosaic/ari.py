"""Adaptive Residual Interpolation (ARI) demosaicing.

References:
- Y. Monno, D. Kiku, M. Tanaka, M. Okutomi, "Adaptive residual interpolation for color image
  demosaicking", ICIP 2015, and "Adaptive residual interpolation for color and multispectral
  image demosaicking", Sensors 17(12), 2017 (the green step: Algorithms 7 and 8 below).
- D. Kiku, Y. Monno, M. Tanaka, M. Okutomi, "Minimized-Laplacian residual interpolation for
  color image demosaicking", IS&T/SPIE Electronic Imaging 2014, and "Beyond color difference:
  residual interpolation for color image demosaicking", IEEE TIP 25(3), 2016 (MLRI; the red and
  blue step here).
- Q. Jin, Y. Guo, G. Facciolo, J.-M. Morel, "A mathematical analysis and implementation of
  residual interpolation demosaicking algorithms", IPOL 2021 (the step-by-step description
  this implementation follows).

Why ARI: residual interpolation interpolates the residual of a guided-filter estimate instead
of a colour difference, so it keeps saturated, high-contrast colour edges (McMaster) where
colour-difference methods (Menon 2007) overshoot, and still resolves the fine luminance detail
of Kodak. ARI runs two residual interpolators per direction -- RI (ordinary guided filter) and
MLRI (guided filter whose slope minimises the Laplacian energy of the residual) -- iterates each
with growing windows, and keeps per pixel the iteration and the method whose estimate changed
the least smoothly (the criterion of Algorithm 8), weighting the four (method, direction)
results by the inverse of that criterion. It is the strongest classical (non-learned) Bayer
demosaicer we found with a published, reproducible description; it costs far more than RCD.

Algorithm:
1. Green (ARI): along rows, each row holds green and one other colour c. Starting from the
   mean of the two neighbours, for 11 iterations: guided-filter the green guide from the c
   guide and the c guide from the green guide (windows along the row, over rows of the same
   colour, growing each iteration; RI: (2h+1) x (2v+1) with h = 2, v = 1 at first, MLRI:
   h = 4, v = 0 at first), interpolate the residuals (known sample - tentative estimate) of
   each to the missing positions with (1/2, 1, 1/2), take that as the next guide, and keep it
   at pixels where the criterion -- the Gaussian-smoothed |guide - tentative| squared times
   the smoothed |its derivative along the row| -- is the smallest so far. Columns are the same
   on the transposed mosaic. Green is the four (RI/MLRI x rows/columns) results weighted by
   1 / criterion.
2. Red and blue (MLRI, Kiku 2016, with the residual-weighted averaging of ARI's guided
   filter): a minimized-Laplacian guided filter of the red samples with the green image as
   guide (slopes from Laplacians at distance 2), window coefficients averaged with weights
   1 / (rms residual of each window's fit), plus the residual at the red samples bilinearly
   interpolated; blue alike. The average runs over the windows of two sizes that contain the
   pixel, 17 x 17 and 33 x 33, weighted together (MLRI uses 11 x 11). Measured on the sets
   (same green): one 17 x 17 size 39.99 / 37.33 dB (Kodak-24 / McMaster-18), 25 x 25 40.04 /
   37.27, 17 + 33 40.06 / 37.27. The small windows are what keep a flat patch exact: one that
   fits inside it has a ~zero residual, so its weight (floored at 1e6) swamps the windows
   straddling the patch edge; a 25 x 25 size alone cannot fit in a 20-row highlight.

Deviations from the reference: red and blue use MLRI rather than ARI's two adaptive
diagonal/axial steps; nothing is clipped (values above 1 are kept); the guided-filter sums are
accumulated in float64 (their variances cancel catastrophically in float32). The maths runs on
the mosaic scaled by 255 so that the reference's constants (eps, the 1e-3 floor of the
residual deviation) keep their meaning.

Flip symmetry: the per-pixel choice of the best iteration is a hard minimum, so a difference
in the last bit of a window sum can pick another iteration and move the result by ~0.01.
Every window sum is therefore taken in an order that a flip maps onto itself: rows are added
in pairs (i - t, i + t), and columns as the mean of a running sum from the left and one from
the right (which a horizontal flip swaps). Demosaicing a flipped mosaic gives the flipped
result bit for bit.

Locality: each of the 11 iterations reads guides up to ~25 rows away, so a pixel depends on
the whole frame (through rounding as well): ARI cannot run in strips with a halo.

Schedule: whole-frame float32 planes; per iteration three `prange` passes over chunks of rows
with per-chunk float64 scratch (MLRI adds a pass for its Laplacian products): window sums and
coefficients; weighted coefficient means, tentative estimates and the raw criterion; Gaussian
smoothing of the criterion and the guide update. Both pairs of a row pass (green from the other
colour and the reverse) have the same five window sums, so they are taken once. The scratch
holds one row per quantity: the sums over a window's rows are unit-stride loops that vectorise,
and each running sum along the row is a scalar chain kept in a register, several side by side so
their latencies overlap; the coefficients are then computed four columns at a time.
"""
import numba as nb
import numpy as np

from kernels.demosaic._common import mirror, output, prepare

SCALE = np.float32(255.0)
EPS = 1e-10  # guided-filter regulariser (in 255^2 units, as the reference)
ITERATIONS = 11
# floor of the rms residual in the red/blue weights (the reference's 1e-3, 255 units)
RB_FLOOR = 1e-6
G_FLOOR = 1e-3
BIG = np.float32(1e30)
# 5-tap Gaussian, sigma 2, normalised: smoothing of the iteration criterion.
_G = np.exp(-np.arange(-2, 3) ** 2 / 8.0)
GAUSS = (_G / _G.sum()).astype(np.float32)


@nb.njit(inline="always")
def c_parity(i, ry, rx):
    """Column parity of the non-green samples of row i."""
    return rx if (i & 1) == ry else 1 - rx


@nb.njit(inline="always")
def fold(i, n):
    """`mirror` for |i - clamp(i)| <= 2 without an integer division, so row loops vectorise."""
    if n < 8:
        return mirror(i, n)
    return (n - 1) - abs((n - 1) - abs(i))


# ---------------------------------------------------------------- green: guided filters along rows

def _make_scan(n):
    """`scan(acc, acc2h, acc2h1, win, q0, h, wid)`: win[q, j] = the sum of acc[q, c + h] over columns
    c in [j - h, j + h], for the n quantities q0 .. q0 + n - 1 (acc[q, c + h] is column c; its
    pads are filled here by mirroring), as the mean of a running sum from the left and one from
    the right. Reversing the row swaps the two, so the sums are exactly mirror-symmetric: a
    flipped mosaic gives the flipped sums bit for bit, whatever the rounding. Each quantity is
    one running sum held in a register (generated code: n scalar chains side by side, so their
    latencies overlap). acc2h and acc2h1 are the views acc[:, 2h:] and acc[:, 2h + 1:]: indexed
    by a loop counter, with no negative-index wraparound to select per element (see `_views`)."""
    qs = range(n)
    lines = ["def scan(acc, acc2h, acc2h1, win, q0, h, wid):",
             "    for q in range(q0, q0 + %d):" % n,
             "        for c in range(-h, 0):",
             "            acc[q, c + h] = acc[q, mirror(c, wid) + h]",
             "        for c in range(wid, wid + h):",
             "            acc[q, c + h] = acc[q, mirror(c, wid) + h]"]
    lines += ["    s%d = 0.0" % k for k in qs]
    lines += ["    for k in range(2 * h + 1):"] + ["        s%d += acc[q0 + %d, k]" % (k, k) for k in qs]
    lines += ["    win[q0 + %d, 0] = s%d" % (k, k) for k in qs]
    lines += ["    for j in range(1, wid):"]
    for k in qs:
        lines += ["        s%d = (s%d + acc2h[q0 + %d, j]) - acc[q0 + %d, j - 1]" % (k, k, k, k),
                  "        win[q0 + %d, j] = s%d" % (k, k)]
    lines += ["    s%d = 0.0" % k for k in qs]
    lines += ["    for k in range(wid - 1 + 2 * h, wid - 2, -1):"]
    lines += ["        s%d += acc[q0 + %d, k]" % (k, k) for k in qs]
    lines += ["    win[q0 + %d, wid - 1] = 0.5 * (win[q0 + %d, wid - 1] + s%d)" % (k, k, k) for k in qs]
    lines += ["    for j in range(wid - 2, -1, -1):"]
    for k in qs:
        lines += ["        s%d = (s%d + acc[q0 + %d, j]) - acc2h1[q0 + %d, j]" % (k, k, k, k),
                  "        win[q0 + %d, j] = 0.5 * (win[q0 + %d, j] + s%d)" % (k, k, k)]
    scope = {"mirror": mirror}
    exec("\n".join(lines), scope)
    return nb.njit(inline="always")(scope["scan"])


_scan3 = _make_scan(3)
_scan4 = _make_scan(4)
_scan5 = _make_scan(5)
_scan6 = _make_scan(6)


@nb.njit(inline="always")
def _chunk(n, c, nc):
    """Rows [start, stop) of chunk c of nc."""
    return n * c // nc, n * (c + 1) // nc


@nb.njit(inline="always")
def _views(acc, h):
    """acc[:, h:], acc[:, 2h:], acc[:, 2h + 1:]. Indexing acc[q, j + h] with a run-time h makes
    numba select a wrapped index per element (h might be negative), which turns vector stores
    into scalar ones; a view indexed by the loop counter j needs no such select."""
    return acc[:, h:], acc[:, 2 * h:], acc[:, 2 * h + 1:]


@nb.njit(inline="always")
def _lap_pair(c, g, i, j0, j1, wid, ln, lq, cp, border):
    """MLRI's Laplacian products along row i for columns [j0, j1): ln = lap(c) lap(g) at every
    column, lq = lap(c)^2 at green columns and lap(g)^2 at the other colour's (each product in
    float64, stored as float32)."""
    for j in range(j0, j1):
        if border:
            jm, jp = fold(j - 2, wid), fold(j + 2, wid)
        else:
            jm, jp = j - 2, j + 2
        lc = np.float64(c[i, jm] + c[i, jp] - np.float32(2) * c[i, j])
        lg = np.float64(g[i, jm] + g[i, jp] - np.float32(2) * g[i, j])
        ln[i, j] = lc * lg
        lq[i, j] = lg * lg if ((j ^ cp) & 1) == 0 else lc * lc


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _laplacians(c, g, ry, rx, ln, lq, nchunk):
    """MLRI's Laplacian products along rows (see `_lap_pair`)."""
    hgt, wid = c.shape
    for ch in nb.prange(nchunk):
        lo, hi = _chunk(hgt, ch, nchunk)
        for i in range(lo, hi):
            cp = c_parity(i, ry, rx)
            e = min(2, wid)
            _lap_pair(c, g, i, 0, e, wid, ln, lq, cp, True)
            _lap_pair(c, g, i, e, max(e, wid - 2), wid, ln, lq, cp, False)
            _lap_pair(c, g, i, max(e, wid - 2), wid, wid, ln, lq, cp, True)


@nb.njit(inline="always")
def _vsums_products(c, g, ln, lq, ah, i, h, nv, mlri):
    """Column sums over the rows of the same parity within +-2 nv of row i, added in pairs
    (i - 2t, i + 2t) so that a vertical flip changes nothing: acc[0:5, c + h] = sums of c, g,
    c^2, g^2, c g at column c (float64), and if mlri acc[9:11] = sums of ln, lq."""
    hgt, wid = c.shape
    for t in range(nv + 1):
        ra = mirror(i - 2 * t, hgt)
        rb = mirror(i + 2 * t, hgt)
        if t == 0:
            for j in range(wid):
                a0 = np.float64(c[ra, j])
                b0 = np.float64(g[ra, j])
                ah[0, j] = 0.0 + a0
                ah[1, j] = 0.0 + b0
                ah[2, j] = 0.0 + a0 * a0
                ah[3, j] = 0.0 + b0 * b0
                ah[4, j] = 0.0 + a0 * b0
            if mlri:
                for j in range(wid):
                    ah[9, j] = 0.0 + np.float64(ln[ra, j])
                    ah[10, j] = 0.0 + np.float64(lq[ra, j])
        else:
            for j in range(wid):
                a0 = np.float64(c[ra, j])
                b0 = np.float64(g[ra, j])
                a1 = np.float64(c[rb, j])
                b1 = np.float64(g[rb, j])
                ah[0, j] += a0 + a1
                ah[1, j] += b0 + b1
                ah[2, j] += a0 * a0 + a1 * a1
                ah[3, j] += b0 * b0 + b1 * b1
                ah[4, j] += a0 * b0 + a1 * b1
            if mlri:
                for j in range(wid):
                    ah[9, j] += np.float64(ln[ra, j]) + np.float64(ln[rb, j])
                    ah[10, j] += np.float64(lq[ra, j]) + np.float64(lq[rb, j])


@nb.njit(inline="always")
def _coeff_row(c, g, ln, lq, y, acc, ah, a2h, a2h1, win, i, h, nv, cp, mlri):
    """Guided-filter coefficients of row i for both pairs (see `_coeffs`)."""
    wid = c.shape[1]
    inv_n = 1.0 / ((2 * nv + 1) * (2 * h + 1))
    _vsums_products(c, g, ln, lq, ah, i, h, nv, mlri)
    _scan5(acc, a2h, a2h1, win, 0, h, wid)
    if mlri:
        # the Laplacian sums of each pair only at its own samples: pair 0 (green from c) at
        # green columns, pair 1 at the other colour's
        for j in range(wid):
            green = ((j ^ cp) & 1) == 1
            ah[5, j] = ah[9, j] if green else 0.0
            ah[6, j] = ah[10, j] if green else 0.0
            ah[7, j] = 0.0 if green else ah[9, j]
            ah[8, j] = 0.0 if green else ah[10, j]
        _scan4(acc, a2h, a2h1, win, 5, h, wid)
    # MLRI regulariser: EPS per Laplacian sample, whose count in the window depends on the
    # parity of the sampled columns relative to j
    eps_odd = EPS * ((2 * ((h + 1) // 2)) * (2 * nv + 1))
    eps_even = EPS * ((2 * (h // 2) + 1) * (2 * nv + 1))
    for j in range(wid):
        m_c = win[0, j] * inv_n
        m_g = win[1, j] * inv_n
        var_c = max(win[2, j] * inv_n - m_c * m_c, 0.0)
        var_g = max(win[3, j] * inv_n - m_g * m_g, 0.0)
        cov = win[4, j] * inv_n - m_c * m_g
        # pair 0: green (p) from the other colour (i); pair 1: the other colour from green
        if mlri:
            green_j = ((j ^ cp) & 1) == 1
            a0 = win[5, j] / (win[6, j] + (eps_even if green_j else eps_odd))
            a1 = win[7, j] / (win[8, j] + (eps_odd if green_j else eps_even))
        else:
            a0 = cov / (var_c + EPS)
            a1 = cov / (var_g + EPS)
        b0 = m_g - a0 * m_c
        b1 = m_c - a1 * m_g
        # mean squared residual of p - (a i + b); b makes the mean residual zero
        dif0 = np.sqrt(max(var_g - 2.0 * a0 * cov + a0 * a0 * var_c, 0.0))
        dif1 = np.sqrt(max(var_c - 2.0 * a1 * cov + a1 * a1 * var_g, 0.0))
        w0 = 1.0 / max(dif0, G_FLOOR)
        w1 = 1.0 / max(dif1, G_FLOOR)
        y[0, i, j] = w0
        y[1, i, j] = a0 * w0
        y[2, i, j] = b0 * w0
        y[3, i, j] = w1
        y[4, i, j] = a1 * w1
        y[5, i, j] = b1 * w1


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _coeffs(c, g, ln, lq, ry, rx, h, v, mlri, y, nchunk):
    """Guided-filter coefficients of the two pairs of a row pass -- pair 0: guide c (the other
    colour), input g (green); pair 1: guide g, input c -- over windows of 2h+1 columns and the
    rows of the same parity within +-v; y[3k:3k+3] = (w, a w, b w) with w = 1 / (rms residual
    of the window's fit). Both pairs have the same five window sums (c, g, c^2, g^2, c g), so
    they are taken once. MLRI slopes use the Laplacian products at each pair's samples only
    (green columns for pair 0, the other colour's for pair 1). Window sums are float64 in
    mirror-symmetric order (row pairs, `_make_scan`), so flipping the mosaic flips the result
    bit for bit."""
    hgt, wid = c.shape
    nv = v // 2
    for ch in nb.prange(nchunk):
        lo, hi = _chunk(hgt, ch, nchunk)
        acc = np.empty((11, wid + 2 * h + 1), np.float64)
        ah, a2h, a2h1 = _views(acc, h)
        win = np.empty((9, wid), np.float64)
        for i in range(lo, hi):
            cp = c_parity(i, ry, rx)
            if mlri:
                _coeff_row(c, g, ln, lq, y, acc, ah, a2h, a2h1, win, i, h, nv, cp, True)
            else:
                _coeff_row(c, g, ln, lq, y, acc, ah, a2h, a2h1, win, i, h, nv, cp, False)


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _apply(y, c, g, h, v, t0, t1, crit, dcrit, nchunk):
    """Tentative estimates t0 = mean(a w) c + mean(b w) (green), t1 = ... g (the other colour),
    over mean(w), in the windows of `_coeffs` (the weighted averaging of the reference), summed
    in symmetric order; then the iteration criterion before smoothing: |p - t| summed over both
    pairs (crit) and the magnitude of its central difference along the row (dcrit)."""
    hgt, wid = c.shape
    nv = v // 2
    for ch in nb.prange(nchunk):
        lo, hi = _chunk(hgt, ch, nchunk)
        acc = np.empty((6, wid + 2 * h + 1), np.float64)
        ah, a2h, a2h1 = _views(acc, h)
        win = np.empty((6, wid), np.float64)
        e0 = np.empty(wid + 2, np.float32)
        e1 = np.empty(wid + 2, np.float32)
        for i in range(lo, hi):
            for t in range(nv + 1):
                ra = mirror(i - 2 * t, hgt)
                rb = mirror(i + 2 * t, hgt)
                for q in range(6):
                    if t == 0:
                        for j in range(wid):
                            ah[q, j] = 0.0 + np.float64(y[q, ra, j])
                    else:
                        for j in range(wid):
                            ah[q, j] += np.float64(y[q, ra, j]) + np.float64(y[q, rb, j])
            _scan6(acc, a2h, a2h1, win, 0, h, wid)
            for j in range(wid):
                a = np.float32((win[1, j] * c[i, j] + win[2, j]) / (win[0, j] + 1e-4))
                b = np.float32((win[4, j] * g[i, j] + win[5, j]) / (win[3, j] + 1e-4))
                t0[i, j] = a
                t1[i, j] = b
                e0[j + 1] = g[i, j] - a
                e1[j + 1] = c[i, j] - b
            e0[0], e1[0] = e0[fold(-1, wid) + 1], e1[fold(-1, wid) + 1]
            e0[wid + 1], e1[wid + 1] = e0[fold(wid, wid) + 1], e1[fold(wid, wid) + 1]
            for j in range(wid):
                crit[i, j] = abs(e0[j + 1]) + abs(e1[j + 1])
                dcrit[i, j] = abs(e0[j + 2] - e0[j]) + abs(e1[j + 2] - e1[j])


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _smooth_update(crit, dcrit, gauss, g, c, t0, t1, wbest, best, ry, rx, nchunk):
    """Criterion w = (G*crit)^2 (G*dcrit), G the 5x5 Gaussian (sigma 2, mirrored borders);
    next guides: tentative plus the row-interpolated residual of the known samples; keep
    the new green where w is the smallest so far."""
    hgt, wid = g.shape
    half = np.float32(0.5)
    g0, g1, g2 = gauss[0], gauss[1], gauss[2]
    # loops over few arrays each: LLVM vectorises them (one loop touching all of them stayed
    # scalar: too many run-time overlap checks)
    for ch in nb.prange(nchunk):
        lo, hi = _chunk(hgt, ch, nchunk)
        tc = np.empty(wid + 4, np.float32)
        td = np.empty(wid + 4, np.float32)
        ng = np.empty(wid, np.float32)
        nc = np.empty(wid, np.float32)
        ww = np.empty(wid, np.float32)
        for i in range(lo, hi):
            r0, r1, r3, r4 = fold(i - 2, hgt), fold(i - 1, hgt), fold(i + 1, hgt), fold(i + 2, hgt)
            for j in range(wid):
                tc[j + 2] = g2 * crit[i, j] + g1 * (crit[r1, j] + crit[r3, j]) + g0 * (crit[r0, j] + crit[r4, j])
            for j in range(wid):
                td[j + 2] = g2 * dcrit[i, j] + g1 * (dcrit[r1, j] + dcrit[r3, j]) + g0 * (dcrit[r0, j] + dcrit[r4, j])
            for e in (-2, -1, wid, wid + 1):
                tc[e + 2] = tc[fold(e, wid) + 2]
                td[e + 2] = td[fold(e, wid) + 2]
            cp = c_parity(i, ry, rx)
            # the interpolated residuals read only known samples, which this row does not change
            for j in (0, wid - 1):
                jm = fold(j - 1, wid)
                jp = fold(j + 1, wid)
                ng[j] = t0[i, j] + half * ((g[i, jm] - t0[i, jm]) + (g[i, jp] - t0[i, jp]))
                nc[j] = t1[i, j] + half * ((c[i, jm] - t1[i, jm]) + (c[i, jp] - t1[i, jp]))
            for j in range(1, wid - 1):
                ng[j] = t0[i, j] + half * ((g[i, j - 1] - t0[i, j - 1]) + (g[i, j + 1] - t0[i, j + 1]))
            for j in range(1, wid - 1):
                nc[j] = t1[i, j] + half * ((c[i, j - 1] - t1[i, j - 1]) + (c[i, j + 1] - t1[i, j + 1]))
            for j in range(wid):
                cc = g2 * tc[j + 2] + g1 * (tc[j + 1] + tc[j + 3]) + g0 * (tc[j] + tc[j + 4])
                dd = g2 * td[j + 2] + g1 * (td[j + 1] + td[j + 3]) + g0 * (td[j] + td[j + 4])
                ww[j] = cc * cc * dd
            for j in range(wid):
                missing = ((j ^ cp) & 1) == 0  # non-green sample: green missing
                g[i, j] = ng[j] if missing else g[i, j]
                c[i, j] = c[i, j] if missing else nc[j]
            for j in range(wid):
                better = ww[j] < wbest[i, j]
                wbest[i, j] = ww[j] if better else wbest[i, j]
                best[i, j] = g[i, j] if better else best[i, j]


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _init_rows(m, ry, rx, g, c):
    """Initial guides: each missing sample is the mean of its two row neighbours."""
    hgt, wid = m.shape
    half = np.float32(0.5)
    for i in nb.prange(hgt):
        cp = c_parity(i, ry, rx)
        for j in range(wid):
            avg = half * (m[i, fold(j - 1, wid)] + m[i, fold(j + 1, wid)])
            own = m[i, j]
            non_green = ((j ^ cp) & 1) == 0
            g[i, j] = avg if non_green else own
            c[i, j] = own if non_green else avg


def _green_rows(m, ry, rx):
    """ARI green along rows: [(green, criterion) for RI, MLRI]."""
    shape = m.shape
    nchunk = max(1, min(shape[0], 4 * nb.get_num_threads()))
    g0 = np.empty(shape, np.float32)
    c0 = np.empty(shape, np.float32)
    _init_rows(m, ry, rx, g0, c0)
    y = np.empty((6,) + shape, np.float32)
    ln = np.empty(shape, np.float32)
    lq = np.empty(shape, np.float32)
    t0 = np.empty(shape, np.float32)
    t1 = np.empty(shape, np.float32)
    crit = np.empty(shape, np.float32)
    dcrit = np.empty(shape, np.float32)
    out = []
    for mlri in (False, True):
        g, c = g0.copy(), c0.copy()
        best, wbest = g0.copy(), np.full(shape, BIG, np.float32)
        h, v = (4, 0) if mlri else (2, 1)
        for _ in range(ITERATIONS):
            # pair 0: green from the other colour; pair 1: the other colour from green
            if mlri:
                _laplacians(c, g, ry, rx, ln, lq, nchunk)
            _coeffs(c, g, ln, lq, ry, rx, h, v, mlri, y, nchunk)
            _apply(y, c, g, h, v, t0, t1, crit, dcrit, nchunk)
            _smooth_update(crit, dcrit, GAUSS, g, c, t0, t1, wbest, best, ry, rx, nchunk)
            h += 1
            v += 1
        out.append((best, wbest))
    return out


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _combine(estimates, criteria, m, ry, rx, g):
    """Green: the estimates weighted by 1 / criterion at non-green samples, the mosaic elsewhere."""
    hgt, wid = m.shape
    k = estimates.shape[0]
    for i in nb.prange(hgt):
        cp = c_parity(i, ry, rx)
        for j in range(wid):
            num = np.float32(0)
            den = np.float32(0)
            for q in range(k):
                wq = np.float32(1) / (criteria[q, i, j] + np.float32(1e-10))
                num += wq * estimates[q, i, j]
                den += wq
            g[i, j] = num / den if ((j ^ cp) & 1) == 0 else m[i, j]


def ari_green(m, ry, rx):
    """ARI green plane of the (255-scaled) mosaic m with red at (ry, rx)."""
    rows = _green_rows(m, ry, rx)
    cols = _green_rows(np.ascontiguousarray(m.T), rx, ry)
    est = np.stack([e for e, _ in rows] + [e.T for e, _ in cols])
    cri = np.stack([c for _, c in rows] + [c.T for _, c in cols])
    g = np.empty_like(m)
    _combine(est, cri, m, ry, rx, g)
    return g


# ---------------------------------------------------------------- red and blue: MLRI guided upsampling

@nb.njit(inline="always")
def _lap2_row(x, i, j0, j1, hgt, wid, out, border):
    """out[i, j] = the Laplacian of x with taps at distance 2 (same CFA colour), mirrored, for
    columns [j0, j1) of row i."""
    iu, id_ = fold(i - 2, hgt), fold(i + 2, hgt)
    for j in range(j0, j1):
        if border:
            jm, jp = fold(j - 2, wid), fold(j + 2, wid)
        else:
            jm, jp = j - 2, j + 2
        out[i, j] = (x[iu, j] + x[id_, j]) + (x[i, jm] + x[i, jp]) - np.float32(4) * x[i, j]


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _rb_laplacians(g, m, lg, lc, nchunk):
    """lg, lc = the distance-2 Laplacians of green and of the mosaic (used at one colour's sites)."""
    hgt, wid = m.shape
    for ch in nb.prange(nchunk):
        lo, hi = _chunk(hgt, ch, nchunk)
        for i in range(lo, hi):
            e = min(2, wid)
            f = max(e, wid - 2)
            for x, out in ((g, lg), (m, lc)):
                _lap2_row(x, i, 0, e, hgt, wid, out, True)
                _lap2_row(x, i, e, f, hgt, wid, out, False)
                _lap2_row(x, i, f, wid, hgt, wid, out, True)


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _rb_coeffs(g, m, lg, lc, cy, cx, h, ab, nchunk):
    """MLRI coefficients of the colour sampled at rows cy, columns cx (mod 2) with green as
    guide, over (2h+1)^2 windows: slope from Laplacian products, intercept from means, and
    the weight 1 / (rms residual of the window's fit); ab = (w, a w, b w). Sums in
    mirror-symmetric order (row pairs i -+ t, `_make_scan`); the number of samples in a window
    is counted, not summed (an exact integer either way)."""
    hgt, wid = m.shape
    for ch in nb.prange(nchunk):
        lo, hi = _chunk(hgt, ch, nchunk)
        acc = np.empty((7, wid + 2 * h + 1), np.float64)
        ah, a2h, a2h1 = _views(acc, h)
        win = np.empty((7, wid), np.float64)
        for i in range(lo, hi):
            nrow = 0
            for t in range(h + 1):
                ra = mirror(i - t, hgt)
                rb = mirror(i + t, hgt)
                if (ra & 1) != cy:
                    continue
                if nrow == 0:
                    # the first rows taken: the sums start from them (zero off the samples)
                    for j in range(wid):
                        site = (j & 1) == cx
                        lgv = np.float64(lg[ra, j])
                        lcv = np.float64(lc[ra, j])
                        gv = np.float64(g[ra, j])
                        cv = np.float64(m[ra, j])
                        if t > 0:
                            lg1 = np.float64(lg[rb, j])
                            lc1 = np.float64(lc[rb, j])
                            gv1 = np.float64(g[rb, j])
                            cv1 = np.float64(m[rb, j])
                        else:
                            lg1 = lc1 = gv1 = cv1 = 0.0
                        ah[0, j] = (0.0 + (gv + gv1)) if site else 0.0
                        ah[1, j] = (0.0 + (cv + cv1)) if site else 0.0
                        ah[2, j] = (0.0 + (lgv * lcv + lg1 * lc1)) if site else 0.0
                        ah[3, j] = (0.0 + (lgv * lgv + lg1 * lg1)) if site else 0.0
                        ah[4, j] = (0.0 + (gv * gv + gv1 * gv1)) if site else 0.0
                        ah[5, j] = (0.0 + (cv * cv + cv1 * cv1)) if site else 0.0
                        ah[6, j] = (0.0 + (gv * cv + gv1 * cv1)) if site else 0.0
                else:
                    for j in range(wid):
                        site = (j & 1) == cx
                        lgv = np.float64(lg[ra, j])
                        lcv = np.float64(lc[ra, j])
                        gv = np.float64(g[ra, j])
                        cv = np.float64(m[ra, j])
                        lg1 = np.float64(lg[rb, j])
                        lc1 = np.float64(lc[rb, j])
                        gv1 = np.float64(g[rb, j])
                        cv1 = np.float64(m[rb, j])
                        # off the samples the sums stay +0.0 (adding 0.0 is exact there)
                        ah[0, j] += (gv + gv1) if site else 0.0
                        ah[1, j] += (cv + cv1) if site else 0.0
                        ah[2, j] += (lgv * lcv + lg1 * lc1) if site else 0.0
                        ah[3, j] += (lgv * lgv + lg1 * lg1) if site else 0.0
                        ah[4, j] += (gv * gv + gv1 * gv1) if site else 0.0
                        ah[5, j] += (cv * cv + cv1 * cv1) if site else 0.0
                        ah[6, j] += (gv * cv + gv1 * cv1) if site else 0.0
                nrow += 1 if t == 0 else 2
            if nrow == 0:  # a one-row mosaic without this colour
                acc[:] = 0.0
            _scan4(acc, a2h, a2h1, win, 0, h, wid)
            _scan3(acc, a2h, a2h1, win, 4, h, wid)
            for j in range(wid):
                # samples in the window: nrow rows times the columns of parity cx in [j-h, j+h]
                # (mirroring keeps the parity, except in a one-column mosaic)
                if wid == 1:
                    ncol = 2 * h + 1 if cx == 0 else 0
                else:
                    ncol = h + 1 if ((j - h - cx) & 1) == 0 else h
                n = max(np.float64(nrow * ncol), 1.0)
                m_g = win[0, j] / n
                m_c = win[1, j] / n
                var_g = max(win[4, j] / n - m_g * m_g, 0.0)
                var_c = max(win[5, j] / n - m_c * m_c, 0.0)
                cov = win[6, j] / n - m_g * m_c
                a = win[2, j] / (win[3, j] + EPS * n)
                b = m_c - a * m_g
                dif = np.sqrt(max(var_c - 2.0 * a * cov + a * a * var_g, 0.0))
                wgt = 1.0 / max(dif, RB_FLOOR)
                ab[0, i, j] = wgt
                ab[1, i, j] = a * wgt
                ab[2, i, j] = b * wgt


@nb.njit(inline="always")
def _rb_window_sums(ab, h, i, acc, ah, a2h, a2h1, win):
    """win[q, j] = the sums of (w, a w, b w) over the (2h+1)^2 window at (i, j), symmetric order."""
    hgt, wid = ab.shape[1], ab.shape[2]
    for t in range(h + 1):
        ra = mirror(i - t, hgt)
        rb = mirror(i + t, hgt)
        for q in range(3):
            if t == 0:
                for j in range(wid):
                    ah[q, j] = 0.0 + np.float64(ab[q, ra, j])
            else:
                for j in range(wid):
                    ah[q, j] += np.float64(ab[q, ra, j]) + np.float64(ab[q, rb, j])
    _scan3(acc, a2h, a2h1, win, 0, h, wid)


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _rb_apply(ab1, h1, ab2, h2, g, q, nchunk):
    """Tentative colour: slope and intercept averaged over the windows of both sizes that
    contain the pixel, each weighted by its w, applied to green."""
    hgt, wid = g.shape
    for ch in nb.prange(nchunk):
        lo, hi = _chunk(hgt, ch, nchunk)
        acc1 = np.empty((3, wid + 2 * h1 + 1), np.float64)
        acc2 = np.empty((3, wid + 2 * h2 + 1), np.float64)
        a1h, a12h, a12h1 = _views(acc1, h1)
        a2h_, a22h, a22h1 = _views(acc2, h2)
        win1 = np.empty((3, wid), np.float64)
        win2 = np.empty((3, wid), np.float64)
        for i in range(lo, hi):
            _rb_window_sums(ab1, h1, i, acc1, a1h, a12h, a12h1, win1)
            _rb_window_sums(ab2, h2, i, acc2, a2h_, a22h, a22h1, win2)
            for j in range(wid):
                q[i, j] = ((win1[1, j] + win2[1, j]) * g[i, j] + (win1[2, j] + win2[2, j])) / (
                    (win1[0, j] + win2[0, j]) + 1e-4)


@nb.njit(inline="always")
def _res(m, q, i, j):
    return m[i, j] - q[i, j]


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _rb_finish(q, m, cy, cx, out, ch):
    """out[..., ch] = the colour: its samples, elsewhere the tentative value plus the
    bilinearly interpolated residual of the samples."""
    hgt, wid = m.shape
    half = np.float32(0.5)
    quarter = np.float32(0.25)
    for i in nb.prange(hgt):
        im, ip = fold(i - 1, hgt), fold(i + 1, hgt)
        row_s = (i & 1) == cy
        for j in range(wid):
            jm, jp = fold(j - 1, wid), fold(j + 1, wid)
            col_s = (j & 1) == cx
            if row_s and col_s:
                v = m[i, j]
            elif row_s:
                v = q[i, j] + half * (_res(m, q, i, jm) + _res(m, q, i, jp))
            elif col_s:
                v = q[i, j] + half * (_res(m, q, im, j) + _res(m, q, ip, j))
            else:
                v = q[i, j] + quarter * ((_res(m, q, im, jm) + _res(m, q, im, jp))
                                         + (_res(m, q, ip, jm) + _res(m, q, ip, jp)))
            out[i, j, ch] = v / SCALE


RB_RADII = (8, 16)  # windows of both sizes, weighted together (see the module docstring)


def ari(mosaic, pattern: str, out: np.ndarray | None = None) -> np.ndarray:
    """Demosaic an (H, W) float32 Bayer mosaic to (H, W, 3) float32 RGB with adaptive residual
    interpolation (green) and minimized-Laplacian residual interpolation (red, blue).

    `out`, if given, is a C-contiguous (H, W, 3) float32 array to write into (and return).
    """
    m, ry, rx = prepare(mosaic, pattern)
    out = output(m, out)
    m = m * SCALE
    g = ari_green(m, ry, rx)
    h, w = m.shape
    nchunk = max(1, min(h, 4 * nb.get_num_threads()))
    out[:, :, 1] = g / SCALE
    ab1 = np.empty((3, h, w), np.float32)
    ab2 = np.empty((3, h, w), np.float32)
    q = np.empty((h, w), np.float32)
    h1, h2 = RB_RADII
    lg = np.empty((h, w), np.float32)
    lc = np.empty((h, w), np.float32)
    _rb_laplacians(g, m, lg, lc, nchunk)
    for ch, (cy, cx) in ((0, (ry, rx)), (2, (1 - ry, 1 - rx))):
        _rb_coeffs(g, m, lg, lc, cy, cx, h1, ab1, nchunk)
        _rb_coeffs(g, m, lg, lc, cy, cx, h2, ab2, nchunk)
        _rb_apply(ab1, h1, ab2, h2, g, q, nchunk)
        _rb_finish(q, m, cy, cx, out, ch)
    return out
