"""Denoise quality: isp's denoisers beside OpenCV and BM3D on Kodak frames at three noise levels.

    python -m bench.denoise_quality [--images N] [--crop HxW] [--no-bm3d] [--out bench/RESULTS-denoise.md]

Frames: each Kodak image (sRGB PNG) is linearised, scaled to 0.9 at white, divided by camera-like
white-balance gains (R 2.0, B 1.5: raw red and blue are weaker than green) and sampled through an
RGGB CFA: the noise-free mosaic. Noise: Poisson-Gaussian, variance = a x + b (isp.noise), at three
ISO-like levels. Every result is rendered the same way - bilinear demosaic, white balance, clip,
sRGB encode - and PSNR is measured on that 8-bit-range sRGB rendering against the rendering of
the noise-free mosaic (what a viewer sees; linear-light PSNR would ignore the shadows).

Where each contender runs: isp's denoisers take the noisy mosaic (before demosaic, their design).
OpenCV's bilateralFilter and fastNlMeansDenoisingColored, and BM3D (`bm3d_rgb`), take the noisy
*rendering* (after demosaic and sRGB encoding, which is where they are used and where their
uniform-noise assumption roughly holds), with their strength chosen per noise level from a small
grid on a calibration image by best PSNR (an oracle tuning that favours them). "BM3D-CFA" runs
BM3D on the four CFA planes after a generalised Anscombe transform with the true noise model
(the standard way to apply BM3D to raw data), sigma = 1.

Temporal: an 8-frame sequence of a static crop, and the same with a moving square; PSNR of the
centre frame, and in the moving region alone.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from isp.noise import NoiseModel

ROOT = Path(__file__).resolve().parents[1]
KODAK = ROOT.parent / "shared" / "test_data" / "kodak"
WB = np.array([2.0, 1.0, 1.5], np.float32)
EXPOSURE = 0.9
PATTERN = "RGGB"

# ISO-like noise levels (normalised units): electrons at white ~ 1/a, read noise sqrt(b)/a e-
LEVELS = {
    "low": NoiseModel(4e-4, 4e-6),      # ~2500 e- at white, ~5 e- read noise
    "mid": NoiseModel(2e-3, 3e-5),      # ~500 e-
    "high": NoiseModel(8e-3, 2e-4),     # ~125 e-
}


# ---------------------------------------------------------------------------------------------
# rendering

def srgb_to_linear(v):
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(v):
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055).astype(np.float32)


def load_kodak(index: int, crop: tuple[int, int] | None = None) -> np.ndarray:
    img = cv2.imread(str(KODAK / f"kodim{index:02d}.png"), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(KODAK / f"kodim{index:02d}.png")
    img = img[:, :, ::-1].astype(np.float32) / 255.0
    if crop:
        h, w = img.shape[:2]
        ch, cw = min(crop[0], h), min(crop[1], w)
        t, l = ((h - ch) // 2) & ~1, ((w - cw) // 2) & ~1
        img = img[t:t + ch, l:l + cw]
    return np.ascontiguousarray(img)


def scene_to_mosaic(srgb: np.ndarray) -> np.ndarray:
    """Noise-free normalised RGGB mosaic of an sRGB image."""
    from kernels import cfa

    lin = srgb_to_linear(srgb) * np.float32(EXPOSURE) / WB
    return cfa.mosaic(np.ascontiguousarray(lin, dtype=np.float32), PATTERN)


_K_RB = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 4
_K_G = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]], np.float32) / 4


def demosaic_bilinear(mosaic: np.ndarray) -> np.ndarray:
    """Float bilinear demosaic (RGGB), the same for every contender."""
    from kernels import cfa

    ch = cfa.channels(PATTERN)
    h, w = mosaic.shape
    out = np.empty((h, w, 3), np.float32)
    for c in range(3):
        sparse = np.zeros((h, w), np.float32)
        for r in range(2):
            for s in range(2):
                if ch[r, s] == c:
                    sparse[r::2, s::2] = mosaic[r::2, s::2]
        out[:, :, c] = cv2.filter2D(sparse, -1, _K_G if c == 1 else _K_RB, borderType=cv2.BORDER_REFLECT_101)
    return out


def render(mosaic: np.ndarray) -> np.ndarray:
    """Mosaic -> displayed sRGB float image in [0, 1]."""
    return linear_to_srgb(demosaic_bilinear(mosaic) * WB / np.float32(EXPOSURE))


def psnr(x: np.ndarray, ref: np.ndarray, mask: np.ndarray | None = None) -> float:
    d = (np.asarray(x, np.float64) - ref) ** 2
    if mask is not None:
        d = d[mask]
    return float(10 * np.log10(1.0 / max(d.mean(), 1e-20)))
