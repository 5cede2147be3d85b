"""Sustained throughput: an input sequence streamed through `isp.process_sequence`, as `isp process`
runs it, reading ahead and writing behind on their own threads while the pipeline computes.

The serial runner (`measure.Runner`) times read + process + write one after the other: a latency.
What a sequence gets is what the overlapped runner sustains. The input is cycled to the number of
frames needed (so a short sequence is read again, mostly from the page cache) and written to a
folder the caller gives (a temporary one in `isp bench`).

The clock runs between results, in steady state. `process_sequence` hands a frame's result back
once `write_behind` later frames are computed and its own write is done, so from the first result
on (the warm-up frame: threads starting, the first read not overlapped, the queues filling) each
result stands for one frame's worth of the slowest of read, compute and write; the last
`write_behind` results come without compute between them (the queue draining at the end of the
input) and are streamed but not timed. ms per frame = the time from the first result to the last
timed one / the frames after the first.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from isp.bench.measure import stage_times, verdict
from isp.errors import InputError


def sustained_throughput(pipeline, sequence, frames: int, folder: Path, write_ext: str, fps_list, *, depth=None,
              compression: str | None = None, geometry: dict | None = None, read_ahead: int = 2,
              write_behind: int = 2) -> dict:
    """Stream `sequence` (an `isp.io.expand` result, cycled) through `process_sequence` into `folder`
    as `write_ext` files, timing `frames` frames after the warm-up one; the "sustained" result dict."""
    from isp.sequence import process_sequence

    paths = [path for _, path in sequence.frames]
    streamed = frames + 1 + write_behind  # the warm-up frame, the timed ones, the drain
    inputs = [paths[i % len(paths)] for i in range(streamed)]
    arrivals, records = [], []
    t0 = time.perf_counter()
    for result in process_sequence(inputs, folder / f"frame.####{write_ext}", pipeline, depth=depth,
                                   geometry=geometry, compression=compression, read_ahead=read_ahead,
                                   write_behind=write_behind):
        arrivals.append(time.perf_counter())
        if not result.ok:
            raise InputError(f"--sustained: {result.source}: {result.error}")
        records.append({"ms": result.timings})
    timed_ms = (arrivals[frames] - arrivals[0]) * 1e3
    ms_per_frame = timed_ms / frames
    rows = []
    for fps in fps_list:
        row = verdict(ms_per_frame, fps)
        row["ms_per_frame"] = row.pop("latency_ms")
        rows.append(row)
    return {"runner": "isp.process_sequence", "frames": frames, "warmup_frames": 1, "streamed": streamed,
            "written": sum(1 for p in folder.iterdir() if p.suffix == write_ext),
            "format": write_ext, "depth": depth, "compression": compression,
            "read_ahead": read_ahead, "write_behind": write_behind, "wall_ms": (arrivals[-1] - t0) * 1e3,
            "timed_wall_ms": timed_ms, "ms_per_frame": ms_per_frame, "fps": 1e3 / ms_per_frame,
            "stages_p50_ms": {k: float(np.median(v)) for k, v in stage_times(records[1:frames + 1]).items()},
            "budgets": rows}
