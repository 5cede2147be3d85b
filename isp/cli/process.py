"""`isp process INPUT -o OUTPUT`: develop and grade a raw frame or sequence."""
from __future__ import annotations

import contextlib
import json
import signal
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import numpy as np

from isp.cli.info import add_geometry_flags, geometry
from isp.errors import InputError


def add_parser(sub):
    p = sub.add_parser("process", help="develop and grade raw frames (a file, a folder or shot.####.dng)")
    p.add_argument("input", nargs="+",
                   help="raw files, a folder, or a sequence pattern like shot.####.dng / shot.%%04d.dng")
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
                   help="auto (default: as shot, else grey world), as_shot, grey_world, white_patch, none, "
                        "a temperature in K, or R,G,B multipliers")
    p.add_argument("--lut", "--grade", dest="lut", metavar="FILE", help="a LUT file (.cube, .spi1d, .spi3d, .csp)")
    p.add_argument("--cdl", metavar="FILE", help="an ASC CDL file (.cdl, .cc, .ccc)")
    p.add_argument("--cccid", metavar="ID", help="which ColorCorrection of a .ccc/.cdl (default: the first)")
    p.add_argument("--colorspace", metavar="NAME", help="output colour space, e.g. sRGB, Rec.2020, ACEScg")
    p.add_argument("--transfer", metavar="NAME", help="output transfer function, e.g. srgb, linear, slog3")
    p.add_argument("--depth", help="output depth: 8, 16, 32, half or float")
    p.add_argument("--compression", metavar="NAME",
                   help="EXR: none (default), zip, zips, piz, dwaa, ...; TIFF: none (default), zlib, lzw, zstd")
    p.add_argument("--orientation", choices=("display", "sensor"),
                   help="display (default): turned and stretched as the raw says it is shown; sensor: as stored")


def overrides(args) -> dict:
    """Config overrides from the command line: {"section.key": value} for every flag given."""
    o = {}
    for flag, key in (("demosaic", "demosaic.algorithm"), ("denoise", "denoise.method"), ("strength", "denoise.strength"),
                      ("lut", "grade.lut"), ("cdl", "grade.cdl"), ("cccid", "grade.cccid"),
                      ("colorspace", "output.colorspace"),
                      ("transfer", "output.transfer"), ("compression", "output.compression"),
                      ("orientation", "output.orientation")):
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
    from isp.io import expand, parse_frames
    from isp.pipeline import Pipeline
    from isp.sequence import process_sequence

    pipeline = Pipeline.from_config(args.config, overrides(args))
    frames = parse_frames(args.frames) if args.frames is not None else None
    inputs = args.input[0] if len(args.input) == 1 else args.input
    sequence = expand(inputs, frames)
    timings = _timings_path(args, sequence, pipeline.config)
    with _stop_on_interrupt() as (stopped, closing):
        results = process_sequence(sequence, args.output, pipeline, skip_existing=args.skip_existing,
                                   depth=pipeline.config["output"]["depth"],
                                   geometry={**_config_geometry(pipeline.config, sequence), **geometry(args)},
                                   compression=pipeline.config["output"]["compression"], should_stop=stopped)
        return report(results, progress=not args.no_progress, timings_path=timings,
                      total=len(sequence) + len(sequence.missing), debug=args.debug, stopped=stopped,
                      closing=closing)


def _config_geometry(config, sequence) -> dict:
    """The config's [input] geometry, for a sequence of headerless dumps (camera raws carry their own)."""
    from isp.io.sequence import DUMP_SUFFIXES

    if not any(p.suffix.lower() in DUMP_SUFFIXES for _, p in sequence.frames):
        return {}
    return {k: v for k, v in config["input"].items() if v is not None}


def _timings_path(args, sequence, config) -> Path | None:
    """--timings, checked before any frame is developed: it is not a folder, and it is none of
    the run's inputs (frames and their sidecars, config, LUT, CDL) or outputs; its folder is made
    if missing."""
    if not args.timings:
        return None
    from isp.io.writers import output_folder
    from isp.sequence import output_paths

    path = Path(args.timings)
    if path.is_dir():
        raise InputError(f"{path}: --timings names a folder; give a file name like timings.json")
    frames = [p for _, p in sequence.frames]
    inputs = frames + [Path(f"{p}.json") for p in frames] + [  # a dump's geometry sidecar too
        Path(p) for p in (args.config, config["grade"]["lut"], config["grade"]["cdl"]) if p]
    if path.resolve() in {p.resolve() for p in inputs}:
        raise InputError(f"{path}: refusing to write timings over an input file")
    if path.resolve() in {p.resolve() for p in output_paths(sequence, args.output)}:
        raise InputError(f"{path}: --timings would replace one of the run's output images")
    output_folder(path)
    try:  # found now, not after the whole run
        tempfile.TemporaryFile(dir=path.parent).close()
    except OSError as e:
        raise InputError(f"{path}: cannot write timings in {path.parent} ({e.strerror or e})") from None
    return path


