"""Shared pieces of the demosaic kernels: input checks, output buffers, mirrored row strips,
bands, and the per-site tiles of the fast kernels.

Every algorithm runs on the mosaic extended by mirroring about the edge pixels (numpy's
"reflect", scipy's "mirror": ... m[2], m[1], m[0], m[1], m[2] ...). That keeps the CFA phase
of the extension, so borders get the same treatment as the interior and are never dark.

Compilation: the small per-pixel helpers here (and in rcd.py and menon2007.py) are
`register_jitable` functions, not `inline="always"` (only the row/tile drivers are, whose loops
must sit in the caller). Numba links them into each caller and LLVM inlines them there (the
generated loops are the same), while numba's own IR-level inlining re-runs type inference at every
call site: with the hundreds of small plane reads of RCD and Menon that made a cold compile take
minutes. Not `@nb.njit` either: a dispatcher compiles a new version for every combination of
literal arguments (the row drivers pass constants), 414 versions for RCD (80 s cold, now ~20 s),
where an overload is typed with plain integers first and compiles once. Likewise a prange index
(unsigned in the parallel body, signed when numba first types the loop) is passed on as int64, so
the function it is passed to compiles once, not twice. No driver takes a
jitted function as an argument: numba cannot cache a kernel that does (it recompiles it in
every process), so the shared drivers are split around the per-algorithm part instead
(`load_tile_n` / `store_tile_n`) or select it by a constant (`_linear`). Likewise
the RCD and Menon step drivers branch on a row's parity (and red/blue row) and call the row
function with literal arguments in each branch: inlined, every plane offset and flag is then a
constant and the row loop has no test in it (a red/blue flag passed as a variable kept RCD's
red/blue-at-X loop scalar, as `inspect_asm` showed; parities are kept literal the same way).
Numba's cache is keyed by each cached function's own source file: after editing a helper here,
clear the callers' caches (`__pycache__`) too.
"""
import numba as nb
import numpy as np
from numba.extending import register_jitable

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


def output(m: np.ndarray, out=None) -> np.ndarray:
    """The (H, W, 3) float32 output: `out` if given (checked), else a new array.

    numpy's large allocations use transparent huge pages: far fewer page faults than numba's
    allocator. A caller that keeps `out` between frames skips the page faults altogether
    (~10 ms on a fresh UHD frame).
    """
    h, w = m.shape
    if out is None:
        return np.empty((h, w, 3), np.float32)
    if out.shape != (h, w, 3) or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float32 array of shape {(h, w, 3)}; "
                         f"got {out.dtype} {out.shape}")
    return out


def strip_scratch(m: np.ndarray, pad: int) -> np.ndarray:
    """Per-thread padded strip buffers for `load_strip`."""
    return np.empty((nb.get_num_threads(), STRIP + 2 * pad, m.shape[1] + 2 * pad), np.float32)


@register_jitable(error_model="numpy")
def mirror(i, n):
    """Index i folded into [0, n) by mirroring about the edge pixels; keeps i's parity."""
    if n == 1:
        return 0
    period = 2 * (n - 1)
    i = i % period
    if i >= n:
        i = period - i
    return i


@register_jitable(error_model="numpy")
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


