"""Bayer DNGs without LibRaw's decoder: the fast path of `isp.read` for .dng files.

`read_dng(path, crop)` returns the RawFrame `read_libraw(path, crop)` would return (mosaic bit
for bit, pattern, per-site black levels, white level, as-shot white balance, XYZ -> camera
matrix, ISO, exposure time, camera, DNG colour tags, noise profile, origin, default crop) but
reads the CFA itself: uncompressed strips or tiles with one `readinto` per file, JPEG tiles
decoded in parallel (`isp.io.dng_jpeg`; DCT-coded ones to one code value of LibRaw's IDCT).
Anything it does not handle goes to LibRaw (`fallback_reason(path)` says why). It handles a
single-IFD DNG (no SubIFDs) with:

  Compression 1, PhotometricInterpretation 32803, SamplesPerPixel 1, BitsPerSample 8 or 16
  (uint8 / uint16 samples, little or big endian), contiguous strips or a tile grid; or
  Compression 7 (lossless or 12-bit DCT JPEG, see `isp.io.dng_jpeg`) in a tile grid;
  CFARepeatPatternDim 2x2, CFAPattern a Bayer layout of R/G/B (any of the four),
  LinearizationTable, BlackLevel 1 value or a 1x1/1x2/2x1/2x2 BlackLevelRepeatDim pattern,
  WhiteLevel, LinearResponseLimit, AsShotNeutral, ActiveArea, DefaultCropOrigin/Size,
  ExposureTime and ISOSpeedRatings (IFD0 or EXIF IFD), the colour and profile tags, NoiseProfile.

and falls back for: other compressions, JPEG strips (LibRaw decodes only the first), LinearRaw,
SubIFDs or several IFDs, packed 10/12/14-bit samples, non-Bayer CFAs, BlackLevelDeltaH/V,
MaskedAreas, opcode lists, DNGPrivateData or an EXIF MakerNote (maker notes steer LibRaw),
AsShotWhiteXY, non-contiguous strips, a camera whose entry in LibRaw's table changes its levels
(see below), and any tag not on the allow-list.

LibRaw's rules, read from its source (src/metadata/tiff.cpp parse_tiff_ifd, identify.cpp
identify_process_dng_fields, src/tables/colordata.cpp adobe_coeff, rawpy's adjust_bl_) and checked
against rawpy by tests/isp/test_dng_reader.py:

* `rgb_xyz_matrix` of a DNG is *not* derived from the ColorMatrix tags: those only feed LibRaw's
  `cmatrix` / `rgb_cam`. `rgb_xyz_matrix` (`color.cam_xyz`) is filled solely by `adobe_coeff`
  from LibRaw's built-in table, keyed by the maker LibRaw recognises in Make (a substring match
  against its list of maker names) and a model-name prefix, as trans / 10000. So it is zero for a
  camera LibRaw does not know, and `read_libraw` then takes the DNG ColorMatrix calibrated for
  D65 (`_d65_matrix`). The same table can override levels (the Nikon D3's white level is capped
  at 3827 under any WhiteLevel tag). This reader does not copy the table: it asks LibRaw, once
  per camera, with a 32x32 DNG carrying only the camera's names and level tags
  (`_camera_table`), takes its matrix and falls back when its levels differ from the tags'.
* LinearizationTable: LibRaw's `curve`, the table then its last value to 65536 entries; every
  sample is mapped through it; it does not change the white level.
* The CFA pattern and the BlackLevel pattern are relative to the top-left of the ActiveArea.
  Black levels are truncated to integers (`unsigned(float(value))`), summed per site.
* An odd ActiveArea top or left moves to the next even row or column (open_datastream), one row
  or column less; the CFA pattern follows the move, the black pattern does not (it stays
  anchored at the new origin).
* White level: WhiteLevel (else 2^bits - 1); with LinearResponseLimit in (0.1, 1] LibRaw's
  `linear_max` wins: float32((white - rblack) * limit + rblack), truncated, where rblack is the
  black level plus the mean of the black pattern (integer division).
* As-shot multipliers are float32 1 / float32(AsShotNeutral); all three must exceed 0.001.
* The default crop is used only when origin + size < raw size + margin (strictly), in each axis;
  origin and size are truncated to integers, then an odd origin (on the raw image) moves to the
  next even row or column and the size shrinks by one.
* Strips are read as one run of rows from the first strip offset; tiles row by row.

Speed (`python -m bench.dng_read_speed`): a UHD DNG written by `write_dng` from an `isp.synth`
frame (3840x2160, 12-bit data in 16-bit samples, 16.6 MB, in the page cache), LibRaw and this
reader alternated in one process, medians: on a quiet machine LibRaw 28.1 ms, this reader 2.4 ms
(11.8x); with another engineer's load on the 2 cores (load average 2.3-2.4) 43-51 ms against
5.1-7.1 ms (7.2-8.4x). Most of this reader's time is reading into a fresh 16 MB array (page faults
and the copy); parsing the IFD and `_dng_tags` take ~0.6 ms each.
"""
from __future__ import annotations

