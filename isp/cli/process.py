"""`isp process INPUT -o OUTPUT`: develop and grade a raw frame or sequence."""
from __future__ import annotations

import json
import sys
import time

import numpy as np

from isp.cli.info import add_geometry_flags, geometry
from isp.errors import InputError


def add_parser(sub):
    p = sub.add_parser("process", help="develop and grade raw frames (a file, a folder or shot.####.dng)")
    p.add_argument("input", help="a raw file, a folder, or a sequence pattern like shot.####.dng / shot.%%04d.dng")
    p.add_argument("-o", "--output", required=True, help="output file, or a pattern like out/shot.####.exr")
    add_pipeline_flags(p)
    p.add_argument("--frames", help="frame range to process, e.g. 1001-1100 or 1,3,5-7")
    p.add_argument("--skip-existing", action="store_true", help="leave frames whose output exists (resume a run)")
    p.add_argument("--timings", metavar="FILE.json", help="write per-frame, per-stage milliseconds as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_geometry_flags(p)
    return p


def add_pipeline_flags(p):
    """Flags that override the pipeline config (shared by process, bench and demo)."""
    p.add_argument("--config", metavar="FILE.toml", help="pipeline configuration (TOML)")
    p.add_argument("--demosaic", metavar="NAME", help="demosaic algorithm")
    p.add_argument("--denoise", metavar="NAME", help="denoiser, or 'off'")
    p.add_argument("--strength", type=float, help="denoise strength (1 = matched to the noise model)")
    p.add_argument("--white-balance", dest="white_balance",
                   help="as_shot, grey_world, white_patch, none, a temperature in K, or R,G,B multipliers")
    p.add_argument("--lut", "--grade", dest="lut", metavar="FILE", help="a LUT file (.cube, .spi1d, .spi3d, .csp)")
    p.add_argument("--cdl", metavar="FILE", help="an ASC CDL file (.cdl, .cc, .ccc)")
    p.add_argument("--colorspace", metavar="NAME", help="output colour space, e.g. sRGB, Rec.2020, ACEScg")
    p.add_argument("--transfer", metavar="NAME", help="output transfer function, e.g. srgb, linear, slog3")
    p.add_argument("--depth", help="output depth: 8, 16, 32, half or float")
    p.add_argument("--compression", metavar="NAME",
                   help="EXR: none (default), zip, zips, piz, dwaa, ...; TIFF: none (default), zlib, lzw, zstd")


def overrides(args) -> dict:
    """Config overrides from the command line: {"section.key": value} for every flag given."""
    o = {}
    for flag, key in (("demosaic", "demosaic.algorithm"), ("denoise", "denoise.method"), ("strength", "denoise.strength"),
                      ("lut", "grade.lut"), ("cdl", "grade.cdl"), ("colorspace", "output.colorspace"),
                      ("transfer", "output.transfer"), ("compression", "output.compression")):
        if getattr(args, flag, None) is not None:
            o[key] = getattr(args, flag)
    if getattr(args, "white_balance", None):
        o["sensor.white_balance"] = _white_balance_flag(args.white_balance)
    if getattr(args, "depth", None):
        o["output.depth"] = int(args.depth) if args.depth.isdigit() else args.depth
    return o


def _white_balance_flag(text: str):
    if "," in text:
        try:
            return [float(v) for v in text.split(",")]
        except ValueError:
            raise InputError(f"--white-balance: cannot read {text!r} as R,G,B multipliers") from None
    try:
        return float(text)
    except ValueError:
        return text


def run(args) -> int:
    from isp.pipeline import Pipeline
    from isp.sequence import process_sequence

    pipeline = Pipeline.from_config(args.config, overrides(args))
    frames = None
    if args.frames:
        from isp.io import parse_frames

        frames = parse_frames(args.frames)
    from isp.io import expand

    sequence = expand(args.input, frames)
    results = process_sequence(args.input, args.output, pipeline, frames=frames, skip_existing=args.skip_existing,
                               depth=pipeline.config["output"]["depth"], geometry=geometry(args),
                               compression=pipeline.config["output"]["compression"])
    return report(results, progress=not args.no_progress, timings_path=args.timings,
                  total=len(sequence) + len(sequence.missing))


def report(results, progress: bool = True, timings_path=None, out=None, total: int | None = None) -> int:
    """Drive the results with a progress bar, then print a summary; exit status 2 if any frame failed."""
    from tqdm import tqdm

    out = out or sys.stderr
    t0 = time.perf_counter()
    done, failed, skipped, records = 0, [], 0, []
    bar = tqdm(total=total, unit="frame", disable=None if progress else True, file=out, dynamic_ncols=True)
    for r in results:
        bar.update(1)
        if r.skipped:
            skipped += 1
        elif r.ok:
            done += 1
        else:
            failed.append(r)
            bar.write(f"isp: frame {r.number if r.number is not None else r.source}: {r.error}", file=out)
        records.append({"frame": r.number, "source": str(r.source) if r.source else None,
                        "output": str(r.output) if r.output else None, "ms": r.timings, "error": r.error,
                        "skipped": r.skipped})
    bar.close()
    wall = time.perf_counter() - t0
    print(summary(records, wall), file=out)
    if timings_path:
        from isp.io import atomic_path

        with atomic_path(timings_path) as tmp:
            tmp.write_text(json.dumps({"wall_s": wall, "frames": records}, indent=1))
    return 2 if failed else 0


def summary(records: list[dict], wall: float) -> str:
    done = [r for r in records if r["error"] is None and not r["skipped"]]
    failed = [r for r in records if r["error"] is not None]
    skipped = sum(r["skipped"] for r in records)
    line = f"{len(done)} frames processed"
    if skipped:
        line += f", {skipped} skipped (output exists)"
    if failed:
        line += f", {len(failed)} FAILED ({', '.join(str(r['frame'] or r['source']) for r in failed[:10])}"
        line += ", ...)" if len(failed) > 10 else ")"
    if done:
        line += f" in {wall:.2f} s ({len(done) / wall:.2f} fps)"
        stages = {}
        for r in done[1:] or done:  # the first frame pays for JIT compilation; leave it out when we can
            for k, v in r["ms"].items():
                stages.setdefault(k, []).append(v)
        line += "\nmedian ms per frame: " + ", ".join(f"{k} {np.median(v):.1f}" for k, v in stages.items())
    return line