@register_jitable(error_model="numpy")
def band(h, chunk, chunks):
    """Rows [start, stop) of one thread's band; starts are even so strips keep the CFA phase."""
    start = (h * chunk // chunks) & ~1
    stop = h if chunk == chunks - 1 else (h * (chunk + 1) // chunks) & ~1
    return start, stop


# --- Per-site tiles ----------------------------------------------------------------------------
# The fast kernels (RCD, Menon 2007) work on tiles of the mosaic split into two half-resolution
# planes per row: the row's red/blue samples ("X" sites) and its green samples ("G" sites). The
# tile's columns are shifted by one for the patterns with green at the top left, so X sites sit
# where (row + column) is even in every pattern: buffer row i holds X samples at columns
# 2k + (i & 1) and G samples at 2k + 1 - (i & 1), both at index k of their plane. Every loop is
# then unit-stride and computes only the sites that need it.
#
# All planes of a tile live in one flat per-thread array with compile-time row stride and plane
# size, so the compiler sees constant distances between every read and write (no run-time alias
# checks, which otherwise stop the vectoriser after ~8 streams), and indices are passed as
# unsigned so that no negative-index wraparound test sits in the loops.

U = nb.uint64


@register_jitable(error_model="numpy")
def site_offset(s, p, di, dj):
    """(plane type, column-index offset) of the pixel at (di, dj) from a site of type s
    (0: X, 1: G) whose column parity is p: the type flips with the parity of di + dj."""
    return (s + di + dj) & 1, (p + dj) >> 1


@register_jitable(error_model="numpy")
def krange(jlo, jhi, p):
    """Plane indices k whose full-resolution column 2k + p lies in [jlo, jhi)."""
    return (jlo - p + 1) >> 1, (jhi - p + 1) >> 1


@nb.njit(inline="always")
def _split_row(src, xb, n, t, rx, rg, q):
    """t[rx + k] = src[xb + 2k + q], t[rg + k] = src[xb + 2k + 1 - q] for k < n."""
    for k in range(n):
        a = src[U(xb + 2 * k)]
        b = src[U(xb + 2 * k + 1)]
        t[U(rx + k)] = b if q else a
        t[U(rg + k)] = a if q else b


@nb.njit(inline="always")
def load_tile(m, y0, x0, th, tw, sx, pad, t, cx, cg, stride):
    """Split the mosaic around tile (y0, x0, th, tw) into X and G planes at offsets cx, cg of t:
    buffer row i is image row y0 - pad + i and buffer column j image column x0 - pad - sx + j,
    mirrored where outside the mosaic; th + 2 pad rows and tw + 2 pad + 2 columns are filled."""
    h, w = m.shape
    xb = x0 - pad - sx
    n = (tw + 2 * pad + 3) >> 1
    inside = xb >= 0 and xb + 2 * n <= w
    for i in range(th + 2 * pad):
        src = m[mirror(y0 - pad + i, h)]
        rx = cx + i * stride
        rg = cg + i * stride
        if inside:
            if i & 1:
                _split_row(src, xb, n, t, rx, rg, 1)
            else:
                _split_row(src, xb, n, t, rx, rg, 0)
        else:
            q = i & 1
            for k in range(n):
                t[U(rx + k)] = src[mirror(xb + 2 * k + q, w)]
                t[U(rg + k)] = src[mirror(xb + 2 * k + 1 - q, w)]


@nb.njit(inline="always")
def _put_pixel(t, a, b, c, x, base, rgb, planar):
    """Pixel x of the destination = planes rgb (offsets into t) at `base`: interleaved (a is the
    image row, flattened; b, c unused) or planar (a, b, c the r, g, b planes)."""
    r, g, bl = t[U(rgb[0] + base)], t[U(rgb[1] + base)], t[U(rgb[2] + base)]
    if planar:
        a[U(x)] = r
        b[U(x)] = g
        c[U(x)] = bl
    else:
        a[U(3 * x)] = r
        a[U(3 * x + 1)] = g
        a[U(3 * x + 2)] = bl


@nb.njit(inline="always")
def _put_pairs(t, a, b, c, xb, i, klo, khi, first, second, stride, planar):
    """Pixels xb + 2k, xb + 2k + 1 for k in [klo, khi), from buffer row i's planes first (column
    2k) and second (2k + 1)."""
    base = i * stride
    for k in range(klo, khi):
        _put_pixel(t, a, b, c, xb + 2 * k, base + k, first, planar)
        _put_pixel(t, a, b, c, xb + 2 * k + 1, base + k, second, planar)


@nb.njit(inline="always")
def put_row(t, a, b, c, xb, i, jlo, jhi, rgb_x, rgb_g, stride, planar):
    """Buffer row i's columns [jlo, jhi) to destination pixels xb + j, from the result planes
    rgb_x = (r, g, b) offsets at X sites and rgb_g at G sites; `planar` (a literal) as for
    `_put_pixel`."""
    klo = (jlo + 1) >> 1
    khi = jhi >> 1
    if klo >= khi:
        for j in range(jlo, jhi):
            _put_pixel(t, a, b, c, xb + j, i * stride + (j >> 1), rgb_x if ((i + j) & 1) == 0 else rgb_g, planar)
        return
    if jlo & 1:
        _put_pixel(t, a, b, c, xb + jlo, i * stride + (jlo >> 1), rgb_x if ((i + jlo) & 1) == 0 else rgb_g, planar)
    if i & 1:
        _put_pairs(t, a, b, c, xb, i, klo, khi, rgb_g, rgb_x, stride, planar)
    else:
        _put_pairs(t, a, b, c, xb, i, klo, khi, rgb_x, rgb_g, stride, planar)
    if jhi & 1:
        j = jhi - 1
        _put_pixel(t, a, b, c, xb + j, i * stride + (j >> 1), rgb_x if ((i + j) & 1) == 0 else rgb_g, planar)


@nb.njit(inline="always")
def store_tile(t, out, y0, x0, th, tw, sx, pad, rgb_x, rgb_g, stride):
    """Interleave the tile's finished planes into out rows [y0, y0 + th), columns [x0, x0 + tw)."""
    w = out.shape[1]
    jlo = pad + sx
    for y in range(y0, y0 + th):
        o = out[y].reshape(3 * w)
        put_row(t, o, o, o, x0 - jlo, y - y0 + pad, jlo, jlo + tw, rgb_x, rgb_g, stride, False)


@register_jitable(error_model="numpy")
def at(t, stride, px, pg, s, p, i, k, di, dj):
    """The full-resolution plane stored as px at X sites and pg at G sites (offsets into t, rows
    `stride` apart), at (di, dj) from the site of type s (0: X, 1: G) at (i, k) whose column
    parity is p. With constant s, p, di, dj (as every caller has) this is one load."""
    odd, dk = site_offset(s, p, di, dj)
    return t[U((pg if odd else px) + (i + di) * stride + k + dk)]


@register_jitable(error_model="numpy")
def put(t, stride, plane, i, k, v):
    t[U(plane + i * stride + k)] = v


@register_jitable(error_model="numpy")
def tile_count(h, w, th, tw):
    return ((h + th - 1) // th) * ((w + tw - 1) // tw)


@nb.njit(inline="always")
def load_tile_n(m, n, sx, t, geometry):
    """Load tile n of the frame into t: geometry = (TH, TW, PAD, S, CX, CG, rgb_x, rgb_g), the
    tile size, margin, plane row stride, the mosaic's plane offsets and the (r, g, b) result
    planes at X and G sites. Returns the tile's (y0, x0, rows, cols)."""
    th_, tw_, pad, stride, cx, cg, _, _ = geometry
    y0, x0, th, tw = tile_of(n, m.shape[0], m.shape[1], th_, tw_)
    load_tile(m, y0, x0, th, tw, sx, pad, t, cx, cg, stride)
    return y0, x0, th, tw


@nb.njit(inline="always")
def store_tile_n(t, out, y0, x0, th, tw, sx, geometry):
    """Store the tile loaded by `load_tile_n` from its result planes."""
    _, _, pad, stride, _, _, rgb_x, rgb_g = geometry
    store_tile(t, out, y0, x0, th, tw, sx, pad, rgb_x, rgb_g, stride)


def tile_scratch(planes: int, plane_size: int) -> np.ndarray:
    """Per-thread flat tile scratch of `planes` planes."""
    return np.empty((nb.get_num_threads(), planes * plane_size), np.float32)


@register_jitable(error_model="numpy")
def tile_of(n, h, w, th, tw):
    """(y0, x0, rows, cols) of tile n of the frame cut in th x tw tiles, row-major."""
    ncols = (w + tw - 1) // tw
    a = n // ncols
    b = n - a * ncols
    y0 = a * th
    x0 = b * tw
    return y0, x0, min(th, h - y0), min(tw, w - x0)
