"""kernels.fused.finish: the vectorised pass against exact curves and a per-pixel reference."""
import numba as nb
import numpy as np
import pytest

from kernels import fused as kf
from kernels.colour import TRANSFER_FUNCTIONS, mat3_apply
from kernels.fused import IDENTITY, NO_CDL, NO_LUT
from kernels.lut import cdl_saturation, lut1d_value, lut3d_tetrahedral, lut3d_trilinear


def _cdl(clamp):
    f = lambda v: np.array(v, np.float32)  # noqa: E731
    return (True, f([1.1, 1.0, 0.9]), f([0.01, 0.0, -0.01]), f([1.05, 1.0, 0.95]), np.float32(1.2), clamp)


def _lut(tetrahedral, shaper=False, n=9):
    rng = np.random.default_rng(7)
    g = np.linspace(0, 1, n)
    t = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1) ** 0.8 + rng.normal(0, 0.01, (n, n, n, 3))
    lo, scale = np.array([-0.05, 0, 0.02], np.float32), np.array([(n - 1) / 1.1, n - 1, (n - 1) / 0.95], np.float32)
    head = NO_LUT[:4]
    if shaper:
        sh = np.sqrt(np.linspace(0, 1, 33))[:, None].repeat(3, 1).astype(np.float32)
        head = (True, sh, np.zeros(3, np.float32), np.full(3, 32 / 1.5, np.float32))
    return (*head, True, t.astype(np.float32).reshape(-1), np.int64(n), lo, scale, tetrahedral)


@nb.njit(cache=True)
def _lut_pixel(r, g, b, lut):
    """One pixel through the 1D shaper and the 3D cube (kernels.lut's scalar forms), each when on."""
    if lut[0]:
        r = lut1d_value(r, lut[1], 0, lut[2][0], lut[3][0])
        g = lut1d_value(g, lut[1], 1, lut[2][1], lut[3][1])
        b = lut1d_value(b, lut[1], 2, lut[2][2], lut[3][2])
    if lut[4]:
        if lut[9]:
            r, g, b = lut3d_tetrahedral(r, g, b, lut[5], lut[6], lut[7], lut[8])
        else:
            r, g, b = lut3d_trilinear(r, g, b, lut[5], lut[6], lut[7], lut[8])
    return r, g, b


@nb.njit(cache=True)
def _quantised(v, quantise):
    """v as stored: unchanged for float output, else clipped to [0, 1] (NaN -> 0), rounded to 0..quantise."""
    if quantise == 0:
        return v
    v = v if v > np.float32(0.0) else np.float32(0.0)
    return np.floor(min(v, np.float32(1.0)) * quantise + np.float32(0.5))


@nb.njit(cache=True)
def _reference(src, dst, m, tf, cdl, lut, quantise):
    """The per-pixel form: exact curves, then kernels.fused's scalar helpers."""
    identity = np.all(m == np.eye(3, dtype=np.float32))  # skipped, as kernels.fused does
    for y in range(src.shape[0]):
        for x in range(src.shape[1]):
            r, g, b = src[y, x, 0], src[y, x, 1], src[y, x, 2]
            if not identity:
                r, g, b = mat3_apply(m, r, g, b)
            # int64 channels: literal ones would compile three more versions of curve_exact
            r = kf.curve_exact(r, np.int64(0), tf, cdl)
            g = kf.curve_exact(g, np.int64(1), tf, cdl)
            b = kf.curve_exact(b, np.int64(2), tf, cdl)
            if cdl[0]:
                r, g, b = cdl_saturation(r, g, b, cdl[4], cdl[5])
            r, g, b = _lut_pixel(r, g, b, lut)
            dst[y, x, 0] = _quantised(r, quantise)
            dst[y, x, 1] = _quantised(g, quantise)
            dst[y, x, 2] = _quantised(b, quantise)
    return dst


def _values():
    """Magnitudes across and beyond the table (2^-30 .. 2^10), both signs, and the odd ones."""
    rng = np.random.default_rng(1)
    mags = 2.0 ** rng.uniform(-30, 10, 6000)
    v = np.concatenate([mags, -mags, [0.0, -0.0, 1e-45, 1e-38, 0.0031308, 0.018, 1.0, 255.9, 256.0, 3e38,
                                      np.inf, -np.inf, np.nan]])
    return v.astype(np.float32)


@pytest.mark.parametrize("tf", sorted(TRANSFER_FUNCTIONS.values()))
@pytest.mark.parametrize("cdl", ["none", "no_clamp", "asc"])
def test_curves_match_the_exact_functions(tf, cdl):
    cdl = {"none": NO_CDL, "no_clamp": _cdl(False), "asc": _cdl(True)}[cdl]
    if cdl[0]:  # saturation mixes channels: check the per-channel curves alone
        cdl = (*cdl[:4], np.float32(1.0), cdl[5])
    v = _values()
    src = np.ascontiguousarray(np.stack([v, v[::-1], np.roll(v, 7)], -1)[None])
    tables = kf.curve_tables(tf, cdl)
    out = kf.finish(src, 0, 1, np.empty_like(src), 0, IDENTITY, tf, tables, cdl, NO_LUT, np.float32(0))
    ref = _reference(src, np.empty_like(src), IDENTITY, tf, cdl, NO_LUT, np.float32(0))
    assert np.array_equal(np.isnan(out), np.isnan(ref))
    ok = ~np.isnan(ref)
    with np.errstate(invalid="ignore"):
        # the CDL's saturation (even 1) mixes the channels: its rounding is of the largest one
        scale = np.max(np.where(np.isnan(ref), 0, np.abs(ref)), axis=-1, keepdims=True) if cdl[0] else np.abs(ref)
        tol = np.maximum(1e-6, (4 if cdl[0] else 1) * np.spacing(np.broadcast_to(scale, ref.shape)))[ok]
        err = np.abs(out[ok].astype(np.float64) - ref[ok])
    assert np.all((err <= tol) | (out[ok] == ref[ok]))  # inf == inf


