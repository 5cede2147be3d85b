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
the whole frame (through rounding as well); the pipeline does not run ARI in strips with a
halo (`kernels.demosaic.LOCAL`).

Schedule: whole-frame float32 planes; per iteration three `prange` passes over chunks of rows
with per-chunk float64 scratch: window sums and coefficients; weighted coefficient means,
tentative estimates and the raw criterion; Gaussian smoothing of the criterion and the
guide update. The quantities of one row sit side by side in the scratch (column-major), so the
running sums' dependency chains overlap.
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

@nb.njit(inline="always")
def lap_row(x, i, j, w):
    """Second difference at distance 2 along row i (mirrored columns)."""
    return x[i, fold(j - 2, w)] + x[i, fold(j + 2, w)] - np.float32(2) * x[i, j]


def _make_hsums(nq):
    """`hsums(acc, win, h, wid)` for rows of nq quantities (a compile-time constant, so the
    quantity loops unroll into whole vectors)."""

    @nb.njit(inline="always")
    def hsums(acc, win, h, wid):
        """win[j, q] = the sum of acc[:, q] over columns [j - h, j + h] for every quantity q
        (acc[c + h, q] is column c; its pads are filled here by mirroring), as the mean of a
        running sum from the left and one from the right. Reversing the row swaps the two,
        so the sums are exactly mirror-symmetric: a flipped mosaic gives the flipped sums bit
        for bit, whatever the rounding. The quantities sit side by side so that the running
        sums' dependency chains overlap."""
        for c in range(-h, 0):
            src, dst = acc[mirror(c, wid) + h], acc[c + h]
            for q in range(nq):
                dst[q] = src[q]
        for c in range(wid, wid + h):
            src, dst = acc[mirror(c, wid) + h], acc[c + h]
            for q in range(nq):
                dst[q] = src[q]
        # forward sums into win, then the backward ones into the spare last row of acc
        o = win[0]
        for q in range(nq):
            o[q] = 0.0
        for k in range(2 * h + 1):
            a = acc[k]
            for q in range(nq):
                o[q] += a[q]
        for j in range(1, wid):
            a, b, p, o = acc[j + 2 * h], acc[j - 1], win[j - 1], win[j]
            for q in range(nq):
                o[q] = (p[q] + a[q]) - b[q]
        s = acc[wid + 2 * h]
        for q in range(nq):
            s[q] = 0.0
        for k in range(wid - 1 + 2 * h, wid - 2, -1):
            a = acc[k]
            for q in range(nq):
                s[q] += a[q]
        o = win[wid - 1]
        for q in range(nq):
            o[q] = np.float64(0.5) * (o[q] + s[q])
        for j in range(wid - 2, -1, -1):
            a, b, o = acc[j], acc[j + 2 * h + 1], win[j]
            for q in range(nq):
                t = (s[q] + a[q]) - b[q]
                s[q] = t
                o[q] = np.float64(0.5) * (o[q] + t)

    return hsums


_hsums16 = _make_hsums(16)
_hsums8 = _make_hsums(8)
_hsums4 = _make_hsums(4)


@nb.njit(inline="always")
def _add_products(acc, ia, pa, ra, rb, k0, h, wid, pair):
    """acc[c + h, k0 + (0..4)] += i, p, i^2, p^2, i p at column c of row ra, plus row rb's if
    pair (each pair added as (ra + rb), so swapping the rows changes nothing)."""
    xa, xb = ia[ra], pa[ra]
    if pair:
        ya, yb = ia[rb], pa[rb]
        for j in range(wid):
            a0 = np.float64(xa[j])
            b0 = np.float64(xb[j])
            a1 = np.float64(ya[j])
            b1 = np.float64(yb[j])
            r = acc[j + h]
            r[k0] += a0 + a1
            r[k0 + 1] += b0 + b1
            r[k0 + 2] += a0 * a0 + a1 * a1
            r[k0 + 3] += b0 * b0 + b1 * b1
            r[k0 + 4] += a0 * b0 + a1 * b1
    else:
        for j in range(wid):
            a0 = np.float64(xa[j])
            b0 = np.float64(xb[j])
            r = acc[j + h]
            r[k0] += a0
            r[k0 + 1] += b0
            r[k0 + 2] += a0 * a0
            r[k0 + 3] += b0 * b0
            r[k0 + 4] += a0 * b0


