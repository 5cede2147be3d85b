"""Headerless sensor dumps and .npy mosaics.

A dump's geometry comes from keyword arguments or a JSON sidecar beside it (`frame.raw.json`):
`width`, `height`, `bits`, `pattern`, and optionally `byte_order` ("little"/"big", for unpacked
data), `packing` ("none" or "mipi": MIPI CSI-2 RAW10/12/14), `stride` (bytes per row, for padded
lines), `offset` (header bytes to skip), `black_level`, `white_level`. Keyword arguments win.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from isp.errors import InputError
from isp.frame import RawFrame
from kernels import cfa, packing

GEOMETRY_KEYS = ("width", "height", "bits", "pattern", "byte_order", "packing", "stride", "offset",
                 "black_level", "white_level")


def sidecar(path: Path) -> dict:
    """The JSON sidecar of a dump (`<file>.json`), {} when there is none."""
    side = Path(f"{path}.json")
    if not side.exists():
        return {}
    try:
        meta = json.loads(side.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{side}: not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{side}: expected a JSON object of geometry keys")
    unknown = sorted(set(meta) - set(GEOMETRY_KEYS) - {"frame_number", "camera"})
    if unknown:
        raise InputError(f"{side}: unknown keys {', '.join(unknown)}; allowed: {', '.join(GEOMETRY_KEYS)}")
    return meta


def read_dump(path: Path, **geometry) -> RawFrame:
    """Read a headerless dump: unpacked 16-bit little/big-endian, or MIPI-packed RAW10/12/14."""
    g = {**sidecar(path), **{k: v for k, v in geometry.items() if v is not None}}
    missing = [k for k in ("width", "height", "bits", "pattern") if k not in g]
    if missing:
        raise InputError(f"{path}: a headerless dump needs {', '.join(missing)} (flags or a {path.name}.json sidecar)")
    width, height, bits = (_int(g, k, path) for k in ("width", "height", "bits"))
    pattern = _pattern(g["pattern"], path)
    if not 8 <= bits <= 16:
        raise InputError(f"{path}: bit depth {bits} is outside 8..16")
    if width <= 0 or height <= 0:
        raise InputError(f"{path}: width and height must be positive, got {width}x{height}")
    pack = str(g.get("packing", "none")).lower()
    order = str(g.get("byte_order", "little")).lower()
    offset = _int(g, "offset", path)
    if offset < 0 or _int(g, "stride", path) < 0:
        raise InputError(f"{path}: offset and stride are byte counts >= 0, got {offset} and {g.get('stride')}")
    data = np.fromfile(path, dtype=np.uint8)[offset:]
    if pack == "mipi" and bits != 16:
        try:
            row = packing.row_bytes(width, bits)
        except ValueError as e:
            raise InputError(f"{path}: {e}") from None
        stride = _int(g, "stride", path) or row
        if stride < row:
            raise InputError(f"{path}: stride {stride} is shorter than a packed row ({row} bytes)")
        _check_size(path, data.size, stride * height, f"{width}x{height} RAW{bits} MIPI-packed, {stride} bytes a row")
        mosaic = packing.unpack(data, height, width, bits, stride)
    elif pack in ("none", "mipi"):
        if order not in ("little", "big"):
            raise InputError(f"{path}: byte_order must be 'little' or 'big', not {order!r}")
        stride = _int(g, "stride", path) or 2 * width
        if stride < 2 * width:
            raise InputError(f"{path}: stride {stride} is shorter than a row of {width} 16-bit samples ({2 * width} bytes)")
        _check_size(path, data.size, stride * height, f"{width}x{height} unpacked 16-bit")
        rows = data[: stride * height].reshape(height, stride)[:, : 2 * width]
        mosaic = np.ascontiguousarray(rows).view("<u2" if order == "little" else ">u2").astype(np.uint16)
    else:
        raise InputError(f"{path}: packing must be 'none' or 'mipi', not {pack!r}")
    if mosaic.max(initial=0) >= 1 << bits:
        raise InputError(f"{path}: values up to {mosaic.max()} do not fit {bits} bits (wrong bit depth or byte order?)")
    return _frame(path, mosaic=mosaic, pattern=pattern, black_level=g.get("black_level", 0),
                  white_level=g.get("white_level", (1 << bits) - 1), camera=str(g.get("camera", "")),
                  frame_number=g.get("frame_number"))


def read_npy(path: Path, **geometry) -> RawFrame:
    """Read a 2-D .npy mosaic: integers as stored, or floats in [0, 1] (quantised to 16 bits)."""
    g = {**sidecar(path), **{k: v for k, v in geometry.items() if v is not None}}
    if "pattern" not in g:
        raise InputError(f"{path}: a .npy mosaic needs its CFA pattern (flag or a {path.name}.json sidecar)")
    try:
        a = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise InputError(f"{path}: not a readable .npy file ({e})") from None
    if a.ndim != 2:
        raise InputError(f"{path}: a mosaic is 2-D, this array is {a.shape}")
    if a.size == 0:
        raise InputError(f"{path}: the mosaic is empty ({a.shape[1]}x{a.shape[0]})")
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise InputError(f"{path}: the mosaic contains NaN or infinite values")
        a = np.round(np.clip(a, 0.0, 1.0) * 65535.0)
        white = 65535
    elif np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_:
        if a.min() < 0 or a.max() > 65535:
            raise InputError(f"{path}: values from {a.min()} to {a.max()} do not fit 16 bits (0..65535)")
        white = g.get("white_level", (1 << int(g.get("bits", 16))) - 1)
    else:
        raise InputError(f"{path}: a mosaic holds integers or floats, not {a.dtype}")
    return _frame(path, mosaic=a.astype(np.uint16), pattern=_pattern(g["pattern"], path),
                  black_level=g.get("black_level", 0), white_level=white, frame_number=g.get("frame_number"))


def _frame(path: Path, **fields) -> RawFrame:
    """The RawFrame, or a one-line error naming the file when its levels do not make sense."""
    try:
        return RawFrame(source=path, **fields)
    except (ValueError, TypeError) as e:
        raise InputError(f"{path}: {e}") from None


def _int(g: dict, key: str, path: Path) -> int:
    """g[key] (0 when absent) as an int, or a one-line error naming the key."""
    v = g.get(key, 0)
    try:
        if isinstance(v, bool) or float(v) != int(float(v)):
            raise ValueError
        return int(float(v))
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{path}: {key} must be a whole number, got {v!r} (flag or {path.name}.json)") from None


def _pattern(pattern: str, path: Path) -> str:
    try:
        return cfa.check_pattern(pattern)
    except ValueError as e:
        raise InputError(f"{path}: {e}") from None


def _check_size(path: Path, actual: int, expected: int, what: str) -> None:
    if actual != expected:
        raise InputError(f"{path}: {actual} bytes of data, but {what} needs {expected}")
