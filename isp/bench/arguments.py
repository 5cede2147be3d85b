"""`isp bench`'s arguments, checked before the minutes of measuring start: sizes, frame rates,
output paths."""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

from isp.errors import InputError

SIZES = {"1080p": (1080, 1920), "uhd": (2160, 3840), "dci4k": (2160, 4096), "8k": (4320, 7680)}
DEFAULT_FPS = (23.976, 24.0, 25.0, 30.0, 50.0, 60.0)
MIN_SIDE = 16


def parse_size(text: str) -> tuple[int, int]:
    """'uhd', '1080p', 'dci4k', '8k' (or a size isp.synth knows) or 'WIDTHxHEIGHT' -> (height, width)."""
    from isp import synth

    t = str(text).strip().lower()
    names = {**synth.SIZES, **SIZES}
    if t in names:
        return names[t]
    if "x" not in t:
        raise InputError(f"--size: unknown size {text!r}; expected one of {', '.join(SIZES)} or WIDTHxHEIGHT")
    try:
        h, w = synth.parse_size(t)
    except InputError:
        raise InputError(f"--size: cannot read {text!r}; expected one of {', '.join(SIZES)} or WIDTHxHEIGHT") from None
    if h < MIN_SIDE or w < MIN_SIDE or h % 2 or w % 2:
        raise InputError(f"--size: {text!r}; width and height must be even and at least {MIN_SIDE}")
    return h, w


def parse_fps(text) -> list[float]:
    """'23.976,24,30' -> [23.976, 24.0, 30.0]: positive, finite, duplicates dropped, order kept."""
    if isinstance(text, (list, tuple)):
        items = [str(v) for v in text]
    else:
        items = [p.strip() for p in str(text).split(",")]
    out: list[float] = []
    for item in items:
        try:
            v = float(item)
        except ValueError:
            raise InputError(f"--fps: cannot read {item!r} as a frame rate; expected a list like 23.976,24,30") from None
        if not math.isfinite(v) or v <= 0:
            raise InputError(f"--fps: frame rates must be positive, got {item!r}")
        if v not in out:
            out.append(v)
    if not out:
        raise InputError("--fps: no frame rates given")
    return out


def check_output_path(path, flag: str, suffixes: tuple[str, ...] | None = None) -> Path:
    """Fail now, not after minutes of measuring, if `path` cannot be written."""
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise InputError(f"{flag}: {p}: expected a {' or '.join(suffixes)} file")
    if p.is_dir():
        raise InputError(f"{flag}: {p}: is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{flag}: {parent}: no such directory")
    try:  # os.access says yes to root on read-only mounts; try it
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".isp-bench-check-"):
            pass
    except OSError as e:
        raise InputError(f"{flag}: {parent}: cannot write here ({e.strerror})") from None
    if p.exists() and not os.access(p, os.W_OK):
        raise InputError(f"{flag}: {p}: not writable")
    return p

