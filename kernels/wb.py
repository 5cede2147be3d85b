"""White balance on the CFA mosaic (before demosaic), the statistics auto white balance needs, and a
half-size "demosaic" (each 2x2 CFA block to one RGB pixel) for previews and statistics.

Mosaics are (H, W) float32, black-subtracted and scaled so the sensor's white level is 1.0.
`pattern_channels` is the (2, 2) int64 array of `kernels.cfa.channels(pattern)` (R=0, G=1, B=2).

Per-value helper for a fused pass:
  wb_value(v, gain, clip_level) -> float32   (clip_level inf: no clipping)

Highlight clip levels, here as in kernels.sensor and kernels.denoise: inf is no clip, and so is a
level that is not > 0 (0, negative, NaN), which could only mean a black frame.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(inline="always", cache=True)
def wb_value(v, gain, clip_level):
    """v * gain, clipped to clip_level (inf: not clipped).

    Clipping every site at the balanced saturation level (the smallest gain times the white
    level 1.0) keeps sensor-clipped highlights neutral: a pixel saturated in all channels becomes
    (c, c, c) rather than (gain_R, 1, gain_B), which is magenta.
    """
    x = v * gain
    return clip_level if x > clip_level else x


@njit(parallel=True, cache=True, nogil=True)
def white_balance_mosaic(mosaic, pattern_channels, gains, clip_level, out):
    """out[y, x] = wb_value(mosaic[y, x], gains[channel at (y, x)], clip_level); out may be mosaic."""
    h, w = mosaic.shape
    g00 = np.float32(gains[pattern_channels[0, 0]])
    g01 = np.float32(gains[pattern_channels[0, 1]])
    g10 = np.float32(gains[pattern_channels[1, 0]])
    g11 = np.float32(gains[pattern_channels[1, 1]])
    clip = np.float32(clip_level) if clip_level > 0 else np.float32(np.inf)
    for y in prange(h):
        ga = g00 if y % 2 == 0 else g10
        gb = g01 if y % 2 == 0 else g11
        for x in range(0, w - 1, 2):
            out[y, x] = wb_value(mosaic[y, x], ga, clip)
            out[y, x + 1] = wb_value(mosaic[y, x + 1], gb, clip)
        if w % 2 == 1:
            out[y, w - 1] = wb_value(mosaic[y, w - 1], ga, clip)
    return out


@njit(parallel=True, cache=True)
def half_size(mosaic, pattern_channels, out):
    """(H//2, W//2, 3) RGB: each 2x2 CFA block gives one pixel (the two greens averaged)."""
    h2 = mosaic.shape[0] // 2
    w2 = mosaic.shape[1] // 2
    for y in prange(h2):
        for x in range(w2):
            acc0 = np.float32(0.0)
            acc1 = np.float32(0.0)
            acc2 = np.float32(0.0)
            for dy in range(2):
                for dx in range(2):
                    v = mosaic[2 * y + dy, 2 * x + dx]
                    c = pattern_channels[dy, dx]
                    if c == 0:
                        acc0 += v
                    elif c == 1:
                        acc1 += v
                    else:
                        acc2 += v
            out[y, x, 0] = acc0
            out[y, x, 1] = acc1 * np.float32(0.5)
            out[y, x, 2] = acc2
    return out


@njit(parallel=True, cache=True)
def block_channel_sums(mosaic, pattern_channels, sat_level):
    """Per-channel sums and counts over the 2x2 CFA blocks with no site at or above `sat_level`.

    Returns (sums[3] float64, counts[3] int64) — the grey-world statistics, with clipped blocks
    (whose ratios are wrong) left out. Counts are per CFA site (two greens per block).
    """
    h2 = mosaic.shape[0] // 2
    w2 = mosaic.shape[1] // 2
    rows_s = np.zeros((h2, 3), dtype=np.float64)
    rows_n = np.zeros((h2, 3), dtype=np.int64)
    for y in prange(h2):
        for x in range(w2):
            ok = True
            for dy in range(2):
                for dx in range(2):
                    v = mosaic[2 * y + dy, 2 * x + dx]
                    if not v < sat_level:  # also drops NaN
                        ok = False
            if ok:
                for dy in range(2):
                    for dx in range(2):
                        c = pattern_channels[dy, dx]
                        rows_s[y, c] += mosaic[2 * y + dy, 2 * x + dx]
                        rows_n[y, c] += 1
    sums = np.zeros(3, dtype=np.float64)
    counts = np.zeros(3, dtype=np.int64)
    for y in range(h2):
        for c in range(3):
            sums[c] += rows_s[y, c]
            counts[c] += rows_n[y, c]
    return sums, counts
