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

Odd trailing rows/columns (a mosaic of odd size) are returned unchanged.

Kernels raise ValueError for bad arguments; `isp.denoise` turns user errors into InputError.
"""
import numba as nb
import numpy as np

F32 = np.float32
STRIP = 16          # block rows per parallel work item

# LLVM's loop vectoriser gives up on a loop that needs more than 8 runtime alias checks
# between its address streams (numba cannot tell it that two arrays never overlap); a 3x3
# stencil over 4 channel planes has ~50. Raising the limits is process-wide but only lets
# LLVM vectorise more loops behind run-time checks (results are unchanged); it is set before
# this module's kernels compile, and cached kernels keep the vectorised code.
def _vectorise_more():
    import llvmlite.binding as llvm

    llvm.set_option("", "-runtime-memory-check-threshold=256")
    llvm.set_option("", "-vectorize-memory-check-threshold=256")


_vectorise_more()


# ---------------------------------------------------------------------------------------------
# per-pixel maths (inline, reusable by a fused pipeline pass)

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


@nb.njit(inline="always")
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


@nb.njit(inline="always")
def _load_haar_rows(mosaic, buf, top, n, w2, pad):
    """Haar channels of block rows top .. top+n-1 (clamped to the image) into buf[c, r, pad+j],
    with `pad` replicated columns on each side."""
    h2 = mosaic.shape[0] // 2
    for r in range(n):
        bi = _clamp(top + r, h2)
        row0 = mosaic[2 * bi]
        row1 = mosaic[2 * bi + 1]
        for j in range(w2):
            l, hh, v, d = haar_fwd(row0[2 * j], row0[2 * j + 1], row1[2 * j], row1[2 * j + 1])
            buf[0, r, pad + j] = l
            buf[1, r, pad + j] = hh
            buf[2, r, pad + j] = v
            buf[3, r, pad + j] = d
        for c in range(4):
            for k in range(pad):
                buf[c, r, k] = buf[c, r, pad]
                buf[c, r, pad + w2 + k] = buf[c, r, pad + w2 - 1]


@nb.njit(inline="always")
def _store_block(out, bi, j, l, hh, v, d):
    p00, p01, p10, p11 = haar_inv(l, hh, v, d)
    out[2 * bi, 2 * j] = p00
    out[2 * bi, 2 * j + 1] = p01
    out[2 * bi + 1, 2 * j] = p10
    out[2 * bi + 1, 2 * j + 1] = p11


def _check(mosaic, a, b, strength):
    if mosaic.ndim != 2:
        raise ValueError(f"expected an (H, W) mosaic, got shape {mosaic.shape}")
    if mosaic.shape[0] < 2 or mosaic.shape[1] < 2:
        raise ValueError(f"mosaic {mosaic.shape} is smaller than one 2x2 block")
    if not (a >= 0 and b >= 0 and np.isfinite(a) and np.isfinite(b)):
        raise ValueError(f"noise model needs finite a, b >= 0, got a={a}, b={b}")
    if not (strength >= 0 and np.isfinite(strength)):
        raise ValueError(f"strength must be finite and >= 0, got {strength}")
    return np.ascontiguousarray(mosaic, dtype=F32)


# ---------------------------------------------------------------------------------------------
# 1. real-time: joint bilateral on the Haar channels of the mosaic

RT_LUMA_H = 2.5     # luma range threshold, in noise sigmas of a luma difference, at strength 1
RT_CHROMA_H = 3.5   # chroma range threshold (steered by luma), same units


@nb.njit(inline="always")
def _tap(ln, hn, vn, dn, l0, h0, v0, d0, inv_l, inv_c, ws):
    """One neighbour of the joint bilateral: its luma and chroma weights."""
    e0 = ln - l0
    e1 = hn - h0
    e2 = vn - v0
    e3 = dn - d0
    d2 = (e0 * e0 + e1 * e1) + (e2 * e2 + e3 * e3)
    return tukey_weight(d2, inv_l) * ws, tukey_weight(d2, inv_c) * ws


@nb.njit(inline="always")
def _acc(buf, r, x, l0, h0, v0, d0, inv_l, inv_c, ws, acc):
    """Add neighbour buf[:, r, x] to the joint bilateral's sums
    acc = (sum wl*L, sum wl, sum wc*H, sum wc*V, sum wc*D, sum wc)."""
    ln = buf[0, r, x]
    hn = buf[1, r, x]
    vn = buf[2, r, x]
    dn = buf[3, r, x]
    wl, wc = _tap(ln, hn, vn, dn, l0, h0, v0, d0, inv_l, inv_c, ws)
    return (acc[0] + wl * ln, acc[1] + wl, acc[2] + wc * hn, acc[3] + wc * vn, acc[4] + wc * dn,
            acc[5] + wc)


@nb.njit(inline="always")
def _bilateral_row(buf, i, w2, a, b, kl2, kc2, o):
    """One row of blocks of the joint bilateral: buf[c, i:i+3, :] (the Haar channels of the
    rows above, at and below, padded by one column each side) in; o[c, :] out.
    The 3x3 window is unrolled by hand so LLVM vectorises the loop over blocks (8 per AVX2
    instruction); see `_VECTORISE` for the alias-check limit this needs raised."""
    ws_e = F32(0.6065307)     # exp(-1/2): Gaussian spatial weights, sigma = 1 block
    ws_c = F32(0.36787944)    # exp(-1)
    for j in range(w2):
        l0 = buf[0, i + 1, j + 1]
        h0 = buf[1, i + 1, j + 1]
        v0 = buf[2, i + 1, j + 1]
        d0 = buf[3, i + 1, j + 1]
        # expected squared distance of two noisy blocks: 4 channels x 2 x variance
        var = block_variance(l0, a, b) * F32(8.0) + F32(1e-20)
        inv_l = F32(1.0) / (kl2 * var)
        inv_c = F32(1.0) / (kc2 * var)
        acc = (l0, F32(1.0), h0, v0, d0, F32(1.0))
        acc = _acc(buf, i, j, l0, h0, v0, d0, inv_l, inv_c, ws_c, acc)
        acc = _acc(buf, i, j + 1, l0, h0, v0, d0, inv_l, inv_c, ws_e, acc)
        acc = _acc(buf, i, j + 2, l0, h0, v0, d0, inv_l, inv_c, ws_c, acc)
        acc = _acc(buf, i + 1, j, l0, h0, v0, d0, inv_l, inv_c, ws_e, acc)
        acc = _acc(buf, i + 1, j + 2, l0, h0, v0, d0, inv_l, inv_c, ws_e, acc)
        acc = _acc(buf, i + 2, j, l0, h0, v0, d0, inv_l, inv_c, ws_c, acc)
        acc = _acc(buf, i + 2, j + 1, l0, h0, v0, d0, inv_l, inv_c, ws_e, acc)
        acc = _acc(buf, i + 2, j + 2, l0, h0, v0, d0, inv_l, inv_c, ws_c, acc)
        il = F32(1.0) / acc[1]
        ic = F32(1.0) / acc[5]
        o[0, j] = acc[0] * il
        o[1, j] = acc[2] * ic
        o[2, j] = acc[3] * ic
        o[3, j] = acc[4] * ic


@nb.njit(inline="always")
def _store_row(o, w2, o0, o1):
    """Inverse Haar of a row of blocks o[c, j] into the mosaic rows o0, o1."""
    for j in range(w2):
        p00, p01, p10, p11 = haar_inv(o[0, j], o[1, j], o[2, j], o[3, j])
        o0[2 * j] = p00
        o0[2 * j + 1] = p01
        o1[2 * j] = p10
        o1[2 * j + 1] = p11


@nb.njit(cache=True)
def _copy_odd_edges(mosaic, out):
    H, W = mosaic.shape
    if H % 2:
        out[H - 1, :] = mosaic[H - 1, :]
    if W % 2:
        out[:, W - 1] = mosaic[:, W - 1]


@nb.njit(parallel=True, cache=True, fastmath=True, error_model="numpy")
def _bilateral_cfa(mosaic, a, b, kl, kc, out):
    H, W = mosaic.shape
    h2, w2 = H // 2, W // 2
    R = 1
    nstrips = (h2 + STRIP - 1) // STRIP
    kl2 = kl * kl
    kc2 = kc * kc
    for s in nb.prange(nstrips):
        r0 = s * STRIP
        r1 = min(r0 + STRIP, h2)
        n = r1 - r0 + 2 * R
        buf = np.empty((4, n, w2 + 2 * R), dtype=F32)
        _load_haar_rows(mosaic, buf, r0 - R, n, w2, R)
        orow = np.empty((4, w2), dtype=F32)
        for i in range(r1 - r0):
            bi = r0 + i
            _bilateral_row(buf, i, w2, a, b, kl2, kc2, orow)
            _store_row(orow, w2, out[2 * bi], out[2 * bi + 1])
    _copy_odd_edges(mosaic, out)
    return out


def bilateral_cfa(mosaic, a, b, strength=1.0):
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
    (0 = no change). Returns a new (H, W) float32 mosaic.
    """
    m = _check(np.asarray(mosaic), a, b, strength)
    if strength == 0:
        return m.copy()
    out = np.empty_like(m)
    return _bilateral_cfa(m, F32(a), F32(b), F32(RT_LUMA_H * strength), F32(RT_CHROMA_H * strength), out)
