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


def test_argument_variants_share_one_compiled_kernel():
    """Read-only levels, Python scalars, a scalar gain and an omitted `out` give the same result
    as canonical arguments, and compile no second version of the kernel (each costs seconds)."""
    raw = (np.arange(8 * 10).reshape(8, 10) * 37 % 4000).astype(np.uint16)
    black = np.full((2, 2), 64, np.float32)
    scale = np.full((2, 2), 1 / 3931, np.float32)
    want = sensor.correct(raw, black, scale, np.ones((2, 2), np.float32), np.float32(0.1), np.float32(2.0),
                          np.empty(raw.shape, np.float32))
    versions = len(sensor._correct.signatures)
    got = sensor.correct(raw, np.broadcast_to(np.float32(64), (2, 2)), scale, 1.0, 0.1, 2.0)
    np.testing.assert_array_equal(got, want)
    assert len(sensor._correct.signatures) == versions
