"""Colour kernels: 3x3 matrices and transfer functions (encode and decode), per value and per image.

Per-value maths is in small `@njit(inline="always")` functions that a fused pipeline pass can call
inside its own loop; the image drivers (`apply_matrix`, `apply_transfer`) only decide the loop.

Transfer functions, named after the published method, in the direction "encode" = scene/display
linear -> code value and "decode" = code value -> linear. Every one follows colour-science 0.4.7's
implementation with its default arguments (the tests compare against it):

=========  ===========================================  ===========================================
name       encode (colour-science)                      decode (colour-science)
=========  ===========================================  ===========================================
linear     identity                                     identity
srgb       eotf_inverse_sRGB (IEC 61966-2-1)            eotf_sRGB
rec709     oetf_BT709 (ITU-R BT.709)                    oetf_inverse_BT709
bt1886     eotf_inverse_BT1886 (L_B = 0, L_W = 1)       eotf_BT1886
slog3      log_encoding_SLog3 (reflection in)           log_decoding_SLog3
acescct    log_encoding_ACEScct (S-2016-001)            log_decoding_ACEScct
logc3      log_encoding_ARRILogC3 (SUP 3.x, EI 800)     log_decoding_ARRILogC3
logc4      log_encoding_ARRILogC4                       log_decoding_ARRILogC4
pq         eotf_inverse_ST2084(100 * x) (SMPTE ST 2084) eotf_ST2084(x) / 100
hlg        oetf_BT2100_HLG (ITU-R BT.2100)              oetf_inverse_BT2100_HLG
=========  ===========================================  ===========================================

PQ: linear 1.0 is 100 cd/m^2 (`PQ_REFERENCE_NITS`, diffuse white, as OCIO's built-in ST-2084
curves), so PQ code 1.0 decodes to 100.0 (10 000 cd/m^2).

Values are computed in float64 inside the per-value functions and stored as float32.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# Transfer-function ids used by the kernels (the names are what config and CLI use).
TF_LINEAR, TF_SRGB, TF_REC709, TF_BT1886, TF_SLOG3, TF_ACESCCT, TF_LOGC3, TF_LOGC4, TF_PQ, TF_HLG = range(10)
TRANSFER_FUNCTIONS = {
    "linear": TF_LINEAR,
    "srgb": TF_SRGB,
    "rec709": TF_REC709,
    "bt1886": TF_BT1886,
    "slog3": TF_SLOG3,
    "acescct": TF_ACESCCT,
    "logc3": TF_LOGC3,
    "logc4": TF_LOGC4,
    "pq": TF_PQ,
    "hlg": TF_HLG,
}

PQ_REFERENCE_NITS = 100.0

# ---------------------------------------------------------------------------------------------
# constants (published values, as colour-science holds them)
# ---------------------------------------------------------------------------------------------
_LOG10 = math.log(10.0)
_LOG2 = math.log(2.0)

# ARRI LogC3, SUP 3.x, Linear Scene Exposure Factor, EI 800
_LC3_CUT, _LC3_A, _LC3_B, _LC3_C, _LC3_D, _LC3_E, _LC3_F = (
    0.010591, 5.555556, 0.052272, 0.24719, 0.385537, 5.367655, 0.092809)
_LC3_ECUTF = _LC3_E * _LC3_CUT + _LC3_F

# ARRI LogC4 (ARRI, "ALEXA 35 LogC4 curve", 2022), derived constants
_LC4_A = (2.0 ** 18 - 16.0) / 117.45
_LC4_B = (1023.0 - 95.0) / 1023.0
_LC4_C = 95.0 / 1023.0
_LC4_S = (7.0 * math.log(2.0) * 2.0 ** (7.0 - 14.0 * _LC4_C / _LC4_B)) / (_LC4_A * _LC4_B)
_LC4_T = (2.0 ** (14.0 * (-_LC4_C / _LC4_B) + 6.0) - 64.0) / _LC4_A

# ACEScct (S-2016-001)
_CCT_X_BRK = 0.0078125
_CCT_Y_BRK = 0.155251141552511
_CCT_A = 10.5402377416545
_CCT_B = 0.0729055341958355

# SMPTE ST 2084
_PQ_M1 = 2610.0 / 4096.0 / 4.0
_PQ_M2 = 2523.0 / 4096.0 * 128.0
_PQ_C1 = 3424.0 / 4096.0
_PQ_C2 = 2413.0 / 4096.0 * 32.0
_PQ_C3 = 2392.0 / 4096.0 * 32.0
_PQ_SCALE = PQ_REFERENCE_NITS / 10000.0
_PQ_DECODE_MAX = 65504.0

# ITU-R BT.2100 HLG
_HLG_A = 0.17883277
_HLG_B = 0.28466892
_HLG_C = 0.559910729529562

_SRGB_V_BRK = 1.055 * 0.0031308 ** (1.0 / 2.4) - 0.055  # colour.eotf_inverse_sRGB(0.0031308)
_BT709_V_BRK = 1.099 * 0.018 ** 0.45 - 0.099


@njit(inline="always", cache=True)
def _spow(x, p):
    """sign(x) * |x| ** p (colour-science's `spow`)."""
    if x < 0.0:
        return -((-x) ** p)
    return x ** p


# ---------------------------------------------------------------------------------------------
# per-value transfer functions (float in, float64 out)
# ---------------------------------------------------------------------------------------------
@njit(inline="always", cache=True)
def srgb_encode(x):
    x = float(x)
    if x <= 0.0031308:
        return x * 12.92
    return 1.055 * _spow(x, 1.0 / 2.4) - 0.055


@njit(inline="always", cache=True)
def srgb_decode(v):
    v = float(v)
    if v <= _SRGB_V_BRK:
        return v / 12.92
    return _spow((v + 0.055) / 1.055, 2.4)


@njit(inline="always", cache=True)
def rec709_encode(x):
    x = float(x)
    if x < 0.018:
        return x * 4.5
    return 1.099 * _spow(x, 0.45) - 0.099


@njit(inline="always", cache=True)
def rec709_decode(v):
    v = float(v)
    if v < _BT709_V_BRK:
        return v / 4.5
    return _spow((v + 0.099) / 1.099, 1.0 / 0.45)


@njit(inline="always", cache=True)
def bt1886_encode(x):
    """Inverse BT.1886 EOTF with L_B = 0, L_W = 1: a pure 1/2.4 power (sign kept)."""
    return _spow(float(x), 1.0 / 2.4)


@njit(inline="always", cache=True)
def bt1886_decode(v):
    """BT.1886 EOTF with L_B = 0, L_W = 1: max(V, 0) ** 2.4."""
    v = float(v)
    if v <= 0.0:
        return 0.0
    return v ** 2.4


@njit(inline="always", cache=True)
def slog3_encode(x):
    x = float(x)
    if x >= 0.01125:
        return (420.0 + math.log10((x + 0.01) / 0.19) * 261.5) / 1023.0
    return (x * (171.2102946929 - 95.0) / 0.01125 + 95.0) / 1023.0


@njit(inline="always", cache=True)
def slog3_decode(v):
    v = float(v)
    if v >= 171.2102946929 / 1023.0:
        return math.exp((v * 1023.0 - 420.0) / 261.5 * _LOG10) * 0.19 - 0.01
    return (v * 1023.0 - 95.0) * 0.01125 / (171.2102946929 - 95.0)


@njit(inline="always", cache=True)
def acescct_encode(x):
    x = float(x)
    if x <= _CCT_X_BRK:
        return _CCT_A * x + _CCT_B
    return (math.log2(x) + 9.72) / 17.52


@njit(inline="always", cache=True)
def acescct_decode(v):
    v = float(v)
    if v > _CCT_Y_BRK:
        return math.exp((v * 17.52 - 9.72) * _LOG2)
    return (v - _CCT_B) / _CCT_A


@njit(inline="always", cache=True)
def logc3_encode(x):
    x = float(x)
    if x > _LC3_CUT:
        return _LC3_C * math.log10(_LC3_A * x + _LC3_B) + _LC3_D
    return _LC3_E * x + _LC3_F


@njit(inline="always", cache=True)
def logc3_decode(v):
    v = float(v)
    if v > _LC3_ECUTF:
        return (math.exp((v - _LC3_D) / _LC3_C * _LOG10) - _LC3_B) / _LC3_A
    return (v - _LC3_F) / _LC3_E


@njit(inline="always", cache=True)
def logc4_encode(x):
    x = float(x)
    if x >= _LC4_T:
        return (math.log2(_LC4_A * x + 64.0) - 6.0) / 14.0 * _LC4_B + _LC4_C
    return (x - _LC4_T) / _LC4_S


@njit(inline="always", cache=True)
def logc4_decode(v):
    v = float(v)
    if v >= 0.0:
        return (math.exp((14.0 * ((v - _LC4_C) / _LC4_B) + 6.0) * _LOG2) - 64.0) / _LC4_A
    return v * _LC4_S + _LC4_T


@njit(inline="always", cache=True)
def pq_encode(x):
    """Linear (1.0 = 100 cd/m^2) -> PQ code value (ST 2084 inverse EOTF). Negative values are
    mirrored, as OCIO's built-in curve does: the formula's sign-preserving extension has a pole
    just below 0 (-1e-6) and sends shadow noise there to codes near 2, white once quantised."""
    x = float(x)
    y = (abs(x) * _PQ_SCALE) ** _PQ_M1
    v = ((_PQ_C1 + _PQ_C2 * y) / (_PQ_C3 * y + 1.0)) ** _PQ_M2
    return -v if x < 0.0 else v


@njit(inline="always", cache=True)
def pq_decode(v):
    """PQ code value -> linear (1.0 = 100 cd/m^2) (ST 2084 EOTF). As OCIO's built-in curve:
    negative codes are mirrored and the result is held to +-65504 (half's largest), which also
    covers codes at and past the formula's pole (|v| ~ 1.99)."""
    v = float(v)
    vp = abs(v) ** (1.0 / _PQ_M2)
    den = _PQ_C2 - _PQ_C3 * vp
    lin = _PQ_DECODE_MAX
    if den > 0.0:
        lin = min(_PQ_DECODE_MAX, (max(vp - _PQ_C1, 0.0) / den) ** (1.0 / _PQ_M1) / _PQ_SCALE)
    return -lin if v < 0.0 else lin


@njit(inline="always", cache=True)
def hlg_encode(x):
    """BT.2100 HLG OETF: scene linear E in [0, 1] -> E'."""
    e = 12.0 * float(x)
    if e <= 1.0:
        return 0.5 * _spow(e, 0.5)
    return _HLG_A * math.log(e - _HLG_B) + _HLG_C


@njit(inline="always", cache=True)
def hlg_decode(v):
    """BT.2100 HLG inverse OETF: E' -> scene linear E."""
    v = float(v)
    if v <= 0.5:
        return _spow(v / 0.5, 2.0) / 12.0
    return (math.exp((v - _HLG_C) / _HLG_A) + _HLG_B) / 12.0


@njit(inline="always", cache=True)
def encode_value(x, tf):
    """Linear -> code value through transfer function id `tf` (TF_* constants)."""
    if tf == TF_SRGB:
        return srgb_encode(x)
    if tf == TF_REC709:
        return rec709_encode(x)
    if tf == TF_BT1886:
        return bt1886_encode(x)
    if tf == TF_SLOG3:
        return slog3_encode(x)
    if tf == TF_ACESCCT:
        return acescct_encode(x)
    if tf == TF_LOGC3:
        return logc3_encode(x)
    if tf == TF_LOGC4:
        return logc4_encode(x)
    if tf == TF_PQ:
        return pq_encode(x)
    if tf == TF_HLG:
        return hlg_encode(x)
    return float(x)


@njit(inline="always", cache=True)
def decode_value(v, tf):
    """Code value -> linear through transfer function id `tf` (TF_* constants)."""
    if tf == TF_SRGB:
        return srgb_decode(v)
    if tf == TF_REC709:
        return rec709_decode(v)
    if tf == TF_BT1886:
        return bt1886_decode(v)
    if tf == TF_SLOG3:
        return slog3_decode(v)
    if tf == TF_ACESCCT:
        return acescct_decode(v)
    if tf == TF_LOGC3:
        return logc3_decode(v)
    if tf == TF_LOGC4:
        return logc4_decode(v)
    if tf == TF_PQ:
        return pq_decode(v)
    if tf == TF_HLG:
        return hlg_decode(v)
    return float(v)


@njit(inline="always", cache=True)
def transfer_value(x, tf, inverse):
    """`encode_value` when `inverse` is False, `decode_value` when True."""
    if inverse:
        return decode_value(x, tf)
    return encode_value(x, tf)


# ---------------------------------------------------------------------------------------------
# per-pixel matrix
# ---------------------------------------------------------------------------------------------
@njit(inline="always", cache=True)
def mat3_apply(m, r, g, b):
    """(r, g, b) -> m @ (r, g, b) for a 3x3 matrix `m` (float32 arithmetic when m is float32)."""
    return (m[0, 0] * r + m[0, 1] * g + m[0, 2] * b,
            m[1, 0] * r + m[1, 1] * g + m[1, 2] * b,
            m[2, 0] * r + m[2, 1] * g + m[2, 2] * b)


# ---------------------------------------------------------------------------------------------
# image drivers: pixels are (P, 3) float32 (a reshaped (H, W, 3) image); out may be pixels
# ---------------------------------------------------------------------------------------------
@njit(parallel=True, cache=True)
def apply_transfer(pixels, tf, inverse, out):
    """out[p, c] = transfer(pixels[p, c]) for every pixel; `inverse` selects decode."""
    n = pixels.shape[0]
    for p in prange(n):
        for c in range(pixels.shape[1]):
            out[p, c] = np.float32(transfer_value(pixels[p, c], tf, inverse))
    return out


@njit(parallel=True, cache=True)
def apply_matrix(pixels, m, out):
    """out[p] = m @ pixels[p] for (P, 3) float32 pixels and a 3x3 float32 matrix."""
    n = pixels.shape[0]
    for p in prange(n):
        r, g, b = mat3_apply(m, pixels[p, 0], pixels[p, 1], pixels[p, 2])
        out[p, 0] = r
        out[p, 1] = g
        out[p, 2] = b
    return out


@njit(parallel=True, cache=True)
def apply_matrix_transfer(pixels, m, tf, out):
    """out[p] = encode(m @ pixels[p]): a colour-space conversion and its transfer in one pass."""
    n = pixels.shape[0]
    for p in prange(n):
        rgb = mat3_apply(m, pixels[p, 0], pixels[p, 1], pixels[p, 2])
        for c in range(3):  # one call site: the ten inlined curves compile once, not three times
            out[p, c] = np.float32(encode_value(rgb[c], tf))
    return out
