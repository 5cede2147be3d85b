"""The row-strip driver shared by the 5x5 linear methods (`bilinear`, `malvar2004`).

Each thread takes one band of rows, processed in strips of `STRIP` rows whose padded copy stays
in cache. The method is chosen per row by `method` (a jitted function passed as an argument would make
the kernel uncachable; see `_common`).
"""
import numba as nb

from kernels.demosaic._common import STRIP, band, load_strip
from kernels.demosaic.bilinear import pixel as bilinear_pixel
from kernels.demosaic.malvar2004 import pixel as malvar_pixel

BILINEAR, MALVAR = 0, 1
PAD = 2  # reach of both methods' 5x5 filters


@nb.njit(inline="always")
def _put(o, x, hgv, red_row):
    """Pixel x of the flattened image row o from (h, g, v) (see `bilinear.pixel`)."""
    h, g, v = hgv
    o[3 * x] = h if red_row else v
    o[3 * x + 1] = g
    o[3 * x + 2] = v if red_row else h


# One row loop per method, each calling its own pixel function (a flag tested inside the loop
# stops LLVM from vectorising it). Buffer row i of the padded strip b goes to o, one image row
# flattened (a flat index vectorises, an (x, channel) one does not); c0 is the column parity of
# the row's red/blue samples and red_row whether they are red.

@nb.njit(cache=True, error_model="numpy")
def _bilinear_row(b, i, o, w, c0, red_row):
    for x in range(w):
        _put(o, x, bilinear_pixel(b, i, x + PAD, ((x ^ c0) & 1) == 0), red_row)


@nb.njit(cache=True, error_model="numpy")
def _malvar_row(b, i, o, w, c0, red_row):
    for x in range(w):
        _put(o, x, malvar_pixel(b, i, x + PAD, ((x ^ c0) & 1) == 0), red_row)


@nb.njit(parallel=True, cache=True, error_model="numpy")
def linear(m, ry, rx, out, scratch, method):
    """Demosaic m into out with the linear method `method` (BILINEAR or MALVAR); scratch holds
    one (STRIP + 2 PAD, W + 2 PAD) strip buffer per thread."""
    h, w = m.shape
    chunks = scratch.shape[0]
    for chunk in nb.prange(chunks):
        start, stop = band(h, chunk, chunks)
        buf = scratch[chunk]
        for y0 in range(start, stop, STRIP):
            load_strip(m, y0, PAD, buf)
            for y in range(y0, min(y0 + STRIP, stop)):
                red_row = (y & 1) == ry
                c0 = rx if red_row else 1 - rx
                if method == BILINEAR:
                    _bilinear_row(buf, y - y0 + PAD, out[y].reshape(3 * w), w, c0, red_row)
                else:
                    _malvar_row(buf, y - y0 + PAD, out[y].reshape(3 * w), w, c0, red_row)