@nb.njit(inline="always")
def _chunk(n, c, nc):
    """Rows [start, stop) of chunk c of nc."""
    return n * c // nc, n * (c + 1) // nc


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _laplacians(i0, p0, i1, p1, g0, g1, ry, rx, lp, nchunk):
    """MLRI's Laplacian products along rows at the samples of each pair's input (green
    columns if g_k, else the other colour's), zero elsewhere: lp = (li0 lp0, li0^2, li1 lp1,
    li1^2)."""
    hgt, wid = i0.shape
    for ch in nb.prange(nchunk):
        lo, hi = _chunk(hgt, ch, nchunk)
        for i in range(lo, hi):
            cp = c_parity(i, ry, rx)
            for k in range(2):
                ia, pa = (i0, p0) if k == 0 else (i1, p1)
                gk = g0 if k == 0 else g1
                start = (1 - cp) if gk else cp
                la_b, la_a = lp[2 * k, i], lp[2 * k + 1, i]
                for j in range(1 - start, wid, 2):
                    la_b[j] = 0.0
                    la_a[j] = 0.0
                for j in range(start, wid, 2):
                    la = np.float64(lap_row(ia, i, j, wid))
                    lb = np.float64(lap_row(pa, i, j, wid))
                    la_b[j] = la * lb
                    la_a[j] = la * la


