"""Demosaic kernels: agreement with colour-demosaicing, flip symmetry, borders, range, errors.

colour-demosaicing is the reference for bilinear, Malvar 2004 and Menon 2007; RCD, which no
package here implements, is checked against `rcd_reference`, a whole-frame numpy transcription
of its author's C (see that module). Inside a 10-px
border the first two agree to float32 rounding (~1e-7). Menon 2007 differs on a few pixels:
its horizontal/vertical decision compares two gradient sums that tie on some pixels, and
float32 (ours) and float64 (theirs) rounding break those ties differently; the chosen green
then differs by up to ~0.1 and the refining step spreads that to a few neighbours. On the
border itself colour-demosaicing uses other extensions (scipy "reflect", which shifts the CFA
phase, for bilinear and Malvar; zeros for Menon's classifier), so borders are not compared.
"""
import colour_demosaicing as cdm
import numpy as np
import pytest
from skimage import data, io

from kernels import cfa
from kernels.demosaic import ALGORITHMS, demosaic
from rcd_reference import VALID, rcd_reference  # tests/kernels, on sys.path as pytest runs it

CROP = 10
PEERS = {
    "bilinear": cdm.demosaicing_CFA_Bayer_bilinear,
    "malvar2004": cdm.demosaicing_CFA_Bayer_Malvar2004,
    "menon2007": cdm.demosaicing_CFA_Bayer_Menon2007,
}


def cpsnr(a: np.ndarray, b: np.ndarray) -> float:
    d = (a.astype(np.float64) - b)[CROP:-CROP, CROP:-CROP]
    return float(10 * np.log10(1 / np.mean(d**2)))


def synthetic(h: int = 96, w: int = 112) -> np.ndarray:
    """Smooth colour ramps with sharp coloured discs and lines: edges in every direction."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([0.2 + 0.6 * x / w, 0.3 + 0.4 * y / h, 0.5 + 0.3 * np.sin(x / 7 + y / 11)], -1)
    disc = (y - h / 2) ** 2 + (x - w / 3) ** 2 < (h / 4) ** 2
    img[disc] = (0.9, 0.2, 0.1)
    img[(x + 2 * y).astype(int) % 23 < 3] = (0.1, 0.8, 0.3)
    return np.ascontiguousarray(img, dtype=np.float32)


def natural() -> np.ndarray:
    """A crop of skimage's astronaut (ships with scikit-image): no shared data needed."""
    return np.ascontiguousarray(data.astronaut()[100:260, 150:330], dtype=np.float32) / 255


def check_agreement(name: str, img: np.ndarray, pattern: str) -> None:
    m = cfa.mosaic(img, pattern)
    ours = demosaic(m, pattern, name)
    theirs = PEERS[name](m, pattern)
    assert abs(cpsnr(ours, img) - cpsnr(theirs, img)) <= 0.05
    diff = np.abs(ours - theirs)[CROP:-CROP, CROP:-CROP]
    if name == "menon2007":  # decision ties only: see the module docstring
        assert np.mean(diff > 1e-4) < 0.02
    else:
        assert diff.max() < 1e-5


@pytest.mark.parametrize("name", PEERS)
@pytest.mark.parametrize("pattern", cfa.PATTERNS)
def test_agrees_with_colour_demosaicing_synthetic(name, pattern):
    check_agreement(name, natural(), pattern)
    check_agreement(name, synthetic(), pattern)


@pytest.mark.parametrize("name", PEERS)
def test_agrees_with_colour_demosaicing_kodak(name, shared_data):
    for k in (1, 13, 19):
        img = io.imread(shared_data / "kodak" / f"kodim{k:02d}.png")[100:260, 200:392]
        check_agreement(name, np.ascontiguousarray(img, dtype=np.float32) / 255, "RGGB")


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("pattern", cfa.PATTERNS)
@pytest.mark.parametrize("shape", [(40, 52), (41, 37)])
def test_flipped_mosaic_gives_flipped_result(name, pattern, shape):
    img = synthetic(*shape)
    m = cfa.mosaic(img, pattern)
    rgb = demosaic(m, pattern, name)
    h, w = shape
    for vertical, horizontal in ((True, False), (False, True), (True, True)):
        sl = (slice(None, None, -1 if vertical else 1), slice(None, None, -1 if horizontal else 1))
        flipped = demosaic(m[sl], cfa.flip(pattern, vertical, horizontal, h, w), name)
        np.testing.assert_allclose(flipped, rgb[sl], atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("pattern", cfa.PATTERNS)
def test_flat_field_is_flat_to_the_edge_and_above_one_is_kept(name, pattern):
    for level in (0.5, 3.0):
        rgb = demosaic(np.full((23, 30), level, np.float32), pattern, name)
        np.testing.assert_allclose(rgb, level, rtol=1e-6)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_borders_are_as_good_as_the_interior(name):
    """No dark, bright or NaN edges: the outer 3 px err no more than a few times the interior."""
    img = synthetic(64, 80)
    rgb = demosaic(cfa.mosaic(img, "GRBG"), "GRBG", name)
    assert np.isfinite(rgb).all()
    err = np.abs(rgb - img).mean(axis=2)
    edge = np.ones(err.shape, bool)
    edge[3:-3, 3:-3] = False
    assert err[edge].mean() < 3 * err[~edge].mean() + 0.01
    assert rgb.dtype == np.float32 and rgb.flags.c_contiguous and rgb.shape == img.shape


@pytest.mark.parametrize("name", ALGORITHMS)
def test_highlights_above_one_are_not_clipped(name):
    img = synthetic(48, 48)
    img[10:30, 12:36] = (2.5, 1.5, 3.0)
    rgb = demosaic(cfa.mosaic(img, "RGGB"), "RGGB", name)
    np.testing.assert_allclose(rgb[15:25, 17:31], img[15:25, 17:31], rtol=1e-5)
    assert np.isfinite(rgb).all()


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (5, 4), (3, 17)])
def test_tiny_frames(name, shape):
    rgb = demosaic(np.full(shape, 0.25, np.float32), "BGGR", name)
    assert rgb.shape == (*shape, 3)
    np.testing.assert_allclose(rgb, 0.25, rtol=1e-6)


