"""`isp bench`: per-frame latency against frame budgets, side by side with peers.

What is measured, in this order (`run_bench`):

1. **Set-up and first frame.** Building the pipeline (LUT compilation, ...) and the first frame are
   timed apart: the first frame pays for numba's JIT compilation, or, with the kernels' on-disk
   cache warm, for loading the cached machine code. `compile_ms` = first frame - the steady-state
   p50 of the same work. `--cold` points numba at an empty cache directory so that it is a true
   compile time.
2. **Steady state.** `frames` frames, each timed per stage and end to end, one after the other
   (read, process, write: `measure.Runner`).
3. **Budgets.** A verdict per frame rate on the end-to-end p99, with p50 beside it
   (`measure.budgets`).
4. **Memory bandwidth.** The machine's copy rate, and each stage's least traffic as a fraction of
   it (`machine.bandwidth`, `machine.stage_bytes`).
5. **Sustained throughput** (`--sustained`, with `--input` and `--write`): the input streamed
   through `isp.process_sequence`, reads and writes overlapping the compute; ms per frame and fps
   in steady state, beside the serial latency, with a verdict per budget (`sustained`).
6. **Thread scaling.** 1..N numba threads, alternating frame by frame (`measure.thread_scaling`).
7. **Peers** (`--compare`): LibRaw, OpenCV, colour-science and OpenColorIO on the same frame,
   alternating with isp (`peers`).

The result is a dict (`results` documents its JSON schema), shown by `results.report` as a table
and by `figure.plot` as a PNG.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from isp.bench.arguments import DEFAULT_FPS, check_output_path, parse_fps, parse_size
from isp.bench.figure import plot
from isp.bench.machine import MIN_BANDWIDTH_BYTES, bandwidth, loadavg, machine_info, stage_bytes
from isp.bench.measure import (FrameSource, Runner, alternate, budgets, percentiles, stage_times, synthetic_frames,
                               thread_counts, thread_scaling, verdict)
from isp.bench.peers import compare_peers
from isp.bench.results import SCHEMA, jsonable, report, write_json
from isp.bench.sustained import sustained_throughput
from isp.errors import InputError

__all__ = ["DEFAULT_FPS", "SCHEMA", "alternate", "bandwidth", "budgets", "check_output_path", "jsonable", "machine_info",
           "parse_fps", "parse_size", "percentiles", "plot", "report", "run_bench", "stage_bytes", "thread_counts",
           "verdict", "write_json"]


def run_bench(*, config=None, overrides: dict | None = None, size: str | None = "uhd", frames: int = 30,
              input=None, geometry: dict | None = None, fps=DEFAULT_FPS, threads: int | None = None,
              compare: bool = False, compare_repeats: int = 5, scaling_frames: int | None = None,
              distinct: int | None = None, fused: bool = True, write_ext: str | None = None,
              cold: bool = False, sustained: bool = False, seed: int = 0,
              say: Callable[[str], None] = lambda s: None, command: list[str] | None = None) -> dict:
    """Measure and return the result dict (its JSON schema: `isp.bench.results`, docs/bench-json.md)."""
    fps_list = parse_fps(fps)
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 1:
        raise InputError(f"--frames: need at least 1 frame, got {frames!r}")
    import numba

    max_threads = int(numba.config.NUMBA_NUM_THREADS)
    if threads is None:
        threads = numba.get_num_threads()
    if not 1 <= threads <= max_threads:
        raise InputError(f"--threads: {threads}; this machine's numba allows 1..{max_threads} "
                         "(set NUMBA_NUM_THREADS for more)")
    if write_ext is not None:
        from isp.io.writers import FORMATS

        write_ext = write_ext if write_ext.startswith(".") else "." + write_ext
        if write_ext.lower() not in FORMATS:
            raise InputError(f"--write: unknown format {write_ext!r}; expected one of {', '.join(sorted(FORMATS))}")
    if sustained and (input is None or write_ext is None):
        raise InputError("--sustained: needs --input SEQUENCE and --write EXT (it streams the sequence through "
                         "isp.process_sequence, reading and writing)")
    if sustained and not fused:
        raise InputError("--sustained and --unfused: the sequence runner runs the fused pipeline only")
    notes: list[str] = []
    loadavg_start = loadavg()
    compile_kind = "cache"
    if cold:
        already = [m for m in ("kernels.sensor", "kernels.fused", "kernels.demosaic") if m in sys.modules]
        if already:
            notes.append("--cold: the pipeline's kernels were already imported, so their numba cache was not redirected")
        else:
            cold_dir = tempfile.mkdtemp(prefix="isp-bench-numba-")
            os.environ["NUMBA_CACHE_DIR"] = cold_dir
            numba.core.config.reload_config()
            compile_kind = "cold"
            import atexit
            import shutil

            atexit.register(shutil.rmtree, cold_dir, True)
    from isp import config as configuration

    cfg = configuration.load(config, overrides or {})  # a bad config fails here, before any work
    depth = cfg["output"]["depth"]
    if write_ext is not None:  # the pipeline quantises to the depth the file is written at
        from isp.io.writers import output_format

        try:
            _, depth, _ = output_format(f"frame{write_ext}", depth, cfg["output"]["compression"])
        except InputError as e:
            raise InputError(f"--depth/--compression: {str(e).split(': ', 1)[1]}") from None
    if input is not None:
        from isp.io import expand

        seq = expand(input)
        source = FrameSource(sequence=seq, geometry=geometry)
        say(f"input: {len(seq)} frame(s) from {input}")
    else:
        h, w = parse_size(size or "uhd")
        k = distinct if distinct else min(frames + 1, 3)
        say(f"synthesising {k} {w}x{h} raw frame(s)")
        source = FrameSource(frames=synthetic_frames(h, w, k, seed))
    from isp.pipeline import Pipeline

    numba.set_num_threads(threads)
    t0 = time.perf_counter()
    pipeline = Pipeline(cfg)
    setup_ms = (time.perf_counter() - t0) * 1e3
    tmp = tempfile.TemporaryDirectory(prefix="isp-bench-")
    tmpdir = Path(tmp.name)
    try:
        runner = Runner(pipeline, source, depth=depth, fused=fused, write_ext=write_ext, tmpdir=tmpdir,
                        compression=cfg["output"]["compression"])
        say("first frame (JIT compile or cache load)")
        first_ms, first_total, _ = runner.frame(0)
        say(f"{frames} frames at {threads} thread(s)")
        records = []
        for i in range(frames):
            ms, total, name = runner.frame(i + 1)
            records.append({"index": i + 1, "source": name, "ms": ms, "total_ms": total})
        image = runner.last_image
        frame0 = source.get(0)[0]  # the frame the peers get, and the geometry
        h, w = frame0.mosaic.shape
        stage_lists = stage_times(records)
        e2e = percentiles([r["total_ms"] for r in records])
        e2e["fps"] = len(records) / (sum(r["total_ms"] for r in records) / 1e3)
        e2e["includes"] = list(stage_lists)
        work = [sum(v for k, v in r["ms"].items() if k not in ("read", "write")) for r in records]
        # what the first frame took beyond a steady one (0 if noise made it no slower)
        compile_ms = max(0.0, sum(v for k, v in first_ms.items() if k not in ("read", "write")) - float(np.median(work)))

        say("memory bandwidth")
        bw = bandwidth(h * w * 12)
        stages = {}
        for name, values in stage_lists.items():
            s = percentiles(values)
            nbytes = stage_bytes(name, h, w, image.dtype.itemsize, frame0.mosaic.dtype.itemsize)
            if name == "grade" and not (cfg["grade"]["cdl"] or cfg["grade"]["lut"]):
                nbytes = None  # nothing to do: nothing moves
            s["bytes"] = nbytes
            s["gb_per_s"] = nbytes / (s["p50_ms"] / 1e3) / 1e9 if nbytes and s["p50_ms"] > 0 else None
            s["bandwidth_fraction"] = s["gb_per_s"] / bw["peak_gb_s"] if s["gb_per_s"] else None
            stages[name] = s

        streamed = None
        if sustained:
            say(f"sustained: {frames} frames through isp.process_sequence, after a warm-up one")
            folder = tmpdir / "sustained"
            folder.mkdir()
            streamed = sustained_throughput(pipeline, seq, frames, folder, write_ext, fps_list, depth=depth,
                                            compression=cfg["output"]["compression"], geometry=geometry)
            streamed["serial_ms_per_frame"] = e2e["mean_ms"]
            streamed["speedup"] = e2e["mean_ms"] / streamed["ms_per_frame"]

        n_scaling = scaling_frames if scaling_frames is not None else min(frames, 10)
        scaling = []
        if n_scaling > 0:
            say(f"thread scaling: {', '.join(map(str, thread_counts(threads)))} thread(s), {n_scaling} frame(s) each")
            scaling = thread_scaling(runner, threads, n_scaling, say)

        comparison = None
        if compare:
            lut = cfg["grade"]["lut"]
            lut_path = Path(lut) if lut and Path(lut).suffix.lower() == ".cube" else None
            comparison = compare_peers(runner, frame0, tmpdir, lut_path, compare_repeats, say)
    finally:
        tmp.cleanup()

    machine = machine_info(peers=compare)
    machine["loadavg_start"], machine["loadavg_end"] = loadavg_start, loadavg()
    load = max((machine["loadavg_start"] or [0])[0], (machine["loadavg_end"] or [0])[0])
    if load > 0.5 * (machine["cores_available"] or 1):
        notes.append(f"the machine was busy (load average up to {load:.1f} on {machine['cores_available']} cores): "
                     "expect noise, compare runs with care")
    if source.frames is not None:
        notes.append(f"synthetic input: {len(source.frames)} distinct frames in memory, cycled; no read stage")
    elif frames + 1 > len(source):
        notes.append(f"the input has {len(source)} frame(s); they were read again in turn for {frames + 1}")
    if streamed and streamed["streamed"] > len(source):
        notes.append(f"sustained: the input's {len(source)} frame(s) were streamed again in turn for "
                     f"{streamed['streamed']}, mostly from the page cache")
    if not write_ext:
        notes.append("end-to-end excludes output encoding/writing (use --write EXT to include it)")
    if streamed and streamed["speedup"] < 1:
        notes.append(f"sustained was slower than serial: the read and write threads compete with numba's "
                     f"{threads} thread(s) for {machine['cores_available']} core(s)")
    if h * w * 12 < MIN_BANDWIDTH_BYTES:
        notes.append(f"a {w}x{h} frame fits in the CPU caches: the stages' fractions of memory bandwidth mean little")
    if len(scaling) > 1 and scaling[-1]["p50_ms"] > scaling[0]["p50_ms"]:
        notes.append(f"{scaling[-1]['threads']} threads were slower than 1: the cores are shared with other work "
                     "(each parallel region waits for its slowest thread)")
    spread = (e2e["p99_ms"] - e2e["p50_ms"]) / e2e["p50_ms"] if e2e["p50_ms"] > 0 else 0
    if spread > 0.25:
        notes.append(f"p99 is {100 * spread:.0f}% above p50: a noisy run (other load) or uneven frames")

    result = {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command,
        "machine": machine,
        "input": {"kind": "synthetic" if source.frames is not None else "sequence", "width": w, "height": h,
                  "pattern": frame0.pattern, "distinct_frames": len(source),
                  "source": None if input is None else str(input)},
        "pipeline": {"stages": [k for k in stage_lists if k not in ("read", "write")], "fused": fused,
                     "depth": depth, "output_dtype": str(image.dtype),
                     "config": jsonable(cfg)},
        "frames": len(records),
        "setup_ms": setup_ms,
        "first_frame_ms": first_total,
        "first_frame_stages_ms": first_ms,
        "compile_ms": compile_ms,
        "compile_kind": compile_kind,
        "stages": stages,
        "end_to_end": e2e,
        "budgets": budgets(e2e, fps_list),
        "bandwidth": bw,
        "threads": {"used": threads, "scaling": scaling},
        "per_frame": records,
        "compare": comparison,
        "sustained": streamed,
        "notes": notes,
    }
    return result

