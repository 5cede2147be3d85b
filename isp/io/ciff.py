"""The camera that wrote a Canon CRW file, from its CIFF heap (rawpy does not expose LibRaw's make
and model, and a CRW is not a TIFF).

Canon, "CIFF Specification on Image Data File", v1.0 rev. 4 (1997): after a 2-byte byte order and a
4-byte header length comes "HEAPCCDR"; the root heap runs from the header to the end of the file.
A heap's last 4 bytes give the offset of its record table: a 2-byte count, then 10-byte records
(2-byte type, 4-byte size, 4-byte offset from the heap's start). Types 0x2800 and 0x3000 (bits
0x3800) are heaps nested in the heap; type 0x080A holds "Make\\0Model\\0".
"""
from __future__ import annotations

import struct

_MAKE_MODEL = 0x080A
_HEAP_KINDS = (0x2800, 0x3000)
_MAX_HEAPS = 64  # a CRW has a handful
_MAX_RECORDS = 256


def make_model(path) -> tuple[str, str]:
    """('Canon', 'Canon PowerShot G2') for a CRW; ('', '') if the file is not CIFF or names no camera."""
    with open(path, "rb") as f:
        head = f.read(14)
        if len(head) < 14 or head[6:14] != b"HEAPCCDR" or head[:2] not in (b"II", b"MM"):
            return "", ""
        data = head + f.read()
    order = "<" if data[:2] == b"II" else ">"
    start = struct.unpack(order + "I", data[2:6])[0]
    found = _find(data, order, start, len(data), set())
    make, _, rest = (found or b"").partition(b"\0")
    return make.decode("latin-1").strip(), rest.split(b"\0")[0].decode("latin-1").strip()


def _find(data: bytes, order: str, start: int, end: int, seen: set) -> bytes | None:
    """The make/model record's bytes in the heap [start, end), or None. A nested heap must lie
    in its parent's data, before the record table, and each heap is read once: a damaged or
    crafted file cannot send the search round in circles."""
    if len(seen) >= _MAX_HEAPS or (start, end) in seen or not 0 <= start < end - 6 or end > len(data):
        return None
    seen.add((start, end))
    table = start + struct.unpack(order + "I", data[end - 4:end])[0]
    if table + 2 > end - 4:
        return None
    count = min(struct.unpack(order + "H", data[table:table + 2])[0], _MAX_RECORDS)  # a CRW has dozens
    for k in range(count):
        at = table + 2 + 10 * k
        if at + 10 > end - 4:
            return None
        kind, size, offset = struct.unpack(order + "HII", data[at:at + 10])
        if kind & 0xC000 or start + offset + size > table:  # a value held in the record, or out of place
            continue
        if kind & 0x3FFF == _MAKE_MODEL:
            return data[start + offset:start + offset + size]
        if kind & 0x3800 in _HEAP_KINDS:
            found = _find(data, order, start + offset, start + offset + size, seen)
            if found:
                return found
    return None
