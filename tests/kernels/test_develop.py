"""kernels.develop: demosaic + finish tile by tile equals demosaic, then finish, bit for bit."""
import numpy as np
import pytest

from isp.pipeline import Pipeline
from kernels import fused
from kernels.demosaic import ALGORITHMS
from kernels.develop import ALGORITHMS as TILED, develop

MATRIX = np.array([[1.6, -0.4, -0.2], [-0.2, 1.4, -0.2], [0.0, -0.3, 1.3]], np.float32)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The finish arguments of a pipeline with sRGB, a CDL with saturation and a 17^3 cube."""
    import colour

    folder = tmp_path_factory.mktemp("look")
    cube = colour.LUT3D(size=17)
    cube.table = np.clip(cube.table ** 1.1 * [1.02, 1.0, 0.97], 0, 1)
    colour.write_LUT(cube, str(folder / "cube.cube"))
    (folder / "shot.cc").write_text(
        '<ColorCorrection id="a" xmlns="urn:ASC:CDL:v1.2"><SOPNode><Slope>1.1 1 0.9</Slope>'
        "<Offset>0.01 0 -0.01</Offset><Power>1.05 1 0.95</Power></SOPNode>"
        "<SatNode><Saturation>1.2</Saturation></SatNode></ColorCorrection>")
    p = Pipeline.from_config({"grade": {"lut": str(folder / "cube.cube"), "cdl": str(folder / "shot.cc")}})
    return p.transfer, p.curves, p._cdl_args, p._lut_args


def _mosaic(h, w, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    smooth = 0.45 + 0.35 * np.sin(x * 0.21 + y * 0.13) * np.cos(y * 0.05)
    return (smooth + 0.03 * rng.standard_normal((h, w))).astype(np.float32)


def _reference(algorithm, mosaic, pattern, dtype, args):
    rgb = ALGORITHMS[algorithm](mosaic, pattern)
    out = np.empty(rgb.shape, dtype)
    return fused.finish(rgb, 0, rgb.shape[0], out, 0, MATRIX, *args)


def _same(a, b):
    return np.array_equal(a.view(np.uint32), b.view(np.uint32)) if a.dtype == np.float32 else np.array_equal(a, b)


@pytest.mark.parametrize("algorithm", sorted(TILED))
@pytest.mark.parametrize("pattern", ["RGGB", "BGGR", "GRBG", "GBRG"])
@pytest.mark.parametrize("depth", [0, 255, 65535])
def test_tiles_equal_demosaic_then_finish(graded, algorithm, pattern, depth):
    # 70 x 300: a partial tile in both directions; the finish's chunks hold 8 rows of 256
    dtype = {0: np.float32, 255: np.uint8, 65535: np.uint16}[depth]
    m = _mosaic(70, 300)
    args = (*graded, np.float32(depth))
    got = develop(algorithm, m, pattern, np.full((70, 300, 3), 7, dtype), MATRIX, *args)
    assert _same(got, _reference(algorithm, m, pattern, dtype, args))


@pytest.mark.parametrize("algorithm", sorted(TILED))
@pytest.mark.parametrize("shape", [(5, 7), (2, 9), (131, 517), (64, 256), (9, 1030)])
def test_odd_sizes_and_no_grade(algorithm, shape):
    # tiles narrower than a vector, a width that is not a multiple of 8, exact tiles, many columns
    args = (0, fused.linear_curves(), fused.NO_CDL, fused.NO_LUT, np.float32(65535))
    m = _mosaic(*shape, seed=3)
    got = develop(algorithm, m, "GRBG", np.empty(shape + (3,), np.uint16), MATRIX, *args)
    assert _same(got, _reference(algorithm, m, "GRBG", np.uint16, args))


def test_bad_destination_and_algorithm(graded):
    m = _mosaic(16, 16)
    with pytest.raises(ValueError, match=r"dst must be a C-contiguous uint16 array of shape \(16, 16, 3\)"):
        develop("rcd", m, "RGGB", np.empty((16, 15, 3), np.uint16), MATRIX, *graded, np.float32(65535))
    with pytest.raises(ValueError, match=r"C-contiguous uint8 array .* got uint16"):
        develop("rcd", m, "RGGB", np.empty((16, 16, 3), np.uint16), MATRIX, *graded, np.float32(255))
    with pytest.raises(ValueError, match="unknown CFA pattern 'RGBX'"):
        develop("rcd", m, "RGBX", np.empty((16, 16, 3), np.uint16), MATRIX, *graded, np.float32(65535))
    with pytest.raises(ValueError, match="no tiled develop for demosaic 'ari'; expected one of rcd, menon2007"):
        develop("ari", m, "RGGB", np.empty((16, 16, 3), np.uint16), MATRIX, *graded, np.float32(65535))
