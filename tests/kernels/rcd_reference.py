"""RCD as its author published it, whole-frame and in plain numpy: the test oracle for kernels.demosaic.rcd.

Written from L. Sanz Rodríguez's `rcd_demosaicing.c` (release 2.2, 171117,
https://github.com/LuisSR/RCD-Demosaicing), step for step and with its formulas as printed
there: the discriminations as V / (V + H) in [0, 1], the squared high-pass summed over three
positions, gradients as the four (green) or three (red/blue) absolute differences, and the
same weighted means. None of the tiled kernel's rearrangements (half-resolution planes, shared
gradient terms and ratios, the signed discrimination s = 2d - 1) appear here. Float64
throughout, so the only expected differences from the float32 kernel are its rounding.

`clip=True` clamps green and red/blue to [0, 1] after each step as the C does (`LIM`); isp keeps
values above 1 (the issue asks for it), so the kernel is compared with `clip=False`. The
reference leaves a 4-px border to a bilinear fill and its red/blue at green reads red/blue at
X sites 3 px away, which read green 3 px further: rows and columns within `VALID` px of the edge
are not comparable and are returned as NaN.
"""
import numpy as np

from kernels import cfa as cfa_patterns

EPS, EPSSQ = 1e-5, 1e-10
VALID = 10


def _shift(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """a(y + dy, x + dx), edge values repeated (only the valid interior is used)."""
    h, w = a.shape
    p = 12
    b = np.pad(a, p, mode="edge")
    return b[p + dy:p + dy + h, p + dx:p + dx + w]


def _stat(c: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Sum over three positions along (dy, dx) of the squared 7-tap high-pass along (dy, dx)."""
    def hpf(a):
        return ((_shift(a, -3 * dy, -3 * dx) + _shift(a, 3 * dy, 3 * dx))
                - (_shift(a, -dy, -dx) + _shift(a, dy, dx))
                - 3 * (_shift(a, -2 * dy, -2 * dx) + _shift(a, 2 * dy, 2 * dx)) + 6 * a) ** 2
    h = hpf(c)
    return EPSSQ + _shift(h, -dy, -dx) + h + _shift(h, dy, dx)


def _refine(d: np.ndarray) -> np.ndarray:
    n = 0.25 * (_shift(d, -1, -1) + _shift(d, -1, 1) + _shift(d, 1, -1) + _shift(d, 1, 1))
    return np.where(np.abs(0.5 - d) < np.abs(0.5 - n), n, d)


def rcd_reference(mosaic: np.ndarray, pattern: str, clip: bool = False) -> np.ndarray:
    c = mosaic.astype(np.float64)
    h, w = c.shape
    ch = cfa_patterns.channels(pattern)
    site = np.tile(ch, (h // 2 + 1, w // 2 + 1))[:h, :w]  # the colour sampled at each pixel
    lim = (lambda v: np.clip(v, 0, 1)) if clip else (lambda v: v)

    # 1. Directions.
    v, hs = _stat(c, 1, 0), _stat(c, 0, 1)
    vh = _refine(v / (v + hs))
    p, q = _stat(c, 1, 1), _stat(c, 1, -1)
    pq = _refine(p / (p + q))

    # 2. Low-pass.
    lpf = (0.25 * c + 0.125 * (_shift(c, -1, 0) + _shift(c, 1, 0) + _shift(c, 0, -1) + _shift(c, 0, 1))
           + 0.0625 * (_shift(c, -1, -1) + _shift(c, -1, 1) + _shift(c, 1, -1) + _shift(c, 1, 1)))

    # 3. Green at red and blue sites.
    def grad(dy, dx):
        s = lambda k: _shift(c, k * dy, k * dx)  # noqa: E731
        return EPS + np.abs(s(1) - s(-1)) + np.abs(c - s(2)) + np.abs(s(1) - s(3)) + np.abs(s(2) - s(4))

    def est(dy, dx):
        l2 = _shift(lpf, 2 * dy, 2 * dx)
        return _shift(c, dy, dx) * (1 + (lpf - l2) / (EPS + lpf + l2))

    n_g, s_g, w_g, e_g = grad(-1, 0), grad(1, 0), grad(0, -1), grad(0, 1)
    v_est = (s_g * est(-1, 0) + n_g * est(1, 0)) / (n_g + s_g)
    h_est = (w_g * est(0, 1) + e_g * est(0, -1)) / (e_g + w_g)
    rgb = np.zeros((h, w, 3))
    for k in range(3):
        rgb[..., k] = np.where(site == k, c, 0)
    green = np.where(site == 1, c, lim(vh * h_est + (1 - vh) * v_est))
    rgb[..., 1] = green

    # 4.2 Red at blue sites and blue at red sites, along the diagonals.
    for k, other in ((0, 2), (2, 0)):
        at = site == other
        col = rgb[..., k]

        def dgrad(dy, dx):
            return (EPS + np.abs(_shift(col, dy, dx) - _shift(col, -dy, -dx))
                    + np.abs(_shift(col, dy, dx) - _shift(col, 3 * dy, 3 * dx))
                    + np.abs(green - _shift(green, 2 * dy, 2 * dx)))

        def dest(dy, dx):
            return _shift(col, dy, dx) - _shift(green, dy, dx)

        nw, ne, sw, se = dgrad(-1, -1), dgrad(-1, 1), dgrad(1, -1), dgrad(1, 1)
        p_est = (nw * dest(1, 1) + se * dest(-1, -1)) / (nw + se)
        q_est = (ne * dest(1, -1) + sw * dest(-1, 1)) / (ne + sw)
        rgb[..., k] = np.where(at, lim(green + (1 - pq) * p_est + pq * q_est), col)

    # 4.3 Red and blue at green sites, along rows and columns.
    for k in (0, 2):
        col = rgb[..., k].copy()

        def cgrad(dy, dx):
            return (EPS + np.abs(green - _shift(green, 2 * dy, 2 * dx))
                    + np.abs(_shift(col, dy, dx) - _shift(col, -dy, -dx))
                    + np.abs(_shift(col, dy, dx) - _shift(col, 3 * dy, 3 * dx)))

        def cest(dy, dx):
            return _shift(col, dy, dx) - _shift(green, dy, dx)

        n_g, s_g, w_g, e_g = cgrad(-1, 0), cgrad(1, 0), cgrad(0, -1), cgrad(0, 1)
        v_est = (n_g * cest(1, 0) + s_g * cest(-1, 0)) / (n_g + s_g)
        h_est = (e_g * cest(0, -1) + w_g * cest(0, 1)) / (e_g + w_g)
        rgb[..., k] = np.where(site == 1, lim(green + (1 - vh) * v_est + vh * h_est), col)

    rgb[:VALID], rgb[-VALID:], rgb[:, :VALID], rgb[:, -VALID:] = np.nan, np.nan, np.nan, np.nan
    return rgb
