"""Menon-Andriani-Calvagno demosaicing by directional filtering and a posteriori decision
(DDFAPD), with its refining step.

Reference: D. Menon, S. Andriani, G. Calvagno, "Demosaicing with directional filtering and a
posteriori decision", IEEE Transactions on Image Processing 16(1), 2007, pp. 132-141.
Green is interpolated horizontally and vertically (section II-A), the direction with the
smaller colour-difference gradients in a 5x5 window is kept (II-B), red and blue follow from
the colour differences along it (II-C) and the refining step of section III re-estimates
green, then red and blue, from low-passed colour differences along the chosen direction.
The arithmetic follows colour-demosaicing's `demosaicing_CFA_Bayer_Menon2007` so the two agree.
"""
import numba as nb
import numpy as np

from kernels.demosaic._common import STRIP, band, buffers, load_strip, prepare

PAD = 10  # total reach of the stages: 2 + 2 + 1 + 1 + 1 + 1 + 1 = 9, rounded up to even
CFA, GH, GV, CH, CV, G, M, R, B, G2 = range(10)

HALF = np.float32(0.5)
QUARTER = np.float32(0.25)
THIRD = np.float32(1.0 / 3.0)


@nb.njit(inline="always")
def directional_green(c, n1, p1, n2, p2):
    """Green at a red/blue sample c from one line: neighbours n1, p1 (green) and n2, p2 (own colour)."""
    return (n1 + p1) * HALF + (c + c - (n2 + p2)) * QUARTER


@nb.njit(inline="always")
def gradient_h(d, i, j):
    """Menon's horizontal classifier: colour-difference gradients summed over a 5x5 window."""
    centre = abs(d[i, j - 2] - d[i, j]) + abs(d[i, j] - d[i, j + 2])
    far = (abs(d[i - 2, j - 2] - d[i - 2, j]) + abs(d[i - 2, j] - d[i - 2, j + 2])) + (
        abs(d[i + 2, j - 2] - d[i + 2, j]) + abs(d[i + 2, j] - d[i + 2, j + 2]))
    near = abs(d[i - 1, j - 1] - d[i - 1, j + 1]) + abs(d[i + 1, j - 1] - d[i + 1, j + 1])
    return np.float32(3) * centre + far + near


@nb.njit(inline="always")
def gradient_v(d, i, j):
    """Vertical counterpart of `gradient_h`."""
    centre = abs(d[i - 2, j] - d[i, j]) + abs(d[i, j] - d[i + 2, j])
    far = (abs(d[i - 2, j - 2] - d[i, j - 2]) + abs(d[i, j - 2] - d[i + 2, j - 2])) + (
        abs(d[i - 2, j + 2] - d[i, j + 2]) + abs(d[i, j + 2] - d[i + 2, j + 2]))
    near = abs(d[i - 1, j - 1] - d[i + 1, j - 1]) + abs(d[i - 1, j + 1] - d[i + 1, j + 1])
    return np.float32(3) * centre + far + near


@nb.njit(inline="always")
def along(p, q, i, j, di, dj):
    """Mean of p - q over the two neighbours of (i, j) at -(di, dj) and +(di, dj)."""
    return ((p[i - di, j - dj] - q[i - di, j - dj]) + (p[i + di, j + dj] - q[i + di, j + dj])) * HALF


@nb.njit(inline="always")
def mean3(p, q, i, j, di, dj):
    """Mean of p - q over (i, j) and its two neighbours at -(di, dj) and +(di, dj)."""
    return ((p[i, j] - q[i, j]) + ((p[i - di, j - dj] - q[i - di, j - dj])
                                   + (p[i + di, j + dj] - q[i + di, j + dj]))) * THIRD


@nb.njit(inline="always")
def first(r, c0):
    """First column >= r with the parity c0."""
    return r + ((r ^ c0) & 1)