def test_errors_name_the_allowed_values():
    m = np.zeros((8, 8), np.float32)
    with pytest.raises(ValueError, match="bilinear"):
        demosaic(m, "RGGB", "nearest")
    with pytest.raises(ValueError, match="RGGB"):
        demosaic(m, "RGBG", "bilinear")
    for f in ALGORITHMS.values():
        with pytest.raises(ValueError, match="RGGB"):
            f(m, "XYZW")
        with pytest.raises(ValueError, match="2-D"):
            f(np.zeros((8, 8, 3), np.float32), "RGGB")


def check_rcd(img: np.ndarray, pattern: str) -> None:
    """Float32 rounding apart, the kernel is the published algorithm. The exception is clipped
    highlights: there one direction's high-pass is exactly 0, the discrimination and the mean of
    its diagonal neighbours both sit within ~1e-8 of 0 or 1, and which of the two the refining
    step keeps is decided by rounding (float32 here, float64 in the reference). Those pixels,
    0.1% of the kodim13 crop below, differ by up to ~0.03; CPSNR agrees to 0.005 dB."""
    m = cfa.mosaic(img, pattern)
    ours = demosaic(m, pattern, "rcd")
    ref = rcd_reference(m, pattern)
    inner = (slice(VALID, -VALID), slice(VALID, -VALID))
    diff = np.abs(ours - ref)[inner]
    assert np.mean(diff > 1e-5) < 3e-3 and diff.max() < 0.05
    assert abs(cpsnr(ours, img) - cpsnr(np.where(np.isnan(ref), ours, ref), img)) < 0.005


@pytest.mark.parametrize("pattern", cfa.PATTERNS)
def test_rcd_is_the_published_algorithm(pattern):
    check_rcd(natural(), pattern)
    check_rcd(synthetic(), pattern)


def test_rcd_is_the_published_algorithm_on_kodak(shared_data):
    for k in (8, 13, 19):  # kodim13 has clipped highlights: the refining step's near-ties
        img = io.imread(shared_data / "kodak" / f"kodim{k:02d}.png")[:256, 320:704]
        check_rcd(np.ascontiguousarray(img, dtype=np.float32) / 255, "GRBG")


def test_rcd_reference_tells_algorithms_apart():
    """The comparison can fail: other edge-directed demosaics differ from it on most pixels."""
    img = natural()
    m = cfa.mosaic(img, "RGGB")
    ref = rcd_reference(m, "RGGB")[VALID:-VALID, VALID:-VALID]
    for wrong in (demosaic(m, "RGGB", "menon2007"), demosaic(m, "RGGB", "malvar2004")):
        assert np.mean(np.abs(wrong[VALID:-VALID, VALID:-VALID] - ref) > 1e-5) > 0.3


def test_rcd_beats_the_linear_methods_on_a_natural_image():
    img = natural()
    m = cfa.mosaic(img, "GBRG")
    score = {name: cpsnr(demosaic(m, "GBRG", name), img) for name in ("bilinear", "malvar2004", "rcd")}
    assert score["bilinear"] < score["malvar2004"] < score["rcd"]


@pytest.mark.parametrize("name", [n for n in sorted(ALGORITHMS) if n != "ari"])
def test_strips_with_a_halo_equal_the_whole_frame(name):
    """Every algorithm but ARI (whose iterations reach across the frame) is local: row strips
    demosaiced with a 16-row halo equal the whole frame's rows. The frame spans several of the
    kernels' tiles in both directions, and odd strip offsets change the pattern, so tile seams
    and margins are exercised too."""
    img = synthetic(203, 611)
    pattern = "GRBG"
    m = cfa.mosaic(img, pattern)
    whole = demosaic(m, pattern, name)
    halo = 16
    for y0, y1 in ((0, 64), (64, 160), (97, 203)):
        top, bottom = max(0, y0 - halo), min(m.shape[0], y1 + halo)
        strip = demosaic(m[top:bottom], cfa.shift(pattern, top, 0), name)
        np.testing.assert_array_equal(strip[y0 - top:y1 - top], whole[y0:y1])
    # and columns: a crop at an odd column offset
    crop = demosaic(m[:, 101:], cfa.shift(pattern, 0, 101), name)
    np.testing.assert_array_equal(crop[:, halo:], whole[:, 101 + halo:])
