"""Camera raws through LibRaw (rawpy): DNG, CRW/CR2/CR3, NEF, ARW, KDC and the rest.

The delivered frame is LibRaw's visible area, cut to the DNG DefaultCrop for DNG files; the CFA
pattern, black levels and origin are those of that frame. DNG colour tags LibRaw leaves empty
are read from the file with tifffile (DNG spec 1.6, chapter 6).
"""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import numpy as np
import rawpy
import tifffile

from isp.errors import InputError
from isp.frame import DngColour, RawFrame
from isp.io import ciff
from isp.io.quiet import quiet
from isp.orientation import EXIF_FROM_LIBRAW_FLIP
from kernels import cfa

_COLOUR_LETTERS = {"R": "R", "G": "G", "B": "B"}


def read_libraw(path: Path, crop: bool = True) -> RawFrame:
    """Read a camera raw file; `crop=False` keeps the whole visible area of a DNG."""
    camera = check_complete(path) or camera_name(*ciff.make_model(path))
    with quiet():
        try:
            raw = rawpy.imread(str(path))
            raw.raw_image  # noqa: B018  (unpacks: decoding errors surface here)
        except rawpy.LibRawFileUnsupportedError:
            raise InputError(f"{path}: not a raw file LibRaw can read (unsupported format or corrupt)") from None
        except rawpy.LibRawError as e:
            raise InputError(f"{path}: cannot read raw data ({_libraw_message(e)}): a truncated raw, or not a raw file") from None
    with raw:
        if raw.raw_type != rawpy.RawType.Flat or raw.raw_pattern is None:
            raise InputError(f"{path}: not a Bayer mosaic: LibRaw reads {raw.raw_image.shape[-1] if raw.raw_image.ndim == 3 else 'several'}"
                             " values per pixel (a linear RGB scan, a Foveon or a demosaiced file)")
        pattern = _pattern(raw, path)
        sizes = raw.sizes
        mosaic = raw.raw_image_visible
        colour_of = raw.raw_pattern
        black = np.array(raw.black_level_per_channel, dtype=np.float32)[colour_of]
        top, left = sizes.top_margin, sizes.left_margin
        frame = RawFrame(
            mosaic=np.array(mosaic, dtype=np.uint16, copy=True),  # LibRaw frees its buffer on close
            pattern=pattern,
            black_level=black,
            white_level=_white_level(raw),
            wb=_as_shot_wb(raw.camera_whitebalance, raw.color_desc),
            xyz_to_camera=_nonzero(np.array(raw.rgb_xyz_matrix[:3], dtype=np.float64)),
            iso=raw.other.iso_speed or None,
            exposure_time=raw.other.shutter_speed or None,
            camera=camera,
            source=Path(path),
            origin=(top, left),
            orientation=EXIF_FROM_LIBRAW_FLIP.get(sizes.flip, 1),
            pixel_aspect=sizes.pixel_aspect or 1.0,
        )
        crop_box = (sizes.crop_top_margin, sizes.crop_left_margin, sizes.crop_height, sizes.crop_width)
    if Path(path).suffix.lower() == ".dng":
        frame.camera, frame.dng, iso, noise_profile = _dng_tags(path)
        frame.iso = frame.iso or iso
        if noise_profile is not None:
            frame.extra["noise_profile"] = noise_profile
        if frame.xyz_to_camera is None and frame.dng.color_matrix1 is not None:
            frame.xyz_to_camera = _d65_matrix(frame.dng)
        if crop and crop_box[2] > 0 and crop_box[3] > 0:
            ct, cl, ch, cw = crop_box
            frame = default_crop(path, frame, ct - top, cl - left, ch, cw)
    return frame


def default_crop(path, frame: RawFrame, top: int, left: int, height: int, width: int) -> RawFrame:
    """The frame cut to the DNG's DefaultCrop (relative to the frame); InputError if it does not fit."""
    try:
        return frame.crop(top, left, height, width)
    except ValueError:
        raise InputError(f"{path}: DefaultCrop ({width}x{height} at {left},{top} of the active area) "
                         f"reaches outside the {frame.width}x{frame.height} image") from None


def _pattern(raw, path) -> str:
    desc = raw.color_desc.decode()
    pattern = "".join(desc[i] if 0 <= i < len(desc) else "?" for i in raw.raw_pattern.flatten())
    if raw.raw_pattern.shape != (2, 2) or pattern not in cfa.PATTERNS:
        raise InputError(f"{path}: CFA is not a 2x2 Bayer pattern ({raw.raw_pattern.shape}, colours {desc}, "
                         f"layout {pattern}); X-Trans and other layouts are not supported")
    return pattern


def _white_level(raw) -> float:
    per_channel = raw.camera_white_level_per_channel
    return float(max(per_channel)) if per_channel else float(raw.white_level)


