"""Raw frame writers: DNG (tifffile), .npy mosaics and headerless .raw dumps with a JSON sidecar.

`write_frame(path, frame)` picks the format by extension. Every file is written atomically:
to a temporary file in the same folder, then `os.replace`d over the target.

The DNG is a single IFD holding the uncompressed 16-bit CFA image (PhotometricInterpretation
32803) with the DNG 1.4 tags LibRaw needs to develop it: CFARepeatPatternDim, CFAPattern,
BlackLevelRepeatDim / BlackLevel (per CFA site), WhiteLevel, ColorMatrix1 with
CalibrationIlluminant1, AsShotNeutral and UniqueCameraModel.

The .raw dump is little-endian unpacked uint16, row-major, and its sidecar (`<path>.json`) is

    {"width", "height", "bits", "pattern", "byte_order": "little", "packing": "none",
     "black_level", "white_level"}

which is what the sensor-dump reader takes. A .npy mosaic gets the same sidecar.
"""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np

from isp.errors import InputError
from isp.frame import RawFrame
from isp.io.writers import atomic_path

_CFA_CODE = {"R": 0, "G": 1, "B": 2}

MIN_DNG_SIZE = 22  # LibRaw refuses raw images narrower or shorter than this

# TIFF field types
_BYTE, _ASCII, _SHORT, _LONG, _RATIONAL, _SRATIONAL, _DOUBLE = 1, 2, 3, 4, 5, 10, 12


def _rationals(values, signed=False, denominator=10000):
    """TIFF (S)RATIONAL values as the flat list of numerator, denominator ints tifffile takes."""
    out = []
    for v in np.asarray(values, dtype=np.float64).ravel():
        f = Fraction(float(v)).limit_denominator(denominator)
        num, den = f.numerator, f.denominator
        limit = 2 ** 31 - 1 if signed else 2 ** 32 - 1
        if abs(num) > limit:
            raise InputError(f"value {v} does not fit a TIFF rational")
        out += [num, den]
    return out


def _check_frame(frame: RawFrame):
    m = frame.mosaic
    if m.dtype != np.uint16:
        raise InputError(f"a raw frame's mosaic must be uint16, got {m.dtype}")
    if frame.white_level > 65535:
        raise InputError(f"white level {frame.white_level:g} does not fit 16 bits")


def _bits(frame: RawFrame) -> int:
    bits = frame.extra.get("bits")
    if bits is None:
        bits = max(1, int(np.ceil(np.log2(frame.white_level + 1))))
    return int(bits)


