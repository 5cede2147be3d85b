"""The pipeline end to end: fused against unfused, colour through the chain, real raws, the CLI."""
import subprocess
import sys
import warnings

import colour
import numpy as np
import pytest
import rawpy

import isp
from isp.cli import main
from isp.io.dng import write_frame
from isp.orientation import displayed_shape
from isp.pipeline import Pipeline
from isp.synth import SensorModel, colorchecker, default_chart, render
from kernels.demosaic import ALGORITHMS


@pytest.fixture(scope="module")
def frame():
    return render(default_chart(96, 128), SensorModel(pattern="GRBG", seed=3))


@pytest.fixture(scope="module")
def look(tmp_path_factory):
    """A 17^3 cube with a shaper and a CDL, written to files as a user would have them."""
    folder = tmp_path_factory.mktemp("look")
    cube = colour.LUT3D(size=17)
    cube.table = np.clip(cube.table ** 1.1 * [1.02, 1.0, 0.97], 0, 1)
    shaper = colour.LUT3x1D(size=64, domain=np.array([[0, 0, 0], [1.2, 1.2, 1.2]]))
    shaper.table = shaper.table / 1.2
    colour.write_LUT(colour.LUTSequence(shaper, cube), str(folder / "shaper.cube"), method="Resolve Cube")
    colour.write_LUT(cube, str(folder / "cube.cube"))
    (folder / "shot.cc").write_text(
        '<ColorCorrection id="a" xmlns="urn:ASC:CDL:v1.2"><SOPNode><Slope>1.1 1 0.9</Slope>'
        "<Offset>0.01 0 -0.01</Offset><Power>1.05 1 0.95</Power></SOPNode>"
        "<SatNode><Saturation>1.2</Saturation></SatNode></ColorCorrection>")
    return folder


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
@pytest.mark.parametrize("denoise", ["off", "realtime"])
def test_fused_and_unfused_agree(frame, look, algorithm, denoise):
    p = Pipeline.from_config({"demosaic": {"algorithm": algorithm}, "denoise": {"method": denoise},
                              "grade": {"lut": str(look / "shaper.cube"), "cdl": str(look / "shot.cc")}})
    unfused = p.process(frame, fused=False)
    assert unfused.shape == (96, 128, 3) and np.isfinite(unfused).all()
    fused, ms = p.process_timed(frame)
    assert np.abs(fused - unfused).max() <= 1e-5
    # RCD and Menon 2007 demosaic and finish tile by tile (kernels.develop); the others in two passes
    tiled = algorithm in ("rcd", "menon2007")
    assert list(ms)[1:] == (["demosaic+colour+grade"] if tiled else ["demosaic", "colour+grade"])


@pytest.mark.parametrize("algorithm", ["rcd", "menon2007", "malvar2004"])
@pytest.mark.parametrize("fused", [True, False])
def test_half_output_is_the_float_output_rounded_to_half(frame, look, algorithm, fused):
    # half floats come out of the same pass as the float result (kernels.half in the store step)
    p = Pipeline.from_config({"demosaic": {"algorithm": algorithm}, "grade": {"cdl": str(look / "shot.cc")},
                              "output": {"transfer": "linear", "colorspace": "ACEScg"}})
    # (every class of float32 value, inf and NaN among them, is checked against numpy in test_half.py)
    exact = p.process(frame, fused=fused)
    half = p.process(frame, fused=fused, depth="half")
    assert half.dtype == np.float16 and p.output_spec(frame, "half") == (half.shape, half.dtype)
    np.testing.assert_array_equal(half.view(np.uint16), exact.astype(np.float16).view(np.uint16))


