"""Denoisers: PSNR gains on synthetic noisy mosaics, edge keeping, no ghosts, API and errors."""
import numpy as np
import pytest

from isp.errors import InputError
from isp.noise import NoiseModel
from kernels import cfa
from kernels import denoise as K

HIGH = NoiseModel(8e-3, 2e-4)
LOW = NoiseModel(5e-4, 4e-6)


def scene(h=192, w=256, seed=0):
    """Colour scene with flat patches, ramps, sharp discs and fine stripes, as RGGB."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.empty((h, w, 3))
    for c in range(3):
        img[..., c] = 0.1 + 0.5 * x / w * rng.uniform(0.3, 1) + 0.1 * (y / h)
    for _ in range(8):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(8, 40)
        img[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = rng.uniform(0.05, 0.8, 3)
    img[20:60, 150:230] *= (1 + 0.5 * np.sin(x[20:60, 150:230] * 0.9))[..., None]
    return cfa.mosaic(np.ascontiguousarray(img, np.float32), "RGGB")


def psnr(x, ref, mask=None):
    d = (x.astype(np.float64) - ref) ** 2
    return 10 * np.log10(1 / (d[mask] if mask is not None else d).mean())


@pytest.mark.parametrize("method,gain_high,gain_low", [("realtime", 4.0, 0.5), ("hq", 5.0, 0.5)])
def test_gains_psnr(method, gain_high, gain_low):
    clean = scene()
    for model, gain in ((HIGH, gain_high), (LOW, gain_low)):
        z = model.apply(clean, rng=1)
        d = K.ALGORITHMS[method](z, model.a, model.b, 1.0)
        assert d.shape == z.shape and d.dtype == np.float32
        assert psnr(d, clean) - psnr(z, clean) > gain, (method, model)


def test_hq_beats_realtime_at_high_noise():
    clean = scene(seed=2)
    z = HIGH.apply(clean, rng=3)
    rt = K.bilateral_cfa(z, HIGH.a, HIGH.b)
    hq = K.nlm_cfa(z, HIGH.a, HIGH.b)
    assert psnr(hq, clean) > psnr(rt, clean) + 0.3


def test_edges_survive():
    """A step of 20 noise sigmas stays a step: the denoised edge profile is as sharp as the clean."""
    clean = np.full((64, 64), 0.1, np.float32)
    clean[:, 32:] = 0.5
    z = HIGH.apply(clean, rng=4)
    d = K.bilateral_cfa(z, HIGH.a, HIGH.b)
    prof = d[8:56].mean(axis=0)
    assert abs(prof[29] - 0.1) < 0.02 and abs(prof[34] - 0.5) < 0.03
    flat = d[8:56, 4:26]
    assert flat.std() < 0.5 * z[8:56, 4:26].std()


def test_strength_zero_and_off_are_identity():
    z = HIGH.apply(scene(64, 64), rng=5)
    for name in ("realtime", "hq", "off"):
        np.testing.assert_array_equal(K.ALGORITHMS[name](z, HIGH.a, HIGH.b, 0.0), z)


def test_pattern_independent_and_odd_sizes():
    """The 2x2 Haar treats every Bayer phase alike: denoising an RGGB mosaic and its GRBG
    crop (shifted one column) agree away from the borders; odd trailing pixels pass through."""
    z = HIGH.apply(scene(64, 66), rng=6)
    full = K.bilateral_cfa(z, HIGH.a, HIGH.b)
    shifted = K.bilateral_cfa(np.ascontiguousarray(z[:, 2:]), HIGH.a, HIGH.b)
    np.testing.assert_allclose(full[8:-8, 10:-8], shifted[8:-8, 8:-8], atol=1e-5)
    odd = np.ascontiguousarray(z[:63, :65])
    d = K.bilateral_cfa(odd, HIGH.a, HIGH.b)
    np.testing.assert_array_equal(d[62], odd[62])
    np.testing.assert_array_equal(d[:, 64], odd[:, 64])
    assert K.nlm_cfa(odd, HIGH.a, HIGH.b).shape == odd.shape


def moving_sequence(n=8, step=(2, 3)):
    bg = scene(128, 128, seed=7)
    obj = scene(32, 32, seed=8) * 1.3 + 0.05
    frames = []
    for t in range(n):
        f = bg.copy()
        y, x = 20 + 2 * step[0] * t, 20 + 2 * step[1] * t
        f[y:y + 32, x:x + 32] = obj
        frames.append(f)
    return np.stack(frames)


def test_temporal_static_gains_3db_over_single_frame():
    clean = scene(128, 128, seed=9)
    zs = np.stack([HIGH.apply(clean, rng=10 + t) for t in range(8)])
    single = max(psnr(K.bilateral_cfa(zs[3], HIGH.a, HIGH.b), clean), psnr(K.nlm_cfa(zs[3], HIGH.a, HIGH.b), clean))
    temporal = psnr(K.temporal_cfa(zs, 3, HIGH.a, HIGH.b), clean)
    assert temporal > single + 3.0


def test_temporal_does_not_ghost():
    cs = moving_sequence()
    moving = (np.abs(cs - cs[3]) > 0).any(axis=0)
    zs = np.stack([HIGH.apply(c, rng=20 + t) for t, c in enumerate(cs)])
    single = K.bilateral_cfa(zs[3], HIGH.a, HIGH.b)
    temporal = K.temporal_cfa(zs, 3, HIGH.a, HIGH.b)
    assert psnr(temporal, cs[3], moving) >= psnr(single, cs[3], moving)
    assert psnr(temporal, cs[3], ~moving) > psnr(single, cs[3], ~moving) + 3.0
    # plain averaging would ghost badly there
    assert psnr(zs.mean(axis=0), cs[3], moving) < psnr(single, cs[3], moving) - 5.0


def test_kernel_errors_are_value_errors():
    z = np.zeros((16, 16), np.float32)
    with pytest.raises(ValueError):
        K.bilateral_cfa(z, 1e-3, 0.0, -1.0)
    with pytest.raises(ValueError):
        K.nlm_cfa(np.zeros((16, 16, 3), np.float32), 1e-3, 0.0)
    with pytest.raises(ValueError):
        K.temporal_cfa(np.zeros((2, 16, 16), np.float32), 2, 1e-3, 0.0)


# ---------------------------------------------------------------------------------------------
# the isp-level stage

def test_isp_denoise_entry_points():
    from isp.denoise import METHODS, denoise, denoise_temporal, window

    assert {"realtime", "bilateral", "hq", "nlm", "off"} <= set(METHODS)
    clean = scene(128, 128)
    z = HIGH.apply(clean, rng=11)
    d = denoise(z, HIGH, method="realtime")
    assert psnr(d, clean) > psnr(z, clean) + 3
    est = denoise(z, None, method="bilateral")          # model estimated from the frame
    assert psnr(est, clean) > psnr(z, clean) + 2
    zs = [HIGH.apply(clean, rng=t) for t in range(4)]
    assert denoise_temporal(zs, 1, (HIGH.a, HIGH.b)).shape == z.shape
    assert window(10, 0, 5) == (0, 5) and window(10, 9, 5) == (5, 10) and window(10, 5, 3) == (4, 7)


def test_isp_denoise_bad_input():
    from isp.denoise import denoise, denoise_temporal, window

    z = np.zeros((16, 16), np.float32)
    bad = z.copy()
    bad[2, 2] = np.nan
    with pytest.raises(InputError, match="NaN"):
        denoise(bad, HIGH)
    with pytest.raises(InputError, match="strength"):
        denoise(z, HIGH, strength=-1)
    with pytest.raises(InputError, match="method"):
        denoise(z, HIGH, method="bm4d")
    with pytest.raises(InputError, match="mosaic"):
        denoise(np.zeros((16, 16, 3), np.float32), HIGH)
    with pytest.raises(InputError):
        denoise(z, (-1.0, 0.0))
    with pytest.raises(InputError, match="window"):
        denoise_temporal([z, z, z], 5, HIGH)
    with pytest.raises(InputError, match="NaN"):
        denoise_temporal([z, bad], 0, HIGH)
    with pytest.raises(InputError, match="differ"):
        denoise_temporal([z, z[:8]], 0, HIGH)
    with pytest.raises(InputError, match="does not fit"):
        window(4, 1, 8)


# ---------------------------------------------------------------------------------------------
# the fused sensor front end: levels and defects on load, white balance and clip on store

def _raw(shape, seed=0):
    rng = np.random.default_rng(seed)
    clean = scene(*shape, seed=seed) if min(shape) >= 16 else rng.random(shape).astype(np.float32)
    z = HIGH.apply(clean * 0.8, rng=seed)
    raw = np.clip(z * 3800 + 200, 0, 4095).astype(np.uint16)
    raw[rng.random(shape) < 0.005] = 4095        # hot
    raw[rng.random(shape) < 0.005] = 0           # dead
    return raw


def _three_passes(raw, black, scale, threshold, pattern, gains, clip, passes):
    from kernels import sensor, wb

    m = sensor.correct(raw, black, scale, np.ones((2, 2), np.float32), np.float32(threshold), np.float32(np.inf))
    d = K.bilateral_cfa(m, HIGH.a, HIGH.b, passes=passes)
    return wb.white_balance_mosaic(d, cfa.channels(pattern), gains, np.float32(clip or np.inf), d)


@pytest.mark.parametrize("shape,pattern,threshold,clip,passes", [
    ((64, 66), "RGGB", 0.0, 1.0, 1),
    ((63, 65), "GRBG", 0.05, None, 1),        # odd sizes: the trailing row/column too
    ((48, 70), "BGGR", 0.05, 1.2, 2),
    ((6, 10), "GBRG", 0.02, 1.0, 1),           # defect neighbours mirrored at every edge
])
def test_front_end_equals_three_passes(shape, pattern, threshold, clip, passes):
    """bilateral_cfa on the raw mosaic with levels/threshold/gains/clip == sensor.correct, then
    the denoiser, then wb.white_balance_mosaic (the pipeline's three passes)."""
    raw = _raw(shape)
    black = np.array([[200, 204], [198, 201]], np.float32)
    scale = (1 / (4095 - black)).astype(np.float32)
    gains = np.array([2.1, 1.0, 1.6], np.float32)
    ref = _three_passes(raw, black, scale, threshold, pattern, gains, clip, passes)
    site = gains[cfa.channels(pattern)].astype(np.float32)
    out = np.full(shape, np.nan, np.float32)
    got = K.bilateral_cfa(raw, HIGH.a, HIGH.b, passes=passes, levels=(black, scale), threshold=threshold,
                          gains=site, clip=clip, out=out)
    assert got is out
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)