def report(results, progress: bool = True, timings_path=None, out=None, total: int | None = None,
           debug: bool = False, stopped=lambda: False, closing=None) -> int:
    """Drive the results with a progress bar, then print a summary; exit status 2 if any frame
    failed, 130 if the run was stopped (`stopped()`, see `_stop_on_interrupt`) before every frame
    was done: once it is, the results still coming are those of the frames in flight, and
    `closing` is set."""
    from tqdm import tqdm

    out = out or sys.stderr
    t0 = time.perf_counter()
    records, missing = [], []
    bar = tqdm(total=total, unit="frame", disable=None if progress else True, file=out, dynamic_ncols=True)
    waiting = _first_frame_note(bar)
    try:
        for r in results:
            if waiting is not None:  # the first frame is in: the note goes, or never comes
                waiting.cancel()
                waiting.join()  # a note being shown right now is shown before it is cleared
                waiting = None
                bar.set_postfix_str("")
            if stopped() and closing is not None:
                closing.set()
            bar.update(1)
            not_on_disk = r.source is None and r.error is not None  # reported as ranges, not a line each
            if missing and not not_on_disk:
                bar.write(f"isp: {_missing_line(missing)}", file=out)
                missing = []
            if not_on_disk:
                missing.append(r.number)
            elif not r.ok:
                bar.write(f"isp: {_failure_line(r)}", file=out)
                if debug and r.exception is not None:
                    traceback.print_exception(r.exception, file=out)
            records.append({"frame": r.number, "source": str(r.source) if r.source else None,
                            "output": str(r.output) if r.output else None, "ms": r.timings, "error": r.error,
                            "skipped": r.skipped})
    finally:  # the results may end in an exception (the sequence's checks run at the first)
        if waiting is not None:
            waiting.cancel()
    if missing:
        bar.write(f"isp: {_missing_line(missing)}", file=out)
    bar.close()
    wall = time.perf_counter() - t0
    if not (total == 1 and len(records) == 1 and records[0]["error"] is not None):  # its line says it all
        print(summary(records, wall), file=out)
    interrupted = stopped() and (total is None or len(records) < total)  # not if every frame got done
    if interrupted:
        print(f"interrupted after {len(records)}{f' of {total}' if total else ''} frames; "
              "run again with --skip-existing to finish", file=out)
    if timings_path:
        from isp.io import atomic_path

        with atomic_path(timings_path) as tmp:
            tmp.write_text(json.dumps({"wall_s": wall, "frames": records}, indent=1))
    return 130 if interrupted else 2 if any(r["error"] for r in records) else 0


def _failure_line(r) -> str:
    """What failed: the frame's number, or its file unless the error names it already."""
    if r.number is not None:
        return f"frame {r.number}: {r.error}"
    return r.error if str(r.source) in r.error else f"{r.source}: {r.error}"


FIRST_FRAME_NOTE = "waiting for the first frame: a first run after installing compiles the kernels (~1 min)"


def _first_frame_note(bar, after: float = 3.0) -> threading.Timer | None:
    """If no frame is done `after` seconds from now, say on the progress bar why (numba compiles
    the kernels on a first run; later runs load them from its cache). None with no bar."""
    if bar.disable:
        return None
    timer = threading.Timer(after, bar.set_postfix_str, (FIRST_FRAME_NOTE,))
    timer.daemon = True
    timer.start()
    return timer


@contextlib.contextmanager
def _stop_on_interrupt():
    """While the block runs, the first SIGINT only sets a flag, `stopped` (yielded with the event
    `closing`): the run starts no further frame. A second one raises KeyboardInterrupt as usual,
    unless `closing` is set (the frames in flight are being written: leaving in the middle of a
    file would leave its temporary behind and abort OpenEXR's threads). Outside the main thread,
    nothing changes."""
    from tqdm import tqdm

    flag, closing = threading.Event(), threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag.is_set, closing
        return

    def on_sigint(signum, frame):
        if not flag.is_set():
            flag.set()
            tqdm.write("isp: stopping after the frames in flight (Ctrl-C again to abort)", file=sys.stderr)
        elif closing.is_set():
            tqdm.write("isp: finishing the images being written", file=sys.stderr)
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield flag.is_set, closing
    finally:
        signal.signal(signal.SIGINT, previous)


def _missing_line(numbers: list[int]) -> str:
    """'frames 3, 7-9 are missing', consecutive numbers as ranges."""
    runs, start = [], numbers[0]
    for a, b in zip(numbers, numbers[1:] + [None]):
        if b != a + 1:
            runs.append(f"{start}" if start == a else f"{start}-{a}")
            start = b
    n = len(numbers)
    return f"frame{'s' if n > 1 else ''} {', '.join(runs)} {'are' if n > 1 else 'is'} missing"


def summary(records: list[dict], wall: float) -> str:
    done = [r for r in records if r["error"] is None and not r["skipped"]]
    failed = sorted((r for r in records if r["error"] is not None), key=lambda r: (r["frame"] is None, r["frame"] or 0))
    skipped = sum(r["skipped"] for r in records)
    line = f"{len(done)} frame{'' if len(done) == 1 else 's'} processed"
    if skipped:
        line += f", {skipped} skipped (output exists)"
    if failed:
        names = (str(r["frame"] if r["frame"] is not None else r["source"]) for r in failed[:10])
        line += f", {len(failed)} FAILED ({', '.join(names)}"
        line += ", ...)" if len(failed) > 10 else ")"
    if done:
        line += f" in {wall:.2f} s ({len(done) / wall:.2f} fps)"
        stages = {}
        for r in done[1:] or done:  # the first frame pays for JIT compilation; leave it out when we can
            for k, v in r["ms"].items():
                stages.setdefault(k, []).append(v)
        line += "\nmedian ms per frame: " + ", ".join(f"{k} {np.median(v):.1f}" for k, v in stages.items())
    return line
