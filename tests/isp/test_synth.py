"""The synthetic sensor, its noise model, the raw frame writers and `isp synth`."""
from __future__ import annotations

import json

import numpy as np
import pytest
import rawpy
import tifffile

from isp import synth
from isp.cli import main
from isp.errors import InputError
from isp.io.dng import sidecar, write_dng, write_frame
from kernels import cfa

PATTERNS = cfa.PATTERNS
# (bits, black) paired with the patterns so every pattern and several depths are covered
DEPTHS = {"RGGB": (12, 256), "BGGR": (14, 1024), "GRBG": (10, 64), "GBRG": (16, 4096)}


def libraw_pattern(raw) -> str:
    """The CFA pattern LibRaw reports, as a string (its colour indices 1 and 3 are both green)."""
    desc = raw.color_desc.decode()
    return "".join(desc[i] for i in raw.raw_pattern.ravel())


def flat_scene(levels, size=128):
    """Grey bands side by side, one per level, each size x size."""
    return np.concatenate([np.full((size, size, 3), v, np.float32) for v in levels], axis=1)


# ------------------------------------------------------------------------------------------------
# DNG round trip


@pytest.mark.parametrize("pattern", PATTERNS)
def test_dng_round_trips_through_rawpy(tmp_path, pattern):
    bits, black = DEPTHS[pattern]
    sensor = synth.SensorModel(pattern=pattern, bits=bits, black_level=black, seed=3)
    frame = synth.render(synth.default_chart(48, 80), sensor)
    path = write_dng(tmp_path / "f.dng", frame)
    with rawpy.imread(str(path)) as raw:
        assert libraw_pattern(raw).replace("G", "G") == pattern
        assert raw.raw_image.shape == (48, 80)
        assert raw.sizes.width == 80 and raw.sizes.height == 48
        assert raw.raw_image.dtype == np.uint16
        np.testing.assert_array_equal(raw.raw_image, frame.mosaic)
        assert raw.black_level_per_channel == [black] * 4
        assert raw.white_level == 2 ** bits - 1
        assert raw.camera_whitebalance[:3] == [1.0, 1.0, 1.0]
    # the noise reaches both ends of the range used: the round trip is not of a trivial image
    assert frame.mosaic.min() < black and frame.mosaic.max() > black + 0.5 * (2 ** bits - 1 - black)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_dng_black_level_per_cfa_site(tmp_path, pattern):
    frame = synth.render(flat_scene([0.2], 32), synth.SensorModel(pattern=pattern), noise=False)
    frame.black_level = np.array([[250, 251], [252, 253]], np.float32)
    write_dng(tmp_path / "f.dng", frame)
    with rawpy.imread(str(tmp_path / "f.dng")) as raw:
        per_channel = raw.black_level_per_channel
        for r in range(2):
            for c in range(2):
                assert per_channel[raw.raw_pattern[r, c]] == frame.black_level[r, c]


def test_dng_tags(tmp_path):
    frame = synth.render(synth.ramps(32, 64), synth.SensorModel(pattern="GRBG", bits=12, black_level=200))
    write_dng(tmp_path / "f.dng", frame)
    with tifffile.TiffFile(tmp_path / "f.dng") as tif:
        assert len(tif.pages) == 1
        page = tif.pages[0]
        tags = {t.name: t.value for t in page.tags}
        assert page.is_dng
        assert tags["DNGVersion"] == b"\x01\x04\x00\x00"
        assert tags["PhotometricInterpretation"] == 32803
        assert tags["Compression"] == 1 and tags["BitsPerSample"] == 16
        assert tags["CFARepeatPatternDim"] == (2, 2)
        assert tuple(tags["CFAPattern"]) == (1, 0, 2, 1)
        assert tags["BlackLevelRepeatDim"] == (2, 2)
        assert tags["BlackLevel"] == (200, 200, 200, 200)
        assert tags["WhiteLevel"] == 4095
        assert tags["CalibrationIlluminant1"] == 21
        assert tags["UniqueCameraModel"] == "isp synthetic"
        cm = np.array(tags["ColorMatrix1"], dtype=float).reshape(9, 2)
        np.testing.assert_allclose((cm[:, 0] / cm[:, 1]).reshape(3, 3), frame.xyz_to_camera, atol=1e-6)
        neutral = np.array(tags["AsShotNeutral"], dtype=float).reshape(3, 2)
        np.testing.assert_allclose(neutral[:, 0] / neutral[:, 1], 1.0)
        np.testing.assert_array_equal(page.asarray(), frame.mosaic)


