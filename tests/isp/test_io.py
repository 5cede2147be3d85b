"""Readers, sequences and writers: real raws against rawpy, dumps round-tripped, bad input refused."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rawpy

import isp
from isp.cli import main
from isp.io import expand, frame_path, parse_frames
from kernels import cfa, packing

ROOT = Path(__file__).resolve().parents[2]

BAYER_RAWS = ["Blackmagic.dng", "colorchart.dng", "Canon_PowerShot_G2_CRW_0304.CRW",
              "Canon_PowerShot_S40_CRW_0113.CRW", "Kodak_DC120_P003908.KDC", "Kodak_DC120_P003913.KDC",
              "Kodak_DC50_DC0008L.KDC"]


@pytest.mark.parametrize("name", BAYER_RAWS)
def test_info_json_agrees_with_rawpy(shared_data, name, capsys):
    path = shared_data / "raw" / name
    assert main(["info", "--json", str(path)]) == 0
    info = json.loads(capsys.readouterr().out)
    with rawpy.imread(str(path)) as raw:
        s = raw.sizes
        top, left, height, width = s.top_margin, s.left_margin, s.height, s.width
        if path.suffix.lower() == ".dng" and s.crop_width:
            top, left, height, width = s.crop_top_margin, s.crop_left_margin, s.crop_height, s.crop_width
        pattern = "".join(raw.color_desc.decode()[i] for i in raw.raw_pattern.flatten())
        pattern = cfa.shift(pattern, top - s.top_margin, left - s.left_margin)
        visible = raw.raw_image_visible[top - s.top_margin:, left - s.left_margin:][:height, :width].copy()
        black = np.array(raw.black_level_per_channel)[raw.raw_pattern]
        white = max(raw.camera_white_level_per_channel or [raw.white_level])
    assert (info["width"], info["height"]) == (width, height)
    assert info["pattern"] == pattern
    assert np.array_equal(info["black_level"], np.roll(black, (-(top - s.top_margin), -(left - s.left_margin)), (0, 1)))
    assert info["white_level"] == white
    frame = isp.read(path)
    # Blackmagic.dng is DCT JPEG, decoded by libjpeg-turbo: one 12-bit code of LibRaw's IDCT (x16 by its table)
    assert np.abs(frame.mosaic.astype(np.int32) - visible).max() <= (64 if name == "Blackmagic.dng" else 0)


def test_dng_colour_tags_read_where_libraw_leaves_them_empty(shared_data):
    frame = isp.read(shared_data / "raw" / "Blackmagic.dng")
    assert frame.camera == "Blackmagic Pocket Cinema Camera 4K"
    assert frame.dng.calibration_illuminant1 == 17 and frame.dng.calibration_illuminant2 == 21
    assert frame.dng.forward_matrix2 is not None
    np.testing.assert_allclose(frame.xyz_to_camera, frame.dng.color_matrix2)  # the D65 one
    np.testing.assert_allclose(frame.dng.as_shot_neutral, [0.4533, 1.0, 0.53])
    assert frame.wb[1] == 1.0 and frame.wb[0] == pytest.approx(1 / 0.4533, rel=1e-3)


def test_dng_crop_can_be_kept_off(shared_data):
    frame = isp.read(shared_data / "raw" / "Blackmagic.dng", crop=False)
    assert (frame.width, frame.height, frame.origin) == (4128, 2176, (0, 0))


def test_scanner_nef_is_refused(shared_data, capsys):
    assert main(["info", str(shared_data / "raw" / "Nikon_Coolscan_scanner.nef")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Nikon_Coolscan_scanner.nef" in err[0] and "not a Bayer mosaic" in err[0]


def test_truncated_raw_is_a_clear_error(shared_data, tmp_path):
    data = (shared_data / "raw" / "colorchart.dng").read_bytes()
    cut = tmp_path / "cut.dng"
    cut.write_bytes(data[: len(data) // 2])
    proc = subprocess.run([sys.executable, "-m", "isp", "info", str(cut)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "cut.dng" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("pattern", cfa.PATTERNS)
@pytest.mark.parametrize("bits", [10, 12, 14, 16])
@pytest.mark.parametrize("layout", ["little", "big", "mipi"])
def test_dump_round_trip(tmp_path, pattern, bits, layout):
    rng = np.random.default_rng(bits)
    mosaic = rng.integers(0, 1 << bits, size=(6, 12), dtype=np.uint16)
    path = tmp_path / "frame.raw"
    if layout == "mipi" and bits != 16:
        path.write_bytes(packing.pack(mosaic, bits).tobytes())
    else:
        path.write_bytes(mosaic.astype("<u2" if layout != "big" else ">u2").tobytes())
    meta = {"width": 12, "height": 6, "bits": bits, "pattern": pattern, "black_level": 64,
            "byte_order": "big" if layout == "big" else "little", "packing": "mipi" if layout == "mipi" else "none"}
    from_flags = isp.read(path, **meta)
    (tmp_path / "frame.raw.json").write_text(json.dumps(meta))
    from_sidecar = isp.read(path)
    for frame in (from_flags, from_sidecar):
        assert np.array_equal(frame.mosaic, mosaic)
        assert frame.pattern == pattern and frame.white_level == (1 << bits) - 1
        assert np.all(frame.black_level == 64)


def test_mipi_raw10_matches_the_spec_byte_layout():
    # CSI-2 RAW10: 4 MSB bytes, then one byte of the 2-bit remainders, pixel 0 in bits 1..0.
    buf = np.array([0xFF, 0x00, 0x55, 0xAA, 0b10_01_00_11], dtype=np.uint8)
    assert packing.unpack(buf, 1, 4, 10).tolist() == [[0x3FF, 0x000, 0x155, 0x2AA]]


def test_dump_with_wrong_size_states_both_sizes(tmp_path, capsys):
    path = tmp_path / "short.raw"
    path.write_bytes(bytes(100))
    code = main(["info", str(path), "--width", "16", "--height", "8", "--bits", "12", "--pattern", "RGGB"])
    err = capsys.readouterr().err
    assert code == 2 and "100 bytes" in err and "256" in err and "short.raw" in err


def test_unknown_pattern_is_refused(tmp_path, capsys):
    path = tmp_path / "x.raw"
    path.write_bytes(bytes(32))
    assert main(["info", str(path), "--width", "4", "--height", "4", "--bits", "12", "--pattern", "RGBW"]) == 2
    assert "unknown CFA pattern 'RGBW'" in capsys.readouterr().err


@pytest.mark.parametrize("seconds,shown", [(1 / 48, "1/48 s"), (0.0198, "1/51 s"), (0.25, "1/4 s"),
                                            (0.6, "0.6 s"), (1.0, "1 s"), (2.5, "2.5 s"), (99.5, "100 s"),
                                            (300, "300 s"), (None, "? s"), (0, "? s"), (-0.01, "? s"),
                                            (float("nan"), "? s")])
def test_info_shows_exposure_times_as_cameras_do(seconds, shown):
    from isp.cli.info import _shutter

    assert _shutter(seconds) == shown


def test_info_text_names_dng_tags_and_light_sources(capsys):
    assert main(["info", str(ROOT / "test_images" / "synth_rggb_12bit.dng")]) == 0
    out = capsys.readouterr().out
    assert "  exposure     ISO 100, 1/48 s" in out
    assert "    CalibrationIlluminant1 21 (D65)" in out and "    ColorMatrix1 " in out and "color_matrix1" not in out


def _heap(order: str, payload: bytes, records) -> bytes:
    """A CIFF heap: its data, then the table of records (type, size, offset in this heap)."""
    import struct

    table = struct.pack(order + "H", len(records)) + b"".join(struct.pack(order + "HII", *r) for r in records)
    return payload + table + struct.pack(order + "I", len(payload))


def _ciff(order: str, name: bytes = b"", root: bytes | None = None) -> bytes:
    """A CIFF file: by default the root heap holds one nested heap (type 0x300A) that holds the
    make/model and a value held in its record."""
    import struct

    if root is None:
        inner = _heap(order, name, [(0x080A, len(name), 0), (0x5029, 0, 0)])
        root = _heap(order, inner, [(0x300A, len(inner), 0)])
    return (b"II" if order == "<" else b"MM") + struct.pack(order + "I", 26) + b"HEAPCCDR" + bytes(12) + root


@pytest.mark.parametrize("order", ["<", ">"])
def test_crw_camera_is_read_from_the_ciff_heap(tmp_path, order, monkeypatch):
    from isp.io import ciff
    from isp.io.libraw import camera_name

    path = tmp_path / "x.crw"
    path.write_bytes(_ciff(order, b"Canon\0Canon PowerShot G2\0"))
    assert ciff.make_model(path) == ("Canon", "Canon PowerShot G2")
    assert camera_name(*ciff.make_model(path)) == "Canon PowerShot G2"
    path.write_bytes(_ciff(order, b"Canon\0PowerShot X\0"))
    assert camera_name(*ciff.make_model(path)) == "Canon PowerShot X"
    whole = _ciff(order, b"Canon\0Canon PowerShot G2\0")
    for cut in (10, 30, len(whole) - 3):  # damaged: no name, and no exception
        path.write_bytes(whole[:cut])
        assert ciff.make_model(path) == ("", "")
    path.write_bytes(whole[:-4] + b"\xff\xff\xff\x7f")  # a table offset far past the heap
    assert ciff.make_model(path) == ("", "")
    # heaps whose 20 records all point at the same nested heap, three deep: each heap is read
    # once (1 + 20 + 20 calls), not once per path to it (1 + 20 + 400)
    leaf = _heap(order, b"", [(0x5029, 0, 0)])
    middle = _heap(order, leaf, [(0x300A, len(leaf), 0)] * 20)
    path.write_bytes(_ciff(order, root=_heap(order, middle, [(0x300A, len(middle), 0)] * 20)))
    calls, find = [], ciff._find
    monkeypatch.setattr(ciff, "_find", lambda *a: calls.append(a[2:4]) or find(*a))
    assert ciff.make_model(path) == ("", "") and len(calls) == 41
    # a heap that claims to hold itself is not in its own data: not read again
    path.write_bytes(_ciff(order, root=_heap(order, b"", [(0x2800, 16, 0)] * 20)))
    calls.clear()
    assert ciff.make_model(path) == ("", "") and len(calls) == 1


def test_real_crws_name_their_camera(shared_data):
    for name, camera in (("Canon_PowerShot_G2_CRW_0304.CRW", "Canon PowerShot G2"),
                         ("Canon_PowerShot_S40_CRW_0113.CRW", "Canon PowerShot S40")):
        assert isp.read(shared_data / "raw" / name).camera == camera


def test_missing_file_is_refused(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope.dng")]) == 2
    assert "nope.dng: no such file" in capsys.readouterr().err


def test_npy_mosaic_with_sidecar(tmp_path):
    mosaic = np.arange(64, dtype=np.uint16).reshape(8, 8)
    np.save(tmp_path / "m.npy", mosaic)
    (tmp_path / "m.npy.json").write_text(json.dumps({"pattern": "GBRG", "bits": 12}))
    frame = isp.read(tmp_path / "m.npy")
    assert frame.pattern == "GBRG" and frame.white_level == 4095 and np.array_equal(frame.mosaic, mosaic)


def test_crop_by_odd_offset_follows_the_pattern():
    frame = isp.RawFrame(np.zeros((8, 8), np.uint16), "RGGB", [[1, 2], [3, 4]], 1023)
    c = frame.crop(1, 1, 4, 4)
    assert c.pattern == "BGGR" and c.black_level.tolist() == [[4, 3], [2, 1]] and c.origin == (1, 1)


def test_normalized_subtracts_black_per_site_and_scales_to_white():
    mosaic = np.array([[100, 200], [300, 1023]], np.uint16)
    frame = isp.RawFrame(mosaic, "RGGB", [[100, 0], [0, 23]], 1023)
    n = frame.normalized()
    assert n.dtype == np.float32
    np.testing.assert_allclose(n, [[0, 200 / 1023], [300 / 1023, 1.0]], rtol=1e-6)


def test_sequence_patterns_and_missing_frames(tmp_path):
    for n in (1001, 1002, 1004):
        (tmp_path / f"shot.{n:04d}.dng").write_bytes(b"")
    seq = expand(tmp_path / "shot.####.dng", parse_frames("1001-1004"))
    assert [n for n, _ in seq.frames] == [1001, 1002, 1004] and seq.missing == [1003]
    assert [n for n, _ in expand(str(tmp_path / "shot.%04d.dng")).frames] == [1001, 1002, 1004]
    assert len(expand(tmp_path)) == 3
    assert frame_path("out/shot.####.exr", 7).name == "shot.0007.exr"
    assert frame_path("out/shot.%05d.exr", 7).name == "shot.00007.exr"
    assert parse_frames("1,3,5-7") == [1, 3, 5, 6, 7]
    with pytest.raises(isp.InputError, match="ends before"):
        parse_frames("9-3")


@pytest.mark.parametrize("name,depth,tol", [("a.exr", "half", 1e-3), ("a.exr", "float", 0), ("a.tif", 16, 1e-5),
                                            ("a.tif", 32, 0), ("a.png", 8, 2e-3), ("a.png", 16, 1e-5)])
def test_writers_round_trip(tmp_path, name, depth, tol):
    image = np.linspace(0, 1, 4 * 6 * 3, dtype=np.float32).reshape(4, 6, 3)
    path = isp.write(tmp_path / name, image, depth)
    assert np.abs(isp.read_image(path) - image).max() <= tol
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left behind


@pytest.mark.parametrize("name,depth", [("a.png", 8), ("a.png", 16), ("a.jpg", 8), ("a.tif", 16), ("a.exr", "half")])
def test_display_files_hold_red_in_red(tmp_path, name, depth):
    """Channel order checked by another reader: OpenCV's (BGR), tifffile's and OpenEXR's (RGB)."""
    import cv2
    import OpenEXR
    import tifffile

    image = np.zeros((16, 16, 3), np.float32)
    image[..., 0] = 1.0
    path = isp.write(tmp_path / name, image, depth)
    if name.endswith(".tif"):
        rgb = tifffile.imread(path)
    elif name.endswith(".exr"):
        with OpenEXR.File(str(path)) as f:
            rgb = f.channels()["RGB"].pixels
    else:
        rgb = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert rgb[..., 0].min() > 0.9 * rgb.max() and rgb[..., 1:].max() < 0.1 * rgb.max()