def _as_shot_wb(camera_wb, color_desc: bytes) -> tuple[float, float, float] | None:
    """LibRaw's as-shot multipliers (in colour_desc order) as (R, G, B) with G = 1; None if unset."""
    desc = color_desc.decode()
    values = {}
    for letter, v in zip(desc, camera_wb):
        if letter in _COLOUR_LETTERS and v > 0:
            values.setdefault(letter, float(v))
    if set(values) != {"R", "G", "B"}:
        return None
    g = values["G"]
    return (values["R"] / g, 1.0, values["B"] / g)


def _nonzero(m: np.ndarray) -> np.ndarray | None:
    return m if np.any(m) else None


def _rational_matrix(tag, shape=(3, 3)) -> np.ndarray | None:
    if tag is None:
        return None
    v = np.array(tag.value, dtype=np.float64)
    if tag.dtype in (5, 10):  # RATIONAL / SRATIONAL: flat numerator, denominator pairs
        v = v[0::2] / v[1::2]
    n = int(np.prod(shape))
    if v.size < n:
        raise ValueError(f"tag {tag.name} has {v.size} values, expected {n}")
    return v[:n].reshape(shape)


def _dng_tags(path) -> tuple[str, DngColour, float | None, np.ndarray | None]:
    """UniqueCameraModel, the colour tags, the ISO (EXIF ISOSpeedRatings) and the NoiseProfile
    ((S, O) pairs: variance = S * x + O for x in [0, 1]) of a DNG's first IFD."""
    try:
        with quiet_tifffile(), tifffile.TiffFile(path) as tif:
            tags = tif.pages[0].tags
            get = tags.get
            illuminant = lambda code: int(get(code).value) if get(code) else None  # noqa: E731
            model = get(50708)
            colour = DngColour(
                color_matrix1=_rational_matrix(get(50721)),
                color_matrix2=_rational_matrix(get(50722)),
                forward_matrix1=_rational_matrix(get(50964)),
                forward_matrix2=_rational_matrix(get(50965)),
                camera_calibration1=_rational_matrix(get(50723)),
                camera_calibration2=_rational_matrix(get(50724)),
                calibration_illuminant1=illuminant(50778),
                calibration_illuminant2=illuminant(50779),
                as_shot_neutral=_rational_matrix(get(50728), (3,)),
            )
            iso = get(34855).value if get(34855) else None
            if iso is None and get(34665) and isinstance(get(34665).value, dict):  # the EXIF IFD
                iso = get(34665).value.get("ISOSpeedRatings")
            iso_value = float(np.ravel(iso)[0]) if iso is not None else None
            profile = np.array(get(51041).value, dtype=np.float64).reshape(-1, 2) if get(51041) else None
            return (str(model.value).strip("\x00 ") if model else ""), colour, iso_value, profile
    except (tifffile.TiffFileError, ValueError, KeyError, IndexError) as e:
        raise InputError(f"{path}: malformed DNG tags ({e})") from None


def _d65_matrix(dng: DngColour) -> np.ndarray:
    """The ColorMatrix calibrated nearest D65 (illuminants 21 D65, 20 D55, 23 D50...), else the first."""
    for matrix, illuminant in ((dng.color_matrix2, dng.calibration_illuminant2), (dng.color_matrix1, dng.calibration_illuminant1)):
        if matrix is not None and illuminant == 21:
            return matrix
    return dng.color_matrix2 if dng.color_matrix2 is not None else dng.color_matrix1


def _libraw_message(e: Exception) -> str:
    msg = e.args[0] if e.args else e
    return msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)


def check_complete(path: Path) -> str:
    """InputError if a TIFF-based raw (DNG, NEF, CR2, ...) is cut short: its image strips or tiles
    run past the end of the file. LibRaw decodes the missing part of such a file as black and
    reports nothing. Files tifffile cannot parse are left to LibRaw to judge. Returns the camera
    its first IFD names: the Model, after the Make unless the model names it; "" for none."""
    size = Path(path).stat().st_size
    try:
        with quiet_tifffile(), tifffile.TiffFile(path) as tif:
            pages = [p for page in tif.pages for p in [page, *(page.pages or [])]]
            end = max((o + n for p in pages for o, n in zip(p.dataoffsets, p.databytecounts)), default=0)
            make, model = (str(getattr(tif.pages[0].tags.get(code), "value", "") or "").strip("\x00 ")
                           for code in (271, 272))
    except Exception:  # not a TIFF (CRW, ...) or too damaged to parse: LibRaw decides
        return ""
    if end > size:
        raise InputError(f"{path}: truncated: its image data runs to byte {end}, but the file has {size} bytes")
    return camera_name(make, model)


def camera_name(make: str, model: str) -> str:
    """The Model, after the Make unless the model names it: 'Canon PowerShot G2', 'Kodak DC120'."""
    named = any(len(word) > 2 and word in model.lower().split() for word in make.lower().split())
    return model if named else f"{make} {model}".strip()


@contextlib.contextmanager
def quiet_tifffile():
    """tifffile logs a warning line for each damaged tag it skips; the error a user sees is ours."""
    logger = logging.getLogger("tifffile")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
