"""Noise model: formulas, sampling statistics, estimation from synthetic frames, metadata."""
import numpy as np
import pytest

from isp.errors import InputError
from isp.noise import NoiseModel, describe, estimate, from_frame


def scene(h=256, w=256, seed=0):
    """Piecewise-smooth colour scene (ramps, discs, a slow sinusoid) as an RGGB mosaic."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.empty((h, w, 3))
    for c in range(3):
        img[..., c] = 0.05 + 0.6 * (x * rng.uniform(0.3, 1) + y * rng.uniform(0, 0.5)) + 0.05 * np.sin(6 * y + c)
    for _ in range(6):
        cy, cx, r = rng.uniform(0, 1, 2).tolist() + [rng.uniform(0.05, 0.2)]
        img[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = rng.uniform(0.02, 0.9, 3)
    from kernels import cfa

    return cfa.mosaic(np.ascontiguousarray(img, np.float32), "RGGB")


def test_from_sensor_formulas():
    m = NoiseModel.from_sensor(gain_e_per_dn=2.0, read_noise_dn=3.0, white_level=4095, black_level=95)
    assert m.a == pytest.approx(1 / (2.0 * 4000))
    assert m.b == pytest.approx((3.0 / 4000) ** 2)


def test_apply_has_the_model_variance():
    m = NoiseModel(2e-3, 1e-4)
    for level in (0.0, 0.1, 0.5):
        z = m.apply(np.full(200_000, level, np.float32), rng=1)
        assert z.mean() == pytest.approx(level, abs=5e-4)
        assert z.var() == pytest.approx(m.a * level + m.b, rel=0.03)


@pytest.mark.parametrize("a,b", [(5e-4, 2e-6), (2e-3, 3e-5), (8e-3, 2e-4), (1e-3, 0.0), (0.0, 1e-4)])
def test_estimate_recovers_the_model(a, b):
    """Stated tolerance: a within 12 % (absolute 2e-5 when a = 0), b within 25 % of b plus
    5 % of a (b is a small intercept beside the shot noise, and only dark tiles see it)."""
    truth = NoiseModel(a, b)
    for seed in range(3):
        est = estimate(truth.apply(scene(seed=seed), rng=seed), "RGGB")
        assert abs(est.a - a) <= 0.12 * a + 2e-5, (seed, est)
        assert abs(est.b - b) <= 0.25 * b + 0.05 * a, (seed, est)


def test_estimate_on_a_synth_frame():
    synth = pytest.importorskip("isp.synth")
    sensor = synth.SensorModel(gain=0.5, read_noise=4.0)
    frame = synth.render(synth.make_scene("chart", 256, 256), sensor)
    truth = from_frame(frame)
    assert truth == NoiseModel(sensor.noise_model()["a"], sensor.noise_model()["b"])
    est = estimate(frame.normalized(), frame.pattern)
    assert est.a == pytest.approx(truth.a, rel=0.15)
    assert est.b == pytest.approx(truth.b, rel=0.3, abs=0.05 * truth.a)


def test_gat_is_variance_stabilising():
    m = NoiseModel(4e-3, 1e-4)
    for level in (0.02, 0.2, 0.8):
        y = m.gat(m.apply(np.full(100_000, level, np.float32), rng=2))
        assert y.std() == pytest.approx(1.0, rel=0.05)
        assert m.gat_inverse(m.gat(np.float64(level))) == pytest.approx(level)


def test_describe():
    d = describe(NoiseModel(1e-3, 1e-5))
    assert d["a"] == 1e-3 and d["b"] == 1e-5
    assert d["sigma_at_0"] == pytest.approx(np.sqrt(1e-5))
    assert "Poisson-Gaussian" in d["text"]


def test_bad_input():
    with pytest.raises(InputError):
        NoiseModel(-1.0, 0.0)
    with pytest.raises(InputError):
        NoiseModel(float("nan"), 0.0)
    z = scene()
    z[3, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        estimate(z)
    with pytest.raises(InputError):
        estimate(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(InputError):
        estimate(scene(), "XYZW")
    with pytest.raises(InputError):
        estimate(np.zeros((16, 16), np.float32))
