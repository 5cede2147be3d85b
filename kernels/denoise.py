"""Denoisers for Bayer mosaics under a Poisson-Gaussian noise model (variance = a * x + b).

All three work on the (H, W) normalised mosaic, *before* demosaicing, for three reasons:
the noise there is independent from sample to sample with a known signal-dependent variance
(every demosaic correlates it spatially and mixes channels, which breaks both assumptions);
the mosaic has a third of the samples of the RGB image; and the result feeds any demosaic.

The mosaic is taken apart into 2x2 blocks (one R, two G, one B in any Bayer pattern) and each
block goes through an orthonormal 2x2 Haar transform:

    L = (p00 + p01 + p10 + p11) / 2       luma (R + 2G + B), half the relative noise
    H = (p00 - p01 + p10 - p11) / 2       the three others mix the colour differences (R - B,
    V = (p00 + p01 - p10 - p11) / 2       R + B - 2G, G1 - G2) with the finest luma detail
    D = (p00 - p01 - p10 + p11) / 2

Being orthonormal, it keeps white noise white with the block's mean variance a * mean + b in
every channel, and it does not depend on the CFA pattern (another pattern permutes and flips
the signs of H, V, D). Luma is smoothed gently and edge-aware; the other three (chroma)
strongly, steered by the luma so colour edges that follow luma edges survive.

Odd trailing rows/columns (a mosaic of odd size) are not filtered: they are passed through (with
the front end's levels, defect suppression, gains and clip when those are asked for).

Kernels raise ValueError for bad arguments; `isp.denoise` turns user errors into InputError.
"""
import numba as nb
import numpy as np

from kernels.sensor import correct, corrected, mirror, site_values, suppress_defect
from kernels.wb import wb_value

F32 = np.float32
STRIP = 16          # block rows per parallel work item



# ---------------------------------------------------------------------------------------------
# per-pixel maths. Helpers that kernels with different fast-math flags share are inlined by numba:
# a plain njit function is compiled once, with the flags of the first kernel that calls it. The
# real-time kernel's own helpers are plain njit functions that LLVM inlines (numba's inlining of
# them cost ~10 s of compile per kernel variant, for no speed).

@nb.njit(inline="always")
def haar_fwd(p00, p01, p10, p11):
    """Orthonormal 2x2 Haar of one Bayer block: (L, H, V, D)."""
    s0 = p00 + p01
    s1 = p10 + p11
    d0 = p00 - p01
    d1 = p10 - p11
    h = F32(0.5)
    return (s0 + s1) * h, (d0 + d1) * h, (s0 - s1) * h, (d0 - d1) * h


@nb.njit(inline="always")
def haar_inv(l, hh, v, d):
    """Inverse of `haar_fwd`: (p00, p01, p10, p11)."""
    h = F32(0.5)
    s0 = l + v
    s1 = l - v
    d0 = hh + d
    d1 = hh - d
    return (s0 + d0) * h, (s0 - d0) * h, (s1 + d1) * h, (s1 - d1) * h


@nb.njit(inline="always")
def block_variance(luma, a, b):
    """Noise variance of every Haar channel of a block whose luma is `luma` (= 2 x block mean)."""
    return a * max(luma * F32(0.5), F32(0.0)) + b


@nb.njit
def tukey_weight(d2, inv_h2):
    """Robust range weight (1 - d^2/h^2)^2 for d^2 < h^2, else 0: Tukey's biweight, which a
    bilateral filter can use in place of the Gaussian (Black, Sapiro, Marimont, Heeger, "Robust
    anisotropic diffusion", IEEE TIP 7(3), 1998); no exp, so it vectorises."""
    t = max(F32(1.0) - d2 * inv_h2, F32(0.0))
    return t * t


# ---------------------------------------------------------------------------------------------
# schedule helpers

@nb.njit(inline="always")
def _clamp(i, n):
    return 0 if i < 0 else (n - 1 if i >= n else i)


@nb.njit
def _load_haar_rows(mosaic, buf, top, n, w2, pad, r_off=0):
    """Haar channels of block rows top .. top+n-1 (clamped to the image) into buf[c, r, pad+j],
    with `pad` replicated columns on each side."""
    h2 = mosaic.shape[0] // 2
    for r in range(n):
        bi = _clamp(top + r, h2)
        row0 = mosaic[2 * bi]
        row1 = mosaic[2 * bi + 1]
        rb = r_off + r
        for j in range(w2):
            l, hh, v, d = haar_fwd(row0[2 * j], row0[2 * j + 1], row1[2 * j], row1[2 * j + 1])
            buf[0, rb, pad + j] = l
            buf[1, rb, pad + j] = hh
            buf[2, rb, pad + j] = v
            buf[3, rb, pad + j] = d
        for c in range(4):
            for k in range(pad):
                buf[c, rb, k] = buf[c, rb, pad]
                buf[c, rb, pad + w2 + k] = buf[c, rb, pad + w2 - 1]