def test_front_end_through_isp_denoise_raw():
    from isp.denoise import denoise_raw

    raw = _raw((32, 34), seed=3)
    black = np.full((2, 2), 200, np.float32)
    scale = np.full((2, 2), 1 / 3895, np.float32)
    gains = np.array([1.9, 1.0, 1.4], np.float32)
    site = gains[cfa.channels("RGGB")]
    ref = _three_passes(raw, black, scale, 0.05, "RGGB", gains, 1.0, 1)
    got = denoise_raw(raw, (black, scale), HIGH, "realtime", threshold=0.05, gains=site, clip=1.0)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)
    # a method without a fused kernel runs the passes and gives the same thing for strength 0
    off = denoise_raw(raw, (black, scale), HIGH, "off", gains=site, clip=1.0)
    plain = _three_passes(raw, black, scale, 0.0, "RGGB", gains, 1.0, 1)
    from kernels import sensor, wb

    m = sensor.correct(raw, black, scale, np.ones((2, 2), np.float32), np.float32(0), np.float32(np.inf))
    np.testing.assert_allclose(off, wb.white_balance_mosaic(m, cfa.channels("RGGB"), gains, np.float32(1.0), m),
                               rtol=0, atol=1e-6)
    assert np.abs(plain - off).max() > 0        # (and the denoiser did something)
    for levels in (([1, 2, 3], 1.0), (0.0,)):
        with pytest.raises(InputError, match="levels must be"):
            denoise_raw(raw, levels, HIGH)