def dng_tags(frame: RawFrame) -> list[tuple]:
    """The DNG tags of `frame` as tifffile extratags (code, type, count, value, writeonce)."""
    black = np.asarray(frame.black_level, dtype=np.float64).reshape(2, 2)
    if np.all(black == np.round(black)):
        black_tag = (50714, _LONG, 4, [int(v) for v in black.ravel()], True)
    else:
        black_tag = (50714, _RATIONAL, 4, _rationals(black), True)
    white = int(round(frame.white_level))
    tags = [
        (50706, _BYTE, 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, _BYTE, 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (271, _ASCII, 0, "isp", True),  # Make
        (272, _ASCII, 0, frame.camera or "isp synthetic", True),  # Model
        (274, _SHORT, 1, int(frame.orientation), True),  # Orientation
        (50708, _ASCII, 0, frame.camera or "isp synthetic", True),  # UniqueCameraModel
        (33421, _SHORT, 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, _BYTE, 4, tuple(_CFA_CODE[c] for c in frame.pattern), True),  # CFAPattern
        (50710, _BYTE, 3, (0, 1, 2), True),  # CFAPlaneColor
        (50711, _SHORT, 1, 1, True),  # CFALayout: rectangular
        (50713, _SHORT, 2, (2, 2), True),  # BlackLevelRepeatDim
        black_tag,  # BlackLevel
        (50717, _LONG, 1, white, True),  # WhiteLevel
    ]
    matrix = frame.xyz_to_camera
    illuminant = 21
    neutral = None
    if frame.dng is not None:
        if frame.dng.color_matrix1 is not None:
            matrix = frame.dng.color_matrix1
            illuminant = frame.dng.calibration_illuminant1 or illuminant
        neutral = frame.dng.as_shot_neutral
    if matrix is not None:
        tags.append((50721, _SRATIONAL, 9, _rationals(matrix, signed=True, denominator=1000000), True))
        tags.append((50778, _SHORT, 1, int(illuminant), True))  # CalibrationIlluminant1
    if neutral is None and frame.wb is not None:
        neutral = 1.0 / np.asarray(frame.wb, dtype=np.float64)
    if neutral is not None:
        tags.append((50728, _RATIONAL, 3, _rationals(np.asarray(neutral) / np.max(neutral), denominator=1000000), True))
    if frame.pixel_aspect != 1:  # DefaultScale: horizontal, vertical
        tags.append((50718, _RATIONAL, 2, _rationals([frame.pixel_aspect, 1.0], denominator=100000), True))
    noise = frame.extra.get("noise")
    if isinstance(noise, dict) and "a" in noise and "b" in noise:  # NoiseProfile: variance = S*x + O
        tags.append((51041, _DOUBLE, 2, (float(noise["a"]), float(noise["b"])), True))
    if frame.iso:
        tags.append((34855, _SHORT, 1, int(round(frame.iso)), True))  # ISOSpeedRatings
    if frame.exposure_time:
        tags.append((33434, _RATIONAL, 1, _rationals([frame.exposure_time], denominator=100000), True))
    return tags


def write_dng(path, frame: RawFrame) -> Path:
    """Write `frame` as an uncompressed 16-bit CFA DNG that LibRaw (rawpy) reads back exactly."""
    import tifffile

    _check_frame(frame)
    if min(frame.mosaic.shape) < MIN_DNG_SIZE:
        raise InputError(f"{path}: a {frame.width}x{frame.height} DNG is too small for LibRaw, "
                         f"which refuses raws under {MIN_DNG_SIZE}x{MIN_DNG_SIZE}")
    path = Path(path)
    with atomic_path(path) as tmp:
        with tifffile.TiffWriter(tmp, bigtiff=False, byteorder="<") as tif:
            tif.write(
                np.ascontiguousarray(frame.mosaic),
                photometric="CFA",
                compression=None,
                planarconfig=None,
                subfiletype=0,
                metadata=None,
                software="isp",
                extratags=dng_tags(frame),
            )
    return path


def sidecar(frame: RawFrame) -> dict:
    """The JSON sidecar of a .raw / .npy dump."""
    black = np.asarray(frame.black_level, dtype=np.float64)
    if np.all(black == black.flat[0]):
        bl = black.flat[0]
        black_level = int(bl) if bl == int(bl) else float(bl)
    else:
        black_level = black.tolist()
    white = frame.white_level
    return {
        "width": frame.width,
        "height": frame.height,
        "bits": _bits(frame),
        "pattern": frame.pattern,
        "byte_order": "little",
        "packing": "none",
        "black_level": black_level,
        "white_level": int(white) if white == int(white) else float(white),
        **({"camera": frame.camera} if frame.camera else {}),
        **({"frame_number": frame.frame_number} if frame.frame_number is not None else {}),
    }


def _write_sidecar(path: Path, frame: RawFrame) -> Path:
    side = Path(str(path) + ".json")
    with atomic_path(side) as tmp:
        tmp.write_text(json.dumps(sidecar(frame), indent=2) + "\n")
    return side


def write_raw(path, frame: RawFrame) -> list[Path]:
    """Write the mosaic as headerless little-endian uint16 plus `<path>.json`; returns both paths."""
    _check_frame(frame)
    path = Path(path)
    with atomic_path(path) as tmp:
        np.ascontiguousarray(frame.mosaic, dtype="<u2").tofile(tmp)
    return [path, _write_sidecar(path, frame)]


def write_npy(path, frame: RawFrame) -> list[Path]:
    """Write the mosaic as a .npy array (uint16, H x W) plus `<path>.json`; returns both paths."""
    _check_frame(frame)
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:  # a file object: np.save would append .npy to a name
            np.save(f, np.ascontiguousarray(frame.mosaic))
    return [path, _write_sidecar(path, frame)]


WRITERS = {".dng": lambda p, f: [write_dng(p, f)], ".raw": write_raw, ".npy": write_npy}


def write_frame(path, frame: RawFrame) -> list[Path]:
    """Write a RawFrame by extension (.dng, .raw, .npy); returns every path written."""
    path = Path(path)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise InputError(f"{path}: cannot write raw frames as {path.suffix or 'no extension'!r}; "
                         f"use one of {', '.join(WRITERS)}")
    if not path.parent.is_dir():
        raise InputError(f"{path}: the folder {path.parent} does not exist")
    return writer(path, frame)
