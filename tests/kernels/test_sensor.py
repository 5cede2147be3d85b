"""Sensor correction: levels, defect suppression as defined (Halide camera_pipe), out=."""
import numpy as np

from kernels import sensor


def test_correct_levels_defects_and_out():
    rng = np.random.default_rng(0)
    raw = (rng.random((12, 14)) * 1000 + 100).astype(np.uint16)
    raw[5, 6] = 4000                                   # a hot pixel in a flat-ish area
    black = np.full((2, 2), 100, np.float32)
    scale = np.full((2, 2), 1 / 3995, np.float32)
    unit = np.ones((2, 2), np.float32)
    plain = sensor.correct(raw, black, scale, unit, np.float32(0), np.float32(np.inf))
    np.testing.assert_allclose(plain, (raw.astype(np.float32) - 100) / np.float32(3995), rtol=1e-6)
    fixed = sensor.correct(raw, black, scale, unit, np.float32(0.05), np.float32(np.inf))
    nb = sorted(plain[[3, 7, 5, 5], [6, 6, 4, 8]])
    assert fixed[5, 6] == np.float32((nb[1] + nb[2]) * np.float32(0.5))
    out = np.full(raw.shape, np.nan, np.float32)
    got = sensor.correct(raw, black, scale, unit, np.float32(0.05), np.float32(np.inf), out)
    assert got is out
    np.testing.assert_array_equal(out, fixed)