def test_identity_camera_maps_back_to_rec709():
    import colour

    frame = synth.render(flat_scene([0.5], 8), synth.SensorModel(), noise=False)
    srgb_to_xyz = np.asarray(colour.RGB_COLOURSPACES["sRGB"].matrix_RGB_to_XYZ)
    np.testing.assert_allclose(frame.xyz_to_camera @ srgb_to_xyz, np.eye(3), atol=1e-12)
    assert frame.wb == (1.0, 1.0, 1.0)
    assert frame.camera == "isp synthetic" and frame.iso == 100


def test_libraw_develops_colorchecker_with_the_right_colours(tmp_path):
    """The DNG colour tags mean what we say: LibRaw's sRGB output reproduces the chart's ratios."""
    scene = synth.colorchecker(200, 300)
    frame = synth.render(scene, synth.SensorModel(bits=14, black_level=512), noise=False)
    write_dng(tmp_path / "cc.dng", frame)
    with rawpy.imread(str(tmp_path / "cc.dng")) as raw:
        out = raw.postprocess(use_camera_wb=True, no_auto_bright=True, gamma=(1, 1), output_bps=16,
                              output_color=rawpy.ColorSpace.sRGB, user_flip=0).astype(float) / 65535
    ref = synth.colorchecker_rgb()
    got = np.array([out[int((r + 0.5) * 50) - 5:int((r + 0.5) * 50) + 5, int((c + 0.5) * 50) - 5:int((c + 0.5) * 50) + 5]
                    .reshape(-1, 3).mean(0) for r, c in (divmod(i, 6) for i in range(24))])
    scale = np.median(got / np.maximum(ref, 1e-6))  # LibRaw rescales brightness; colours must not move
    bright = ref > 0.03
    np.testing.assert_allclose(got[bright], scale * ref[bright], rtol=0.03)


