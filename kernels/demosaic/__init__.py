"""Bayer demosaicing kernels, one module per published algorithm.

Every algorithm is `f(mosaic, pattern) -> rgb`: an (H, W) float32 mosaic (black-subtracted,
normalised, values above 1 kept) and a CFA pattern ("RGGB", "BGGR", "GRBG", "GBRG") to an
(H, W, 3) float32 C-contiguous image. Borders are handled by mirroring the mosaic.
"""
from kernels.demosaic.ari import ari
from kernels.demosaic.bilinear import bilinear
from kernels.demosaic.malvar2004 import malvar2004
from kernels.demosaic.menon2007 import menon2007
from kernels.demosaic.rcd import rcd

ALGORITHMS = {
    "bilinear": bilinear,
    "malvar2004": malvar2004,
    "menon2007": menon2007,
    "rcd": rcd,
    "ari": ari,
}


def demosaic(mosaic, pattern: str, algorithm: str = "menon2007"):
    """Demosaic with the algorithm named `algorithm`; ValueError naming the allowed ones."""
    try:
        f = ALGORITHMS[algorithm]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown demosaic algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}") from None
    return f(mosaic, pattern)