@pytest.mark.parametrize("quantise,dtype", [(0, np.float32), (65535, np.uint16), (255, np.uint8)])
@pytest.mark.parametrize("look", ["plain", "cdl_tetra", "shaper_trilinear"])
def test_finish_matches_the_per_pixel_reference(quantise, dtype, look):
    rng = np.random.default_rng(2)
    h, w = 5, 4203  # two chunks of 2048 (or many of 256) and a tail that is not a multiple of 8 lanes
    src = (rng.uniform(-0.05, 1.1, (h, w, 3)) ** 2).astype(np.float32)
    src[2, 5] = [np.nan, 0.5, 0.5]
    src[3, 7] = [np.inf, -np.inf, 0.0]
    m = np.array([[1.6, -0.4, -0.2], [-0.3, 1.5, -0.2], [0.0, -0.5, 1.5]], np.float32)
    cdl, lut = {"plain": (NO_CDL, NO_LUT), "cdl_tetra": (_cdl(False), _lut(True)),
                "shaper_trilinear": (_cdl(True), _lut(False, shaper=True))}[look]
    tf = TRANSFER_FUNCTIONS["srgb"]
    tables = kf.curve_tables(tf, cdl)
    out = kf.finish(src, 0, h, np.empty((h, w, 3), dtype), 0, m, tf, tables, cdl, lut, np.float32(quantise))
    ref = _reference(src, np.empty((h, w, 3), dtype), m, tf, cdl, lut, np.float32(quantise))
    if quantise:
        assert np.abs(out.astype(np.int64) - ref).max() <= 1
        assert np.array_equal(out[2, 5], ref[2, 5]) and out[2, 5].max() <= quantise  # NaN -> a code, no crash
    else:
        assert np.array_equal(np.isnan(out), np.isnan(ref))
        ok = ~np.isnan(ref)
        same = out[ok] == ref[ok]  # inf == inf
        with np.errstate(invalid="ignore"):
            assert np.abs(np.where(same, 0, out[ok] - ref[ok])).max() <= 2e-6


def test_shadow_noise_below_zero_is_black_in_pq():
    """Negative linear values (camera-matrix noise in the shadows) quantise to code 0 in PQ, not
    to white as the ST 2084 formula's pole just below 0 would send them."""
    src = np.full((1, 64, 3), -1e-4, np.float32)
    src[0, ::2] = 3e-4
    tf = TRANSFER_FUNCTIONS["pq"]
    out = kf.finish(src, 0, 1, np.empty((1, 64, 3), np.uint16), 0, IDENTITY, tf, kf.curve_tables(tf, NO_CDL),
                    NO_CDL, NO_LUT, np.float32(65535))
    assert (out[0, 1::2] == 0).all() and (out[0, ::2] < 3000).all()


def test_strips_and_non_contiguous_input_give_the_same_rows():
    rng = np.random.default_rng(3)
    big = rng.uniform(0, 1, (20, 70, 3)).astype(np.float32)
    src = big[::2, 3:60]  # not C-contiguous: the per-pixel load path
    cdl, lut = _cdl(False), _lut(True)
    tf = TRANSFER_FUNCTIONS["rec709"]
    tables = kf.curve_tables(tf, cdl)
    whole = kf.finish(np.ascontiguousarray(src), 0, 10, np.empty((10, 57, 3), np.uint16), 0, IDENTITY, tf, tables,
                      cdl, lut, np.float32(65535))
    strided = kf.finish(src, 0, 10, np.empty((10, 57, 3), np.uint16), 0, IDENTITY, tf, tables, cdl, lut,
                        np.float32(65535))
    assert np.array_equal(whole, strided)
    part = np.zeros((6, 57, 3), np.uint16)
    kf.finish(np.ascontiguousarray(src), 3, 8, part, 1, IDENTITY, tf, tables, cdl, lut, np.float32(65535))
    assert np.array_equal(part[1:6], whole[3:8]) and not part[0].any()


def test_table_cells_needing_the_exact_curve_are_few():
    """The quadratic cells are within tolerance almost everywhere a picture's values fall: only
    kinks are NaN there, so the exact path stays rare. (Far below black, where some curves
    produce large or wild values, more cells take the exact path.)"""
    neg_small = slice(kf._CELLS, kf._CELLS + (23 << kf._MANTISSA_BITS))  # -2^-24 .. -2^-1
    for name in ("srgb", "rec709", "pq", "logc3", "acescct", "hlg", "slog3", "logc4", "bt1886"):
        t = kf.curve_tables(TRANSFER_FUNCTIONS[name], NO_CDL)
        assert np.isnan(t[:, :kf._CELLS, 0]).sum(axis=1).max() <= 2, name
        assert np.isnan(t[:, neg_small, 0]).sum(axis=1).max() <= 2 or name in ("pq", "hlg", "slog3"), name
