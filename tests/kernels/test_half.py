"""kernels.half against numpy's float32 -> float16 conversion, bit for bit."""
import numpy as np

from kernels.half import as_half


def _bits_equal(values):
    values = np.asarray(values, np.float32)
    got = as_half(values).view(np.uint16)
    want = values.astype(np.float16).view(np.uint16)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [(hex(values.view(np.uint32)[i]), hex(got[i]), hex(want[i])) for i in bad[:5]]


def test_every_half_and_the_ties_between_them():
    halves = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    finite = halves[np.isfinite(halves)].astype(np.float32)
    bits = finite.view(np.uint32)
    # each half, the floats just either side of it, and the midpoints to the next (ties to even)
    near = np.concatenate([finite, (bits + 1).view(np.float32), (bits - 1).view(np.float32),
                           (bits + (1 << 12)).view(np.float32), (bits + (1 << 13)).view(np.float32)])
    _bits_equal(near[~np.isnan(near)])  # 0.0's neighbour below wraps to a NaN payload


def test_random_float_bits():
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 1 << 32, 2_000_000, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    _bits_equal(values[~np.isnan(values)])  # NaN payloads: only the quiet NaN is specified below


def test_specials_and_overflow():
    _bits_equal([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 65504, 65519.99, 65520, 65536, 1e9,
                 -1e9, 2.0**-24, 2.0**-25, 2.0**-25 * 1.0001, 2.0**-26, 1e-30, -1e-30, 2.0**-14, 3.0e38])


def test_shape_and_out_buffer():
    image = np.random.default_rng(2).normal(size=(5, 7, 3)).astype(np.float32)
    out = np.empty(image.shape, np.uint16)
    half = as_half(image, out=out)
    assert half.dtype == np.float16 and half.shape == image.shape
    assert np.shares_memory(half, out)
    np.testing.assert_array_equal(half, image.astype(np.float16))
