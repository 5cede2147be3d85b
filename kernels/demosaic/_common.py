"""Shared pieces of the demosaic kernels: input checks, CFA layout, mirrored row strips, bands.

Every algorithm runs on the mosaic extended by mirroring about the edge pixels (numpy's
"reflect", scipy's "mirror": ... m[2], m[1], m[0], m[1], m[2] ...). That keeps the CFA phase
of the extension, so borders get the same treatment as the interior and are never dark.
Work is scheduled as one band of rows per thread, processed in strips of `STRIP` rows whose
padded copy (and each algorithm's intermediate planes) stays in cache.
"""
import numba as nb
import numpy as np

from kernels import cfa

STRIP = 32


def prepare(mosaic, pattern: str) -> tuple[np.ndarray, int, int]:
    """C-contiguous float32 mosaic and the (row, column) of red in the pattern's 2x2 block.

    Raises ValueError for an unknown pattern or a mosaic that is not 2-D.
    """
    ch = cfa.channels(pattern)
    m = np.asarray(mosaic)
    if m.ndim != 2:
        raise ValueError(f"a Bayer mosaic is 2-D (H, W); got shape {m.shape}")
    ry, rx = np.argwhere(ch == 0)[0]
    return np.ascontiguousarray(m, dtype=np.float32), int(ry), int(rx)


def buffers(m: np.ndarray, planes: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """The (H, W, 3) output and per-thread scratch of `planes` padded strip planes.

    Allocated by numpy, whose large allocations use transparent huge pages: far fewer page
    faults than numba's allocator, which costs ~10x the compute on a fresh 4K frame.
    """
    h, w = m.shape
    out = np.empty((h, w, 3), np.float32)
    scratch = np.empty((nb.get_num_threads(), planes, STRIP + 2 * pad, w + 2 * pad), np.float32)
    return out, scratch


@nb.njit(inline="always")
def mirror(i, n):
    """Index i folded into [0, n) by mirroring about the edge pixels; keeps i's parity."""
    if n == 1:
        return 0
    period = 2 * (n - 1)
    i = i % period
    if i >= n:
        i = period - i
    return i


@nb.njit(cache=True, error_model="numpy")
def load_strip(m, y0, pad, buf):
    """buf[i, j] = m at row y0 - pad + i, column j - pad, mirrored where outside m."""
    h, w = m.shape
    rows, cols = buf.shape
    for i in range(rows):
        src = m[mirror(y0 - pad + i, h)]
        row = buf[i]
        for j in range(pad):
            row[j] = src[mirror(j - pad, w)]
        row[pad:pad + w] = src
        for j in range(pad + w, cols):
            row[j] = src[mirror(j - pad, w)]


@nb.njit(inline="always")
def band(h, chunk, chunks):
    """Rows [start, stop) of one thread's band; starts are even so strips keep the CFA phase."""
    start = (h * chunk // chunks) & ~1
    stop = h if chunk == chunks - 1 else (h * (chunk + 1) // chunks) & ~1
    return start, stop
