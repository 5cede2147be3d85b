"""Colour: kernels.colour transfer functions and matrices against colour-science (<= 1e-5, round
trips too), and isp.colour spaces, matrices, DNG interpolation and white balance.

(One file for both: a tests/kernels/test_colour.py beside tests/isp/test_colour.py breaks pytest's
default import mode, which needs unique basenames while the test folders have no __init__.py.)
"""

import numpy as np
import pytest

from isp import colour as ic
from isp.errors import InputError
from isp.frame import DngColour, RawFrame
from kernels import cfa
from kernels import colour as kc
from kernels import wb as kwb

colour = pytest.importorskip("colour")

D65 = np.array([0.3127, 0.3290])
CAM = np.array([[0.9194, -0.2787, -0.1059], [-0.8098, 1.5657, 0.2608], [-0.2610, 0.3064, 0.7867]])


def _frame(h=8, w=8, pattern="RGGB", **kw):
    return RawFrame(mosaic=np.zeros((h, w), np.uint16), pattern=pattern, black_level=0, white_level=1000, **kw)


def test_names_and_aliases():
    assert ic.canonical_colourspace("acescg") == "ACEScg"
    assert ic.canonical_colourspace("Rec.2020") == "Rec2020"
    assert ic.canonical_colourspace("ARRI Wide Gamut 3") == "AWG3"
    assert ic.canonical_colourspace("s-gamut3.cine") == "S-Gamut3.Cine"
    for name in ("sRGB", "Rec709", "Rec2020", "DCI-P3", "ACES2065-1", "ACEScg", "S-Gamut3.Cine", "AWG3"):
        assert ic.colourspace(name) is not None
    with pytest.raises(InputError, match="ProPhoto.*expected one of.*ACEScg"):
        ic.colourspace("ProPhoto")
    assert ic.transfer_function("S-Log3") == ic.TRANSFER_FUNCTIONS["slog3"]
    with pytest.raises(InputError, match="gamma22.*expected one of.*srgb"):
        ic.transfer_function("gamma22")


@pytest.mark.parametrize("space", ["sRGB", "Rec2020", "DCI-P3", "ACES2065-1", "ACEScg", "S-Gamut3.Cine", "AWG3"])
def test_xyz_to_working_matches_colour_science(space):
    rng = np.random.default_rng(0)
    xyz = rng.uniform(0, 1, (50, 3))
    cs = ic.colourspace(space)
    ref = colour.XYZ_to_RGB(xyz, cs, illuminant=D65, chromatic_adaptation_transform="Bradford")
    ours = xyz @ ic.xyz_to_working_matrix(space).T
    assert np.max(np.abs(ours - ref)) < 1e-9


@pytest.mark.parametrize("space", ["sRGB", "Rec2020", "ACEScg", "AWG3"])
def test_working_to_xyz_matches_colour_science(space):
    """Space -> XYZ (D65) is colour-science's RGB_to_XYZ, not the inverse of its XYZ -> RGB
    matrix (sRGB's is IEC 61966's, rounded to 4 digits: they differ by 4e-5)."""
    rgb = np.random.default_rng(1).uniform(0, 1, (50, 3))
    ref = colour.RGB_to_XYZ(rgb, ic.colourspace(space), illuminant=D65, chromatic_adaptation_transform="Bradford")
    ours = rgb @ ic.working_to_working_matrix(space, "XYZ").astype(np.float64).T
    assert np.max(np.abs(ours - ref)) < 1e-6


def test_libraw_matrix_maps_balanced_neutral_to_white():
    f = _frame(xyz_to_camera=CAM, wb=(1.63, 1.0, 1.6))
    g = ic.white_balance_gains(f, "as_shot")
    assert np.allclose(g, [1.63, 1, 1.6])
    for space in ic.COLOURSPACES:
        m = ic.camera_to_working_matrix(f, g, space)
        assert m.dtype == np.float32 and m.shape == (3, 3)
        white = m @ np.ones(3)
        if space == "XYZ":
            np.testing.assert_allclose(white, colour.xy_to_XYZ(D65), atol=1e-4)
        else:  # colour-science's sRGB matrix is IEC 61966's, rounded to 4 digits
            np.testing.assert_allclose(white, 1.0, atol=3e-4)
    # the camera primaries: dcraw's rgb_cam = inverse of row-normalised cam_xyz @ xyz_to_srgb
    srgb_to_xyz = colour.RGB_COLOURSPACES["ITU-R BT.709"].matrix_RGB_to_XYZ
    cam_rgb = CAM @ srgb_to_xyz
    cam_rgb /= cam_rgb.sum(1, keepdims=True)
    np.testing.assert_allclose(ic.camera_to_working_matrix(f, g, "Rec709"), np.linalg.inv(cam_rgb), atol=1e-5)


