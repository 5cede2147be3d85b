"""The uncompressed-DNG fast path against LibRaw: every RawFrame field equal, or a fallback."""
import dataclasses
import json
import struct
from fractions import Fraction
import subprocess
import sys

import imagecodecs
import numpy as np
import pytest
import tifffile

import isp
from isp.errors import InputError
from isp.frame import DngColour, RawFrame
from isp.io import dng_reader
from isp.io.dng import write_dng
from isp.io.dng_reader import fallback_reason, read_dng
from isp.io.libraw import _d65_matrix, read_libraw
from isp.synth import SensorModel, default_chart, render
from kernels import cfa

BYTE, ASCII, SHORT, LONG, RATIONAL, SRATIONAL, DOUBLE = 1, 2, 3, 4, 5, 10, 12
CODE = {"R": 0, "G": 1, "B": 2}
EXIF_PLACEHOLDER = 34664  # an unused code just below ExifIFD (34665), patched after writing


def assert_same_frame(a: RawFrame, b: RawFrame, mosaic_tolerance=0):
    """Every field of two RawFrames equal, arrays bit for bit (dtype and layout included), the
    mosaics to within `mosaic_tolerance`."""
    assert a.mosaic.dtype == b.mosaic.dtype == np.uint16
    assert a.mosaic.shape == b.mosaic.shape
    assert b.mosaic.flags.c_contiguous and a.mosaic.flags.c_contiguous
    assert np.abs(a.mosaic.astype(np.int32) - b.mosaic).max() <= mosaic_tolerance
    assert a.pattern == b.pattern
    assert a.black_level.dtype == b.black_level.dtype and np.array_equal(a.black_level, b.black_level)
    assert a.white_level == b.white_level
    assert a.wb == b.wb
    if a.xyz_to_camera is None:
        assert b.xyz_to_camera is None
    else:
        assert b.xyz_to_camera.dtype == a.xyz_to_camera.dtype and np.array_equal(a.xyz_to_camera, b.xyz_to_camera)
    assert (a.dng is None) == (b.dng is None)
    if a.dng is not None:
        for f in dataclasses.fields(DngColour):
            x, y = getattr(a.dng, f.name), getattr(b.dng, f.name)
            if isinstance(x, np.ndarray):
                assert isinstance(y, np.ndarray) and np.array_equal(x, y), f.name
            else:
                assert x == y, f.name
    for name in ("camera", "iso", "exposure_time", "source", "frame_number", "origin", "orientation", "pixel_aspect"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.extra.keys() == b.extra.keys()
    for k in a.extra:
        assert np.array_equal(a.extra[k], b.extra[k]), k


def compare(path, crop=True, fast=True, mosaic_tolerance=0):
    """read_dng against read_libraw; `fast` says whether read_dng must have read it itself."""
    assert (fallback_reason(path) is None) == fast, fallback_reason(path)
    try:
        a = read_libraw(path, crop=crop)
    except Exception as e:  # read_dng must fail the same way (e.g. a DefaultCrop beyond the ActiveArea)
        assert isinstance(e, InputError), repr(e)  # a one-line error for the user, not a traceback
        with pytest.raises(type(e)) as caught:
            read_dng(path, crop=crop)
        assert str(caught.value) == str(e)
        return None
    b = read_dng(path, crop=crop)
    assert_same_frame(a, b, mosaic_tolerance)
    return b


# --------------------------------------------------------------------------------------------
# a DNG writer with every knob (tifffile), and an EXIF IFD appended after the fact


def rationals(values):
    """Flat numerator, denominator pairs; (num, den) tuples are kept exactly."""
    out = []
    for v in (values if isinstance(values, tuple) and isinstance(values[0], tuple) else np.ravel(values)):
        if isinstance(v, tuple):
            out += list(v)
        else:
            f = Fraction(float(v)).limit_denominator(1000000)
            out += [f.numerator, f.denominator]
    return out


def write_cfa(path, mosaic, pattern="RGGB", *, byteorder="<", tile=None, rowsperstrip=None,
              make="isp", model="isp test", black=(64,), black_dim=None, white=4095, neutral=(0.5, 1.0, 0.8),
              matrices=((21, np.eye(3) * 0.9 + 0.02),), extra=(), drop=(), exif=None, jpeg=None, bits=12):
    """A CFA DNG of `mosaic` (uint8 or uint16) with the tags given; uncompressed, or with `jpeg`
    ("lossless" or "dct", `bits`-bit samples) in tiles of `tile`."""
    tags = [
        (50706, BYTE, 4, (1, 4, 0, 0), True),
        (50707, BYTE, 4, (1, 1, 0, 0), True),
        (271, ASCII, 0, make, True),
        (272, ASCII, 0, model, True),
        (50708, ASCII, 0, f"{make} {model}", True),
        (33421, SHORT, 2, (2, 2), True),
        (33422, BYTE, 4, tuple(CODE[c] for c in pattern), True),
    ]
    if black_dim is not None:
        tags.append((50713, SHORT, 2, black_dim, True))
    if black is not None:
        if all(float(v).is_integer() for v in black):
            tags.append((50714, LONG, len(black), [int(v) for v in black], True))
        else:
            tags.append((50714, RATIONAL, len(black), rationals(black), True))
    if white is not None:
        tags.append((50717, LONG, 1, int(white), True))
    for i, (illuminant, m) in enumerate(matrices):
        tags.append((50721 + i, SRATIONAL, 9, rationals(m), True))
        tags.append((50778 + i, SHORT, 1, illuminant, True))
    if neutral is not None:
        tags.append((50728, RATIONAL, 3, rationals(neutral), True))
    if exif is not None:
        tags.append((EXIF_PLACEHOLDER, LONG, 1, 0, True))  # tifffile will not write 34665 itself
    tags = [t for t in tags if t[0] not in drop and t[0] not in {e[0] for e in extra}] + list(extra)
    with tifffile.TiffWriter(path, byteorder=byteorder) as tif:
        if jpeg is None:
            tif.write(mosaic, photometric="CFA", compression=None, tile=tile, rowsperstrip=rowsperstrip,
                      metadata=None, software="isp test", extratags=tags)
        else:
            tif.write(jpeg_tiles(mosaic, tile, jpeg, bits), shape=mosaic.shape, dtype=np.uint16, photometric="CFA",
                      compression=7, tile=tile, bitspersample=bits, metadata=None, software="isp test", extratags=tags)
    if exif is not None:
        append_exif(path, exif)
    return path


def jpeg_tiles(mosaic, tile, kind, bits):
    """The mosaic's tiles (edge tiles padded by repetition) as JPEG streams: lossless (SOF3), or
    DCT (SOF1) coding two tile rows as one JPEG row with 16-bit quantisation tables, as
    Blackmagic's CinemaDNG does."""
    tl, tw = tile
    padded = np.pad(mosaic, ((0, -mosaic.shape[0] % tl), (0, -mosaic.shape[1] % tw)), mode="edge")
    for y in range(0, padded.shape[0], tl):
        for x in range(0, padded.shape[1], tw):
            t = np.ascontiguousarray(padded[y:y + tl, x:x + tw], np.uint16)
            if kind == "lossless":
                yield imagecodecs.ljpeg_encode(t, bitspersample=bits)
            else:
                yield wide_quant_tables(imagecodecs.jpeg8_encode(t.reshape(tl // 2, 2 * tw), level=90, bitspersample=bits))


def wide_quant_tables(stream: bytes) -> bytes:
    """The JPEG stream with its 8-bit quantisation tables rewritten as the same 16-bit ones."""
    out, i = bytearray(stream[:2]), 2
    while True:
        marker, length = stream[i + 1], struct.unpack(">H", stream[i + 2:i + 4])[0]
        segment = stream[i + 4:i + 2 + length]
        if marker == 0xDB:
            tables, j = bytearray(), 0
            while j < len(segment):
                wide = segment[j] >> 4
                values = segment[j + 1:j + 1 + 64 * (1 + wide)]
                values = struct.unpack(">64H", values) if wide else tuple(values)
                tables += bytes([0x10 | segment[j] & 15]) + struct.pack(">64H", *values)
                j += 1 + 64 * (1 + wide)
            out += b"\xff\xdb" + struct.pack(">H", len(tables) + 2) + tables
        else:
            out += stream[i:i + 2 + length]
        i += 2 + length
        if marker == 0xDA:
            return bytes(out + stream[i:])


def append_exif(path, entries):
    """Write an EXIF IFD of (code, type, count, packed value bytes) at the end; point 34665 at it."""
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        bo = tif.byteorder
        tag = tif.pages[0].tags[EXIF_PLACEHOLDER]
        entry, pointer = tag.offset, tag.valueoffset
    data[entry:entry + 2] = struct.pack(bo + "H", 34665)
    if len(data) % 2:
        data += b"\0"
    start = len(data)
    entries = sorted(entries)
    blobs = bytearray()
    table = struct.pack(bo + "H", len(entries))
    blob_start = start + 2 + 12 * len(entries) + 4
    for code, typ, count, value in entries:
        if len(value) <= 4:
            table += struct.pack(bo + "HHI", code, typ, count) + value.ljust(4, b"\0")
        else:
            table += struct.pack(bo + "HHII", code, typ, count, blob_start + len(blobs))
            blobs += value + b"\0" * (len(value) % 2)
    data += table + struct.pack(bo + "I", 0) + blobs
    data[pointer:pointer + 4] = struct.pack(bo + "I", start)
    path.write_bytes(bytes(data))


def set_short(path, code, value):
    """Overwrite a SHORT tag's value in place (for tags tifffile writes itself)."""
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        bo, where = tif.byteorder, tif.pages[0].tags[code].valueoffset
    data[where:where + 2] = struct.pack(bo + "H", value)
    path.write_bytes(bytes(data))


def mosaic_of(height, width, bits=12, seed=0, dtype=np.uint16):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 1 << bits, size=(height, width), dtype=dtype)


# --------------------------------------------------------------------------------------------
# DNGs from isp's own writer


@pytest.mark.parametrize("pattern", cfa.PATTERNS)
@pytest.mark.parametrize("size", [(64, 96), (37, 51), (22, 23)])
@pytest.mark.parametrize("crop", [True, False])
def test_write_dng_files_read_identically(tmp_path, pattern, size, crop):
    frame = render(default_chart(*size), SensorModel(pattern=pattern, seed=1, black_level=200.5 if size[0] == 37 else 256))
    frame.extra["noise"] = {"a": 1e-4, "b": 2e-6}
    path = write_dng(tmp_path / "f.dng", frame)
    b = compare(path, crop=crop)
    assert b.pattern == pattern and np.array_equal(b.mosaic, frame.mosaic)


def test_distinct_black_per_site_and_odd_sizes(tmp_path):
    frame = render(default_chart(41, 57), SensorModel(pattern="GBRG", seed=2, black_level=100))
    frame.black_level = np.array([[100, 101], [98, 103]], dtype=np.float32)
    frame.wb = (2.1, 1.0, 1.7)
    frame.iso, frame.exposure_time = 800, 1 / 1000
    compare(write_dng(tmp_path / "f.dng", frame))


def test_uhd_synthetic_frame(tmp_path):
    frame = render(default_chart(270, 480), SensorModel())
    big = RawFrame(mosaic=np.tile(frame.mosaic, (8, 8)), pattern="RGGB", black_level=256, white_level=4095,
                   wb=frame.wb, xyz_to_camera=frame.xyz_to_camera, dng=frame.dng, camera=frame.camera,
                   iso=100, exposure_time=1 / 48)
    compare(write_dng(tmp_path / "uhd.dng", big))


# --------------------------------------------------------------------------------------------
# layouts: byte order, strips, tiles, 8-bit


@pytest.mark.parametrize("pattern", cfa.PATTERNS)
@pytest.mark.parametrize("byteorder", ["<", ">"])
@pytest.mark.parametrize("layout", ["one strip", "strips of 5", "tiles 16x32", "tiles 32x16"])
def test_byte_orders_strips_and_tiles(tmp_path, pattern, byteorder, layout):
    kw = {"one strip": {}, "strips of 5": {"rowsperstrip": 5},
          "tiles 16x32": {"tile": (16, 32)}, "tiles 32x16": {"tile": (32, 16)}}[layout]
    m = mosaic_of(53, 70, bits=16, seed=3)
    path = write_cfa(tmp_path / "f.dng", m, pattern, byteorder=byteorder, white=65535, **kw)
    b = compare(path)
    assert np.array_equal(b.mosaic, m)


@pytest.mark.parametrize("layout", [{}, {"rowsperstrip": 7}, {"tile": (16, 16)}])
def test_eight_bit_samples(tmp_path, layout):
    m = mosaic_of(40, 48, bits=8, seed=4, dtype=np.uint8)
    m[0, :8] = 255  # 0xFF bytes must not be read as JPEG markers
    path = write_cfa(tmp_path / "f.dng", m, "BGGR", black=(16,), white=None, **layout)
    b = compare(path)
    assert np.array_equal(b.mosaic, m) and b.white_level == 255


# --------------------------------------------------------------------------------------------
# ActiveArea and DefaultCrop


@pytest.mark.parametrize("area", [(0, 0, 60, 80), (2, 4, 58, 76), (1, 3, 50, 71), (3, 0, 60, 79), (0, 1, 59, 80)])
@pytest.mark.parametrize("crop", [True, False])
@pytest.mark.parametrize("default_crop", [None, ((2, 2), (40, 30)), ((1, 3), (41, 27)), ((0, 0), (76, 56)),
                                          (((5, 2), (7, 2)), ((81, 2), (61, 2)))])
def test_active_area_and_default_crop(tmp_path, area, crop, default_crop):
    m = mosaic_of(60, 80, seed=5)
    extra = [(50829, LONG, 4, area, True)]
    if default_crop is not None:
        (origin, size) = default_crop
        if isinstance(origin[0], tuple):  # rationals (2.5, 3.5) / (40.5, 30.5)
            extra += [(50719, RATIONAL, 2, rationals(origin), True), (50720, RATIONAL, 2, rationals(size), True)]
        else:
            extra += [(50719, SHORT, 2, origin, True), (50720, LONG, 2, size, True)]
    path = write_cfa(tmp_path / "f.dng", m, "GRBG", extra=extra, black=(10, 11, 12, 13), black_dim=(2, 2))
    compare(path, crop=crop)


def test_default_crop_reaching_the_edge_is_ignored_like_libraw(tmp_path):
    m = mosaic_of(40, 60, seed=6)
    extra = [(50719, SHORT, 2, (4, 2), True), (50720, SHORT, 2, (56, 30), True)]  # 4 + 56 == width
    b = compare(write_cfa(tmp_path / "f.dng", m, extra=extra))
    assert b.mosaic.shape == (40, 60)


# --------------------------------------------------------------------------------------------
# levels, white balance, colour, exposure


@pytest.mark.parametrize("black,dim", [((64,), None), ((64,), (1, 1)), ((60, 61, 62, 63), (2, 2)),
                                       ((60, 70), (1, 2)), ((60, 70), (2, 1)), ((63.7, 64.2, 64.9, 65.5), (2, 2)),
                                       ((100.99,), None), (None, None)])
@pytest.mark.parametrize("pattern", ["RGGB", "GBRG"])
def test_black_levels(tmp_path, black, dim, pattern):
    path = write_cfa(tmp_path / "f.dng", mosaic_of(30, 40, seed=7), pattern, black=black, black_dim=dim)
    compare(path)


@pytest.mark.parametrize("limit", [None, 1.0, 0.7, 0.25, 0.05, 1.5])
@pytest.mark.parametrize("white", [4095, 16383, None])
def test_white_level_and_linear_response_limit(tmp_path, limit, white):
    extra = [] if limit is None else [(50734, RATIONAL, 1, rationals([limit]), True)]
    path = write_cfa(tmp_path / "f.dng", mosaic_of(30, 40, seed=8), black=(60, 61, 62, 65), black_dim=(2, 2),
                     white=white, extra=extra)
    compare(path)


@pytest.mark.parametrize("neutral", [None, (0.4533, 1.0, 0.53), (1.0, 2.477, 1.462), (0.3, 0.7, 0.9),
                                     (1.0, 1.0, 1200.0), (1 / 3, 1.0, 1 / 7)])
def test_as_shot_white_balance(tmp_path, neutral):
    compare(write_cfa(tmp_path / "f.dng", mosaic_of(30, 40, seed=9), neutral=neutral))


@pytest.mark.parametrize("matrices", [
    (),
    ((21, [[0.7, -0.1, 0.0], [-0.3, 1.2, 0.1], [0.0, 0.2, 0.6]]),),
    ((17, [[0.9, -0.4, 0.0], [-0.3, 1.3, 0.2], [0.0, 0.1, 0.7]]), (21, [[0.7, -0.2, 0.0], [-0.4, 1.2, 0.2], [-0.1, 0.2, 0.6]])),
    ((17, [[0.9, -0.4, 0.0], [-0.3, 1.3, 0.2], [0.0, 0.1, 0.7]]), (23, [[0.7, -0.2, 0.0], [-0.4, 1.2, 0.2], [-0.1, 0.2, 0.6]])),
    ((0, [[0.6461, -0.1164, -0.0857], [-0.3825, 1.1597, 0.2534], [-0.0416, 0.154, 0.6039]]),),
])
def test_colour_matrices(tmp_path, matrices):
    extra = [(50964, SRATIONAL, 9, rationals(np.eye(3) * 0.8 + 0.05), True),
             (50723, SRATIONAL, 9, rationals(np.eye(3) * 1.01), True),
             (50727, RATIONAL, 3, rationals([1.0, 1.0, 1.0]), True)]
    compare(write_cfa(tmp_path / "f.dng", mosaic_of(30, 40, seed=10), matrices=matrices, extra=extra))


def test_ifd0_exposure_iso_and_noise_profile(tmp_path):
    extra = [(33434, RATIONAL, 1, (1, 250), True), (34855, SHORT, 1, 400, True),
             (51041, DOUBLE, 2, (2.5e-5, 1.5e-7), True), (50734, RATIONAL, 1, (1, 1), True)]
    b = compare(write_cfa(tmp_path / "f.dng", mosaic_of(30, 40, seed=11), extra=extra))
    assert b.iso == 400 and b.exposure_time == pytest.approx(1 / 250) and "noise_profile" in b.extra


@pytest.mark.parametrize("byteorder", ["<", ">"])
@pytest.mark.parametrize("ifd0", [True, False])
def test_exif_exposure_and_iso(tmp_path, byteorder, ifd0):
    exif = [(33434, RATIONAL, 1, struct.pack(byteorder + "II", 1, 60)),
            (34855, SHORT, 1, struct.pack(byteorder + "H", 1600)),
            (33437, RATIONAL, 1, struct.pack(byteorder + "II", 28, 10)),
            (36864, 7, 4, b"0231")]
    extra = [(33434, RATIONAL, 1, (1, 30), True), (34855, SHORT, 1, 200, True)] if ifd0 else []
    b = compare(write_cfa(tmp_path / "f.dng", mosaic_of(30, 40, seed=12), byteorder=byteorder, exif=exif,
                          extra=extra))
    assert b.iso == 1600 and b.exposure_time == pytest.approx(1 / 60)


@pytest.mark.parametrize("drop,fast", [((), True), ((272,), True), ((271, 272), True), ((271, 272, 50708), False)])
def test_camera_names_from_make_model_or_unique_camera_model(tmp_path, drop, fast):
    # without Model, LibRaw splits UniqueCameraModel into make and model; without both names it
    # would look the camera up by file size: that goes to LibRaw
    compare(write_cfa(tmp_path / "f.dng", mosaic_of(30, 40, seed=17), make="Acme", model="Cam 1", drop=drop), fast=fast)


def test_short_typed_levels_and_areas(tmp_path):
    extra = [(50714, SHORT, 4, (30, 31, 32, 33), True), (50713, SHORT, 2, (2, 2), True),
             (50717, SHORT, 1, 1023, True), (50829, SHORT, 4, (2, 0, 30, 40), True),
             (50734, RATIONAL, 1, (9, 10), True)]
    compare(write_cfa(tmp_path / "f.dng", mosaic_of(32, 40, bits=10, seed=18), "BGGR", extra=extra))


# --------------------------------------------------------------------------------------------
# what goes to LibRaw (and still comes back identical)


@pytest.mark.parametrize("case", ["black delta", "opcodes",
                                  "maker note", "apex shutter only", "deflate", "linear raw", "not bayer",
                                  "three rows of tiles, one tile"])
def test_fallbacks_read_through_libraw(tmp_path, case):
    m = mosaic_of(30, 40, seed=13)
    kw = {}
    if case == "black delta":
        kw = {"extra": [(50715, SRATIONAL, 40, rationals(np.linspace(-1, 1, 40)), True)]}
    elif case == "opcodes":
        kw = {"extra": [(51009, 7, 4, b"\0\0\0\0", True)]}
    elif case == "maker note":
        kw = {"exif": [(37500, 7, 8, b"isp-note")]}
    elif case == "not bayer":
        kw = {"extra": [(33422, BYTE, 4, (0, 1, 2, 1), True)]}
    elif case == "three rows of tiles, one tile":
        kw = {"tile": (32, 48)}
    elif case == "apex shutter only":
        kw = {"exif": [(37377, SRATIONAL, 1, struct.pack("<ii", 6, 1))]}
    path = tmp_path / "f.dng"
    if case == "deflate":
        with tifffile.TiffWriter(path) as tif:
            tif.write(m, photometric="CFA", compression="zlib", metadata=None,
                      extratags=[(50706, BYTE, 4, (1, 4, 0, 0), True), (271, ASCII, 0, "isp", True),
                                 (33421, SHORT, 2, (2, 2), True), (33422, BYTE, 4, (0, 1, 1, 2), True)])
    elif case == "linear raw":
        write_cfa(path, m)
        set_short(path, 262, 34892)
    else:
        write_cfa(path, m, **kw)
    assert fallback_reason(path) is not None
    compare(path, fast=False)


@pytest.mark.parametrize("name", ["Blackmagic.dng", "colorchart.dng"])
@pytest.mark.parametrize("crop", [True, False])
def test_shared_dngs(shared_data, name, crop):
    path = shared_data / "raw" / name
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        compressed, bits = int(page.compression), page.bitspersample
    # Blackmagic.dng is 12-bit DCT JPEG through a 4096-entry linearisation table (x16): read here,
    # to one 12-bit code of LibRaw's IDCT; colorchart.dng is uncompressed but packed 14-bit: LibRaw's.
    assert (compressed, bits) == ((7, 12) if name == "Blackmagic.dng" else (1, 14))
    if name == "Blackmagic.dng":
        b = compare(path, crop=crop, mosaic_tolerance=64)
        a = read_libraw(path, crop=crop)
        assert np.mean(a.mosaic != b.mosaic) < 0.05  # IDCT rounding: ~4% of samples
    else:
        compare(path, crop=crop, fast=False)


def test_isp_read_takes_the_fast_path(tmp_path, monkeypatch):
    path = write_cfa(tmp_path / "f.dng", mosaic_of(30, 40, seed=14))
    expected = read_libraw(path)

    def refuse(*a, **k):
        raise AssertionError("LibRaw was called")

    monkeypatch.setattr(dng_reader, "read_libraw", refuse)
    frame = isp.read(path, frame_number=7)
    assert frame.frame_number == 7
    frame.frame_number = None
    assert_same_frame(expected, frame)


def test_processed_images_identical(tmp_path):
    from isp.pipeline import Pipeline

    frame = render(default_chart(64, 96), SensorModel(pattern="GBRG", seed=5))
    extra = [(50829, LONG, 4, (1, 2, 64, 96), True), (50719, SHORT, 2, (1, 1), True), (50720, SHORT, 2, (80, 50), True)]
    paths = [write_dng(tmp_path / "w.dng", frame),
             write_cfa(tmp_path / "c.dng", frame.mosaic, "GBRG", black=(250, 256, 254, 260), black_dim=(2, 2),
                       white=4000, extra=extra, byteorder=">", tile=(16, 32))]
    pipeline = Pipeline()
    for path in paths:
        a, b = read_libraw(path), read_dng(path)
        assert fallback_reason(path) is None
        assert np.array_equal(pipeline.process(a, depth=16), pipeline.process(b, depth=16))


# --------------------------------------------------------------------------------------------
# JPEG-compressed tiles, linearisation tables, cameras in LibRaw's table


@pytest.mark.parametrize("pattern,size,tile,bits", [("RGGB", (64, 96), (32, 48), 12), ("GBRG", (70, 100), (32, 48), 14),
                                                    ("BGGR", (45, 64), (16, 32), 16), ("GRBG", (64, 96), (64, 32), 10)])
@pytest.mark.parametrize("table", [False, True])
def test_lossless_jpeg_tiles_bit_for_bit(tmp_path, pattern, size, tile, bits, table):
    extra = [(50712, SHORT, 1 << bits, tuple(np.sqrt(np.arange(1 << bits) * 65535.0 * 3).astype(int) % 65536), True)] \
        if table else []
    path = write_cfa(tmp_path / "lj.dng", mosaic_of(*size, bits=bits, seed=21), pattern, tile=tile, jpeg="lossless",
                     bits=bits, white=None if table else (1 << bits) - 1, extra=extra)
    b = compare(path)
    assert b.mosaic.max() > 0


@pytest.mark.parametrize("table", [False, True])
def test_dct_jpeg_tiles_within_one_code_of_libraw(tmp_path, table):
    y, x = np.mgrid[0:64, 0:96]
    mosaic = (2048 + 1500 * np.sin(x / 5.0) * np.cos(y / 7.0)).astype(np.uint16)
    extra = [(50712, SHORT, 4096, tuple(range(0, 65536, 16)), True)] if table else []
    path = write_cfa(tmp_path / "dct.dng", mosaic, tile=(32, 48), jpeg="dct", white=65535 if table else 4095,
                     extra=extra)
    b = compare(path, mosaic_tolerance=16 if table else 1)  # one 12-bit code, through the table (x16)
    assert np.abs(b.mosaic.astype(int) - (mosaic * 16 if table else mosaic)).mean() < 3 * (16 if table else 1)


@pytest.mark.parametrize("case", ["8-bit tables", "white above the samples", "strips"])
def test_jpeg_dngs_libraw_reads_differently_go_to_libraw(tmp_path, case):
    mosaic = mosaic_of(64, 96, seed=22)
    path = tmp_path / "f.dng"
    if case == "8-bit tables":
        with tifffile.TiffWriter(path) as tif:
            tiles = [imagecodecs.jpeg8_encode(mosaic[r:r + 32, c:c + 48].copy().reshape(16, 96), level=90, bitspersample=12)
                     for r in (0, 32) for c in (0, 48)]
            tif.write(iter(tiles), shape=mosaic.shape, dtype=np.uint16, photometric="CFA", compression=7, tile=(32, 48),
                      bitspersample=12, metadata=None, extratags=[(50706, BYTE, 4, (1, 4, 0, 0), True),
                      (271, ASCII, 0, "isp", True), (33421, SHORT, 2, (2, 2), True), (33422, BYTE, 4, (0, 1, 1, 2), True)])
        assert "8-bit DCT quantisation tables" in fallback_reason(path)
    elif case == "white above the samples":
        write_cfa(path, mosaic, tile=(32, 48), jpeg="dct", white=65535)
        assert "above the white level" in fallback_reason(path)
    else:
        with tifffile.TiffWriter(path) as tif:
            tif.write(iter([imagecodecs.ljpeg_encode(mosaic[:32].copy(), bitspersample=12),
                            imagecodecs.ljpeg_encode(mosaic[32:].copy(), bitspersample=12)]),
                      shape=mosaic.shape, dtype=np.uint16, photometric="CFA", compression=7, rowsperstrip=32,
                      bitspersample=12, metadata=None, extratags=[(50706, BYTE, 4, (1, 4, 0, 0), True),
                      (271, ASCII, 0, "isp", True), (33421, SHORT, 2, (2, 2), True), (33422, BYTE, 4, (0, 1, 1, 2), True)])
        assert "strips" in fallback_reason(path)
        return  # LibRaw decodes the first strip only: the rest of its mosaic is whatever was in memory
    compare(path, fast=False)


@pytest.mark.parametrize("length,white,bits", [(4096, 65535, 16), (1024, None, 16), (5000, None, 16), (300, 1000, 16),
                                               (256, None, 8), (100, None, 8)])
def test_linearisation_tables_uncompressed(tmp_path, length, white, bits):
    table = tuple(int(v) for v in (np.arange(length) ** 1.5 * 7) % 65536)
    mosaic = mosaic_of(40, 48, bits=bits, seed=23, dtype=np.uint8 if bits == 8 else np.uint16)
    path = write_cfa(tmp_path / "lin.dng", mosaic, white=white, black=(0,), extra=[(50712, SHORT, length, table, True)])
    b = compare(path)
    np.testing.assert_array_equal(b.mosaic, np.array(table + table[-1:] * 65536)[mosaic])


@pytest.mark.parametrize("make,model", [("Canon", "Canon EOS 550D"), ("NIKON CORPORATION", "NIKON D3"),
                                        ("SONY", "DSLR-A100"), ("Leica Camera AG", "M8 Digital Camera"),
                                        ("PENTAX Corporation", "PENTAX K10D"), ("Panasonic", "DMC-GH4"),
                                        ("FUJIFILM", "X-T2"), ("DJI", "FC220"), ("Blackmagic Design", "Pocket Cinema Camera"),
                                        ("Phase One", "IQ180")])
def test_cameras_in_libraws_table(tmp_path, make, model):
    # LibRaw's rgb_xyz_matrix comes from its camera table: read_dng asks LibRaw once per camera.
    # The table also caps the D3's white level at 3827, under the file's WhiteLevel: LibRaw's file.
    path = write_cfa(tmp_path / "cam.dng", mosaic_of(30, 40, seed=24), make=make, model=model)
    if model == "NIKON D3":
        assert "changes this camera's levels (black (64.0, 64.0, 64.0, 64.0), white 3827.0)" in fallback_reason(path)
        compare(path, fast=False)
        return
    b = compare(path)
    from_table = not np.array_equal(b.xyz_to_camera, _d65_matrix(b.dng))
    assert from_table == (make not in ("DJI", "Blackmagic Design"))  # LibRaw's table has no matrix for those two


def test_isp_info_says_which_reader_and_why(tmp_path, capsys):
    from isp.cli import main

    m = mosaic_of(64, 96, seed=27)
    files = {"plain.dng": write_cfa(tmp_path / "plain.dng", m),
             "lj.dng": write_cfa(tmp_path / "lj.dng", m, tile=(32, 48), jpeg="lossless"),
             "dct.dng": write_cfa(tmp_path / "dct.dng", m, tile=(32, 48), jpeg="dct", white=4095),
             "d3.dng": write_cfa(tmp_path / "d3.dng", m, make="NIKON CORPORATION", model="NIKON D3")}
    assert dng_reader.reader(files["plain.dng"]) == "isp (uncompressed)"
    assert dng_reader.reader(files["lj.dng"]) == "isp (lossless JPEG tiles)"
    assert dng_reader.reader(files["dct.dng"]).startswith("isp (DCT JPEG tiles")
    assert dng_reader.reader(files["d3.dng"]).startswith("LibRaw (LibRaw's camera table changes this camera's levels")
    assert main(["info", "--json", *map(str, files.values())]) == 0
    described = json.loads(capsys.readouterr().out)
    assert [d["reader"] for d in described] == [dng_reader.reader(p) for p in files.values()]


# --------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("layout", [{}, {"tile": (16, 16)}])
def test_truncated_uncompressed_dng_is_a_clear_error(tmp_path, layout):
    path = write_cfa(tmp_path / "full.dng", mosaic_of(64, 96, seed=15), **layout)
    data = path.read_bytes()
    cut = tmp_path / "cut.dng"
    cut.write_bytes(data[: len(data) - 3000])
    assert fallback_reason(cut) is None
    with pytest.raises(InputError) as e:
        isp.read(cut)
    assert "cut.dng" in str(e.value) and "truncated" in str(e.value) and "\n" not in str(e.value)
    proc = subprocess.run([sys.executable, "-m", "isp", "info", str(cut)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "cut.dng" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_damaged_jpeg_dng_is_a_clear_error(tmp_path, damage):
    path = write_cfa(tmp_path / "full.dng", mosaic_of(64, 96, seed=26), tile=(32, 48), jpeg="lossless")
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        offsets, counts = tif.pages[0].dataoffsets, tif.pages[0].databytecounts
    bad = tmp_path / "bad.dng"
    if damage == "truncated":
        bad.write_bytes(bytes(data[:offsets[-1] + counts[-1] // 2]))
    else:
        data[offsets[1] + 2: offsets[1] + 60] = bytes(58)  # tile 1's tables gone
        bad.write_bytes(bytes(data))
    assert fallback_reason(bad) is None
    with pytest.raises(InputError) as e:
        isp.read(bad)
    assert "bad.dng" in str(e.value) and "\n" not in str(e.value)
    assert ("truncated" if damage == "truncated" else "tile 1") in str(e.value)


def test_dng_cut_before_its_tags_goes_to_libraw_error(tmp_path):
    path = write_cfa(tmp_path / "full.dng", mosaic_of(64, 96, seed=16))
    cut = tmp_path / "stub.dng"
    cut.write_bytes(path.read_bytes()[:6])
    assert fallback_reason(cut) is not None
    with pytest.raises(InputError, match="stub.dng"):
        isp.read(cut)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("aspect", [1.0, 1.5, 0.5, 1.003, 0.995, 1.005, 2 / 3])
def test_orientation_and_pixel_aspect_as_libraw_reads_them(tmp_path, orientation, aspect):
    """Orientation (274) and DefaultScale (50718): isp's reader and LibRaw agree (LibRaw divides
    in float32 and takes an aspect within 0.5% of 1 as 1: 199/200 and 201/200 included)."""
    frame = dataclasses.replace(render(default_chart(48, 64), SensorModel(seed=1)),
                                orientation=orientation, pixel_aspect=aspect)
    path = write_dng(tmp_path / "o.dng", frame)
    b = compare(path)
    assert b.orientation == orientation
    assert b.pixel_aspect == (1.0 if abs(aspect - 1) < 0.0051 else pytest.approx(aspect, rel=1e-6))


def test_an_orientation_outside_1_to_8_goes_to_libraw(tmp_path):
    path = write_dng(tmp_path / "o.dng", render(default_chart(48, 64), SensorModel(seed=1)))
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[0].tags[274].valueoffset
    data = bytearray(path.read_bytes())
    data[offset:offset + 2] = struct.pack("<H", 9)
    path.write_bytes(bytes(data))
    assert "Orientation 9" in fallback_reason(path)
