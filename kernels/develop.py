"""Demosaic and finish in one pass: each tile of the mosaic is demosaiced (RCD or Menon 2007)
into planes that stay in the core's cache and goes straight on through colour, grade and
quantisation (`kernels.fused.finish_chunk`) into the output, so the demosaiced frame never
exists in memory. Halide's camera_pipe schedule (Ragan-Kelley et al., "Halide: a language and
compiler for optimizing parallelism, locality, and recomputation in image processing
pipelines", PLDI 2013): the per-pixel stages computed at the demosaic's tiles.

Unfused, the demosaic writes a float32 RGB frame (100 MB at UHD) and the finish pass reads it
back; here each tile's rows are gathered from the demosaic's per-site planes into
`kernels.fused.CHUNK`-pixel planar chunks (`kernels.demosaic._common.put_row`), finished, and
stored interleaved in the output's dtype. The result is bit for bit that of `finish` on the
demosaiced frame (the same arithmetic on each pixel).
"""
from importlib import import_module

import numba as nb
import numpy as np

from kernels import fused
from kernels.demosaic._common import load_tile_n, prepare, put_row, tile_count, tile_scratch

# the modules (kernels.demosaic re-exports their functions under the same names)
_rcd = import_module("kernels.demosaic.rcd")
_menon = import_module("kernels.demosaic.menon2007")

GROUP = 2  # tiles a thread takes at a time (dynamic, so a core slowed by other load takes fewer)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _finish_tile(t, dst, y0, x0, th, tw, sx, geometry, m, tf, tables, cdl, lut, quantise):
    """Rows of the demosaiced tile (its result planes in t, laid out as `geometry` says) through
    `finish_chunk`, as many whole rows a chunk as fit, into dst rows [y0, y0 + th). Compiled
    once for both algorithms, not inlined into their tile kernels (that took ~30 s more to compile
    per algorithm and dtype); the scratch allocated per tile costs no measurable time."""
    _, _, pad, stride, _, _, rgb_x, rgb_g = geometry
    bufs = fused.chunk_scratch(dst.dtype)
    r, g, b = bufs[0], bufs[1], bufs[2]
    rows = max(1, fused.CHUNK // tw)
    jlo = pad + sx
    for a in range(0, th, rows):
        nr = min(rows, th - a)
        cnt = nr * tw
        for k in range(nr):
            put_row(t, r, g, b, k * tw - jlo, pad + a + k, jlo, jlo + tw, rgb_x, rgb_g, stride, True)
        planes = fused.finish_chunk(bufs, cnt, m, tf, tables, cdl, lut, quantise)
        for k in range(nr):
            fused.store_chunk_row(dst, y0 + a + k, x0, tw, planes, bufs, k * tw, quantise)


@nb.njit(cache=True, error_model="numpy")
def _groups(m, th, tw):
    return (tile_count(m.shape[0], m.shape[1], th, tw) + GROUP - 1) // GROUP


@nb.njit(cache=True, error_model="numpy")
def _group(m, group, th, tw):
    """Tiles [n0, n1) of a group."""
    n0 = group * GROUP
    return n0, min(tile_count(m.shape[0], m.shape[1], th, tw), n0 + GROUP)


# One parallel kernel per algorithm, so that a pipeline compiles only the demosaicer it uses.

@nb.njit(cache=True, nogil=True, error_model="numpy")
def _rcd_tiles(m, group, ry, sx, dst, t, mat, tf, tables, cdl, lut, quantise):
    """The tiles of a group: RCD, then the finish, tile by tile."""
    n0, n1 = _group(m, group, _rcd.TH, _rcd.TW)
    for n in range(n0, n1):
        y0, x0, th, tw = load_tile_n(m, n, sx, t, _rcd.GEOMETRY)
        _rcd._steps(t, th, tw, sx, ry)
        _finish_tile(t, dst, y0, x0, th, tw, sx, _rcd.GEOMETRY, mat, tf, tables, cdl, lut, quantise)


@nb.njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def _develop_rcd(m, ry, sx, dst, tiles, mat, tf, tables, cdl, lut, quantise):
    for group in nb.prange(_groups(m, _rcd.TH, _rcd.TW)):
        _rcd_tiles(m, np.int64(group), ry, sx, dst, tiles[nb.get_thread_id()], mat, tf, tables, cdl, lut, quantise)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _menon_tiles(m, group, ry, sx, dst, t, mat, tf, tables, cdl, lut, quantise):
    """The tiles of a group: Menon 2007, then the finish, tile by tile."""
    n0, n1 = _group(m, group, _menon.TH, _menon.TW)
    for n in range(n0, n1):
        y0, x0, th, tw = load_tile_n(m, n, sx, t, _menon.GEOMETRY)
        _menon._steps(t, th, tw, sx, ry)
        _finish_tile(t, dst, y0, x0, th, tw, sx, _menon.GEOMETRY, mat, tf, tables, cdl, lut, quantise)


@nb.njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def _develop_menon(m, ry, sx, dst, tiles, mat, tf, tables, cdl, lut, quantise):
    for group in nb.prange(_groups(m, _menon.TH, _menon.TW)):
        _menon_tiles(m, np.int64(group), ry, sx, dst, tiles[nb.get_thread_id()], mat, tf, tables, cdl, lut, quantise)


ALGORITHMS = {"rcd": (_rcd, _develop_rcd), "menon2007": (_menon, _develop_menon)}


def develop(algorithm: str, mosaic, pattern: str, dst: np.ndarray, m, tf, tables, cdl, lut, quantise) -> np.ndarray:
    """Demosaic `mosaic` with `algorithm` (a key of ALGORITHMS) and finish it into `dst`, a
    C-contiguous (H, W, 3) array of float32 (quantise 0), uint8 (255) or uint16 (65535); the
    other arguments are `kernels.fused.finish`'s."""
    module, kernel = ALGORITHMS.get(algorithm, (None, None))
    if module is None:
        raise ValueError(f"no tiled develop for demosaic {algorithm!r}; expected one of {', '.join(ALGORITHMS)}")
    mo, ry, rx = prepare(mosaic, pattern)
    dtype = fused.DTYPES.get(int(quantise))
    if dst.shape != mo.shape + (3,) or not dst.flags.c_contiguous or dst.dtype != dtype:
        raise ValueError(f"dst must be a C-contiguous {np.dtype(dtype).name if dtype else '?'} array of shape "
                         f"{mo.shape + (3,)} (quantise {quantise}); got {dst.dtype} {dst.shape}")
    with nb.parallel_chunksize(1):
        kernel(mo, ry, (ry + rx) & 1, dst, tile_scratch(module.NPLANES, module.PL), m, tf, tables, cdl, lut,
               np.float32(quantise))
    return dst
