"""Uncompressed scanline OpenEXR files written in one parallel pass.

OpenEXR's own writer (the `OpenEXR` module) copies and converts a UHD RGB frame line by line at
~90 ms, as long as developing it; an uncompressed file is a fixed header, a table of line
offsets and the lines themselves ("OpenEXR File Layout", openexr.com), so here the lines are built
by one numba pass (`kernels.exr.scanlines`) and written with three writes. The files are byte for
byte those OpenEXR writes for the same image (the header's attributes in its order: channels,
compression, dataWindow, displayWindow, lineOrder, pixelAspectRatio, screenWindowCenter,
screenWindowWidth, type; channels sorted by name), which the tests check. Compressed EXRs are
OpenEXR's.
"""
from __future__ import annotations

import struct
import threading

import numpy as np

from kernels.exr import scanlines

_HALF, _FLOAT = 1, 2  # OpenEXR pixel types
_SCRATCH = threading.local()  # each writing thread's lines buffer, kept from frame to frame


def header(names: tuple[str, ...], width: int, height: int, pixel_type: int) -> bytes:
    """Magic number, version 2 (single-part scanline), and the attributes of an uncompressed image."""
    chlist = b"".join(n.encode() + b"\0" + struct.pack("<iB3xii", pixel_type, 0, 1, 1) for n in names) + b"\0"
    window = struct.pack("<4i", 0, 0, width - 1, height - 1)
    attributes = [("channels", "chlist", chlist), ("compression", "compression", b"\0"),
                  ("dataWindow", "box2i", window), ("displayWindow", "box2i", window), ("lineOrder", "lineOrder", b"\0"),
                  ("pixelAspectRatio", "float", struct.pack("<f", 1.0)),
                  ("screenWindowCenter", "v2f", struct.pack("<2f", 0.0, 0.0)),
                  ("screenWindowWidth", "float", struct.pack("<f", 1.0)), ("type", "string", b"scanlineimage")]
    body = b"".join(f"{name}\0{kind}\0".encode() + struct.pack("<i", len(value)) + value for name, kind, value in attributes)
    return b"v/1\x01" + struct.pack("<I", 2) + body + b"\0"


def write_uncompressed(path, image: np.ndarray, half: bool) -> None:
    """Write an (H, W, 3) RGB or (H, W) Y image as an uncompressed EXR of HALF or FLOAT samples."""
    src = np.ascontiguousarray(image, dtype=np.float32)
    names, order = (("B", "G", "R"), (2, 1, 0)) if src.ndim == 3 else (("Y",), (0,))
    src = src.reshape(src.shape[0], src.shape[1], -1)
    height, width, channels = src.shape
    words = channels * width * (1 if half else 2)
    lines = scanlines(src, np.array(order, np.int64), half, _lines((height, 4 + words)))
    head = header(names, width, height, _HALF if half else _FLOAT)
    first = len(head) + 8 * height
    offsets = first + lines.shape[1] * 2 * np.arange(height, dtype="<u8")
    with open(path, "wb") as f:
        f.write(head)
        f.write(offsets.tobytes())
        f.write(memoryview(lines).cast("B"))


def _lines(shape: tuple[int, int]) -> np.ndarray:
    """A uint16 buffer of `shape`, the thread's own, reused: a fresh 50 MB array costs ~70 ms of
    page faults here before the first byte is written, more than building the lines."""
    size = shape[0] * shape[1]
    buffer = getattr(_SCRATCH, "buffer", None)
    if buffer is None or buffer.size < size:
        buffer = _SCRATCH.buffer = np.empty(size, np.uint16)
    return buffer[:size].reshape(shape)
