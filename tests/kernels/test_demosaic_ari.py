"""ARI demosaicing: flip equivariance, flat fields and borders, highlights, quality over Menon.

The generic checks of tests/kernels/test_demosaic.py also run on ARI (they iterate ALGORITHMS);
these add what is specific to it. Crops keep the file fast: ARI iterates 11 guided filters
per direction.
"""
import numpy as np
import pytest
from skimage import data, io

from kernels import cfa
from kernels.demosaic import ALGORITHMS, demosaic

CROP = 10


def cpsnr(a: np.ndarray, b: np.ndarray) -> float:
    d = (np.clip(a.astype(np.float64), 0, 1) - b)[CROP:-CROP, CROP:-CROP]
    return float(10 * np.log10(1 / np.mean(d**2)))


def astronaut(h: int = 96, w: int = 112) -> np.ndarray:
    """Detail and saturated colour edges: a crop of skimage's astronaut."""
    return np.ascontiguousarray(data.astronaut()[120:120 + h, 160:160 + w], dtype=np.float32) / 255


def test_registered():
    assert "ari" in ALGORITHMS


@pytest.mark.parametrize("pattern", cfa.PATTERNS)
def test_flipped_mosaic_gives_flipped_result(pattern):
    img = astronaut(42, 50)
    m = cfa.mosaic(img, pattern)
    rgb = demosaic(m, pattern, "ari")
    h, w = m.shape
    for vertical, horizontal in ((True, False), (False, True), (True, True)):
        sl = (slice(None, None, -1 if vertical else 1), slice(None, None, -1 if horizontal else 1))
        flipped = demosaic(np.ascontiguousarray(m[sl]), cfa.flip(pattern, vertical, horizontal, h, w), "ari")
        # window sums are taken in mirror-symmetric order: flips commute bit for bit
        np.testing.assert_array_equal(flipped, rgb[sl])


@pytest.mark.parametrize("pattern", cfa.PATTERNS)
def test_flat_field_has_no_dark_or_nan_border(pattern):
    for level in (0.2, 2.5):
        rgb = demosaic(np.full((30, 37), level, np.float32), pattern, "ari")
        assert np.isfinite(rgb).all()
        np.testing.assert_allclose(rgb, level, rtol=1e-5)


def test_values_above_one_are_kept():
    """A flat highlight patch in a busy image comes back exactly: red/blue windows (17 x 17) that
    fit inside the patch have a near-zero fit residual and outweigh those straddling its edge."""
    img = astronaut(64, 64) * np.float32(3)
    img[20:44, 20:44] = (2.5, 1.5, 3.0)
    rgb = demosaic(cfa.mosaic(img, "GRBG"), "GRBG", "ari")
    assert np.isfinite(rgb).all()
    assert rgb.max() > 2
    np.testing.assert_allclose(rgb[26:38, 26:38], img[26:38, 26:38], rtol=1e-4)


def test_beats_menon_on_a_natural_image():
    img = astronaut()
    m = cfa.mosaic(img, "BGGR")
    assert cpsnr(demosaic(m, "BGGR", "ari"), img) > cpsnr(demosaic(m, "BGGR", "menon2007"), img) + 0.5


def test_beats_menon_on_kodak_and_mcmaster_crops(shared_data):
    """Crops of a few benchmark images: ARI wins on each set's mean (as on the full sets)."""
    for files in ([shared_data / "kodak" / f"kodim{k:02d}.png" for k in (5, 8, 19)],
                  [shared_data / "mcmaster" / f"{k}.tif" for k in (1, 9)]):
        ours, menon = [], []
        for f in files:
            img = np.ascontiguousarray(io.imread(f)[100:228, 100:260], dtype=np.float32) / 255
            m = cfa.mosaic(img, "RGGB")
            ours.append(cpsnr(demosaic(m, "RGGB", "ari"), img))
            menon.append(cpsnr(demosaic(m, "RGGB", "menon2007"), img))
        assert np.mean(ours) > np.mean(menon) + 0.3, (files, ours, menon)


@pytest.mark.parametrize("shape", [(1, 9), (9, 1), (2, 9), (9, 2), (1, 1)])
def test_thin_mosaics_are_finite_and_repeatable(shape):
    """One-row/one-column mosaics (a colour without a sample row, mirrored windows that are one
    column wide): finite, and the same on every call whatever ran before (no scratch left
    uninitialised)."""
    rng = np.random.default_rng(3)
    m = rng.random(shape, dtype=np.float32)
    for pattern in cfa.PATTERNS:
        first = demosaic(m, pattern, "ari")
        demosaic(rng.random(shape, dtype=np.float32) * 50, pattern, "ari")
        assert np.isfinite(first).all()
        np.testing.assert_array_equal(demosaic(m, pattern, "ari"), first)