import functools
import io
import struct
import sys
from pathlib import Path

import numpy as np
import rawpy
import tifffile

from isp.errors import InputError
from isp.frame import RawFrame
from isp.io import dng_jpeg
from isp.io.libraw import _as_shot_wb, _d65_matrix, _dng_tags, _white_level, default_crop, quiet_tifffile, read_libraw
from kernels import cfa

# IFD0 tags LibRaw either ignores or handles the way this reader replicates. Any other tag
# sends the file to LibRaw.
_ALLOWED_TAGS = frozenset({
    254, 256, 257, 258, 259, 262, 269, 270, 271, 272, 273, 274, 277, 278, 279, 282, 283, 284, 285,
    296, 305, 306, 315, 316, 322, 323, 324, 325, 339, 700, 33421, 33422, 33432, 33434, 33437,
    34665, 34675, 34853, 34855, 37386, 37393, 37398, 50706, 50707, 50708, 50709, 50710, 50711, 50712, 50713,
    50714, 50717, 50718, 50719, 50720, 50721, 50722, 50723, 50724, 50725, 50726, 50727, 50728,
    50730, 50731, 50732, 50733, 50734, 50735, 50736, 50737, 50738, 50739, 50778, 50779, 50780,
    50781, 50827, 50829, 50831, 50931, 50932, 50933, 50934, 50936, 50937, 50938, 50939, 50940,
    50941, 50942, 50964, 50965, 50966, 50967, 50968, 50969, 50970, 50981, 50982, 51041, 51043,
    51044, 51058, 51081, 51089, 51090, 51091, 51107, 51108, 51109, 51110, 51111, 51112, 51125,
})
_LEVEL_TAGS = (258, 50713, 50714, 50717, 50734)  # the tags `_levels` reads, but the linearisation table
_EXIF_REFUSED = {37500: "an EXIF MakerNote", 41730: "an EXIF CFAPattern"}

_SHORT, _LONG, _RATIONAL, _SRATIONAL, _FLOAT, _DOUBLE = 3, 4, 5, 10, 11, 12
_BYTES = (1, 7)  # BYTE or UNDEFINED
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_CFA_LETTERS = "RGB"
_F32 = np.float32


class _Fallback(Exception):
    """This file is not one the fast path reproduces; LibRaw reads it."""


def read_dng(path, crop: bool = True) -> RawFrame:
    """Read a DNG: uncompressed Bayer files directly, everything else through LibRaw."""
    try:
        with quiet_tifffile():
            plan = _plan(Path(path))
    except _Fallback:
        return read_libraw(path, crop=crop)
    return _read(Path(path), plan, crop)


def fallback_reason(path) -> str | None:
    """None when `read_dng` reads `path` itself, else why it hands the file to LibRaw."""
    return _plan_or_reason(path)[1]


def reader(path) -> str:
    """Which decoder `read_dng` uses for `path`: "isp (what it reads)" or "LibRaw (why)"."""
    plan, reason = _plan_or_reason(path)
    if reason is not None:
        return f"LibRaw ({reason})"
    kind = {"lossless": "lossless JPEG tiles", "dct": "DCT JPEG tiles, to one code of LibRaw's IDCT"}
    return f"isp ({kind.get(plan['jpeg'], 'uncompressed')})"