@pytest.mark.parametrize("name,depth", [("a.exr", "half"), ("a.exr", "float"), ("a.tif", 16), ("a.tif", 32)])
def test_every_compression_round_trips(tmp_path, name, depth):
    from isp.io.writers import COMPRESSIONS, FORMATS

    y, x = np.mgrid[0:32, 0:40].astype(np.float32)
    image = np.dstack([x / 20 - 0.25, y / 16, (x + y) / 40]).astype(np.float32)  # smooth, beyond [0, 1]
    exact = isp.read_image(isp.write(tmp_path / name, image, depth, compression="none"))
    for compression in COMPRESSIONS[FORMATS[tmp_path.joinpath(name).suffix]]:
        back = isp.read_image(isp.write(tmp_path / name, image, depth, compression=compression))
        lossy = compression in ("pxr24", "b44", "b44a", "dwaa", "dwab")
        tol = 2e-2 if lossy else 0.0  # the lossless ones give back what "none" gave, bit for bit
        assert np.abs(back - exact).max() <= tol * max(1.0, float(np.abs(exact).max())), compression
    if depth == "half":  # half output is numpy's float16 rounding of the image
        np.testing.assert_array_equal(exact, image.astype(np.float16).astype(np.float32))


def test_half_views_are_written_as_they_look(tmp_path):
    image = np.random.default_rng(5).random((6, 8, 3)).astype(np.float16)
    for view in (image[:, ::-1], image[..., ::-1], image[::2]):
        back = isp.read_image(isp.write(tmp_path / "v.exr", view, "half"))
        np.testing.assert_array_equal(back, view.astype(np.float32))