def _dual_dng():
    cm_a = np.array([[0.95, -0.45, 0.03], [-0.36, 1.32, 0.2], [-0.05, 0.15, 0.73]])
    cm_d65 = np.array([[0.69, -0.25, -0.05], [-0.39, 1.2, 0.16], [-0.09, 0.2, 0.58]])
    return DngColour(color_matrix1=cm_a, color_matrix2=cm_d65, calibration_illuminant1=17, calibration_illuminant2=21)


def test_dng_interpolation_by_cct():
    dng = _dual_dng()
    f = _frame(dng=dng)
    for cct, expect in ((2850.0, dng.color_matrix1), (6500.0, dng.color_matrix2)):
        g = ic.temperature_gains(f, cct)
        xy, found = ic._dng_white(f, 1.0 / g)
        assert found == pytest.approx(cct, rel=2e-3)
        np.testing.assert_allclose(ic._dng_xyz_to_camera(f, found), expect, atol=3e-3)
    # half way in inverse CCT
    mid = 1.0 / (0.5 / 2850.0 + 0.5 / 6500.0)
    np.testing.assert_allclose(ic._dng_xyz_to_camera(f, mid), 0.5 * (dng.color_matrix1 + dng.color_matrix2), atol=1e-12)
    # balanced neutral -> the space's white; the white found is the illuminant's
    g = ic.temperature_gains(f, 4000.0)
    m, white = ic.camera_to_xyz_matrix(f, g)
    np.testing.assert_allclose(ic._xy_to_cct(white), 4000.0, rtol=2e-3)
    np.testing.assert_allclose(ic.camera_to_working_matrix(f, g, "ACEScg") @ np.ones(3), 1.0, atol=1e-5)


@pytest.mark.parametrize("code,cct", [(2, 4150.0), (13, 5050.0), (14, 4150.0), (15, 3525.0), (16, 2925.0), (12, 6400.0)])
def test_fluorescent_illuminants_as_the_dng_sdk(code, cct):
    """The SDK's IlluminantToTemperature: the middle of each EXIF 2.3 fluorescent range. Warm
    white (16) was missing, which pinned a Canon-style pair (16, D65) to its first matrix."""
    dng = _dual_dng()
    dng.calibration_illuminant1 = code
    f = _frame(dng=dng)
    assert ic._interp_weight(f, cct) == pytest.approx(1.0)
    mid = 1.0 / (0.5 / cct + 0.5 / 6500.0)
    assert ic._interp_weight(f, mid) == pytest.approx(0.5)
    assert ic._interp_weight(f, 6500.0) == pytest.approx(0.0)