@nb.njit(cache=True, error_model="numpy")
def _strip(s, rows, cols, ry, rx):
    """All stages on one padded strip; s holds the planes, s[CFA] the mirrored mosaic."""
    cfa, ch, cv, red, blue = s[CFA], s[CH], s[CV], s[R], s[B]
    # 1. Green along rows and columns at red/blue samples, and the colour differences there.
    for i in range(2, rows - 2):
        red_row = (i & 1) == ry
        c0 = rx if red_row else 1 - rx
        for j in range(first(2, 1 - c0), cols - 2, 2):
            v = cfa[i, j]
            s[GH, i, j] = v
            s[GV, i, j] = v
            s[CH, i, j] = 0
            s[CV, i, j] = 0
        for j in range(first(2, c0), cols - 2, 2):
            v = cfa[i, j]
            gh = directional_green(v, cfa[i, j - 1], cfa[i, j + 1], cfa[i, j - 2], cfa[i, j + 2])
            gv = directional_green(v, cfa[i - 1, j], cfa[i + 1, j], cfa[i - 2, j], cfa[i + 2, j])
            s[GH, i, j] = gh
            s[GV, i, j] = gv
            s[CH, i, j] = v - gh
            s[CV, i, j] = v - gv
    # 2. Decide the direction (M = 1: horizontal) and keep that green.
    for i in range(4, rows - 4):
        red_row = (i & 1) == ry
        c0 = rx if red_row else 1 - rx
        for j in range(first(4, 1 - c0), cols - 4, 2):
            s[G, i, j] = cfa[i, j]
        for j in range(first(4, c0), cols - 4, 2):
            horizontal = gradient_v(cv, i, j) >= gradient_h(ch, i, j)
            s[M, i, j] = 1 if horizontal else 0
            s[G, i, j] = s[GH, i, j] if horizontal else s[GV, i, j]
    g = s[G]
    # 3. Red and blue at green samples from the colour differences of the neighbours.
    for i in range(5, rows - 5):
        red_row = (i & 1) == ry
        c0 = rx if red_row else 1 - rx
        hc, vc = (R, B) if red_row else (B, R)
        for j in range(first(5, 1 - c0), cols - 5, 2):
            s[hc, i, j] = g[i, j] + along(cfa, g, i, j, 0, 1)
            s[vc, i, j] = g[i, j] + along(cfa, g, i, j, 1, 0)
        for j in range(first(5, c0), cols - 5, 2):
            s[hc, i, j] = cfa[i, j]
    # 4. The missing one of red/blue at red/blue samples, along the chosen direction.
    for i in range(6, rows - 6):
        red_row = (i & 1) == ry
        c0 = rx if red_row else 1 - rx
        own, other = (red, blue) if red_row else (blue, red)
        for j in range(first(6, c0), cols - 6, 2):
            if s[M, i, j] == 1:
                other[i, j] = cfa[i, j] + along(other, own, i, j, 0, 1)
            else:
                other[i, j] = cfa[i, j] + along(other, own, i, j, 1, 0)
    # 5. Refining: green at red/blue samples from the low-passed own-colour minus green.
    for i in range(7, rows - 7):
        red_row = (i & 1) == ry
        c0 = rx if red_row else 1 - rx
        own = red if red_row else blue
        for j in range(first(7, 1 - c0), cols - 7, 2):
            s[G2, i, j] = g[i, j]
        for j in range(first(7, c0), cols - 7, 2):
            if s[M, i, j] == 1:
                s[G2, i, j] = cfa[i, j] - mean3(own, g, i, j, 0, 1)
            else:
                s[G2, i, j] = cfa[i, j] - mean3(own, g, i, j, 1, 0)
    g2 = s[G2]
    # 6. Refining: red and blue at green samples from the refined colour differences.
    for i in range(8, rows - 8):
        red_row = (i & 1) == ry
        c0 = rx if red_row else 1 - rx
        hc, vc = (R, B) if red_row else (B, R)
        for j in range(first(8, 1 - c0), cols - 8, 2):
            s[hc, i, j] = g2[i, j] + along(cfa, g2, i, j, 0, 1)
            s[vc, i, j] = g2[i, j] + along(cfa, g2, i, j, 1, 0)
    # 7. Refining: red at blue and blue at red from the low-passed red minus blue.
    for i in range(9, rows - 9):
        red_row = (i & 1) == ry
        c0 = rx if red_row else 1 - rx
        for j in range(first(9, c0), cols - 9, 2):
            if s[M, i, j] == 1:
                d = mean3(red, blue, i, j, 0, 1)
            else:
                d = mean3(red, blue, i, j, 1, 0)
            if red_row:
                s[B, i, j] = cfa[i, j] - d
            else:
                s[R, i, j] = cfa[i, j] + d


@nb.njit(parallel=True, cache=True, error_model="numpy")
def _menon(m, ry, rx, out, scratch):
    h, w = m.shape
    chunks = scratch.shape[0]
    rows, cols = scratch.shape[2], scratch.shape[3]
    for chunk in nb.prange(chunks):
        start, stop = band(h, chunk, chunks)
        s = scratch[chunk]
        for y0 in range(start, stop, STRIP):
            load_strip(m, y0, PAD, s[CFA])
            _strip(s, rows, cols, ry, rx)
            for y in range(y0, min(y0 + STRIP, stop)):
                i = y - y0 + PAD
                o = out[y].reshape(3 * w)  # a flat index vectorises, an (x, channel) one does not
                r, g, bl = s[R, i], s[G2, i], s[B, i]
                for x in range(w):
                    o[3 * x] = r[x + PAD]
                    o[3 * x + 1] = g[x + PAD]
                    o[3 * x + 2] = bl[x + PAD]


def menon2007(mosaic, pattern: str) -> np.ndarray:
    """Demosaic an (H, W) float32 Bayer mosaic to (H, W, 3) float32 RGB with Menon et al. 2007."""
    m, ry, rx = prepare(mosaic, pattern)
    out, scratch = buffers(m, 10, PAD)
    _menon(m, ry, rx, out, scratch)
    return out
