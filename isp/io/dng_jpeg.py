"""JPEG-compressed DNG raw data (Compression 7) decoded tile by tile in parallel, laid out as
LibRaw lays it out.

Two kinds of stream carry a CFA in DNG (Adobe DNG specification 1.6, "Compression"):
- lossless JPEG (ITU-T T.81 process 14, SOF3), as most cameras and converters write it: decoded
  by imagecodecs' `ljpeg_decode`, bit for bit what LibRaw's `lossless_dng_load_raw` decodes;
- extended-sequential DCT JPEG of 12-bit samples (SOF1), as Blackmagic cameras write their
  "3:1" and "4:1" CinemaDNG: decoded by libjpeg-turbo (imagecodecs' `jpeg8_decode`). LibRaw
  decodes these with dcraw's own floating-point IDCT (`ljpeg_idct`); the two IDCTs round
  differently, so ~4% of samples differ by one 12-bit code value (both within the accuracy the
  JPEG standard asks of an IDCT; the lossy coding's own error is far larger).

Layout (LibRaw's `lossless_dng_load_raw`): a tile's decoded samples fill it row by row, wrapping
at the tile width. SOF3 streams may code two or more pixels as the components of one sample;
SOF1 streams code two tile rows as one JPEG row of twice the tile's width, in 8x8 blocks. In both
cases that is the decoded array reshaped to (rows, tile width). A stream with another size, or a
DCT stream whose size is not a whole number of blocks (LibRaw skips partial blocks), is left to
LibRaw.

The tiles are independent JPEG streams; libjpeg-turbo and imagecodecs' LJ92 decoder release the
GIL, so they decode on all cores. A 4K Blackmagic frame (4 tiles): ~40 ms on 2 cores, LibRaw
~200 ms on one.
"""
from __future__ import annotations

import os
import struct
from concurrent.futures import ThreadPoolExecutor

import imagecodecs
import numpy as np

from isp.errors import InputError

_SOF = {0xC0: "dct", 0xC1: "dct", 0xC3: "lossless"}
_POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="isp-dng-jpeg")


def stream_kind(head: bytes, tile_shape: tuple[int, int]) -> str:
    """'lossless' or 'dct' if `head` (the first bytes of a tile's stream, through its scan header)
    is a JPEG stream that decodes here as LibRaw decodes it for a (rows, columns) tile; else
    ValueError saying why not. LibRaw reads DCT quantisation tables as 16-bit values (DQT
    precision 1, as Blackmagic writes them) and does not restart DCT scans, so other DCT streams
    are left to it, as are restart intervals in either kind."""
    if head[:2] != b"\xff\xd8":
        raise ValueError("a tile is not a JPEG stream")
    kind, i, precisions = None, 2, set()
    while True:
        if i + 4 > len(head) or head[i] != 0xFF:
            raise ValueError("a tile's JPEG header is damaged or too long")
        marker, (length,) = head[i + 1], struct.unpack(">H", head[i + 2:i + 4])
        segment = head[i + 4:i + 2 + length]
        if marker == 0xDA:
            break
        if marker == 0xDD:
            raise ValueError("a JPEG restart interval")
        if marker == 0xDB:
            j = 0
            while j < len(segment):
                precisions.add(segment[j] >> 4)
                j += 1 + 64 * (1 + (segment[j] >> 4))
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if marker not in _SOF or len(segment) < 6:
                raise ValueError(f"JPEG process SOF{marker - 0xC0}")
            kind = _SOF[marker]
            bits, high, wide, comps = struct.unpack(">BHHB", segment[:6])
        i += 2 + length
    if kind is None:
        raise ValueError("no JPEG frame header")
    rows, cols = tile_shape
    if kind == "lossless" and high * wide * comps != rows * cols:
        raise ValueError(f"a {wide}x{high}x{comps} lossless stream for a {cols}x{rows} tile")
    if kind == "dct" and (comps != 1 or wide != 2 * cols or 2 * high != rows or high % 8 or wide % 8):
        raise ValueError(f"a {wide}x{high}x{comps} DCT stream for a {cols}x{rows} tile")
    if kind == "dct" and precisions != {1}:
        raise ValueError("8-bit DCT quantisation tables (LibRaw reads them as 16-bit)")
    if not 2 <= bits <= 16:
        raise ValueError(f"{bits}-bit JPEG samples")
    return kind


def decode_tiles(path, f, plan: dict, size: int, out: np.ndarray, curve: np.ndarray | None) -> None:
    """Decode the JPEG tiles `plan` lists from the open file `f` (of `size` bytes) into `out`
    (height, width) uint16, in parallel, each sample mapped through `curve` (65536 entries) if
    given. InputError naming the file for a short or bad stream."""
    tw, tl, offsets, counts = plan["tiles"]
    height, width = out.shape
    across = -(-width // tw)
    decode = imagecodecs.ljpeg_decode if plan["jpeg"] == "lossless" else imagecodecs.jpeg8_decode

    def one(i, data):
        trow, tcol = (i // across) * tl, (i % across) * tw
        rows, cols = min(tl, height - trow), min(tw, width - tcol)
        try:
            tile = np.asarray(decode(data)).reshape(-1, tw)
        except Exception as e:  # imagecodecs' own error types, per codec
            raise InputError(f"{path}: tile {i} cannot be decoded ({' '.join(str(e).split())})") from None
        if tile.shape[0] < rows:
            raise InputError(f"{path}: tile {i} decodes to {tile.shape[0]} rows, not {rows}")
        tile = tile[:rows, :cols]
        out[trow:trow + rows, tcol:tcol + cols] = tile if curve is None else curve[tile]

    streams = []
    for i, (off, count) in enumerate(zip(offsets, counts)):
        if off + count > size:
            raise InputError(f"{path}: truncated: tile {i} needs bytes {off}..{off + count} but the file ends at {size}")
        f.seek(off)
        streams.append(f.read(count))
    for job in [_POOL.submit(one, i, data) for i, data in enumerate(streams)]:
        job.result()