def test_forward_matrix_used_when_present():
    dng = _dual_dng()
    fm = np.array([[0.61, 0.35, 0.0], [0.2, 0.95, -0.15], [0.02, -0.22, 1.03]])
    dng.forward_matrix1 = dng.forward_matrix2 = fm
    f = _frame(dng=dng)
    g = ic.temperature_gains(f, 5000.0)
    m, white = ic.camera_to_xyz_matrix(f, g)
    np.testing.assert_allclose(white, colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D50"])
    np.testing.assert_allclose(m, fm / (fm @ np.ones(3))[1], atol=1e-12)


def test_white_balance_mosaic_keeps_blown_highlights_neutral():
    rng = np.random.default_rng(1)
    mosaic = rng.uniform(0, 1.0, (16, 18)).astype(np.float32)
    mosaic[:8] = 1.0  # blown in every channel
    gains = np.array([2.0, 1.0, 1.5], np.float32)
    for pattern in cfa.PATTERNS:
        ch = cfa.channels(pattern)
        out = kwb.white_balance_mosaic(mosaic, ch, gains, np.float32(1.0), np.empty_like(mosaic))
        expect = np.minimum(mosaic * gains[np.tile(ch, (8, 9))], 1.0)
        assert np.array_equal(out, expect)
        half = kwb.half_size(out, ch, np.empty((8, 9, 3), np.float32))
        assert np.all(half[:4] == 1.0)  # white, not magenta
        raw = kwb.white_balance_mosaic(mosaic, ch, gains, np.float32(np.inf), np.empty_like(mosaic))
        h2 = kwb.half_size(raw, ch, np.empty((8, 9, 3), np.float32))
        assert np.allclose(h2[0, 0], [2.0, 1.0, 1.5])  # without clipping it would be magenta


def test_white_balance_api_and_highlight_modes():
    f = _frame(h=4, w=4, wb=(2.0, 1.0, 1.5))
    f.mosaic[:] = 1000
    out = ic.white_balance(f, ic.white_balance_gains(f))
    assert np.all(out == 1.0)
    assert ic.white_balance(f, [2, 1, 1.5], highlights="none").max() == 2.0
    with pytest.raises(InputError, match="highlight"):
        ic.white_balance(f, [1, 1, 1], highlights="magenta")


def _cast_scene(pattern, cast, h=64, w=64, seed=2):
    rng = np.random.default_rng(seed)
    grey = rng.uniform(0.05, 0.6, (h // 4, w // 4))
    grey = np.kron(grey, np.ones((4, 4)))
    rgb = grey[..., None] * np.asarray(cast)[None, None, :]
    rgb[:4, :4] = 1.0  # a blown corner that must not count
    return cfa.mosaic(rgb.astype(np.float32), pattern)


@pytest.mark.parametrize("pattern", cfa.PATTERNS)
def test_auto_white_balance_recovers_a_cast(pattern):
    cast = np.array([0.5, 1.0, 0.8])
    m = _cast_scene(pattern, cast)
    f = _frame(h=m.shape[0], w=m.shape[1], pattern=pattern)
    for method in ("grey_world", "white_patch"):
        g = ic.white_balance_gains(f, method, mosaic=m)
        np.testing.assert_allclose(g, 1.0 / cast / (1.0 / cast[1]), rtol=1e-4)


def test_bad_white_balance():
    f = _frame()
    with pytest.raises(InputError, match="no as-shot"):
        ic.white_balance_gains(f, "as_shot")
    with pytest.raises(InputError, match="unknown white balance"):
        ic.white_balance_gains(f, "tungsten-ish")
    with pytest.raises(InputError, match="positive"):
        ic.white_balance_gains(f, [1, 0, 1])
    with pytest.raises(InputError, match="1000-40000"):
        ic.white_balance_gains(f, 500)


def test_real_frames(shared_data):
    import isp

    g2 = isp.read(shared_data / "raw" / "Canon_PowerShot_G2_CRW_0304.CRW")
    np.testing.assert_allclose(ic.white_balance_gains(g2), np.asarray(g2.wb) / g2.wb[1])
    bm = isp.read(shared_data / "raw" / "Blackmagic.dng")  # dual illuminant + ForwardMatrix
    for spec in ("as_shot", 3200, 6500):
        m = ic.camera_to_working_matrix(bm, ic.white_balance_gains(bm, spec), "ACEScg")
        assert np.all(np.isfinite(m))
        # the file's ForwardMatrix maps (1, 1, 1) to its rounded D50 (Z row sums to 0.8254, not 0.8249)
        np.testing.assert_allclose(m @ np.ones(3), 1.0, atol=1e-3)
    warm, cool = ic.white_balance_gains(bm, 3200), ic.white_balance_gains(bm, 6500)
    assert warm[2] > cool[2] and warm[0] < cool[0]  # tungsten needs more blue gain, less red


# ---------------------------------------------------------------------------------------------
# kernels.colour: transfer functions and matrices
# ---------------------------------------------------------------------------------------------

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


def test_pq_mirrors_negatives_and_holds_past_its_pole():
    """As OCIO's built-in ST-2084 curve: encode(-x) = -encode(x), no pole just below 0 (the
    sign-preserving formula sends -1e-4 to a code of ~2.5e5); decodes held to +-65504."""
    x = _grid(0.0, 100.0)[1:]
    pos = kc.apply_transfer(x, kc.TF_PQ, False, np.empty_like(x))
    neg = kc.apply_transfer(-x, kc.TF_PQ, False, np.empty_like(x))
    assert np.array_equal(neg, -pos)
    v = _grid(0.0, 1.0)[1:]
    assert np.array_equal(kc.apply_transfer(-v, kc.TF_PQ, True, np.empty_like(v)),
                          -kc.apply_transfer(v, kc.TF_PQ, True, np.empty_like(v)))
    far = np.ascontiguousarray(np.repeat(np.linspace(1.0, 3.0, 2001, dtype=np.float32)[:, None], 3, axis=1))
    d = kc.apply_transfer(far, kc.TF_PQ, True, np.empty_like(far))[:, 0]
    assert np.isfinite(d).all() and d.max() == 65504.0 and np.all(np.diff(d) >= 0)
    ocio = pytest.importorskip("PyOpenColorIO")
    t = ocio.BuiltinTransform("CURVE - LINEAR_to_ST-2084")
    cpu = ocio.Config.CreateRaw().getProcessor(t).getDefaultCPUProcessor()
    probe = np.repeat(np.array([-50, -1, -0.18, -1e-3, 1e-3, 0.18, 1, 50], np.float32)[:, None], 3, axis=1)
    ref = probe.copy()
    cpu.applyRGB(ref)
    np.testing.assert_allclose(kc.apply_transfer(probe, kc.TF_PQ, False, np.empty_like(probe)), ref, rtol=1e-4)


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
