"""Frame sequences: `shot.####.dng`, `shot.%04d.dng`, a directory, or a list of files.

`####` stands for a zero-padded frame number as wide as the run of hashes; `%04d` is the
printf form of the same. A frame range (`1001-1100`) names the frames expected; the ones not on
disk are reported as missing rather than skipped in silence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from isp.errors import InputError

MAX_FRAMES = 1_000_000  # frames a run may span: more is a typo (1-100000000) or a stray file (s.20240115.dng)
_HASHES = re.compile(r"#+")
_PRINTF = re.compile(r"%0?(\d*)d")
# Camera raws carry their own geometry; dumps (and .npy mosaics) are described by flags or a sidecar.
CAMERA_SUFFIXES = {".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf", ".rw2",
                   ".raf", ".pef", ".kdc", ".dcr", ".k25", ".mos", ".3fr", ".fff", ".iiq", ".rwl", ".srw",
                   ".x3f", ".erf", ".mef", ".mrw"}
DUMP_SUFFIXES = {".raw", ".bin", ".dump"}
RAW_SUFFIXES = CAMERA_SUFFIXES | DUMP_SUFFIXES | {".npy"}


@dataclass
class Sequence:
    """The frames of a sequence in order, as (frame number, path), and the numbers not found."""

    frames: list[tuple[int | None, Path]]
    missing: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frames)


def is_pattern(spec) -> bool:
    """True when the file name (not a folder) holds #### or %04d: a numbered sequence."""
    name = Path(spec).name
    return bool(_HASHES.search(name) or _PRINTF.search(name))


def parse_frames(text: str) -> list[int]:
    """'1001-1100' or '1,3,5-7' as a sorted list of frame numbers."""
    numbers: set[int] = set()
    for part in str(text).split(","):
        m = re.fullmatch(r"\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?", part)
        if not m:
            raise InputError(f"--frames: cannot read {part.strip()!r}; use a range like 1001-1100 or a list like 1,3,5-7")
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) is not None else a
        if b < a:
            raise InputError(f"--frames: range {a}-{b} ends before it starts")
        if b - a + 1 > MAX_FRAMES:
            raise InputError(f"--frames: {text} asks for more than {MAX_FRAMES} frames")
        numbers.update(range(a, b + 1))
        if len(numbers) > MAX_FRAMES:
            raise InputError(f"--frames: {text} asks for more than {MAX_FRAMES} frames")
    return sorted(numbers)


def frame_path(template, number: int) -> Path:
    """The path of frame `number` in a `####` or `%04d` template (in its file name)."""
    template = Path(template)
    name = template.name
    if _HASHES.search(name):
        return template.with_name(_HASHES.sub(lambda m: f"{number:0{len(m.group())}d}", name, count=1))
    if _PRINTF.search(name):
        return template.with_name(_PRINTF.sub(lambda m: f"{number:0{m.group(1) or 0}d}", name, count=1))
    raise InputError(f"{template}: not a sequence pattern (use #### or %04d in the file name for the frame number)")


def _template_regex(template: Path) -> re.Pattern:
    name = template.name
    for rx in (_HASHES, _PRINTF):
        m = rx.search(name)
        if m:
            width = len(m.group()) if rx is _HASHES else int(m.group(1) or 1)
            return re.compile(re.escape(name[: m.start()]) + rf"(-?\d{{{width},}})" + re.escape(name[m.end():]) + r"\Z")
    raise InputError(f"{template}: not a sequence pattern")


def expand(spec, frames: list[int] | None = None) -> Sequence:
    """The frames that `spec` names: a pattern, a directory, one file, or a list of any of these
    (or an expanded Sequence, returned as it is)."""
    if isinstance(spec, Sequence):
        return spec
    if isinstance(spec, (list, tuple)):
        if len(spec) == 1:
            return expand(spec[0], frames)
        if frames is not None:
            raise InputError("--frames picks frames of a sequence (shot.####.dng or a folder), not of a list of files")
        items = [(None, Path(p)) for p in spec]
        missing_files = [str(p) for _, p in items if not p.exists()]
        if missing_files:
            raise InputError(f"no such file: {', '.join(missing_files)}")
        return Sequence(items)
    path = Path(spec)
    if is_pattern(path) and not path.exists():  # a file or folder whose name really holds a '#' is itself
        return _expand_pattern(path, frames)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in RAW_SUFFIXES)
        if not files:
            raise InputError(f"{path}: no raw files in this directory")
        items = [(_trailing_number(p), p) for p in files]
        if frames is None:
            return Sequence(items)
        wanted = set(frames)
        present = [(n, p) for n, p in items if n in wanted]
        if not present:
            raise InputError(f"{path}: none of the {len(frames)} requested frames is in this directory")
        found = {n for n, _ in present}
        return Sequence(present, [n for n in frames if n not in found])
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if frames is not None:
        raise InputError(f"{path}: --frames picks frames of a sequence (shot.####.dng or a folder), not of one file")
    return Sequence([(_trailing_number(path), path)])


def _expand_pattern(template: Path, frames: list[int] | None) -> Sequence:
    folder = template.parent
    if not folder.is_dir():
        raise InputError(f"{folder}: no such directory")
    rx = _template_regex(template)
    found: dict[int, Path] = {}
    for p in sorted(folder.iterdir()):
        m = rx.match(p.name)
        if m:
            n = int(m.group(1))
            if n in found:
                raise InputError(f"{template}: frame {n} is both {found[n].name} and {p.name}")
            found[n] = p
    if frames is None:
        if not found:
            raise InputError(f"{template}: no files match this pattern")
        lo, hi = min(found), max(found)
        if hi - lo + 1 > MAX_FRAMES:
            raise InputError(f"{template}: the files run from frame {lo} ({found[lo].name}) to {hi} ({found[hi].name}), "
                             f"more than {MAX_FRAMES} frames; pick them with --frames")
        frames = list(range(lo, hi + 1))
    present = [(n, found[n]) for n in frames if n in found]
    missing = [n for n in frames if n not in found]
    if not present:
        raise InputError(f"{template}: none of the {len(frames)} requested frames exist")
    return Sequence(present, missing)


def _trailing_number(path: Path) -> int | None:
    m = re.search(r"(\d+)\D*$", path.stem)
    return int(m.group(1)) if m else None
