"""`isp.read`: one entry point for every raw source."""
from __future__ import annotations

from pathlib import Path

from isp.errors import InputError
from isp.frame import RawFrame
from isp.io.dng_reader import read_dng
from isp.io.dump import GEOMETRY_KEYS, read_dump, read_npy
from isp.io.libraw import read_libraw
from isp.io.sequence import CAMERA_SUFFIXES, DUMP_SUFFIXES


def read(path, *, crop: bool = True, frame_number: int | None = None, **geometry) -> RawFrame:
    """Read one raw frame.

    Camera raws (DNG, CR2, NEF, ARW, KDC, ...) go through LibRaw, except uncompressed Bayer DNGs,
    which `isp.io.dng_reader` reads directly into the same RawFrame; `.raw`/`.bin`/`.dump` files (and
    files of other suffixes when `geometry` is given, but never camera raws) are headerless sensor
    dumps described by `geometry` keywords (width, height, bits, pattern, byte_order, packing,
    stride, offset, black_level, white_level) or a `<file>.json` sidecar;
    `.npy` files are 2-D mosaics. `crop=False` keeps a DNG's whole visible area.
    """
    path = Path(path)
    unknown = sorted(set(geometry) - set(GEOMETRY_KEYS))
    if unknown:
        raise TypeError(f"read() got unknown keywords {', '.join(unknown)}")
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a raw file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file (a pipe or a device?)")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    try:
        frame = _read(path, crop, geometry)
    except (InputError, OSError):
        raise
    except Exception as e:  # a damaged or unexpected file: say which, with what the parser said
        raise InputError(f"{path}: cannot read this file ({type(e).__name__}: {' '.join(str(e).split())})") from e
    if frame_number is not None:
        frame.frame_number = frame_number
    return frame


def _read(path: Path, crop: bool, geometry: dict) -> RawFrame:
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return read_npy(path, **geometry)
    if suffix in DUMP_SUFFIXES or (suffix not in CAMERA_SUFFIXES and any(v is not None for v in geometry.values())):
        return read_dump(path, **geometry)
    if suffix == ".dng":
        return read_dng(path, crop=crop)
    return read_libraw(path, crop=crop)
