"""Transfer functions and matrix kernels against colour-science (≤ 1e-5, round trips too)."""
import numpy as np
import pytest

colour = pytest.importorskip("colour")

from kernels import colour as kc  # noqa: E402

M = colour.models
REFERENCE = {
    "srgb": (M.eotf_inverse_sRGB, M.eotf_sRGB),
    "rec709": (M.oetf_BT709, M.oetf_inverse_BT709),
    "bt1886": (M.eotf_inverse_BT1886, M.eotf_BT1886),
    "slog3": (M.log_encoding_SLog3, M.log_decoding_SLog3),
    "acescct": (M.log_encoding_ACEScct, M.log_decoding_ACEScct),
    "logc3": (M.log_encoding_ARRILogC3, M.log_decoding_ARRILogC3),
    "logc4": (M.log_encoding_ARRILogC4, M.log_decoding_ARRILogC4),
    "pq": (lambda x: M.eotf_inverse_ST2084(x * kc.PQ_REFERENCE_NITS), lambda v: M.eotf_ST2084(v) / kc.PQ_REFERENCE_NITS),
    "hlg": (M.oetf_BT2100_HLG, M.oetf_inverse_BT2100_HLG),
}
# (linear domain for encode, code-value domain for decode)
DOMAINS = {
    "srgb": ((-0.1, 4.0), (-0.1, 1.5)),
    "rec709": ((-0.1, 4.0), (-0.1, 1.5)),
    "bt1886": ((-0.1, 4.0), (-0.1, 1.5)),
    "slog3": ((-0.05, 40.0), (0.0, 1.0)),
    "acescct": ((-0.05, 200.0), (-0.1, 1.4)),
    "logc3": ((-0.05, 55.0), (0.0, 1.0)),
    "logc4": ((-0.05, 400.0), (-0.1, 1.0)),
    "pq": ((0.0, 100.0), (0.0, 1.0)),
    "hlg": ((-0.1, 1.0), (-0.1, 1.0)),
}
TOL = 1e-5


def _err(ours, ref):
    """Absolute error, relative for |ref| > 1 (float32 cannot hold 1e-5 absolute above ~100)."""
    return float(np.max(np.abs(ours.astype(np.float64) - ref) / np.maximum(1.0, np.abs(ref))))


def _grid(lo, hi, n=20001):
    x = np.linspace(lo, hi, n)
    x = np.concatenate([x, np.geomspace(1e-6, hi, 2001)]) if hi > 0 else x
    return np.ascontiguousarray(np.repeat(x.astype(np.float32)[:, None], 3, axis=1))


def test_names():
    assert set(kc.TRANSFER_FUNCTIONS) == {"linear", *REFERENCE}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_transfer_matches_colour_science(name):
    enc, dec = REFERENCE[name]
    tf = kc.TRANSFER_FUNCTIONS[name]
    (elo, ehi), (dlo, dhi) = DOMAINS[name]
    x = _grid(elo, ehi)
    v = _grid(dlo, dhi)
    e = kc.apply_transfer(x, tf, False, np.empty_like(x))
    d = kc.apply_transfer(v, tf, True, np.empty_like(v))
    assert e.dtype == np.float32
    assert _err(e, enc(x.astype(np.float64))) <= TOL
    assert _err(d, dec(v.astype(np.float64))) <= TOL
    # round trips: code -> linear -> code, and linear -> code -> linear (relative above 1)
    code = kc.apply_transfer(d, tf, False, np.empty_like(d))
    keep = np.ones(len(v), dtype=bool)
    if name == "bt1886":  # the EOTF maps every negative code to 0: not invertible there
        keep = v[:, 0] >= 0
    if name == "rec709":  # BT.709's rounded constants leave a 2.4e-4 jump at L = 0.018
        keep = (v[:, 0] < 4.5 * 0.018) | (v[:, 0] >= M.oetf_BT709(0.018))
    assert _err(code[keep], v[keep].astype(np.float64)) <= TOL
    back = kc.apply_transfer(e, tf, True, np.empty_like(e))
    keep = x[:, 0] >= 0 if name == "bt1886" else np.ones(len(x), dtype=bool)
    assert _err(back[keep], x[keep].astype(np.float64)) <= 2 * TOL  # float32 storage of the code value


def test_published_values():
    x = np.array([[0.18, 0.18, 0.18]], dtype=np.float32)
    get = lambda name: float(kc.apply_transfer(x, kc.TRANSFER_FUNCTIONS[name], False, np.empty_like(x))[0, 0])
    assert get("slog3") * 1023 == pytest.approx(420.0, abs=0.01)  # Sony: 18% grey at code 420
    assert get("logc3") == pytest.approx(0.391007, abs=1e-5)  # ARRI LogC3 EI 800, 18% grey
    assert get("acescct") == pytest.approx((np.log2(0.18) + 9.72) / 17.52, abs=1e-6)
    one = np.array([[1.0, 1.0, 1.0]], dtype=np.float32)
    assert kc.apply_transfer(one, kc.TF_PQ, True, np.empty_like(one))[0, 0] == pytest.approx(100.0, rel=1e-6)
    assert kc.apply_transfer(one / 12, kc.TF_HLG, False, np.empty_like(one))[0, 0] == pytest.approx(0.5, abs=1e-7)


def test_linear_and_in_place():
    x = np.random.default_rng(0).uniform(-1, 2, (100, 3)).astype(np.float32)
    y = x.copy()
    kc.apply_transfer(y, kc.TF_LINEAR, False, y)
    assert np.array_equal(x, y)
    kc.apply_transfer(y, kc.TF_SRGB, False, y)
    kc.apply_transfer(y, kc.TF_SRGB, True, y)
    assert np.max(np.abs(x - y)) < 1e-5


def test_matrix_and_matrix_transfer():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (1000, 3)).astype(np.float32)
    m = rng.normal(0, 1, (3, 3)).astype(np.float32)
    ref = x.astype(np.float64) @ m.T.astype(np.float64)
    assert np.max(np.abs(kc.apply_matrix(x, m, np.empty_like(x)) - ref)) < 1e-5
    y = kc.apply_matrix_transfer(x, np.eye(3, dtype=np.float32), kc.TF_SLOG3, np.empty_like(x))
    assert _err(y, M.log_encoding_SLog3(x.astype(np.float64))) <= TOL