@nb.njit(inline="always")
def _add_rows(acc, d0, y, q0, nq, ra, rb, h, wid, pair):
    """acc[c + h, d0 + q] += y[q0 + q] at column c of row ra (and rb, added as a pair, so
    swapping the rows changes nothing) for q < nq."""
    for q in range(nq):
        sa = y[q0 + q, ra]
        if pair:
            sb = y[q0 + q, rb]
            for j in range(wid):
                acc[j + h, d0 + q] += np.float64(sa[j]) + np.float64(sb[j])
        else:
            for j in range(wid):
                acc[j + h, d0 + q] += sa[j]


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _coeffs(i0, p0, i1, p1, lp, g0, g1, ry, rx, h, v, mlri, y, nchunk):
    """Guided-filter coefficients of two pairs (guide i_k, input p_k) over windows of 2h+1
    columns and the rows of the same parity within +-v; y[3k:3k+3] = (w, a w, b w) with
    w = 1 / (rms residual of the window's fit). g_k: p_k is sampled on green (else on the
    other colour); MLRI slopes use the Laplacian products `lp` at those samples only.
    Window sums are float64 in mirror-symmetric order (row pairs, `_hsym`), so flipping the
    mosaic flips the result bit for bit."""
    hgt, wid = i0.shape
    nv = v // 2
    inv_n = 1.0 / ((2 * nv + 1) * (2 * h + 1))
    nq = 14 if mlri else 10
    for ch in nb.prange(nchunk):
        lo, hi = _chunk(hgt, ch, nchunk)
        acc = np.empty((wid + 2 * h + 1, 16), np.float64)
        win = np.empty((wid, 16), np.float64)
        for i in range(lo, hi):
            acc[:] = 0.0
            cp = c_parity(i, ry, rx)
            for t in range(nv + 1):
                ra = mirror(i - 2 * t, hgt)
                rb = mirror(i + 2 * t, hgt)
                pair = t > 0
                _add_products(acc, i0, p0, ra, rb, 0, h, wid, pair)
                _add_products(acc, i1, p1, ra, rb, 5, h, wid, pair)
                if mlri:
                    _add_rows(acc, 10, lp, 0, 4, ra, rb, h, wid, pair)
            _hsums16(acc, win, h, wid)
            for k in range(2):
                base = 5 * k
                yw, ya, yb = y[3 * k, i], y[3 * k + 1, i], y[3 * k + 2, i]
                spar = 0
                if mlri:
                    gk = g0 if k == 0 else g1
                    spar = (1 - cp) if gk else cp
                # MLRI regulariser: EPS per Laplacian sample, whose count in the window depends
                # on the parity of the sampled columns relative to j
                eps_odd = EPS * ((2 * ((h + 1) // 2)) * (2 * nv + 1))
                eps_even = EPS * ((2 * (h // 2) + 1) * (2 * nv + 1))
                for j in range(wid):
                    r = win[j]
                    m_i = r[base + 0] * inv_n
                    m_p = r[base + 1] * inv_n
                    var_i = max(r[base + 2] * inv_n - m_i * m_i, 0.0)
                    var_p = max(r[base + 3] * inv_n - m_p * m_p, 0.0)
                    cov = r[base + 4] * inv_n - m_i * m_p
                    if mlri:
                        eps = eps_odd if ((spar - j) & 1) == 1 else eps_even
                        a = r[10 + 2 * k] / (r[11 + 2 * k] + eps)
                    else:
                        a = cov / (var_i + EPS)
                    b = m_p - a * m_i
                    # mean squared residual of p - (a i + b); b makes the mean residual zero
                    dif = np.sqrt(max(var_p - 2.0 * a * cov + a * a * var_i, 0.0))
                    wgt = 1.0 / max(dif, G_FLOOR)
                    yw[j] = wgt
                    ya[j] = a * wgt
                    yb[j] = b * wgt


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _apply(y, i0, p0, i1, p1, h, v, t0, t1, crit, dcrit, nchunk):
    """Tentative estimates t_k = mean(a w) i_k + mean(b w), over mean(w), in the windows of
    `_coeffs` (the weighted averaging of the reference), summed in symmetric order; then the
    iteration criterion before smoothing: |p - t| summed over both pairs (crit) and the
    magnitude of its central difference along the row (dcrit)."""
    hgt, wid = i0.shape
    nv = v // 2
    for ch in nb.prange(nchunk):
        lo, hi = _chunk(hgt, ch, nchunk)
        acc = np.empty((wid + 2 * h + 1, 8), np.float64)
        win = np.empty((wid, 8), np.float64)
        e0 = np.empty(wid + 2, np.float32)
        e1 = np.empty(wid + 2, np.float32)
        for i in range(lo, hi):
            acc[:] = 0.0
            for t in range(nv + 1):
                _add_rows(acc, 0, y, 0, 6, mirror(i - 2 * t, hgt), mirror(i + 2 * t, hgt), h, wid, t > 0)
            _hsums8(acc, win, h, wid)
            for j in range(wid):
                a = np.float32((win[j, 1] * i0[i, j] + win[j, 2]) / (win[j, 0] + 1e-4))
                b = np.float32((win[j, 4] * i1[i, j] + win[j, 5]) / (win[j, 3] + 1e-4))
                t0[i, j] = a
                t1[i, j] = b
                e0[j + 1] = p0[i, j] - a
                e1[j + 1] = p1[i, j] - b
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
    for ch in nb.prange(nchunk):
        lo, hi = _chunk(hgt, ch, nchunk)
        tc = np.empty(wid + 4, np.float32)
        td = np.empty(wid + 4, np.float32)
        for i in range(lo, hi):
            r0, r1, r3, r4 = fold(i - 2, hgt), fold(i - 1, hgt), fold(i + 1, hgt), fold(i + 2, hgt)
            for j in range(wid):
                tc[j + 2] = g2 * crit[i, j] + g1 * (crit[r1, j] + crit[r3, j]) + g0 * (crit[r0, j] + crit[r4, j])
                td[j + 2] = g2 * dcrit[i, j] + g1 * (dcrit[r1, j] + dcrit[r3, j]) + g0 * (dcrit[r0, j] + dcrit[r4, j])
            for e in (-2, -1, wid, wid + 1):
                tc[e + 2] = tc[fold(e, wid) + 2]
                td[e + 2] = td[fold(e, wid) + 2]
            cp = c_parity(i, ry, rx)
            gi, ci, ti0, ti1 = g[i], c[i], t0[i], t1[i]
            for j in range(wid):
                cc = g2 * tc[j + 2] + g1 * (tc[j + 1] + tc[j + 3]) + g0 * (tc[j] + tc[j + 4])
                dd = g2 * td[j + 2] + g1 * (td[j + 1] + td[j + 3]) + g0 * (td[j] + td[j + 4])
                w = cc * cc * dd
                jm = fold(j - 1, wid)
                jp = fold(j + 1, wid)
                if ((j ^ cp) & 1) == 0:  # non-green sample: green missing
                    gi[j] = ti0[j] + half * ((gi[jm] - ti0[jm]) + (gi[jp] - ti0[jp]))
                else:
                    ci[j] = ti1[j] + half * ((ci[jm] - ti1[jm]) + (ci[jp] - ti1[jp]))
                if w < wbest[i, j]:
                    wbest[i, j] = w
                    best[i, j] = gi[j]


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
    lp = np.empty((4,) + shape, np.float32)
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
                _laplacians(c, g, g, c, True, False, ry, rx, lp, nchunk)
            _coeffs(c, g, g, c, lp, True, False, ry, rx, h, v, mlri, y, nchunk)
            _apply(y, c, g, g, c, h, v, t0, t1, crit, dcrit, nchunk)
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
def lap2(x, i, j, hgt, wid):
    """Laplacian with taps at distance 2 (same CFA colour), mirrored."""
    return (x[fold(i - 2, hgt), j] + x[fold(i + 2, hgt), j]) + (
        x[i, fold(j - 2, wid)] + x[i, fold(j + 2, wid)]) - np.float32(4) * x[i, j]


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _rb_coeffs(g, m, cy, cx, h, ab):
    """MLRI coefficients of the colour sampled at rows cy, columns cx (mod 2) with green as
    guide, over (2h+1)^2 windows: slope from Laplacian products, intercept from means, and
    the weight 1 / (rms residual of the window's fit); ab = (w, a w, b w). Sums in
    mirror-symmetric order (row pairs i -+ t, `_hsym`)."""
    hgt, wid = m.shape
    for i in nb.prange(hgt):
        acc = np.zeros((wid + 2 * h + 1, 8), np.float64)
        win = np.empty((wid, 8), np.float64)
        for t in range(h + 1):
            ra = mirror(i - t, hgt)
            rb = mirror(i + t, hgt)
            if (ra & 1) != cy:
                continue
            pair = t > 0
            for j in range(cx, wid, 2):
                k = j + h
                lg = np.float64(lap2(g, ra, j, hgt, wid))
                lc = np.float64(lap2(m, ra, j, hgt, wid))
                gv = np.float64(g[ra, j])
                cv = np.float64(m[ra, j])
                cnt = 1.0
                if pair:
                    lg1 = np.float64(lap2(g, rb, j, hgt, wid))
                    lc1 = np.float64(lap2(m, rb, j, hgt, wid))
                    gv1 = np.float64(g[rb, j])
                    cv1 = np.float64(m[rb, j])
                    cnt = 2.0
                else:
                    lg1 = lc1 = gv1 = cv1 = 0.0
                acc[k, 0] += cnt
                acc[k, 1] += gv + gv1
                acc[k, 2] += cv + cv1
                acc[k, 3] += lg * lc + lg1 * lc1
                acc[k, 4] += lg * lg + lg1 * lg1
                acc[k, 5] += gv * gv + gv1 * gv1
                acc[k, 6] += cv * cv + cv1 * cv1
                acc[k, 7] += gv * cv + gv1 * cv1
        _hsums8(acc, win, h, wid)
        for j in range(wid):
            n = max(win[j, 0], 1.0)
            m_g = win[j, 1] / n
            m_c = win[j, 2] / n
            var_g = max(win[j, 5] / n - m_g * m_g, 0.0)
            var_c = max(win[j, 6] / n - m_c * m_c, 0.0)
            cov = win[j, 7] / n - m_g * m_c
            a = win[j, 3] / (win[j, 4] + EPS * n)
            b = m_c - a * m_g
            dif = np.sqrt(max(var_c - 2.0 * a * cov + a * a * var_g, 0.0))
            wgt = 1.0 / max(dif, RB_FLOOR)
            ab[0, i, j] = wgt
            ab[1, i, j] = a * wgt
            ab[2, i, j] = b * wgt


@nb.njit(inline="always")
def _rb_window_sums(ab, h, i, acc, win):
    """win[j] = the sums of (w, a w, b w) over the (2h+1)^2 window at (i, j), symmetric order."""
    hgt, wid = ab.shape[1], ab.shape[2]
    acc[:] = 0.0
    for t in range(h + 1):
        _add_rows(acc, 0, ab, 0, 3, mirror(i - t, hgt), mirror(i + t, hgt), h, wid, t > 0)
    _hsums4(acc, win, h, wid)


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _rb_apply(ab1, h1, ab2, h2, g, q, nchunk):
    """Tentative colour: slope and intercept averaged over the windows of both sizes that
    contain the pixel, each weighted by its w, applied to green."""
    hgt, wid = g.shape
    for ch in nb.prange(nchunk):
        lo, hi = _chunk(hgt, ch, nchunk)
        acc1 = np.empty((wid + 2 * h1 + 1, 4), np.float64)
        acc2 = np.empty((wid + 2 * h2 + 1, 4), np.float64)
        win1 = np.empty((wid, 4), np.float64)
        win2 = np.empty((wid, 4), np.float64)
        for i in range(lo, hi):
            _rb_window_sums(ab1, h1, i, acc1, win1)
            _rb_window_sums(ab2, h2, i, acc2, win2)
            for j in range(wid):
                q[i, j] = ((win1[j, 1] + win2[j, 1]) * g[i, j] + (win1[j, 2] + win2[j, 2])) / (
                    (win1[j, 0] + win2[j, 0]) + 1e-4)


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
    for ch, (cy, cx) in ((0, (ry, rx)), (2, (1 - ry, 1 - rx))):
        _rb_coeffs(g, m, cy, cx, h1, ab1)
        _rb_coeffs(g, m, cy, cx, h2, ab2)
        _rb_apply(ab1, h1, ab2, h2, g, q, nchunk)
        _rb_finish(q, m, cy, cx, out, ch)
    return out