def test_out_is_reused_and_checked():
    z = HIGH.apply(scene(32, 32), rng=12)
    out = np.empty_like(z)
    assert K.bilateral_cfa(z, HIGH.a, HIGH.b, out=out) is out
    np.testing.assert_array_equal(out, K.bilateral_cfa(z, HIGH.a, HIGH.b))
    assert K.bilateral_cfa(z, HIGH.a, HIGH.b, out=out, passes=2) is out
    with pytest.raises(ValueError, match="overlap"):
        K.bilateral_cfa(z, HIGH.a, HIGH.b, out=z)
    with pytest.raises(ValueError, match="float32"):
        K.bilateral_cfa(z, HIGH.a, HIGH.b, out=np.empty((32, 32), np.float64))
    from isp.denoise import denoise

    assert denoise(z, HIGH, "realtime", out=out) is out


def test_non_finite_found_in_the_kernel_pass():
    z = HIGH.apply(scene(32, 32), rng=13)
    z[5, 7] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        K.bilateral_cfa(z, HIGH.a, HIGH.b, check_finite=True)
    z[5, 7] = 0.2
    K.bilateral_cfa(z, HIGH.a, HIGH.b, check_finite=True)
    odd = HIGH.apply(scene(17, 17), rng=14)  # the trailing odd row and column lie outside the blocks
    for y, x in ((16, 5), (5, 16), (16, 16)):
        bad = odd.copy()
        bad[y, x] = np.nan
        with pytest.raises(ValueError, match="NaN or inf"):
            K.bilateral_cfa(bad, HIGH.a, HIGH.b, check_finite=True)


def test_clip_applies_even_without_filtering():
    z = np.full((8, 8), 0.9, np.float32)
    assert K.bilateral_cfa(z, HIGH.a, HIGH.b, strength=0, clip=0.5).max() == np.float32(0.5)
