"""`isp bench`: per-frame latency against frame budgets, side by side with peers.

    isp bench [--size 1080p|uhd|dci4k|8k|WxH] [--frames N] [--input SEQUENCE] [--config FILE]
              [--fps 23.976,24,25,30,50,60] [--threads N] [--compare] [--write EXT [--sustained]]
              [--json FILE] [--plot FILE.png]
              [pipeline flags as for `isp process`]

What is measured: see the `isp.bench` package; the JSON schema: `isp.bench.results` and docs/bench-json.md.
"""
from __future__ import annotations

import sys

from isp.cli.process import add_pipeline_flags, overrides
from isp.errors import InputError


def add_parser(sub):
    p = sub.add_parser(
        "bench", help="per-frame latency against frame budgets, thread scaling, peers (--compare)",
        description="Time the pipeline frame by frame: warm-up apart, per-stage and end-to-end p50/p95/p99/max, "
                    "a verdict per frame budget, memory bandwidth, (--sustained) the throughput the sequence "
                    "runner sustains, thread scaling, and (--compare) LibRaw, OpenCV, colour-science and "
                    "OpenColorIO on the same frames.")
    src = p.add_argument_group("frames")
    src.add_argument("--size", help="synthesise frames of this size: 1080p, uhd, dci4k, 8k or WIDTHxHEIGHT "
                                    "(default uhd)")
    src.add_argument("--input", metavar="SEQUENCE",
                     help="time reading and processing a raw sequence (shot.####.dng, a folder, a file) instead")
    src.add_argument("--frames", type=_int, default=30,
                     help="steady-state frames to time, after one warm-up frame (default 30)")
    src.add_argument("--distinct", type=_int, metavar="K",
                     help="distinct synthetic frames, cycled (default 3: more than a CPU cache holds at UHD)")
    m = p.add_argument_group("measuring")
    m.add_argument("--fps", default=",".join(f"{v:g}" for v in (23.976, 24, 25, 30, 50, 60)),
                   help="frame budgets to judge against (default 23.976,24,25,30,50,60)")
    m.add_argument("--threads", type=_int, help="numba threads for the run; thread scaling goes 1..N "
                                                "(default: numba's, NUMBA_NUM_THREADS)")
    m.add_argument("--scaling-frames", type=_int, metavar="N",
                   help="frames per thread count in the scaling test (default min(frames, 10); 0 skips it)")
    m.add_argument("--compare", action="store_true",
                   help="also time LibRaw (linear, AHD), OpenCV, colour-science and OpenColorIO on the same frame")
    m.add_argument("--repeats", type=_int, default=5, help="alternating rounds for --compare (default 5)")
    m.add_argument("--write", metavar="EXT", help="include encoding + writing each result (exr, tif, png, jpg) "
                                                  "in end to end, to a temporary folder")
    m.add_argument("--sustained", action="store_true",
                   help="with --input and --write: also stream the input (cycled) through isp.process_sequence, "
                        "reads and writes overlapping the compute, and report the ms per frame and fps it "
                        "sustains (needs disk for frames + 3 outputs in the temporary folder)")
    m.add_argument("--unfused", action="store_true", help="time the unfused (stage by stage) path")
    m.add_argument("--cold", action="store_true",
                   help="compile the kernels from scratch (empty numba cache) so compile_ms is a true JIT time "
                        "(minutes on a small machine)")
    out = p.add_argument_group("output")
    out.add_argument("--json", metavar="FILE", help="write the results as JSON (schema: docs/bench-json.md)")
    out.add_argument("--plot", metavar="FILE.png", help="write a PNG: per-frame latency, budgets, stages, peers")
    out.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    add_pipeline_flags(p)
    return p


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def run(args) -> int:
    from isp import bench

    # every argument is checked before the minutes of measuring start
    if args.frames < 1:
        raise InputError(f"--frames: need at least 1 frame, got {args.frames}")
    if args.size and args.input:
        raise InputError("--size and --input: give one (the input's frames have their own size)")
    if not args.input:
        bench.parse_size(args.size or "uhd")
    fps = bench.parse_fps(args.fps)
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads: need at least 1, got {args.threads}")
    if args.distinct is not None and args.distinct < 1:
        raise InputError(f"--distinct: need at least 1, got {args.distinct}")
    if args.repeats < 1:
        raise InputError(f"--repeats: need at least 1, got {args.repeats}")
    if args.scaling_frames is not None and args.scaling_frames < 0:
        raise InputError(f"--scaling-frames: need 0 or more, got {args.scaling_frames}")
    if args.json:
        bench.check_output_path(args.json, "--json")
    if args.plot:
        bench.check_output_path(args.plot, "--plot", (".png",))

    say = (lambda s: None) if args.quiet else (lambda s: print(f"isp bench: {s}", file=sys.stderr, flush=True))
    result = bench.run_bench(
        config=args.config, overrides=overrides(args), size=args.size or "uhd", frames=args.frames,
        input=args.input, fps=fps, threads=args.threads, compare=args.compare, compare_repeats=args.repeats,
        scaling_frames=args.scaling_frames, distinct=args.distinct, fused=not args.unfused,
        write_ext=args.write, cold=args.cold, sustained=args.sustained, say=say,
        command=["isp", "bench", *sys.argv[2:]] if sys.argv[1:2] == ["bench"] else None)
    print(bench.report(result))
    if args.json:
        bench.write_json(result, args.json)
        say(f"wrote {args.json}")
    if args.plot:
        bench.plot(result, args.plot)
        say(f"wrote {args.plot}")
    return 0
