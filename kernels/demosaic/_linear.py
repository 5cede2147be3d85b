"""The row-strip driver shared by the 5x5 linear methods (`bilinear`, `malvar2004`).

Each thread takes one band of rows, processed in strips of `STRIP` rows whose padded copy stays
in cache. The method is a compile-time branch on `method` (a jitted function passed as an
argument would make the kernel uncachable; see `_common`).
"""
import numba as nb

from kernels.demosaic._common import STRIP, band, load_strip
from kernels.demosaic.bilinear import pixel as bilinear_pixel
from kernels.demosaic.malvar2004 import pixel as malvar_pixel

BILINEAR, MALVAR = 0, 1
PAD = 2  # reach of both methods' 5x5 filters


@nb.njit(cache=True, error_model="numpy")
def _row(b, i, o, w, c0, red_row, method):
    """Demosaic buffer row i of the padded strip b into o (one image row, flattened: a flat
    index vectorises, an (x, channel) one does not); c0 is the column parity of the row's
    red/blue samples and red_row whether they are red. Both site cases are computed and one
    selected so that the loop vectorises."""
    for x in range(w):
        on_rb = ((x ^ c0) & 1) == 0
        if method == BILINEAR:
            h, g, v = bilinear_pixel(b, i, x + PAD, on_rb)
        else:
            h, g, v = malvar_pixel(b, i, x + PAD, on_rb)
        o[3 * x] = h if red_row else v
        o[3 * x + 1] = g
        o[3 * x + 2] = v if red_row else h


@nb.njit(cache=True, error_model="numpy")
def _rows(b, i, o, w, c0, red_row, method):
    if method == BILINEAR:
        _row(b, i, o, w, c0, red_row, BILINEAR)
    else:
        _row(b, i, o, w, c0, red_row, MALVAR)


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
                _rows(buf, y - y0 + PAD, out[y].reshape(3 * w), w, rx if red_row else 1 - rx, red_row, method)
