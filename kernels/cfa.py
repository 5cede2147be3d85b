"""Bayer CFA patterns: names, channel layouts and the effect of crops and flips."""
import numpy as np

PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")
_CHANNEL = {"R": 0, "G": 1, "B": 2}


def check_pattern(pattern: str) -> str:
    """Return `pattern` upper-cased, or raise ValueError naming the allowed ones."""
    p = str(pattern).upper()
    if p not in PATTERNS:
        raise ValueError(f"unknown CFA pattern {pattern!r}; expected one of {', '.join(PATTERNS)}")
    return p


def channels(pattern: str) -> np.ndarray:
    """(2, 2) int64 array of channel indices (R=0, G=1, B=2) for the pattern's top-left block."""
    p = check_pattern(pattern)
    return np.array([[_CHANNEL[p[0]], _CHANNEL[p[1]]], [_CHANNEL[p[2]], _CHANNEL[p[3]]]], dtype=np.int64)


def shift(pattern: str, dy: int, dx: int) -> str:
    """Pattern of the frame cropped at row offset dy and column offset dx."""
    p = check_pattern(pattern)
    grid = [[p[0], p[1]], [p[2], p[3]]]
    return "".join(grid[(r + dy) % 2][(c + dx) % 2] for r in range(2) for c in range(2))


def flip(pattern: str, vertical: bool = False, horizontal: bool = False, height: int = 2, width: int = 2) -> str:
    """Pattern of a (height, width) frame after flipping it vertically and/or horizontally."""
    p = check_pattern(pattern)
    rows = [(height - 1 - r) % 2 if vertical else r for r in range(2)]
    cols = [(width - 1 - c) % 2 if horizontal else c for c in range(2)]
    return "".join(p[2 * rows[r] + cols[c]] for r in range(2) for c in range(2))


def mosaic(rgb: np.ndarray, pattern: str) -> np.ndarray:
    """Sample an (H, W, 3) image through the CFA: the (H, W) mosaic a sensor would record."""
    ch = channels(pattern)
    h, w = rgb.shape[:2]
    out = np.empty((h, w), dtype=rgb.dtype)
    for r in range(2):
        for c in range(2):
            out[r::2, c::2] = rgb[r::2, c::2, ch[r, c]]
    return out
