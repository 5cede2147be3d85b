"""Demosaic + finish tile by tile (kernels.develop) against the two passes it replaces.

    python -m bench.develop_speed [--size uhd] [--repeats 15]

For RCD and Menon 2007: the demosaic into a reused float32 frame followed by kernels.fused.finish
into a reused uint16 image, against kernels.develop doing both per cache-resident tile, with the
demo's grade (sRGB, ASC CDL with saturation, 33^3 tetrahedral LUT). The mosaic is a synthetic
frame (smooth colour structure and noise). Contenders alternate in one process (bench.common),
medians are reported, and the two outputs are checked equal bit for bit.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from bench.common import SIZES, alternate, ratio_table


def main(argv=None) -> int:
    from isp import Pipeline
    from isp.cli.demo import write_look
    from kernels import fused
    from kernels.demosaic import ALGORITHMS
    from kernels.develop import ALGORITHMS as TILED, develop

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="uhd", choices=sorted(SIZES))
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args(argv)
    h, w = SIZES[args.size]
    with tempfile.TemporaryDirectory() as tmp:
        lut, cdl = write_look(Path(tmp))
        p = Pipeline.from_config({"grade": {"lut": str(lut), "cdl": str(cdl)}})
    finish_args = (np.array([[1.6, -0.4, -0.2], [-0.2, 1.4, -0.2], [0.0, -0.3, 1.3]], np.float32),
                   p.transfer, p.curves, p._cdl_args, p._lut_args, np.float32(65535))
    yy, xx = np.mgrid[0:h, 0:w]
    noise = np.random.default_rng(0).normal(0, 0.02, (h, w))
    mosaic = (0.4 + 0.3 * np.sin(xx * 0.05 + yy * 0.03) + noise).astype(np.float32)
    rgb = np.empty((h, w, 3), np.float32)
    two, tiled = np.empty((h, w, 3), np.uint16), np.empty((h, w, 3), np.uint16)
    print(f"{w}x{h}, {args.repeats} alternated runs, load average {os.getloadavg()[0]:.2f}")
    for name in TILED:
        demosaic = ALGORITHMS[name]

        def passes():
            demosaic(mosaic, "RGGB", out=rgb)
            fused.finish(rgb, 0, h, two, 0, *finish_args)

        times = alternate({"two passes": passes,
                           "tile by tile": lambda: develop(name, mosaic, "RGGB", tiled, *finish_args)}, args.repeats)
        print(ratio_table(times, "two passes", f"{name}: output identical {np.array_equal(two, tiled)}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