def _plan_or_reason(path) -> tuple[dict | None, str | None]:
    try:
        with quiet_tifffile():
            return _plan(Path(path)), None
    except _Fallback as e:
        return None, str(e)


# --------------------------------------------------------------------------------------------
# the file's layout and LibRaw's reading of its tags


def _plan(path: Path) -> dict:
    try:
        tif = tifffile.TiffFile(path)
    except Exception as e:  # not a TIFF tifffile can parse: LibRaw has the final word
        raise _Fallback(f"tifffile cannot parse it ({e})") from None
    with tif:
        if tif.is_bigtiff:
            raise _Fallback("BigTIFF")
        page = tif.pages[0]
        tags = {tag.code: tag for tag in page.tags.values()}
        if 50706 not in tags and 271 not in tags:  # a plain TIFF named .dng (camera raws name their Make)
            raise InputError(f"{path}: a TIFF file, but not a raw: no DNGVersion and no camera Make tag")
        if len(tif.pages) != 1:
            raise _Fallback("more than one IFD")
        refused = sorted(set(tags) - _ALLOWED_TAGS)
        if refused:
            raise _Fallback(f"tag {refused[0]} is not handled")
        try:
            plan = _layout(tags, tif.byteorder)
            plan.update(_levels(tags))
            plan.update(_metadata(tags, tif.filehandle, tif.byteorder))
        except _Fallback:
            raise
        except Exception as e:  # tag data this reader did not expect: LibRaw decides
            raise _Fallback(f"unexpected tag data ({type(e).__name__}: {e})") from None
        black, white = plan["libraw_levels"]
        if black != tuple(plan["black"].ravel().tolist()) or white != plan["white"]:
            raise _Fallback(f"LibRaw's camera table changes this camera's levels (black {black}, white {white})")
        if plan["pattern"] not in cfa.PATTERNS:
            raise _Fallback(f"CFA pattern {plan['pattern']} is not one of the four Bayer layouts")
        plan["pattern"] = cfa.shift(plan["pattern"], *plan["pattern_shift"])
        plan["file_size"] = tif.filehandle.size
        if plan["jpeg"]:
            tw, tl, offsets, _ = plan["tiles"]
            tif.filehandle.seek(offsets[0])
            try:
                plan["jpeg"] = dng_jpeg.stream_kind(tif.filehandle.read(1 << 16), (tl, tw))
            except ValueError as e:
                raise _Fallback(str(e)) from None
            top = (1 << plan["bits"]) - 1  # libjpeg clamps DCT output there, LibRaw's IDCT does not
            curve = plan["curve"]
            if plan["jpeg"] == "dct" and not (plan["white"] <= top if curve is None else (curve[top:] == curve[-1]).all()):
                raise _Fallback("DCT samples above the white level would differ from LibRaw's")
    return plan


def _ints(tags, code, types=(_SHORT, _LONG)):
    tag = tags.get(code)
    if tag is None:
        return None
    if tag.dtype not in types:
        raise _Fallback(f"tag {code} has TIFF type {tag.dtype}")
    v = tag.value
    return tuple(v) if isinstance(v, bytes) else tuple(int(x) for x in np.ravel(v))


def _reals(tags, code):
    """A tag's values as LibRaw's getreal reads them (double; rationals as num / den)."""
    tag = tags.get(code)
    if tag is None:
        return None
    v = tag.value
    if tag.dtype in (_SHORT, _LONG):
        return tuple(float(x) for x in np.ravel(v))
    if tag.dtype in (_RATIONAL, _SRATIONAL):
        flat = [int(x) for x in np.ravel(v)]
        if any(d == 0 for d in flat[1::2]):
            raise _Fallback(f"tag {code} has a zero denominator")
        return tuple(n / d for n, d in zip(flat[0::2], flat[1::2]))
    if tag.dtype in (_FLOAT, _DOUBLE):
        return tuple(float(x) for x in np.ravel(v))
    raise _Fallback(f"tag {code} has TIFF type {tag.dtype}")