def _check_shape(mosaic):
    if mosaic.ndim != 2:
        raise ValueError(f"expected an (H, W) mosaic, got shape {mosaic.shape}")
    if mosaic.shape[0] < 2 or mosaic.shape[1] < 2:
        raise ValueError(f"mosaic {mosaic.shape} is smaller than one 2x2 block")


def _check_params(a, b, strength):
    if not (a >= 0 and b >= 0 and np.isfinite(a) and np.isfinite(b)):
        raise ValueError(f"noise model needs finite a, b >= 0, got a={a}, b={b}")
    if not (strength >= 0 and np.isfinite(strength)):
        raise ValueError(f"strength must be finite and >= 0, got {strength}")


def _check(mosaic, a, b, strength):
    _check_shape(mosaic)
    _check_params(a, b, strength)
    return np.ascontiguousarray(mosaic, dtype=F32)


def _out(m, out):
    if out is None:
        return np.empty(m.shape, dtype=F32)
    if not (isinstance(out, np.ndarray) and out.shape == m.shape and out.dtype == F32 and out.flags.c_contiguous):
        raise ValueError(f"out must be a C-contiguous float32 array of shape {m.shape}")
    if np.shares_memory(out, m):
        raise ValueError("out must not overlap the input")
    return out


# ---------------------------------------------------------------------------------------------
# 1. real-time: joint bilateral on the Haar channels of the mosaic

RT_LUMA_H = 2.5     # luma range threshold, in noise sigmas of a luma difference, at strength 1
RT_CHROMA_H = 3.5   # chroma range threshold (steered by luma), same units


@nb.njit
def _tap(ln, hn, vn, dn, l0, h0, v0, d0, inv_l, inv_c, ws):
    """One neighbour of the joint bilateral: its luma and chroma weights."""
    e0 = ln - l0
    e1 = hn - h0
    e2 = vn - v0
    e3 = dn - d0
    d2 = (e0 * e0 + e1 * e1) + (e2 * e2 + e3 * e3)
    return tukey_weight(d2, inv_l) * ws, tukey_weight(d2, inv_c) * ws


@nb.njit
def _acc(ring, slot, x, l0, h0, v0, d0, inv_l, inv_c, ws, acc):
    """Add neighbour ring[slot, :, x] to the joint bilateral's sums
    acc = (sum wl*L, sum wl, sum wc*H, sum wc*V, sum wc*D, sum wc)."""
    ln = ring[slot, 0, x]
    hn = ring[slot, 1, x]
    vn = ring[slot, 2, x]
    dn = ring[slot, 3, x]
    wl, wc = _tap(ln, hn, vn, dn, l0, h0, v0, d0, inv_l, inv_c, ws)
    return (acc[0] + wl * ln, acc[1] + wl, acc[2] + wc * hn, acc[3] + wc * vn, acc[4] + wc * dn,
            acc[5] + wc)


@nb.njit
def _u(i):
    """A non-negative index as unsigned: numba then skips the negative-index wrap-around
    select, so LLVM sees the address as linear in the loop counter (wide loads and stores,
    interleaved groups, no run-time overlap checks between the two parities of a row)."""
    return np.uint64(i)


# -- loading: raw or normalised mosaic rows -> Haar rows of a ring buffer -----------------------

@nb.njit(inline="always")
def _haar_row(src, y0, lv, ring, slot, w2, R):
    """Haar channels of mosaic rows y0, y0 + 1 into ring[slot, c, R + j], with R replicated
    columns each side. Each sample is normalised on load as kernels.sensor.normalised does,
    (v - black) * scale with lv = (black00, black01, black10, black11, scale00, ...) per CFA
    site (0 and 1 for a mosaic that is normalised already: exact). Returns how many blocks
    hold a NaN or inf (0 for an integer mosaic)."""
    b00, b01, b10, b11, s00, s01, s10, s11 = lv
    y1 = y0 + 1
    bad = 0
    for j in range(w2):
        x0 = _u(2 * j)
        x1 = _u(2 * j + 1)
        xr = _u(R + j)
        p00 = (F32(src[y0, x0]) - b00) * s00
        p01 = (F32(src[y0, x1]) - b01) * s01
        p10 = (F32(src[y1, x0]) - b10) * s10
        p11 = (F32(src[y1, x1]) - b11) * s11
        # 0 for finite samples, NaN otherwise (the kernel has no nnan/ninf fast-math flags)
        t = ((p00 - p00) + (p01 - p01)) + ((p10 - p10) + (p11 - p11))
        bad += t != t
        l, hh, v, d = haar_fwd(p00, p01, p10, p11)
        ring[slot, 0, xr] = l
        ring[slot, 1, xr] = hh
        ring[slot, 2, xr] = v
        ring[slot, 3, xr] = d
    for c in range(4):
        for k in range(R):
            ring[slot, c, k] = ring[slot, c, R]
            ring[slot, c, R + w2 + k] = ring[slot, c, R + w2 - 1]
    return bad