@pytest.mark.parametrize("method", ["realtime", "hq"])
def test_a_camera_without_noise_metadata_is_measured_once_and_denoised_alike(frame, method):
    bare = isp.RawFrame(**{**frame.__dict__, "extra": {}})  # no noise model: it is estimated
    p = Pipeline.from_config({"denoise": {"method": method}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a frame this size gives an estimate: no warning
        unfused = p.process(bare, fused=False)
        fused = Pipeline.from_config({"denoise": {"method": method}}).process(bare)
    assert len(p._noise) == 1  # measured on the first frame, kept for the camera and ISO
    assert np.abs(fused - unfused).max() <= 1e-5
    assert not np.array_equal(unfused, Pipeline.from_config({"denoise": {"method": "off"}}).process(bare, fused=False))


@pytest.mark.parametrize("transfer,space", [("srgb", "sRGB"), ("slog3", "S-Gamut3.Cine"), ("acescct", "ACEScg")])
def test_fused_quantised_output_within_one_code(frame, look, transfer, space):
    p = Pipeline.from_config({"grade": {"lut": str(look / "cube.cube")},
                              "output": {"transfer": transfer, "colorspace": space}})
    q = p.process(frame, depth=16).astype(np.int64)
    reference = np.clip(p.process(frame, fused=False), 0, 1) * 65535
    assert q.dtype == np.int64 and np.abs(q - reference).max() <= 1.0


def test_buffers_are_reused_and_results_unchanged(frame):
    p = Pipeline.from_config({"demosaic": {"algorithm": "rcd"}})
    first = p.process(frame, depth=16)
    shape, dtype = p.output_spec(frame, 16)
    out = np.full(shape, 7, dtype)
    again = p.process(frame, depth=16, out=out)
    assert again is out and np.array_equal(again, first)  # scratch reused across calls: same result
    other = render(default_chart(96, 128) * 0.5, SensorModel(pattern="GRBG", seed=5))
    second = p.process(other, depth=16)
    assert not np.shares_memory(second, first) and np.array_equal(again, first)  # no scratch handed out
    small = render(default_chart(48, 64), SensorModel(pattern="RGGB", seed=4))
    np.testing.assert_array_equal(p.process(small), Pipeline(p.config).process(small))  # a new size
    with pytest.raises(isp.InputError, match=r"out: expected a C-contiguous \(96, 128, 3\) uint16 array"):
        p.process(frame, depth=16, out=np.zeros((96, 128, 3), np.float32))


def test_temporal_denoise_in_a_sequence(tmp_path):
    """A static noisy sequence: the temporal denoiser, fed the frames around each frame by the
    sequence runner, comes closer to the noise-free frame than the single-frame denoiser."""
    from isp.sequence import process_sequence
    from isp.synth import render_sequence

    scene, sensor = default_chart(64, 96), SensorModel(gain=0.5, read_noise=4.0)
    for f in render_sequence(scene, sensor, frames=5):
        write_frame(tmp_path / f"s.{f.frame_number:04d}.dng", f)
    linear = {"output": {"transfer": "linear"}, "demosaic": {"algorithm": "bilinear"}}
    truth = Pipeline.from_config(linear).process(render(scene, sensor, noise=False))
    errors = {}
    for method in ("realtime", "temporal"):
        p = Pipeline.from_config({**linear, "denoise": {"method": method, "window": 5}})
        results = list(process_sequence(tmp_path / "s.####.dng", None, p))
        assert [r.ok for r in results] == [True] * 5
        errors[method] = np.mean([(r.image - truth)[4:-4, 4:-4] ** 2 for r in results])
        if method == "temporal":
            centre = isp.read(tmp_path / "s.0003.dng")
            window = [isp.read(tmp_path / f"s.{n:04d}.dng") for n in range(1, 6)]
            window[2] = centre
            fused = p.process(centre, window=window, centre=2)
            assert np.abs(fused - p.process(centre, fused=False, window=window, centre=2)).max() <= 1e-5
            assert np.array_equal(fused, results[2].image)
    assert errors["temporal"] < 0.6 * errors["realtime"]


def test_colour_chain_returns_the_scene():
    """A noise-free synthetic camera has Rec.709 primaries: linear sRGB output is the scene."""
    scene = colorchecker(240, 360)
    frame = render(scene, SensorModel(pattern="BGGR"), noise=False)
    p = Pipeline.from_config({"output": {"transfer": "linear", "colorspace": "sRGB"},
                              "demosaic": {"algorithm": "bilinear"}, "sensor": {"highlights": "none"}})
    out = p.process(frame)
    centres = [(int(240 * (r + 0.5) / 4), int(360 * (c + 0.5) / 6)) for r in range(4) for c in range(6)]
    for y, x in centres:
        np.testing.assert_allclose(out[y, x], scene[y, x], atol=2e-3)


def test_white_balance_and_highlights_stay_neutral():
    """A blown sky in a warm-balanced frame stays white instead of turning magenta."""
    scene = np.full((64, 64, 3), 3.0, np.float32)  # three stops over: every site clips
    frame = render(scene, SensorModel(), noise=False)
    frame.wb = (2.0, 1.0, 1.6)
    out = Pipeline.from_config({"output": {"transfer": "linear"}}).process(frame)
    # neutral to the rounding of colour-science's sRGB matrix against its D65 xy (~3e-4);
    # unclipped, the red and blue sites would be 2x and 1.6x green
    assert np.ptp(out[8:-8, 8:-8], axis=-1).max() < 1e-3


@pytest.mark.parametrize("name", ["Blackmagic.dng", "colorchart.dng", "Canon_PowerShot_G2_CRW_0304.CRW",
                                  "Kodak_DC50_DC0008L.KDC", "Kodak_DC120_P003908.KDC"])
def test_real_raws_end_to_end(shared_data, name):
    path = shared_data / "raw" / name
    frame = isp.read(path)
    wb = "as_shot" if frame.wb is not None else "grey_world"  # the DC120 records none
    image = Pipeline.from_config({"denoise": {"method": "realtime"}, "sensor": {"white_balance": wb}}).process(frame)
    # upright and with square pixels (the DC120's are 1.53 times wider than high)
    assert image.shape == displayed_shape(frame.height, frame.width, frame.orientation, frame.pixel_aspect) + (3,)
    assert np.isfinite(image).all()
    # saturated colours outside sRGB legitimately go below 0 through the camera matrix
    assert 0.02 < image.mean() < 0.95 and np.percentile(image, 1) > -0.05 and np.percentile(image, 99) < 1.5
    # orientation and content against LibRaw's own rendering, compared small
    with rawpy.imread(str(path)) as raw:
        ref = raw.postprocess(half_size=True, no_auto_bright=True, output_bps=16).astype(np.float32)
    luma = lambda im: im @ np.array([0.2126, 0.7152, 0.0722], np.float32)  # noqa: E731
    ours, theirs = _small(luma(image)), _small(luma(ref))
    assert np.corrcoef(ours.ravel(), theirs.ravel())[0, 1] > 0.9


def test_non_square_pixels_give_libraws_size(shared_data):
    """The DC120's pixels are 1.53 times wider than high: developed, its frame is as wide as
    LibRaw's full-size output."""
    path = shared_data / "raw" / "Kodak_DC120_P003908.KDC"
    image = Pipeline.from_config({"sensor": {"white_balance": "grey_world"}}).process(isp.read(path), depth=8)
    with rawpy.imread(str(path)) as raw:
        assert image.shape == raw.postprocess().shape == (976, 1301, 3)


@pytest.mark.parametrize("orientation, aspect", [(6, 1.0), (3, 1.0), (8, 1.5), (1, 0.5)])
@pytest.mark.parametrize("depth", [16, "half", None])
def test_frames_come_out_upright_with_square_pixels(frame, orientation, aspect, depth):
    """A frame whose metadata says it is shown turned (or with non-square pixels) comes out that
    way, fused or not, into `out=` too; `orientation = "sensor"` keeps it as stored."""
    import dataclasses

    from isp.orientation import displayed

    turned = dataclasses.replace(frame, orientation=orientation, pixel_aspect=aspect)
    p = Pipeline.from_config()
    upright = displayed(p.process(frame, depth=depth), orientation, aspect)
    for fused in (True, False):
        image = p.process(turned, depth=depth, fused=fused)
        assert (image.shape, image.dtype) == p.output_spec(turned, depth)
        np.testing.assert_allclose(image.astype(np.float32), upright.astype(np.float32), atol=1 if depth == 16 else 1e-3)
    out = np.empty(*p.output_spec(turned, depth))
    assert p.process(turned, depth=depth, out=out) is out and np.array_equal(out, upright)
    as_stored = Pipeline.from_config({"output": {"orientation": "sensor"}}).process(turned, depth=depth)
    assert as_stored.shape == (frame.height, frame.width, 3)


def test_cli_writes_a_turned_frame_upright(tmp_path):
    import dataclasses

    upright = render(default_chart(48, 64), SensorModel(seed=1))
    write_frame(tmp_path / "up.dng", upright)
    write_frame(tmp_path / "cw.dng", dataclasses.replace(upright, orientation=6))
    for name in ("up", "cw"):
        assert main(["process", str(tmp_path / f"{name}.dng"), "-o", str(tmp_path / f"{name}.png"), "--no-progress"]) == 0
    up, cw = isp.read_image(tmp_path / "up.png"), isp.read_image(tmp_path / "cw.png")
    assert cw.shape == (64, 48, 3) and np.array_equal(cw, np.rot90(up, -1))
    assert main(["process", str(tmp_path / "cw.dng"), "-o", str(tmp_path / "raw.png"), "--orientation", "sensor",
                 "--no-progress"]) == 0
    assert np.array_equal(isp.read_image(tmp_path / "raw.png"), up)


def _small(image, size=(24, 32)):
    import cv2

    return cv2.resize(image, size[::-1], interpolation=cv2.INTER_AREA)


def test_cli_process_sequence_and_resume(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for n in range(1, 9):
        write_frame(raw / f"s.{n:04d}.dng", render(default_chart(48, 64), SensorModel(seed=n), frame_number=n))
    out = tmp_path / "out"
    out.mkdir()
    args = ["process", str(raw / "s.####.dng"), "-o", str(out / "s.####.tif"), "--no-progress"]
    assert main(args + ["--frames", "1-4"]) == 0
    first = {p.name: isp.read_image(p) for p in out.iterdir()}
    assert sorted(first) == [f"s.{n:04d}.tif" for n in range(1, 5)]
    assert main(args + ["--skip-existing"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"s.{n:04d}.tif" for n in range(1, 9)]
    for name, image in first.items():
        assert np.array_equal(isp.read_image(out / name), image)


def test_cli_a_bad_frame_fails_the_run_but_not_the_others(tmp_path, capsys):
    for n in (1, 2, 3):
        write_frame(tmp_path / f"s.{n:04d}.dng", render(default_chart(48, 64), SensorModel(seed=n)))
    (tmp_path / "s.0002.dng").write_bytes(b"II*\x00 truncated")
    code = main(["process", str(tmp_path / "s.####.dng"), "-o", str(tmp_path / "o.####.png"), "--no-progress",
                 "--frames", "1-4"])
    err = capsys.readouterr().err
    assert code == 2
    assert (tmp_path / "o.0001.png").exists() and (tmp_path / "o.0003.png").exists()
    assert "frame 2" in err and "frame 4 is missing" in err and "2 frames processed, 2 FAILED" in err


def test_cli_config_errors_are_one_line(tmp_path):
    frame_path = tmp_path / "f.dng"
    write_frame(frame_path, render(default_chart(48, 64), SensorModel()))
    proc = subprocess.run([sys.executable, "-m", "isp", "process", str(frame_path), "-o", str(tmp_path / "o.exr"),
                           "--demosaic", "ahd"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "demosaic.algorithm = 'ahd' is unknown; expected one of" in proc.stderr


def _no_metadata_frame(mosaic):
    """A frame with neither a noise model nor an as-shot white balance (a bare sensor dump)."""
    return isp.RawFrame(mosaic=mosaic.astype(np.uint16), pattern="RGGB", black_level=np.full((2, 2), 256, np.float32),
                        white_level=4095.0)


@pytest.mark.parametrize("case", ["saturated", "tiny"])
@pytest.mark.parametrize("method", ["realtime", "hq"])
def test_frames_without_measurable_noise_develop_with_a_warning(case, method):
    rng = np.random.default_rng(3)
    mosaic = np.full((64, 96), 4095) if case == "saturated" else rng.integers(300, 3000, (6, 8))
    frame = _no_metadata_frame(mosaic)
    pipeline = Pipeline.from_config({"denoise": {"method": method}})
    with pytest.warns(isp.ProcessingWarning) as caught:
        fused = pipeline.process(frame, depth=16)
    assert "noise estimate: the frame is too small or too saturated" in str(caught[0].message)
    assert str(caught[0].message).endswith("; not denoised")
    if case == "saturated":  # grey world has nothing to measure either: unbalanced, and said so
        assert any("white balance left at 1, 1, 1" in str(w.message) for w in caught)
        assert fused.min() == 65535
    with pytest.warns(isp.ProcessingWarning):
        unfused = Pipeline.from_config({"denoise": {"method": method}}).process(frame, depth=16, fused=False)
    assert np.abs(fused.astype(int) - unfused).max() <= 1
    # the same frame, denoiser off, is what was delivered: the warning means "skipped", nothing else
    with warnings.catch_warnings(record=True) as off_warnings:
        warnings.simplefilter("always")
        plain = Pipeline.from_config({"denoise": {"method": "off"}}).process(frame, depth=16)
    assert len(off_warnings) == (1 if case == "saturated" else 0)
    np.testing.assert_array_equal(fused, plain)


def test_explicit_grey_world_on_a_saturated_frame_is_still_an_error():
    frame = _no_metadata_frame(np.full((64, 96), 4095))
    with pytest.raises(isp.InputError, match="every 2x2 block is clipped"):
        Pipeline.from_config({"sensor": {"white_balance": "grey_world"}, "denoise": {"method": "off"}}).process(frame)


def test_cli_prints_each_warning_on_one_line(tmp_path):
    import tifffile

    tags = [(50706, 1, 4, (1, 4, 0, 0), True), (271, 2, 0, "Acme", True), (33421, 3, 2, (2, 2), True),
            (33422, 1, 4, (0, 1, 1, 2), True), (50717, 4, 1, 4095, True), (50714, 4, 1, 256, True)]
    with tifffile.TiffWriter(tmp_path / "white.dng") as tif:
        tif.write(np.full((64, 96), 4095, np.uint16), photometric="CFA", metadata=None, extratags=tags)
    proc = subprocess.run([sys.executable, "-m", "isp", "process", str(tmp_path / "white.dng"), "-o",
                           str(tmp_path / "white.png")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(lines) == 2 and all(line.startswith("isp process: warning: ") for line in lines)
    assert "white.dng" in lines[0] and "not denoised" in lines[0]
    assert "Traceback" not in proc.stderr and (tmp_path / "white.png").exists()