def _one(values, what):
    if values is None or len(values) != 1:
        raise _Fallback(f"{what} is missing or not a single value")
    return values[0]


def _layout(tags, byteorder) -> dict:
    if _ints(tags, 50706, _BYTES) is None:
        raise _Fallback("no DNGVersion")
    if (_ints(tags, 254, (_SHORT, _LONG)) or (0,))[0] != 0:
        raise _Fallback("the first IFD is not the main raw image")
    compression = _ints(tags, 259)
    if compression not in ((1,), (7,)):
        raise _Fallback(f"compression {compression} (not none or JPEG)")
    jpeg = compression == (7,)
    if _ints(tags, 262) != (32803,):
        raise _Fallback("not a CFA image (LinearRaw or other)")
    if (_ints(tags, 277) or (1,)) != (1,):
        raise _Fallback("more than one sample per pixel")
    if (_ints(tags, 339) or (1,)) != (1,):
        raise _Fallback("samples are not unsigned integers")
    if (_ints(tags, 284) or (1,)) != (1,):
        raise _Fallback("planar configuration is not 1")
    bits = _one(_ints(tags, 258), "BitsPerSample")
    if bits not in (8, 16) and not (jpeg and 2 <= bits <= 16):
        raise _Fallback(f"{bits}-bit samples are packed")
    width = _one(_ints(tags, 256), "ImageWidth")
    height = _one(_ints(tags, 257), "ImageLength")
    if not (22 <= width <= 64000 and 22 <= height <= 64000):
        raise _Fallback(f"a {width}x{height} image (LibRaw's limits)")
    if _ints(tags, 33421) != (2, 2):
        raise _Fallback("the CFA repeat pattern is not 2x2")
    cfa_codes = _ints(tags, 33422, _BYTES)
    if cfa_codes is None or len(cfa_codes) != 4 or sorted(cfa_codes) != [0, 1, 1, 2]:
        raise _Fallback(f"CFAPattern {cfa_codes} is not a Bayer layout of R, G, B")
    if (_ints(tags, 50710, _BYTES) or (0, 1, 2)) != (0, 1, 2):
        raise _Fallback("CFAPlaneColor is not R, G, B")
    if (_ints(tags, 50711) or (1,)) != (1,):
        raise _Fallback("the CFA layout is not rectangular")
    sample_bytes = bits // 8
    plan = {"width": width, "height": height, "bits": bits, "dtype": np.uint8 if bits == 8 and not jpeg else np.uint16,
            "swap": bits == 16 and not jpeg and byteorder != ("<" if sys.byteorder == "little" else ">"),
            "pattern": "".join(_CFA_LETTERS[c] for c in cfa_codes), "jpeg": jpeg}
    if 324 in tags or 322 in tags or 323 in tags:
        tw, tl = _one(_ints(tags, 322), "TileWidth"), _one(_ints(tags, 323), "TileLength")
        offsets = _ints(tags, 324, (_LONG,))
        counts = _ints(tags, 325)
        across, down = -(-width // tw), -(-height // tl)
        if offsets is None or counts is None or len(offsets) != across * down or len(counts) != len(offsets):
            raise _Fallback("tile offsets do not match the tile grid")
        if len(offsets) == 1 or (1 + width // tw) * tw > 2 * width:
            raise _Fallback("a single or oversized tile (LibRaw reads those differently)")
        if not jpeg and any(c < min(tl, height) * tw * sample_bytes for c in counts):
            raise _Fallback("a tile is shorter than its rows")
        plan["tiles"] = (tw, tl, offsets, counts)
    elif jpeg:
        raise _Fallback("JPEG-compressed strips (LibRaw decodes only the first)")
    else:
        offsets = _ints(tags, 273, (_LONG,))
        counts = _ints(tags, 279)
        rows = (_ints(tags, 278) or (height,))[0]
        if offsets is None or counts is None or len(offsets) != len(counts) or rows < 1:
            raise _Fallback("no usable strips")
        row_bytes = width * sample_bytes
        expected = offsets[0]
        for i, (off, count) in enumerate(zip(offsets, counts)):
            strip_rows = min(rows, height - i * rows)
            if strip_rows <= 0 or off != expected or count < strip_rows * row_bytes:
                raise _Fallback("strips are not one contiguous run of rows")
            expected += strip_rows * row_bytes
        if len(offsets) != -(-height // rows):
            raise _Fallback("strip count does not match the rows")
        plan["strips"] = offsets[0]
    return plan


def _levels(tags) -> dict:
    # Black: BlackLevelRepeatDim (absent = no pattern) and BlackLevel, truncated as LibRaw does.
    dims = _ints(tags, 50713)
    values = _reals(tags, 50714)
    black, pattern = 0, None
    if dims is not None and (len(dims) != 2 or dims[0] not in (1, 2) or dims[1] not in (1, 2)):
        raise _Fallback(f"BlackLevelRepeatDim {dims}")
    if values is not None:
        if any(not (0 <= v < 65536) for v in values):
            raise _Fallback("a black level outside 0..65535")
        trunc = [int(_F32(v)) for v in values]
        if (dims is None or dims == (1, 1)) and len(values) == 1:
            black = trunc[0]
        elif dims is not None and len(values) == dims[0] * dims[1]:
            pattern = (dims, trunc)
        else:
            raise _Fallback(f"{len(values)} BlackLevel values for repeat dim {dims}")
    site = np.full((2, 2), black, dtype=np.int64)
    bl64 = 0
    if pattern is not None:
        (d4, d5), vals = pattern
        for r in range(2):
            for c in range(2):
                site[r, c] += vals[(r % d4) * d5 + (c % d5)]
        bl64 = sum(vals) // len(vals)

    # LinearizationTable: LibRaw's curve, the table then its last value repeated to 65536 entries.
    curve = None
    table = _ints(tags, 50712, (_SHORT,))
    if table is not None:
        if not table:
            raise _Fallback("an empty LinearizationTable")
        table = table[:65536]
        curve = np.full(65536, table[-1], np.uint16)
        curve[:len(table)] = table

    # White: WhiteLevel, else 2^bits - 1; LinearResponseLimit may lower it (LibRaw's linear_max).
    bits = _one(_ints(tags, 258), "BitsPerSample")
    white = _ints(tags, 50717)
    if white is not None and (len(white) != 1 or not 0 < white[0] <= 65535):
        raise _Fallback(f"WhiteLevel {white}")
    maximum = white[0] if white is not None else (1 << bits) - 1
    white_level = maximum
    limit = _reals(tags, 50734)
    if limit is not None:
        lrl = _F32(_one(limit, "LinearResponseLimit"))
        if 0.1 < float(lrl) <= 1.0:
            rblack = black + bl64
            if maximum <= rblack:
                raise _Fallback("white level not above the black level")
            white_level = int(_F32(_F32(maximum - rblack) * lrl) + _F32(rblack))
    return {"black": site.astype(np.float32), "white": float(white_level), "curve": curve}


def _metadata(tags, fh, byteorder) -> dict:
    if 271 not in tags and 50708 not in tags:
        raise _Fallback("no Make or UniqueCameraModel (LibRaw would guess the camera by file size)")
    names = tuple(str(tags[code].value) if code in tags else None for code in (271, 272, 50708))
    if any(name is not None and not name.isprintable() for name in names):
        raise _Fallback("a camera name with control characters")
    levels = tuple((code, tags[code].dtype, tags[code].count, tuple(np.ravel(tags[code].value).tolist()))
                   for code in _LEVEL_TAGS if code in tags)
    matrix, black, white = _camera_table(names, levels)

    # As-shot white balance: cam_mul = 1 / float32(AsShotNeutral), all three above 0.001.
    wb = None
    neutral = _reals(tags, 50728)
    if neutral is not None:
        if len(neutral) != 3:
            raise _Fallback(f"AsShotNeutral has {len(neutral)} values")
        asn = [_F32(v) for v in neutral]
        if any(abs(float(v)) <= 0.0001 for v in asn):
            raise _Fallback("an AsShotNeutral value is (near) zero")
        cam_mul = [_F32(1) / v for v in asn]
        if all(m > _F32(0.001) for m in cam_mul):
            wb = _as_shot_wb([float(m) for m in cam_mul] + [0.0], b"RGBG")

    # Exposure time and ISO: IFD0 ExposureTime, overridden by the EXIF IFD's; ISO from EXIF only.
    shutter = 0.0
    t = _reals(tags, 33434)
    if t is not None:
        shutter = float(_F32(t[0]))
    iso = 0.0
    if 34665 in tags:
        exif = _exif_entries(fh, tags[34665], byteorder)
        for code, what in _EXIF_REFUSED.items():
            if code in exif:
                raise _Fallback(what)
        if 33434 in exif:
            shutter = float(_F32(_exif_real(fh, exif[33434], byteorder)))
        if 37377 in exif and shutter == 0.0:
            raise _Fallback("exposure time only as an APEX ShutterSpeedValue")
        if 34855 in exif:
            typ, count, where = exif[34855]
            if typ != _SHORT or count < 1:
                raise _Fallback("EXIF ISOSpeedRatings is not SHORT")
            iso = float(_unpack(fh, where, byteorder, "H", 1)[0])

    # ActiveArea (top, left, bottom, right): LibRaw then moves an odd top / left margin to the next
    # even row / column (one row / column less), re-phasing the CFA pattern but not the black
    # pattern, which stays anchored at the new origin.
    area = _ints(tags, 50829)
    raw_w, raw_h = _one(_ints(tags, 256), "ImageWidth"), _one(_ints(tags, 257), "ImageLength")
    top, left, vis_h, vis_w = 0, 0, raw_h, raw_w
    if area is not None:
        if len(area) != 4:
            raise _Fallback("ActiveArea is not 4 values")
        top, left, bottom, right = area
        if not (0 <= top < bottom <= raw_h and 0 <= left < right <= raw_w):
            raise _Fallback(f"ActiveArea {area} outside the image")
        vis_h, vis_w = bottom - top, right - left
        if vis_h < 22 or vis_w < 22:
            raise _Fallback("visible area under LibRaw's 22 pixels")
    dy, dx = top % 2, left % 2
    vis_top, vis_left = top + dy, left + dx

    # DefaultCrop: LibRaw's raw_inset_crops[0], on the raw image, with the strict bounds test of
    # identify_process_dng_fields (against the ActiveArea margins as given), then an odd origin
    # moved to the next even row / column; read_libraw crops relative to the visible origin.
    crop_box = None
    origin, size = _reals(tags, 50719), _reals(tags, 50720)
    if origin is not None and size is not None:
        if len(origin) != 2 or len(size) != 2:
            raise _Fallback("DefaultCrop tags are not 2 values each")
        if any(not (0 <= v < 65536) for v in origin + size):
            raise _Fallback("DefaultCrop values outside 0..65535")
        lm, tm = int(origin[0]), int(origin[1])
        ww, hh = int(size[0]), int(size[1])
        if ww > 0 and hh > 0 and lm + ww < raw_w + left and tm + hh < raw_h + top:
            ctop, cleft = top + tm, left + lm
            hh, ww = hh - ctop % 2, ww - cleft % 2
            ctop, cleft = ctop + ctop % 2, cleft + cleft % 2
            if ww > 0 and hh > 0:
                crop_box = (ctop - vis_top, cleft - vis_left, hh, ww)
    orientation, aspect = _display(tags)
    return {"wb": wb, "shutter": shutter, "iso": iso, "area": (vis_top, vis_left, vis_h - dy, vis_w - dx),
            "crop": crop_box, "pattern_shift": (dy, dx), "matrix": matrix, "libraw_levels": (black, white),
            "orientation": orientation, "pixel_aspect": aspect}


def _display(tags) -> tuple[int, float]:
    """Orientation (274) and the pixel aspect ratio from DefaultScale (50718) as LibRaw reads
    them: horizontal / vertical scale divided in float32, within 0.5% of 1 taken as 1."""
    orientation = 1
    if 274 in tags:
        orientation = _one(_ints(tags, 274), "Orientation")
        if orientation not in range(1, 9):  # dcraw maps it through "50132467"[value & 7]
            raise _Fallback(f"Orientation {orientation} is not 1 to 8")
    aspect = 1.0
    scale = _reals(tags, 50718)
    if scale is not None:
        if len(scale) != 2 or not all(v > 0 for v in scale):
            raise _Fallback("DefaultScale is not two positive values")
        aspect = float(_F32(scale[0]) / _F32(scale[1]))
        if 0.995 < aspect < 1.005:
            aspect = 1.0
        if not 0.1 <= aspect <= 10:
            raise _Fallback(f"DefaultScale gives a pixel aspect ratio of {aspect:g}")
    return orientation, aspect


@functools.lru_cache(maxsize=256)
def _camera_table(names: tuple, level_tags: tuple) -> tuple[np.ndarray | None, tuple, float]:
    """LibRaw's `rgb_xyz_matrix` (None when zero), per-site black levels (RGGB order of sites)
    and white level for a DNG of a camera with these names (Make, Model, UniqueCameraModel) and
    level tags ((code, type, count, values) of `_LEVEL_TAGS`).

    The matrix comes from LibRaw's built-in camera table (`adobe_coeff`), keyed by the names, not
    from the file's colour tags, and the same table can override a camera's levels (a white level
    under the WhiteLevel tag, for instance). So LibRaw itself is asked, once per camera and set of
    levels, with a 32x32 DNG that carries only those tags; `_plan` leaves a file to LibRaw
    when the levels it reports are not the ones `_levels` reads from the tags."""
    tags = [(50706, 1, 4, (1, 4, 0, 0), True), (33421, 3, 2, (2, 2), True), (33422, 1, 4, (0, 1, 1, 2), True)]
    tags += [(code, 2, 0, name, True) for code, name in zip((271, 272, 50708), names) if name is not None]
    tags += [(code, dtype, count, value, True) for code, dtype, count, value in level_tags if code != 258]
    bits = next((value[0] for code, _, _, value in level_tags if code == 258), 16)
    probe = io.BytesIO()
    with tifffile.TiffWriter(probe) as tif:
        tif.write(np.zeros((32, 32), np.uint8 if bits <= 8 else np.uint16), photometric="CFA", bitspersample=bits,
                  metadata=None, extratags=tags)
    probe.seek(0)
    try:
        with rawpy.imread(probe) as raw:
            black = tuple(float(b) for b in np.array(raw.black_level_per_channel)[raw.raw_pattern].ravel())
            white = float(_white_level(raw))
            matrix = np.array(raw.rgb_xyz_matrix[:3], dtype=np.float64)
    except (rawpy.LibRawError, ValueError) as e:
        raise _Fallback(f"LibRaw cannot read a DNG of this camera's names and levels ({e})") from None
    return (matrix if matrix.any() else None), black, white


def _unpack(fh, where, byteorder, fmt, count):
    fh.seek(where)
    size = struct.calcsize(fmt) * count
    data = fh.read(size)
    if len(data) != size:
        raise _Fallback("EXIF IFD runs past the end of the file")
    return struct.unpack(byteorder + fmt * count, data)


def _exif_entries(fh, tag, byteorder) -> dict:
    """{code: (type, count, position of the value)} of the EXIF IFD (tifffile drops the types)."""
    if tag.dtype not in (_LONG, 13) or tag.count != 1:
        raise _Fallback("ExifIFD pointer is not one LONG")
    (offset,) = _unpack(fh, tag.offset + 8, byteorder, "I", 1)  # the entry's value field (classic TIFF)
    (n,) = _unpack(fh, offset, byteorder, "H", 1)
    if n > 512:
        raise _Fallback("EXIF IFD with over 512 entries")
    raw = _unpack(fh, offset + 2, byteorder, "HHII", n)
    entries = {}
    for i in range(n):
        code, typ, count, value = raw[4 * i:4 * i + 4]
        size = _TYPE_SIZE.get(typ, 1) * count
        where = offset + 2 + 12 * i + 8 if size <= 4 else value
        entries[code] = (typ, count, where)
    return entries


def _exif_real(fh, entry, byteorder) -> float:
    typ, count, where = entry
    if count < 1:
        raise _Fallback("empty EXIF value")
    if typ == _RATIONAL:
        num, den = _unpack(fh, where, byteorder, "I", 2)
    elif typ == _SRATIONAL:
        num, den = _unpack(fh, where, byteorder, "i", 2)
    else:
        raise _Fallback(f"EXIF ExposureTime of TIFF type {typ}")
    if den == 0:
        raise _Fallback("EXIF ExposureTime with a zero denominator")
    return num / den


# --------------------------------------------------------------------------------------------
# the pixels and the frame


def _read(path: Path, plan: dict, crop: bool) -> RawFrame:
    mosaic = _read_mosaic(path, plan)
    top, left, vis_h, vis_w = plan["area"]
    use_crop = crop and plan["crop"] is not None
    if (vis_h, vis_w) != mosaic.shape:
        mosaic = mosaic[top:top + vis_h, left:left + vis_w]
        if not use_crop:  # the crop below copies; otherwise copy the visible area once here
            mosaic = np.ascontiguousarray(mosaic)
    frame = RawFrame(
        mosaic=mosaic,
        pattern=plan["pattern"],
        black_level=plan["black"],
        white_level=plan["white"],
        wb=plan["wb"],
        xyz_to_camera=None if plan["matrix"] is None else plan["matrix"].copy(),  # the cached one stays as it is
        iso=plan["iso"] or None,
        exposure_time=plan["shutter"] or None,
        source=path,
        origin=(top, left),
        orientation=plan["orientation"],
        pixel_aspect=plan["pixel_aspect"],
    )
    frame.camera, frame.dng, iso, noise_profile = _dng_tags(path)
    frame.iso = frame.iso or iso
    if noise_profile is not None:
        frame.extra["noise_profile"] = noise_profile
    if frame.xyz_to_camera is None and frame.dng.color_matrix1 is not None:
        frame.xyz_to_camera = _d65_matrix(frame.dng)
    if use_crop:
        frame = default_crop(path, frame, *plan["crop"])
    return frame


def _read_mosaic(path: Path, plan: dict) -> np.ndarray:
    width, height, dtype = plan["width"], plan["height"], plan["dtype"]
    itemsize = np.dtype(dtype).itemsize
    size = plan["file_size"]
    out = np.empty((height, width), dtype=dtype)
    with open(path, "rb", buffering=0) as f:
        if "strips" in plan:
            start = plan["strips"]
            need = width * height * itemsize
            if start + need > size:
                raise InputError(f"{path}: truncated: the raw image needs bytes {start}..{start + need} "
                                 f"but the file ends at {size}")
            f.seek(start)
            if _read_into(f, out) != need:
                raise InputError(f"{path}: truncated: the raw image data ends early")
        elif plan["jpeg"]:
            dng_jpeg.decode_tiles(path, f, plan, size, out, plan["curve"])
            return out
        else:
            tw, tl, offsets, _ = plan["tiles"]
            across = -(-width // tw)
            tile = np.empty((tl, tw), dtype=dtype)
            for i, off in enumerate(offsets):
                trow, tcol = (i // across) * tl, (i % across) * tw
                rows, cols = min(tl, height - trow), min(tw, width - tcol)
                need = rows * tw * itemsize
                if off + need > size:
                    raise InputError(f"{path}: truncated: tile {i} needs bytes {off}..{off + need} "
                                     f"but the file ends at {size}")
                f.seek(off)
                if _read_into(f, tile[:rows]) != need:
                    raise InputError(f"{path}: truncated: tile {i} ends early")
                out[trow:trow + rows, tcol:tcol + cols] = tile[:rows, :cols]
    if plan["swap"]:
        out.byteswap(inplace=True)
    out = out if dtype == np.uint16 else out.astype(np.uint16)
    return out if plan["curve"] is None else plan["curve"][out]  # LibRaw's RAW(row, col) = curve[sample]


def _read_into(f, array: np.ndarray) -> int:
    """Fill a contiguous array from the file's position; the bytes read (fewer only at EOF)."""
    view = memoryview(array).cast("B")
    done = 0
    while done < len(view):
        n = f.readinto(view[done:])
        if not n:
            break
        done += n
    return done
