"""Turning and stretching developed images: numpy's rotations and LibRaw's own output as references."""
import dataclasses

import numpy as np
import pytest
import rawpy

from isp.io.dng import write_dng
from isp.orientation import displayed, displayed_shape
from isp.synth import SensorModel, default_chart, render
from kernels import geometry

# TIFF orientation -> the same turn in numpy (TIFF 6.0 tag 274)
NUMPY = {1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
         5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
         8: lambda a: np.rot90(a, 1)}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float16])
def test_orientations_match_numpy(orientation, dtype):
    image = (np.random.default_rng(orientation).random((5, 7, 3)) * 200).astype(dtype)
    out = displayed(image, orientation, 1.0)
    assert out.dtype == dtype and out.shape == displayed_shape(5, 7, orientation, 1.0) + (3,)
    assert np.array_equal(out, NUMPY[orientation](image))


def test_orientation_outside_1_to_8_is_refused():
    with pytest.raises(ValueError, match="orientation 9"):
        displayed(np.zeros((2, 2, 3), np.float32), 9, 1.0)


@pytest.mark.parametrize("out", [np.zeros((3, 2, 3), np.float32), np.zeros((2, 3, 3), np.uint16),
                                 np.zeros((2, 6, 3), np.float32)[:, ::2]])
def test_out_of_the_wrong_shape_or_type_is_refused(out):
    with pytest.raises(ValueError, match="out: expected a C-contiguous"):
        displayed(np.zeros((2, 3, 3), np.float32), 1, 1.0, out=out)


def _libraw(path, **kw):
    """LibRaw's development with nothing but geometry changing the values: linear, 16-bit,
    raw colour, unit white balance, bilinear."""
    with rawpy.imread(str(path)) as raw:
        return raw.postprocess(gamma=(1, 1), no_auto_bright=True, output_bps=16, user_wb=[1, 1, 1, 1],
                               output_color=rawpy.ColorSpace.raw, demosaic_algorithm=rawpy.DemosaicAlgorithm.LINEAR,
                               **kw)


@pytest.fixture(scope="module")
def frame():
    return render(default_chart(48, 64), SensorModel(seed=3))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_as_libraw_turns_it(tmp_path, frame, orientation):
    """LibRaw's output of a DNG with Orientation n is its output of the upright DNG turned by
    `displayed`, exactly."""
    upright = _libraw(write_dng(tmp_path / "a.dng", frame))
    turned = _libraw(write_dng(tmp_path / "b.dng", dataclasses.replace(frame, orientation=orientation)))
    assert np.array_equal(displayed(upright, orientation, 1.0), turned)


@pytest.mark.parametrize("aspect", [1.5345911949685533, 2.0, 0.5, 0.7])
def test_stretch_gives_libraws_size_and_its_samples(tmp_path, frame, aspect):
    """Non-square pixels (DNG DefaultScale): the size of LibRaw's stretched output, and its values
    where a new row or column lands on a source one. Between those LibRaw 0.22 repeats the source
    sample to the left; isp interpolates, as dcraw's stretch() does."""
    square = _libraw(write_dng(tmp_path / "a.dng", frame))
    stretched = _libraw(write_dng(tmp_path / "b.dng", dataclasses.replace(frame, pixel_aspect=aspect)))
    ours = displayed(square, 1, aspect)
    assert ours.shape == stretched.shape
    axis = 1 if aspect > 1 else 0
    pos = np.arange(ours.shape[axis]) * (1 / aspect if aspect > 1 else aspect)
    left = np.floor(pos).astype(int)
    right = np.minimum(left + 1, square.shape[axis] - 1)
    lo = np.minimum(np.take(square, left, axis), np.take(square, right, axis))
    hi = np.maximum(np.take(square, left, axis), np.take(square, right, axis))
    assert (lo <= ours).all() and (ours <= hi).all()
    if aspect in (2.0, 0.5):  # every other new row or column is a source one, in LibRaw too
        assert np.array_equal(np.take(ours, range(0, ours.shape[axis], 2), axis),
                              np.take(stretched, range(0, ours.shape[axis], 2), axis))


def test_stretch_keeps_the_samples_it_lands_on():
    image = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    wide = np.empty((2, 6, 3), np.float32)
    geometry.stretch(image, 2.0, False, wide)
    assert np.array_equal(wide[:, ::2], image)
    assert np.array_equal(wide[:, 1:-1:2], (image[:, :-1] + image[:, 1:]) / 2)
    assert np.array_equal(wide[:, -1], image[:, -1])  # past the end: the last sample