@nb.njit(inline="always")
def _corrected_row(src, y, lv, threshold, nrm, crow, t):
    """Mosaic row y normalised and defect-suppressed exactly as kernels.sensor.corrected (gain
    1, no clip) into crow[t, :]: the rows y - 2, y, y + 2 (mirrored at the edges) normalised
    into nrm[q, 2 + x] with two mirrored columns each side, then the same-colour cross test."""
    H, W = src.shape
    for q in range(3):
        yy = mirror(y + 2 * q - 2, H)
        if yy & 1:
            b0, b1, s0, s1 = lv[2], lv[3], lv[6], lv[7]
        else:
            b0, b1, s0, s1 = lv[0], lv[1], lv[4], lv[5]
        for j in range(W // 2):
            nrm[q, _u(2 + 2 * j)] = (F32(src[yy, _u(2 * j)]) - b0) * s0
            nrm[q, _u(3 + 2 * j)] = (F32(src[yy, _u(2 * j + 1)]) - b1) * s1
        if W % 2:
            nrm[q, 1 + W] = (F32(src[yy, W - 1]) - b0) * s0
        nrm[q, 0] = nrm[q, 2 + mirror(-2, W)]
        nrm[q, 1] = nrm[q, 2 + mirror(-1, W)]
        nrm[q, W + 2] = nrm[q, 2 + mirror(W, W)]
        nrm[q, W + 3] = nrm[q, 2 + mirror(W + 1, W)]
    for x in range(W):
        x2 = _u(x + 2)
        crow[t, _u(x)] = suppress_defect(nrm[1, x2], nrm[0, x2], nrm[2, x2], nrm[1, _u(x)], nrm[1, _u(x + 4)],
                                         threshold)


@nb.njit(inline="always")
def _load(src, k, lv, threshold, ring, slot, crow, nrm, R):
    """Block row k (clamped to the mosaic) into ring slot `slot`; see _haar_row."""
    h2 = src.shape[0] // 2
    w2 = src.shape[1] // 2
    bi = _clamp(k, h2)
    if threshold > 0:
        _corrected_row(src, 2 * bi, lv, threshold, nrm, crow, 0)
        _corrected_row(src, 2 * bi + 1, lv, threshold, nrm, crow, 1)
        return _haar_row(crow, 0, _IDENTITY_LEVELS, ring, slot, w2, R)
    return _haar_row(src, 2 * bi, lv, ring, slot, w2, R)


# -- filtering one row of blocks -----------------------------------------------------------------

@nb.njit(inline="always")
def _bilateral_row(ring, sa, sc, sb, R, w2, a, b, kl2, kc2, vs, vrow, g, clip, top, bottom, i, W):
    """One row of blocks of the joint bilateral: ring slots sa, sc, sb hold the Haar rows R
    blocks above, at and below (padded by R columns each side); the filtered blocks go through
    the inverse Haar, then gain g[site] and clip, into mosaic rows 2i (top[i, :W]) and
    2i + 1 (bottom[i, W:]). vs[vrow, j] scales the noise variance of block j.
    The 3x3 window is unrolled by hand and every access is a scalar index of a whole array
    (no sub-array views), so the prange body is alias-free: numba gives the parallel
    function's array arguments `noalias`, LLVM needs no run-time overlap checks between the
    output and the ring, and the loop over blocks vectorises (8 blocks per AVX2 instruction).
    `top` and `bottom` are the same (H/2, 2W) view of the output, passed twice: the two rows
    of a block row are then two arguments, and LLVM's run-time check between them (whose
    distance W it cannot know), which it also applies between the even and odd samples of a
    row and which then always fails, is gone. The two only ever touch disjoint halves of a
    row, which is what `noalias` requires."""
    ws_e = F32(0.6065307)     # exp(-1/2): Gaussian spatial weights, sigma = 1 block
    ws_c = F32(0.36787944)    # exp(-1)
    g00, g01, g10, g11 = g
    for j in range(w2):
        x = _u(j + R)
        xa = _u(j)
        xb = _u(j + 2 * R)
        l0 = ring[sc, 0, x]
        h0 = ring[sc, 1, x]
        v0 = ring[sc, 2, x]
        d0 = ring[sc, 3, x]
        # expected squared distance of two noisy blocks: 4 channels x 2 x variance
        var = block_variance(l0, a, b) * vs[vrow, xa] * F32(8.0) + F32(1e-20)
        inv_l = F32(1.0) / (kl2 * var)
        inv_c = F32(1.0) / (kc2 * var)
        acc = (l0, F32(1.0), h0, v0, d0, F32(1.0))
        acc = _acc(ring, sa, xa, l0, h0, v0, d0, inv_l, inv_c, ws_c, acc)
        acc = _acc(ring, sa, x, l0, h0, v0, d0, inv_l, inv_c, ws_e, acc)
        acc = _acc(ring, sa, xb, l0, h0, v0, d0, inv_l, inv_c, ws_c, acc)
        acc = _acc(ring, sc, xa, l0, h0, v0, d0, inv_l, inv_c, ws_e, acc)
        acc = _acc(ring, sc, xb, l0, h0, v0, d0, inv_l, inv_c, ws_e, acc)
        acc = _acc(ring, sb, xa, l0, h0, v0, d0, inv_l, inv_c, ws_c, acc)
        acc = _acc(ring, sb, x, l0, h0, v0, d0, inv_l, inv_c, ws_e, acc)
        acc = _acc(ring, sb, xb, l0, h0, v0, d0, inv_l, inv_c, ws_c, acc)
        il = F32(1.0) / acc[1]
        ic = F32(1.0) / acc[5]
        p00, p01, p10, p11 = haar_inv(acc[0] * il, acc[2] * ic, acc[3] * ic, acc[4] * ic)
        top[i, _u(2 * j)] = wb_value(p00, g00, clip)
        top[i, _u(2 * j + 1)] = wb_value(p01, g01, clip)
        bottom[i, _u(W + 2 * j)] = wb_value(p10, g10, clip)
        bottom[i, _u(W + 2 * j + 1)] = wb_value(p11, g11, clip)


@nb.njit
def _odd_edges(src, lv, threshold, gains, clip, out):
    """A trailing odd row/column is not filtered: copied through levels, defects, gain, clip."""
    H, W = src.shape
    black = np.empty((2, 2), F32)
    scale = np.empty((2, 2), F32)
    for s in range(4):
        black[s // 2, s % 2] = lv[s]
        scale[s // 2, s % 2] = lv[4 + s]
    unit = np.empty((2, 2), F32)
    for s in range(4):
        unit[s // 2, s % 2] = F32(1.0)
    inf = F32(np.inf)
    if H % 2:
        for x in range(W):
            v = corrected(src, H - 1, x, black, scale, unit, threshold, inf)
            out[H - 1, x] = wb_value(F32(v), gains[(H - 1) & 1, x & 1], clip)
    if W % 2:
        for y in range(H - H % 2):
            v = corrected(src, y, W - 1, black, scale, unit, threshold, inf)
            out[y, W - 1] = wb_value(F32(v), gains[y & 1, (W - 1) & 1], clip)


# Fast-math: only FMA contraction. No reassociation (the front end then equals the separate
# sensor/wb passes bit for bit, and the loop has no reductions that need it) and no
# nnan/ninf (the non-finite count in _haar_row relies on NaN arithmetic).
_FASTMATH = {"contract"}


@nb.njit(parallel=True, cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _bilateral_kernel(src, lv, threshold, a, b, kl, kc, vs, gains, clip, R, band, out, top, bottom, bad):
    """The joint bilateral over the whole mosaic, in bands of `band` block rows (one prange
    item each). A band keeps the Haar rows it needs in a ring of 2R + 1 rows (~90 KB at UHD,
    stays in L2): each row is loaded once (plus 2R halo rows per band) and filtered straight
    into `out` (top and bottom: its first 2 (H // 2) rows as an (H // 2, 2W) array, see
    _bilateral_row). bad[band] = non-finite input blocks."""
    H, W = src.shape
    h2, w2 = H // 2, W // 2
    n = 2 * R + 1
    nbands = (h2 + band - 1) // band
    kl2 = kl * kl
    kc2 = kc * kc
    per_block = vs.shape[0] > 1
    g = (gains[0, 0], gains[0, 1], gains[1, 0], gains[1, 1])
    for s in nb.prange(nbands):
        r0 = s * band
        r1 = min(r0 + band, h2)
        ring = np.empty((n, 4, w2 + 2 * R), dtype=F32)
        crow = np.empty((2, W if threshold > 0 else 0), dtype=F32)
        nrm = np.empty((3, W + 4 if threshold > 0 else 0), dtype=F32)
        cnt = 0
        for k in range(r0 - R, r1 + R):  # load block row k, then filter row k - R
            cnt += _load(src, k, lv, threshold, ring, k % n, crow, nrm, R)
            i = k - R
            if i >= r0:
                _bilateral_row(ring, (i - R) % n, i % n, k % n, R, w2, a, b, kl2, kc2, vs,
                               i if per_block else 0, g, clip, top, bottom, i, W)
        bad[s] = cnt
    _odd_edges(src, lv, threshold, gains, clip, out)
    return out


RT_PASS2_VAR = 0.2  # noise variance left after the first pass, relative (3x3 Tukey-weighted mean)
BAND = 32           # block rows per parallel work item of the real-time filter


def _levels(levels, threshold):
    """(black, scale) per CFA site -> the kernel's 8-tuple of float32; None: normalised input."""
    if levels is None:
        if threshold > 0:
            raise ValueError("defect suppression (threshold > 0) needs levels=(black, scale)")
        return _IDENTITY_LEVELS
    black, scale = (np.broadcast_to(np.asarray(v, dtype=F32), (2, 2)) for v in levels)
    return tuple(F32(v) for v in black.ravel()) + tuple(F32(v) for v in scale.ravel())


def _gains(gains, clip):
    g = _UNIT if gains is None else site_values(gains)  # writable: a read-only array compiles the kernel again
    c = F32(np.inf) if clip is None or not clip > 0 else F32(clip)
    return g, c


def _rows(w2, value):
    if (w2, value) not in _ROWS:
        _ROWS[(w2, value)] = np.full((1, max(w2, 1)), value, dtype=F32)
    return _ROWS[(w2, value)]


_ROWS: dict = {}
_IDENTITY_LEVELS = (F32(0), F32(0), F32(0), F32(0), F32(1), F32(1), F32(1), F32(1))
_UNIT = np.ones((2, 2), dtype=F32)


def _run(src, a, b, kl, kc, vs, R, out, lv=_IDENTITY_LEVELS, threshold=0.0, gains=_UNIT, clip=F32(np.inf)):
    bad = np.zeros((src.shape[0] // 2 + BAND - 1) // BAND, dtype=np.int64)
    pairs = out[:src.shape[0] // 2 * 2].reshape(src.shape[0] // 2, 2 * src.shape[1])  # a view
    _bilateral_kernel(src, lv, F32(threshold), F32(a), F32(b), F32(kl), F32(kc), vs, gains, clip, R, BAND, out,
                      pairs, pairs, bad)
    return int(bad.sum())


def bilateral_cfa(mosaic, a, b, strength=1.0, out=None, passes=1, *, levels=None, threshold=0.0, gains=None,
                  clip=None, check_finite=False):
    """Real-time denoiser: a luma-steered bilateral filter on the 2x2-Haar channels of the mosaic.

    A 3x3-block window (6x6 mosaic pixels) with Gaussian spatial weights and Tukey-biweight
    range weights on the luma difference, the range threshold a multiple of the *local* noise
    sigma from the Poisson-Gaussian model (so the filter is as strong in the shadows as in the
    highlights, relative to the noise there). Luma uses a tight threshold (edges kept); the
    chroma channels a looser one with the same luma differences (cross/joint bilateral), so
    colour noise is smoothed harder but not across luma edges.

    Runs on the CFA before demosaic (see the module docstring): independent noise of known
    variance, a third of the data, and every demosaic downstream benefits.

    References: C. Tomasi, R. Manduchi, "Bilateral filtering for gray and color images",
    ICCV 1998; G. Petschnigg et al., "Digital photography with flash and no-flash image pairs"
    (joint bilateral), SIGGRAPH 2004; Black et al. 1998 (Tukey range weight).

    mosaic: (H, W) float32 normalised; a, b: noise model; strength: scales both thresholds
    (0 = no change); out: optional (H, W) float32 C-contiguous array to write into (not the
    input), which saves a streaming pipeline the page faults of a fresh 33 MB buffer per UHD
    frame. Returns the (H, W) float32 result.

    passes=2 adds a second pass on the result with the window dilated to every other block
    (taps 2 blocks apart: the "a-trous" scheme of Dammertz et al., "Edge-avoiding a-trous
    wavelet transform for fast global illumination filtering", HPG 2010) and the noise
    variance the first pass leaves (RT_PASS2_VAR): a 10x10-pixel footprint for twice the cost,
    about +1 dB at high noise.

    Fused sensor front end (one pass instead of three): with `levels=(black, scale)` the
    mosaic is the raw one (uint16, or any real dtype) and each sample is normalised on load,
    (v - black) * scale per CFA site, and with `threshold` > 0 defect-suppressed, exactly as
    `kernels.sensor.correct(mosaic, black, scale, ones, threshold, inf)`; `gains` ((2, 2) per
    CFA site) and `clip` (None, inf or <= 0: no clip) are applied on store exactly as
    `kernels.wb.white_balance_mosaic`. So

        bilateral_cfa(raw, a, b, s, levels=(black, scale), threshold=t, gains=site_gains, clip=c)
        == wb(bilateral_cfa(correct(raw, black, scale, ones, t, inf), a, b, s), site_gains, c)

    check_finite: raise ValueError if the mosaic holds NaN or inf (counted during the load, so
    it costs no extra pass; `out` then holds garbage).

    Speed (bench/denoise_speed.py, UHD, reused out, passes=1): ~17 ms on one core, 23.6 CPU-ms
    over two threads (~12 ms on 2 idle cores); the raw front end costs the same as the
    normalised input. 1.3-1.5x less than the strip-buffer version this replaced, which
    needed a process-wide LLVM option to vectorise at all.
    """
    m = np.asarray(mosaic)
    if levels is None:
        m = _check(m, a, b, strength)
    else:  # a raw mosaic: any integer or real dtype, normalised on load
        _check_params(a, b, strength)
        _check_shape(m)
        if not (np.issubdtype(m.dtype, np.integer) or np.issubdtype(m.dtype, np.floating)):
            raise ValueError(f"raw mosaic must be of an integer or real dtype, got {m.dtype}")
        m = np.ascontiguousarray(m)
    if passes not in (1, 2):
        raise ValueError(f"passes must be 1 or 2, got {passes}")
    lv = _levels(levels, threshold)
    g, c = _gains(gains, clip)
    out = _out(m, out)
    if check_finite and np.issubdtype(m.dtype, np.floating) and strength == 0 and not np.isfinite(m).all():
        raise ValueError("the mosaic contains NaN or inf")
    if strength == 0 and levels is None and gains is None and c == np.inf:
        out[...] = m
        return out
    if strength == 0:  # no filtering: the front end alone, which kernels.sensor.correct is
        out[...] = correct(m, np.reshape(lv[:4], (2, 2)), np.reshape(lv[4:], (2, 2)), g, threshold, c)
        return out
    kl, kc = RT_LUMA_H * strength, RT_CHROMA_H * strength
    w2 = m.shape[1] // 2
    if passes == 1:
        bad = _run(m, a, b, kl, kc, _rows(w2, 1.0), 1, out, lv, threshold, g, c)
    else:
        first = np.empty(m.shape, F32)
        bad = _run(m, a, b, kl, kc, _rows(w2, 1.0), 1, first, lv, threshold)
        _run(first, a, b, kl, kc, _rows(w2, RT_PASS2_VAR), 2, out, gains=g, clip=c)
    if check_finite and (bad or not _odd_edges_finite(m)):
        raise ValueError("the mosaic contains NaN or inf")
    return out


def _odd_edges_finite(m) -> bool:
    """Whether a trailing odd row/column, outside the kernel's 2x2 blocks and its count, is finite."""
    h, w = m.shape
    return bool((h % 2 == 0 or np.isfinite(m[-1]).all()) and (w % 2 == 0 or np.isfinite(m[:, -1]).all()))


@nb.njit(cache=True)
def _copy_odd_edges(mosaic, out):
    H, W = mosaic.shape
    if H % 2:
        out[H - 1, :] = mosaic[H - 1, :]
    if W % 2:
        out[:, W - 1] = mosaic[:, W - 1]


# ---------------------------------------------------------------------------------------------
# 2. high quality: non-local means on the Haar channels of the mosaic

NLM_SEARCH = 3      # search radius in blocks: a 7x7-block (14x14 pixel) window
NLM_PATCH = 1       # patch radius in blocks: 3x3 blocks (6x6 pixels, all four CFA sites)
NLM_LUMA_H = 0.55   # weight = exp(-max(d - 1, 0) / h^2), d = patch distance / its noise expectation
NLM_CHROMA_H = 1.0


@nb.njit(parallel=True, cache=True)
def _haar_image(mosaic, pad):
    """Haar channels of the whole mosaic, (4, h2 + 2 pad, w2 + 2 pad), edges replicated."""
    H, W = mosaic.shape
    h2, w2 = H // 2, W // 2
    n = h2 + 2 * pad
    buf = np.empty((4, n, w2 + 2 * pad), dtype=F32)
    nchunks = (n + STRIP - 1) // STRIP
    for s in nb.prange(nchunks):
        r0 = s * STRIP
        r1 = min(r0 + STRIP, n)
        _load_haar_rows(mosaic, buf, r0 - pad, r1 - r0, w2, pad, r0)
    return buf


@nb.njit(parallel=True, cache=True, fastmath=True, error_model="numpy")
def _nlm_cfa(mosaic, a, b, hl, hc, S, P, out):
    H, W = mosaic.shape
    h2, w2 = H // 2, W // 2
    pad = S + P
    buf = _haar_image(mosaic, pad)
    np_ = (2 * P + 1) * (2 * P + 1)
    inv_hl2 = F32(1.0) / (hl * hl)
    inv_hc2 = F32(1.0) / (hc * hc)
    for i in nb.prange(h2):
        c = i + pad                       # buffer row of block row i
        wp = w2 + 2 * pad
        e = np.empty(wp, dtype=F32)
        d = np.empty(w2, dtype=F32)
        inv = np.empty(w2, dtype=F32)
        acc = np.zeros((6, w2), dtype=F32)
        # noise variance per block from the patch-mean luma (less noisy than the block's own)
        for j in range(w2):
            sl = F32(0.0)
            for r in range(-P, P + 1):
                for k in range(-P, P + 1):
                    sl += buf[0, c + r, j + pad + k]
            var = block_variance(sl / np_, a, b)
            # patch distance of pure noise: 4 channels x np_ blocks x 2 var
            inv[j] = F32(1.0) / (F32(8.0) * np_ * var + F32(1e-20))
        for di in range(-S, S + 1):
            for dj in range(-S, S + 1):
                # e[x] = squared difference of the column of patch blocks at x, all channels
                for x in range(P, w2 + 2 * pad - P):
                    if x + dj < 0 or x + dj >= wp:
                        continue
                    t = F32(0.0)
                    for r in range(-P, P + 1):
                        for ch in range(4):
                            q = buf[ch, c + r, x] - buf[ch, c + di + r, x + dj]
                            t += q * q
                    e[x] = t
                for j in range(w2):
                    x = j + pad
                    t = F32(0.0)
                    for k in range(-P, P + 1):
                        t += e[x + k]
                    d[j] = t
                for j in range(w2):
                    x = j + pad
                    dn = max(d[j] * inv[j] - F32(1.0), F32(0.0))
                    wl = np.exp(-dn * inv_hl2)
                    wc = np.exp(-dn * inv_hc2)
                    acc[0, j] += wl * buf[0, c + di, x + dj]
                    acc[1, j] += wl
                    acc[2, j] += wc * buf[1, c + di, x + dj]
                    acc[3, j] += wc * buf[2, c + di, x + dj]
                    acc[4, j] += wc * buf[3, c + di, x + dj]
                    acc[5, j] += wc
        o0 = out[2 * i]
        o1 = out[2 * i + 1]
        for j in range(w2):
            il = F32(1.0) / acc[1, j]
            ic = F32(1.0) / acc[5, j]
            p00, p01, p10, p11 = haar_inv(acc[0, j] * il, acc[2, j] * ic, acc[3, j] * ic, acc[4, j] * ic)
            o0[2 * j] = p00
            o0[2 * j + 1] = p01
            o1[2 * j] = p10
            o1[2 * j + 1] = p11
    _copy_odd_edges(mosaic, out)
    return out


def nlm_cfa(mosaic, a, b, strength=1.0, search=NLM_SEARCH, patch=NLM_PATCH, out=None):
    """High-quality denoiser: non-local means on the 2x2-Haar channels of the mosaic.

    Every block is replaced by the weighted mean of the blocks in a (2 search + 1)^2 window,
    weighted by how alike the (2 patch + 1)^2-block patches around them are over all four
    channels, the distance measured in units of its expectation under the local noise (so one
    threshold serves every signal level of the Poisson-Gaussian model). Luma and chroma have
    their own widths, chroma the larger. Patch distances are computed offset by offset as
    column sums then row sums (the separable form of Darbon et al.'s fast NLM), which the
    loops over a row vectorise.

    References: A. Buades, B. Coll, J.-M. Morel, "A non-local algorithm for image denoising",
    CVPR 2005; J. Darbon et al., "Fast nonlocal filtering applied to electron cryomicroscopy",
    ISBI 2008; Buades, Coll, Morel, "Non-local means denoising", IPOL 2011 (parameters).

    mosaic: (H, W) float32 normalised; a, b: noise model; strength scales the widths.
    Returns a new (H, W) float32 mosaic.
    """
    m = _check(np.asarray(mosaic), a, b, strength)
    if not (0 <= int(search) <= 10 and 0 <= int(patch) <= 3):
        raise ValueError(f"search radius must be 0..10 and patch radius 0..3, got {search}, {patch}")
    out = _out(m, out)
    if strength == 0:
        out[...] = m
        return out
    return _nlm_cfa(m, F32(a), F32(b), F32(NLM_LUMA_H * strength), F32(NLM_CHROMA_H * strength),
                    int(search), int(patch), out)


# ---------------------------------------------------------------------------------------------
# 3. temporal: motion-adaptive averaging over a window of frames, then the real-time filter

TEMPORAL_LO = 0.5   # a frame counts fully while its 3x3-block distance to the centre frame is
TEMPORAL_HI = 1.5   # within 1 + LO of noise's expectation, not at all beyond 1 + HI (x strength)


@nb.njit
def motion_weight(dn, lo, hi):
    """Weight of another frame's block given its normalised distance dn to the centre frame
    (1 on average for pure noise): 1 up to 1 + lo, falling linearly to 0 at 1 + hi."""
    t = (F32(1.0) + hi - dn) / (hi - lo)
    return min(max(t, F32(0.0)), F32(1.0))


@nb.njit(parallel=True, cache=True, fastmath=True, error_model="numpy")
def _temporal_merge(frames, centre, a, b, lo, hi, merged, scale):
    T, H, W = frames.shape
    h2, w2 = H // 2, W // 2
    pad = 1
    hc = _haar_image(frames[centre], pad)
    acc = np.zeros((4, h2, w2), dtype=F32)
    sw = np.ones((h2, w2), dtype=F32)
    sw2 = np.ones((h2, w2), dtype=F32)
    for c in range(4):
        acc[c] = hc[c, pad:pad + h2, pad:pad + w2]
    # noise variance of a block difference, from the centre frame's 3x3-block mean luma
    inv = np.empty((h2, w2), dtype=F32)
    for i in nb.prange(h2):
        for j in range(w2):
            sl = F32(0.0)
            for r in range(3):
                for k in range(3):
                    sl += hc[0, i + r, j + k]
            inv[i, j] = F32(1.0) / (F32(72.0) * block_variance(sl / F32(9.0), a, b) + F32(1e-20))
    for t in range(T):
        if t == centre:
            continue
        ht = _haar_image(frames[t], pad)
        for i in nb.prange(h2):
            e = np.empty((3, w2 + 2), dtype=F32)
            for r in range(3):
                for x in range(w2 + 2):
                    s = F32(0.0)
                    for c in range(4):
                        q = ht[c, i + r, x] - hc[c, i + r, x]
                        s += q * q
                    e[r, x] = s
            for j in range(w2):
                d = F32(0.0)
                for r in range(3):
                    d += e[r, j] + e[r, j + 1] + e[r, j + 2]
                w = motion_weight(d * inv[i, j], lo, hi)
                for c in range(4):
                    acc[c, i, j] += w * ht[c, i + 1, j + 1]
                sw[i, j] += w
                sw2[i, j] += w * w
    for i in nb.prange(h2):
        o0 = merged[2 * i]
        o1 = merged[2 * i + 1]
        for j in range(w2):
            iw = F32(1.0) / sw[i, j]
            p00, p01, p10, p11 = haar_inv(acc[0, i, j] * iw, acc[1, i, j] * iw, acc[2, i, j] * iw, acc[3, i, j] * iw)
            o0[2 * j] = p00
            o0[2 * j + 1] = p01
            o1[2 * j] = p10
            o1[2 * j + 1] = p11
            # variance of a weighted mean of equal-variance samples: sum w^2 / (sum w)^2
            scale[i, j] = sw2[i, j] * iw * iw
    _copy_odd_edges(frames[centre], merged)
    return merged, scale


def temporal_cfa(frames, centre, a, b, strength=1.0, spatial_strength=1.0):
    """Temporal denoiser: motion-adaptive averaging of a window of mosaics, then the real-time
    spatial filter at the noise level left at each block.

    For each other frame and each 2x2 block, the squared difference to the centre frame over
    the 3x3 blocks around it (36 samples, all CFA sites) is divided by its expectation under
    noise alone; where that ratio stays near 1 the frame's block is averaged in, where motion
    or change lifts it past 1 + TEMPORAL_HI (x strength) the frame is ignored there. So static
    parts get the mean of up to T frames and moving objects keep the centre frame alone: no
    ghosts. The merged mosaic then goes through `bilateral_cfa` with the noise variance scaled
    per block by sum(w^2) / sum(w)^2, the variance of the weighted mean, so the spatial filter
    is gentle where averaging worked and full strength where it could not.

    References: the motion-adaptive temporal filter of video denoising (e.g. A. Kokaram,
    "Motion picture restoration", Springer 1998, ch. 8; Dugad & Ahuja, "Video denoising by
    combining Kalman and Wiener estimates", ICIP 1999), here with a noise-normalised
    block-difference detector from the Poisson-Gaussian model.

    frames: (T, H, W) float32 normalised mosaics; centre: index of the frame to denoise.
    Returns the denoised (H, W) float32 centre frame.
    """
    f = np.asarray(frames)
    if f.ndim != 3:
        raise ValueError(f"expected (T, H, W) frames, got shape {f.shape}")
    if not 0 <= int(centre) < f.shape[0]:
        raise ValueError(f"centre {centre} is outside the window of {f.shape[0]} frames")
    _check(f[int(centre)], a, b, strength)
    if not (spatial_strength >= 0 and np.isfinite(spatial_strength)):
        raise ValueError(f"spatial strength must be finite and >= 0, got {spatial_strength}")
    f = np.ascontiguousarray(f, dtype=F32)
    H, W = f.shape[1:]
    merged = np.empty((H, W), dtype=F32)
    scale = np.empty((H // 2, W // 2), dtype=F32)
    s = max(strength, 1e-6)
    _temporal_merge(f, int(centre), F32(a), F32(b), F32(TEMPORAL_LO * s), F32(TEMPORAL_HI * s), merged, scale)
    if spatial_strength == 0:
        return merged
    out = np.empty_like(merged)
    _run(merged, a, b, RT_LUMA_H * spatial_strength, RT_CHROMA_H * spatial_strength, scale, 1, out)
    return out


def bilateral2_cfa(mosaic, a, b, strength=1.0, out=None):
    """`bilateral_cfa` with its a-trous second pass (passes=2)."""
    return bilateral_cfa(mosaic, a, b, strength, out, passes=2)


def off(mosaic, a=0.0, b=0.0, strength=1.0, out=None):
    """No denoising: a float32 copy (into `out` when given)."""
    m = np.asarray(mosaic, dtype=F32)
    if out is None:
        return np.array(m, copy=True)
    out = _out(m, out)
    out[...] = m
    return out


ALGORITHMS = {
    "realtime": bilateral_cfa,
    "bilateral": bilateral_cfa,
    "realtime2": bilateral2_cfa,
    "hq": nlm_cfa,
    "nlm": nlm_cfa,
    "temporal": temporal_cfa,
    "off": off,
}