def test_atomic_write_leaves_only_the_target(tmp_path):
    frame = synth.render(flat_scene([0.3], 32), synth.SensorModel(), noise=False)
    write_dng(tmp_path / "a.dng", frame)
    write_dng(tmp_path / "a.dng", frame)  # overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.dng"]
    bad = synth.render(flat_scene([0.3], 32), synth.SensorModel(), noise=False)
    bad.mosaic = bad.mosaic.astype(np.float32)
    with pytest.raises(InputError):
        write_dng(tmp_path / "b.dng", bad)
    with pytest.raises(InputError, match="too small"):  # LibRaw would not read it back
        write_dng(tmp_path / "c.dng", synth.render(flat_scene([0.3], 20), synth.SensorModel()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.dng"]


def test_raw_dump_and_npy_with_sidecar(tmp_path):
    from isp.io import read

    sensor = synth.SensorModel(pattern="BGGR", bits=10, black_level=64)
    frame = synth.render(synth.default_chart(24, 40), sensor, frame_number=12)
    raw_paths = write_frame(tmp_path / "f.raw", frame)
    assert [p.name for p in raw_paths] == ["f.raw", "f.raw.json"]
    data = (tmp_path / "f.raw").read_bytes()
    assert len(data) == 24 * 40 * 2
    np.testing.assert_array_equal(np.frombuffer(data, "<u2").reshape(24, 40), frame.mosaic)
    meta = json.loads((tmp_path / "f.raw.json").read_text())
    assert {k: meta[k] for k in ("width", "height", "bits", "pattern", "byte_order", "packing", "black_level",
                                  "white_level")} == {"width": 40, "height": 24, "bits": 10, "pattern": "BGGR",
                                                      "byte_order": "little", "packing": "none", "black_level": 64,
                                                      "white_level": 1023}
    write_frame(tmp_path / "f.npy", frame)
    np.testing.assert_array_equal(np.load(tmp_path / "f.npy"), frame.mosaic)
    assert json.loads((tmp_path / "f.npy.json").read_text()) == meta
    for name in ("f.raw", "f.npy"):
        back = read(tmp_path / name)
        assert back.pattern == "BGGR" and back.white_level == 1023 and back.frame_number == 12
        np.testing.assert_array_equal(back.black_level, 64)
        np.testing.assert_array_equal(back.mosaic, frame.mosaic)


def test_sidecar_keeps_per_site_black_levels():
    frame = synth.render(flat_scene([0.3], 4), synth.SensorModel(), noise=False)
    frame.black_level = np.array([[1, 2], [3, 4]], np.float32)
    assert sidecar(frame)["black_level"] == [[1, 2], [3, 4]]


def test_unknown_output_format_is_refused(tmp_path):
    frame = synth.render(flat_scene([0.3], 4), synth.SensorModel(), noise=False)
    with pytest.raises(InputError, match=r"\.tif"):
        write_frame(tmp_path / "f.tif", frame)


# ------------------------------------------------------------------------------------------------
# the noise model


@pytest.mark.parametrize("gain, read_noise", [(2.0, 2.0), (0.5, 6.0), (8.0, 0.0)])
def test_noise_statistics_match_the_model(gain, read_noise):
    levels = [0.0, 0.01, 0.05, 0.2, 0.5, 0.9]
    sensor = synth.SensorModel(pattern="RGGB", bits=12, black_level=256, gain=gain, read_noise=read_noise, seed=11)
    frame = synth.render(flat_scene(levels), sensor)
    model = frame.extra["noise"]
    white_minus_black = 4095 - 256
    assert model["gain"] == gain and model["read_noise"] == read_noise
    assert model["a"] == pytest.approx(1 / (gain * white_minus_black))
    assert model["b"] == pytest.approx((read_noise / white_minus_black) ** 2)
    x = frame.normalized()
    quantisation = (1 / 12) / white_minus_black ** 2  # rounding to whole DN adds a uniform step's variance
    for i, level in enumerate(levels):
        band = x[:, 128 * i:128 * (i + 1)]
        if level == 0 and read_noise == 0:  # no light, no read noise: nothing but black
            assert (frame.mosaic[:, :128] == 256).all()
            continue
        assert band.mean() == pytest.approx(level, abs=4 * np.sqrt((model["a"] * level + model["b"] + quantisation) / band.size))
        expected = model["a"] * level + model["b"] + quantisation
        assert band.var() == pytest.approx(expected, rel=0.06), (level, band.var(), expected)
    # in DN: variance = signal / gain + read_noise^2 (+ 1/12)
    dn = frame.mosaic[:, 128 * 4:128 * 5].astype(float)
    assert dn.var() == pytest.approx(0.5 * white_minus_black / gain + read_noise ** 2 + 1 / 12, rel=0.06)


def test_noise_off_is_exact():
    sensor = synth.SensorModel(pattern="GBRG", bits=12, black_level=256)
    scene = synth.default_chart(40, 64)
    frame = synth.render(scene, sensor, noise=False)
    expected = np.rint(cfa.mosaic(scene.astype(np.float64), "GBRG") * (4095 - 256)) + 256
    np.testing.assert_array_equal(frame.mosaic, np.clip(expected, 0, 4095).astype(np.uint16))
    assert np.abs(frame.normalized() - cfa.mosaic(scene, "GBRG")).max() <= 0.5 / (4095 - 256) + 1e-6


def test_out_of_range_scene_clips_to_black_and_white():
    scene = flat_scene([-0.5, 0.0, 1.0, 3.0], 4)
    scene[0, 0] = np.nan
    frame = synth.render(scene, synth.SensorModel(bits=10, black_level=64), noise=False)
    assert frame.mosaic[:, :8].max() == 64 and frame.mosaic[:, :8].min() == 64
    assert (frame.mosaic[:, 8:] == 1023).all()
    noisy = synth.render(scene, synth.SensorModel(bits=10, black_level=64, read_noise=30))
    assert noisy.mosaic.max() == 1023 and noisy.mosaic.dtype == np.uint16


def test_noise_is_seeded():
    scene = flat_scene([0.3], 16)
    a = synth.render(scene, synth.SensorModel(seed=5)).mosaic
    b = synth.render(scene, synth.SensorModel(seed=5)).mosaic
    c = synth.render(scene, synth.SensorModel(seed=6)).mosaic
    np.testing.assert_array_equal(a, b)
    assert (a != c).mean() > 0.5


@pytest.mark.parametrize("kwargs, message", [
    ({"pattern": "RGBW"}, "pattern"),
    ({"bits": 17}, "bit depth"),
    ({"bits": 8, "black_level": 300}, "black level"),
    ({"white_level": 5000, "bits": 12}, "white level"),
    ({"gain": 0}, "gain"),
    ({"read_noise": -1}, "read noise"),
])
def test_bad_sensor_is_refused(kwargs, message):
    with pytest.raises(InputError, match=message):
        synth.SensorModel(**kwargs)


# ------------------------------------------------------------------------------------------------
# sequences


def test_sequence_pan_moves_the_whole_scene():
    scene = synth.default_chart(64, 96)
    frames = list(synth.render_sequence(scene, synth.SensorModel(), frames=3, motion=(2, 4), noise=False, start=10))
    assert [f.frame_number for f in frames] == [10, 11, 12]
    first, last = frames[0].normalized(), frames[2].normalized()
    # integer, even motion keeps the CFA phase: frame 2 is frame 0 moved by (4, 8) px, inside the borders
    np.testing.assert_array_equal(last[4 + 4:-4, 8 + 4:-4], first[4:-8, 4:-12])
    assert frames[2].extra["motion"] == {"shift": (4.0, 8.0)}


def test_sequence_moving_square_over_still_background():
    background = np.full((64, 96, 3), 0.2, np.float32)
    frames = list(synth.render_sequence(background, synth.SensorModel(), frames=4, motion=(1.5, 2.25),
                                        moving_object="square", noise=False))
    centres = []
    for f in frames:
        x = f.normalized()
        green = cfa.channels("RGGB") == 1
        mask = np.zeros_like(x)
        for r in range(2):
            for c in range(2):
                if green[r, c]:  # the square is (0.9, 0.25, 0.1): green sites step from 0.2 to 0.25
                    mask[r::2, c::2] = (x[r::2, c::2] - 0.2) / 0.05
        ys, xs = np.nonzero(np.abs(mask) > 0.01)
        w = mask[ys, xs]
        centres.append((np.sum(ys * w) / w.sum(), np.sum(xs * w) / w.sum()))
        # the background far from the square is untouched
        np.testing.assert_allclose(x[-4:, :], 0.2, atol=1e-3)
    steps = np.diff(np.array(centres), axis=0)
    np.testing.assert_allclose(steps, [[1.5, 2.25]] * 3, atol=0.2)
    assert frames[1].extra["motion"]["object_origin"] == (16 + 1.5, 24 + 2.25)


def test_sequence_frames_have_independent_noise():
    scene = flat_scene([0.3], 16)
    a, b = synth.render_sequence(scene, synth.SensorModel(seed=1), frames=2)
    assert (a.mosaic != b.mosaic).mean() > 0.5
    again = synth.render(scene, synth.SensorModel(seed=1), frame_number=2)  # any frame re-renders alone
    np.testing.assert_array_equal(again.mosaic, b.mosaic)


# ------------------------------------------------------------------------------------------------
# scenes


def test_colorchecker_matches_colour_science_reference():
    import colour

    rgb = synth.colorchecker_rgb()
    assert rgb.shape == (24, 3)
    cc = colour.CCS_COLOURCHECKERS["ColorChecker24 - After November 2014"]
    ref = np.array(list(cc.data.values()))
    # back to XYZ with the sRGB matrix, adapted D65 -> D50 (Bradford): the reference xyY again
    xyz = rgb.astype(float) @ np.asarray(colour.RGB_COLOURSPACES["sRGB"].matrix_RGB_to_XYZ).T
    d65, d50 = colour.xy_to_XYZ(colour.RGB_COLOURSPACES["sRGB"].whitepoint), colour.xy_to_XYZ(cc.illuminant)
    xyy = colour.XYZ_to_xyY(colour.chromatic_adaptation(xyz, d65, d50, method="Von Kries", transform="Bradford"))
    in_gamut = rgb.min(axis=1) > 0  # cyan lies outside Rec.709: its negative red is clipped to 0
    assert in_gamut.sum() == 23 and rgb[list(cc.data).index("cyan"), 0] == 0
    np.testing.assert_allclose(xyy[in_gamut], ref[in_gamut], atol=2e-4)
    for patch in rgb[19:]:  # the neutrals (bar the warm white) are grey in Rec.709 within their real tints
        assert patch.max() / patch.min() < 1.05
    names = list(cc.data)
    assert np.argmax(rgb[names.index("red")]) == 0
    assert np.argmax(rgb[names.index("green")]) == 1
    assert np.argmax(rgb[names.index("blue")]) == 2
    chart = synth.colorchecker(40, 60)
    np.testing.assert_allclose(chart[5, 5], rgb[0])  # patch order: row by row from dark skin
    np.testing.assert_allclose(chart[35, 55], rgb[23])


def test_slanted_edge_has_the_requested_angle():
    img = synth.slanted_edge(128, 128, angle=5.0, low=0.1, high=0.7)[..., 0]
    assert img.min() == pytest.approx(0.1) and img.max() == pytest.approx(0.7)
    # with exact pixel-area coverage, a row's bright area is the strip's area right of the edge:
    # it falls by exactly tan(angle) from row to row, with no staircase
    bright = ((img - 0.1) / 0.6).sum(axis=1)
    np.testing.assert_allclose(np.diff(bright), -np.tan(np.deg2rad(5.0)), atol=1e-4)
    assert bright[64] == pytest.approx(64.0 - 0.5 * np.tan(np.deg2rad(5.0)), abs=1e-3)  # through the centre


def test_zone_plate_and_ramps():
    zp = synth.zone_plate(65, 65)
    assert zp[32, 32, 0] == pytest.approx(0.85) and zp.min() >= 0.05 - 1e-6 and zp.max() <= 0.85 + 1e-6
    np.testing.assert_allclose(zp, zp[::-1, ::-1], atol=1e-6)
    # local frequency rises to ~0.5 cycles/px at the edge: neighbours there are nearly opposite
    row = zp[32, :, 0] - 0.45
    assert row[0] * row[1] < 0 and row[32] * row[33] > 0
    r = synth.ramps(60, 50)
    np.testing.assert_allclose(r[0, :, 0], np.linspace(0, 1, 50), atol=1e-6)
    assert (r[25, :, 1] == 0).all() and (np.diff(r[25, :, 0]) > 0).all()  # red ramp band


@pytest.mark.parametrize("name", list(synth.SCENES))
def test_scenes_are_linear_float32_rgb(name):
    img = synth.make_scene(name, 50, 70)
    assert img.shape == (50, 70, 3) and img.dtype == np.float32
    assert np.isfinite(img).all() and img.min() >= 0 and img.max() <= 1


@pytest.mark.parametrize("dtype, value", [(np.uint8, 128), (np.uint16, 32768)])
def test_image_scenes_are_decoded_to_linear(tmp_path, dtype, value):
    import cv2

    v = value / np.iinfo(dtype).max
    linear = ((v + 0.055) / 1.055) ** 2.4  # IEC 61966-2-1

    img = np.full((20, 30, 3), value, dtype)
    img[..., 0] = 0  # blue in OpenCV's BGR order
    cv2.imwrite(str(tmp_path / "in.png"), img)
    lin = synth.make_scene(str(tmp_path / "in.png"), 10, 15)
    assert lin.shape == (10, 15, 3)
    np.testing.assert_allclose(lin[..., 0], linear, rtol=2e-3)
    np.testing.assert_allclose(lin[..., 2], 0, atol=1e-6)


def test_unknown_scene_and_size():
    with pytest.raises(InputError, match="unknown scene"):
        synth.make_scene("nebula", 10, 10)
    assert synth.parse_size("uhd") == (2160, 3840) and synth.parse_size("640x480") == (480, 640)
    with pytest.raises(InputError, match="size"):
        synth.parse_size("640by480")


# ------------------------------------------------------------------------------------------------
# CLI and test images


def test_cli_writes_a_sequence(tmp_path, capsys):
    out = tmp_path / "seq" / "shot.####.dng"
    assert main(["synth", "-o", str(out), "--size", "64x48", "--frames", "3", "--start", "1001",
                 "--motion", "0.5,1", "--pattern", "BGGR", "--bits", "14", "--black", "512"]) == 0
    names = sorted(p.name for p in (tmp_path / "seq").iterdir())
    assert names == ["shot.1001.dng", "shot.1002.dng", "shot.1003.dng"]
    assert capsys.readouterr().out.split() == [str(tmp_path / "seq" / n) for n in names]
    with rawpy.imread(str(tmp_path / "seq" / "shot.1002.dng")) as raw:
        assert libraw_pattern(raw) == "BGGR" and raw.white_level == 16383
        assert raw.black_level_per_channel == [512] * 4 and raw.raw_image.shape == (48, 64)


def test_cli_no_noise_printf_pattern_and_raw(tmp_path):
    assert main(["synth", "-o", str(tmp_path / "f.%04d.raw"), "--size", "32x16", "--scene", "ramps",
                 "--no-noise", "--bits", "10", "--black", "64", "--frames", "2"]) == 0
    assert (tmp_path / "f.0001.raw.json").exists() and (tmp_path / "f.0002.raw").exists()
    mosaic = np.fromfile(tmp_path / "f.0001.raw", "<u2").reshape(16, 32)
    expected = synth.render(synth.ramps(16, 32), synth.SensorModel(bits=10, black_level=64), noise=False)
    np.testing.assert_array_equal(mosaic, expected.mosaic)


@pytest.mark.parametrize("argv, message", [
    (["--pattern", "RGBW"], "pattern"),
    (["--size", "huge"], "size"),
    (["--motion", "1"], "--motion"),
    (["--frames", "3"], "sequence pattern"),
    (["--frames", "0"], "--frames"),
    (["--bits", "8"], "black level"),
    (["--scene", "missing.png"], "missing.png"),
    (["--gain", "-1"], "gain"),
])
def test_cli_bad_arguments_exit_2(tmp_path, capsys, argv, message):
    assert main(["synth", "-o", str(tmp_path / "x.dng"), "--size", "32x32", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.dng").exists()


def test_cli_bad_extension_and_missing_output(tmp_path, capsys):
    assert main(["synth", "-o", str(tmp_path / "x.exr"), "--size", "16x16"]) == 2
    assert main(["synth", "--size", "16x16"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert "x.exr" in err[0] and "--output" in err[1]
    with pytest.raises(SystemExit) as e:  # argparse's own type errors
        main(["synth", "-o", str(tmp_path / "x.dng"), "--bits", "twelve"])
    assert e.value.code == 2


def test_test_images_regenerate(tmp_path):
    from pathlib import Path

    from isp.io import read

    written = synth.write_test_images(tmp_path)
    dngs = sorted(p for p in written if p.suffix == ".dng")
    assert len(dngs) == 5 and any(p.suffix == ".raw" for p in written)
    assert sum(p.stat().st_size for p in written) < 1_000_000
    seen = set()
    for p in written:
        if p.suffix in (".dng", ".raw"):
            frame = read(p)
            seen.add(frame.pattern)
            assert frame.width == 96 and frame.height == 64
    assert seen == set(PATTERNS)
    # the committed copies are what the script makes (the noiseless one pixel for pixel, tag for tag)
    committed = Path(__file__).resolve().parents[2] / "test_images"
    for p in written:
        assert (committed / p.name).exists(), f"test_images/{p.name} missing: run python -m isp.synth --test-images test_images"
    with tifffile.TiffFile(committed / "synth_rggb_10bit_clean.dng") as a, \
            tifffile.TiffFile(tmp_path / "synth_rggb_10bit_clean.dng") as b:
        np.testing.assert_array_equal(a.pages[0].asarray(), b.pages[0].asarray())
        dng_tags = [t.code for t in b.pages[0].tags if t.code >= 33421]
        assert {c: a.pages[0].tags[c].value for c in dng_tags} == {c: b.pages[0].tags[c].value for c in dng_tags}