def test_unknown_compression_is_refused(tmp_path):
    with pytest.raises(isp.InputError, match=r"a.png: png cannot be written with 'zip' compression; use none"):
        isp.write(tmp_path / "a.png", np.zeros((2, 2, 3), np.float32), compression="zip")
    with pytest.raises(isp.InputError, match="exr cannot be written with 'gzip' compression; use none, rle"):
        isp.write(tmp_path / "a.exr", np.zeros((2, 2, 3), np.float32), compression="gzip")
    assert list(tmp_path.iterdir()) == []


def test_jpeg_and_display_formats_clip(tmp_path):
    image = np.full((8, 8, 3), 1.5, np.float32)
    assert np.all(isp.read_image(isp.write(tmp_path / "a.jpg", image)) == 1.0)
    assert isp.read_image(isp.write(tmp_path / "a.exr", image, "float")).max() == 1.5


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(isp.InputError, match="unknown output format"):
        isp.write(tmp_path / "a.bmpx", np.zeros((2, 2, 3), np.float32))
    with pytest.raises(isp.InputError, match="expected an"):
        isp.write(tmp_path / "a.png", np.zeros((2, 2, 4), np.float32))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("make, model, camera", [("NIKON CORPORATION", "NIKON D850", "NIKON D850"),
                                                 ("Eastman Kodak Company", "Kodak DC120 ZOOM", "Kodak DC120 ZOOM"),
                                                 ("SONY", "ILCE-7M3", "SONY ILCE-7M3"), ("", "", "")])
def test_camera_of_a_tiff_based_raw_from_make_and_model(tmp_path, make, model, camera):
    import tifffile

    from isp.io.libraw import check_complete

    tags = [(code, 2, 0, text, True) for code, text in ((271, make), (272, model)) if text]
    tifffile.imwrite(tmp_path / "x.tif", np.zeros((4, 4), np.uint16), extratags=tags)
    assert check_complete(tmp_path / "x.tif") == camera


def test_kodak_raw_names_its_camera(shared_data):
    assert isp.read(shared_data / "raw" / "Kodak_DC120_P003908.KDC").camera == "Kodak DC120 ZOOM Digital Camera"
