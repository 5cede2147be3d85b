"""Demosaic speed: ms per frame of every isp algorithm beside OpenCV and colour-demosaicing.

All contenders of one table run alternately in the same process (bench.common.alternate) and
are reported as median ms and as speed relative to OpenCV bilinear. OpenCV has no float Bayer
path: bilinear and edge-aware get a 16-bit mosaic, VNG an 8-bit one (its only depth); isp and
colour-demosaicing get float32. colour-demosaicing is slow, so it has its own table, each
method beside the isp kernel of the same algorithm, with fewer repeats. Kernels that take an
`out=` array are also timed writing into a reused one ("out="): what a pipeline that keeps its
buffers pays, without the page faults of a fresh 100 MB output at UHD (OpenCV likewise with
`dst=`); the last line of each table gives the numbers issue #3 sets targets for. The JIT compile time
is measured first, in a fresh numba cache directory filled by a child process, and reported
separately; the timings load the kernels from that cache.

    python -m bench.demosaic_speed [--sizes 1080p,uhd,8k] [--repeats 7]
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import SIZES, alternate, median_ms, ratio_table


def compile_times() -> dict[str, float]:
    """Seconds of each algorithm's first call on a small frame, in an empty numba cache."""
    from kernels.demosaic import ALGORITHMS

    m = np.random.default_rng(0).random((64, 64), dtype=np.float32)
    out = {}
    for name, f in ALGORITHMS.items():
        t0 = time.perf_counter()
        f(m, "RGGB")
        out[name] = time.perf_counter() - t0
    return out


def compile_in_child() -> dict[str, float]:
    """`compile_times` in a child process that fills this run's (empty) numba cache; this process
    then loads the kernels from it, as every run after a user's first does. Timing in the process
    that compiled them would not measure that: there, Menon 2007's tile kernel ran ~2.3x slower
    than the same kernel loaded from the cache (numba 0.68; RCD and the linear kernels showed no
    such gap; see bench/RESULTS-demosaic.md)."""
    code = "import json; from bench.demosaic_speed import compile_times; print(json.dumps(compile_times()))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[1])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1080p,uhd", help=f"comma-separated, from {', '.join(SIZES)}")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--peer-repeats", type=int, default=2, help="repeats for colour-demosaicing")
    args = ap.parse_args(argv)
    sizes = args.sizes.split(",")
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        ap.error(f"unknown size {unknown[0]!r}; expected from {', '.join(SIZES)}")

    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="isp-numba-")
    import colour_demosaicing as cdm
    import cv2
    import numba

    from kernels.demosaic import ALGORITHMS

    print(f"threads: numba {numba.get_num_threads()}, OpenCV {cv2.getNumThreads()}")
    print("JIT compile (first call, empty cache, in a child process): "
          + ", ".join(f"{n} {s:.1f} s" for n, s in compile_in_child().items()))

    peers = {"bilinear": cdm.demosaicing_CFA_Bayer_bilinear, "malvar2004": cdm.demosaicing_CFA_Bayer_Malvar2004,
             "menon2007": cdm.demosaicing_CFA_Bayer_Menon2007}
    rng = np.random.default_rng(1)
    for size in sizes:
        h, w = SIZES[size]
        # a smooth random field, not white noise, so directional tests see structure
        m = np.kron(rng.random((h // 8 + 1, w // 8 + 1), dtype=np.float32), np.ones((8, 8), np.float32))[:h, :w]
        m = np.ascontiguousarray(m)
        m16 = np.round(m * 65535).astype(np.uint16)
        m8 = np.round(m * 255).astype(np.uint8)
        # ARI takes seconds a frame: timed with the slow peers below, not in this table
        fast = {f"isp {n}": (lambda f=f: f(m, "RGGB")) for n, f in ALGORITHMS.items() if n != "ari"}
        rgb = np.empty((h, w, 3), np.float32)
        for n, f in ALGORITHMS.items():
            if n != "ari" and "out" in inspect.signature(f).parameters:
                fast[f"isp {n} (out=)"] = lambda f=f: f(m, "RGGB", out=rgb)
        fast["OpenCV bilinear"] = lambda: cv2.cvtColor(m16, cv2.COLOR_BayerBG2RGB)
        rgb16 = np.empty((h, w, 3), np.uint16)
        fast["OpenCV bilinear (dst=)"] = lambda: cv2.cvtColor(m16, cv2.COLOR_BayerBG2RGB, dst=rgb16)
        fast["OpenCV EA"] = lambda: cv2.cvtColor(m16, cv2.COLOR_BayerBG2RGB_EA)
        fast["OpenCV VNG (8-bit)"] = lambda: cv2.cvtColor(m8, cv2.COLOR_BayerBG2RGB_VNG)
        print()
        times = alternate(fast, args.repeats)
        print(ratio_table(times, "OpenCV bilinear", f"{size} ({w}x{h})"))
        med = median_ms(times)
        cv = med["OpenCV bilinear (dst=)"]
        print(f"{size}: issue #3 targets, buffers reused (out= / dst=): "
              f"rcd {med['isp rcd (out=)']:.1f} ms (UHD target 25), menon2007 {med['isp menon2007 (out=)']:.1f} ms, "
              f"malvar2004 / OpenCV bilinear {med['isp malvar2004 (out=)'] / cv:.2f}x (target <= 1.5)")

        slow = {}
        for n, f in peers.items():
            slow[f"isp {n}"] = lambda f=ALGORITHMS[n]: f(m, "RGGB")
            slow[f"colour-demosaicing {n}"] = lambda f=f: f(m, "RGGB")
        slow["isp ari"] = lambda: ALGORITHMS["ari"](m, "RGGB", out=rgb)
        # isp's calls are ~100x shorter: five of them a round, so one noisy call does not set its median
        med = median_ms(alternate(slow, args.peer_repeats, runs={f"isp {n}": 5 for n in peers}))
        print(f"\n{size}: isp vs colour-demosaicing (median of {args.peer_repeats}; isp: of {5 * args.peer_repeats})")
        for n in peers:
            ours, theirs = med[f"isp {n}"], med[f"colour-demosaicing {n}"]
            print(f"  {n:12} isp {ours:9.2f} ms  colour-demosaicing {theirs:10.1f} ms  x{theirs / ours:8.1f}")
        print(f"  {'ari':12} isp {med['isp ari']:9.2f} ms  (median of {args.peer_repeats}; no peer: the best "
              "algorithm, UHD target 25 ms)")


if __name__ == "__main__":
    main()
