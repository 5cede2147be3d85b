"""Timing frames: percentiles, budget verdicts, alternating contenders, and the serial runner.

The serial runner (`Runner.frame`) takes one frame end to end: "read" (`isp.read` of an input
sequence's frame; synthetic frames are in memory and have no read), each stage of
`Pipeline.process_timed` (its stage names, as the config makes them: "sensor", "denoise",
"balance", "demosaic", "colour+grade", ...), and "write" (only with a write extension: `isp.write`
of the result to a temporary file; `isp bench` then has the pipeline quantise to the depth it is
written at: the config's, else the format's first). A frame's total is the wall time of read +
process (+ write), so it includes what the stage timers leave out. Percentiles are numpy's linear
interpolation between order statistics.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

BASIS = "p99"  # the end-to-end statistic budgets are judged on


def percentiles(values) -> dict:
    """p50/p95/p99/max/min/mean of a list of milliseconds (numpy's linear interpolation)."""
    v = np.asarray(list(values), dtype=np.float64)
    if v.size == 0:
        raise ValueError("no values")
    p50, p95, p99 = np.percentile(v, [50, 95, 99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99), "max_ms": float(v.max()),
            "min_ms": float(v.min()), "mean_ms": float(v.mean())}


def verdict(latency_ms: float, fps: float) -> dict:
    """Does a frame taking `latency_ms` fit the budget of `fps`? Headroom in percent of the budget."""
    budget = 1000.0 / fps
    return {"fps": fps, "budget_ms": budget, "latency_ms": float(latency_ms), "meets": bool(latency_ms <= budget),
            "headroom_pct": 100.0 * (budget - latency_ms) / budget}


def budgets(end_to_end: dict, fps_list, basis: str = BASIS) -> list[dict]:
    """A verdict per frame rate on the end-to-end `basis` percentile, with the p50 verdict beside it.

    Budget = 1000 / fps ms; judged on p99, a budget is met when at most ~1% of frames are late.
    Headroom = (budget - latency) / budget in percent, negative when missed.
    """
    rows = []
    for fps in fps_list:
        row = verdict(end_to_end[f"{basis}_ms"], fps)
        row["basis"] = basis
        p50 = verdict(end_to_end["p50_ms"], fps)
        row["meets_p50"], row["headroom_p50_pct"] = p50["meets"], p50["headroom_pct"]
        rows.append(row)
    return rows


def alternate(contenders: dict[str, Callable[[], object]], repeats: int = 5,
              warmup: bool = True) -> dict[str, list[float]]:
    """Run the contenders A B C A B C ... `repeats` times (after one warm-up call each); ms lists.

    Alternating spreads machine noise (other load, clock changes) over all contenders evenly.
    """
    if warmup:
        for fn in contenders.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1e3)
    return times


# ------------------------------------------------------------------------------------------------
# frames


def synthetic_frames(height: int, width: int, distinct: int, seed: int = 0) -> list:
    """`distinct` noisy Bayer frames of the default chart (12-bit RGGB), each with its own noise."""
    from isp import synth

    scene = synth.default_chart(height, width)
    sensor = synth.SensorModel(seed=seed)
    return [synth.render(scene, sensor, frame_number=i + 1) for i in range(distinct)]


class FrameSource:
    """Frame i of the run: synthetic frames in memory (cycled), or an input sequence read from disk
    (cycled when shorter than the run); `get(i)` returns (frame, read ms or None, source name)."""

    def __init__(self, frames=None, sequence=None, geometry=None):
        self.frames = frames
        self.sequence = sequence
        self.geometry = geometry or {}

    def __len__(self):
        return len(self.frames) if self.frames is not None else len(self.sequence)

    def get(self, i: int):
        if self.frames is not None:
            f = self.frames[i % len(self.frames)]
            return f, None, f"synthetic #{i % len(self.frames) + 1}"
        from isp.io import read

        number, path = self.sequence.frames[i % len(self.sequence)]
        t0 = time.perf_counter()
        f = read(path, frame_number=number, **self.geometry)
        return f, (time.perf_counter() - t0) * 1e3, str(path)


# ------------------------------------------------------------------------------------------------
# running


class Runner:
    """One frame end to end: read (if from disk), process, write (with `write_ext`, at `depth` with
    `compression`, as `isp process` writes). Frames of one size reuse one output array, as the
    sequence runner recycles written ones (a fresh UHD array costs its page faults every frame)."""

    def __init__(self, pipeline, source: FrameSource, depth=None, fused: bool = True, write_ext: str | None = None,
                 tmpdir: Path | None = None, compression: str | None = None):
        self.pipeline, self.source, self.depth, self.fused = pipeline, source, depth, fused
        self.write_ext, self.tmpdir, self.compression = write_ext, tmpdir, compression
        self.last_image = None

    def frame(self, i: int) -> tuple[dict, float, str]:
        t0 = time.perf_counter()
        frame, read_ms, name = self.source.get(i)
        out = self.last_image
        if out is None or (out.shape, out.dtype) != self.pipeline.output_spec(frame, self.depth):
            out = None
        image, stage_ms = self.pipeline.process_timed(frame, fused=self.fused, depth=self.depth, out=out)
        ms = {}
        if read_ms is not None:
            ms["read"] = read_ms
        ms.update(stage_ms)
        if self.write_ext:
            from isp.io import write

            t1 = time.perf_counter()
            write(self.tmpdir / f"frame{self.write_ext}", image, self.depth, compression=self.compression)
            ms["write"] = (time.perf_counter() - t1) * 1e3
        total = (time.perf_counter() - t0) * 1e3
        self.last_image = image
        return ms, total, name


def stage_times(records: list[dict]) -> dict[str, list[float]]:
    """Stage name -> its milliseconds over `records` ({"ms": {stage: ms}, ...} each), in stage order."""
    stages: dict[str, list[float]] = {}
    for r in records:
        for k, v in r["ms"].items():
            stages.setdefault(k, []).append(v)
    return stages


def thread_counts(n: int) -> list[int]:
    """1..n, or powers of two up to n and n itself beyond 8 threads."""
    if n <= 8:
        return list(range(1, n + 1))
    counts = [1 << k for k in range(n.bit_length()) if 1 << k < n]
    return counts + [n]


def thread_scaling(runner: Runner, max_threads: int, frames: int, say=lambda s: None) -> list[dict]:
    """Frames at 1..max_threads numba threads (`thread_counts`), the counts alternating frame by
    frame (1 2 ... N 1 2 ... N ...) so that load from elsewhere spreads over all of them."""
    import numba

    counts = thread_counts(max_threads)
    records: dict[int, list] = {t: [] for t in counts}
    i = 0
    try:
        for _ in range(frames):
            for t in counts:
                numba.set_num_threads(t)
                ms, total, _ = runner.frame(i)
                records[t].append((ms, total))
                i += 1
    finally:
        numba.set_num_threads(max_threads)
    rows = []
    for t in counts:
        totals = [tot for _, tot in records[t]]
        stages = stage_times([{"ms": ms} for ms, _ in records[t]])
        rows.append({"threads": t, "frames": len(totals), "p50_ms": float(np.median(totals)),
                     "fps": len(totals) / (sum(totals) / 1e3),
                     "stages_p50_ms": {k: float(np.median(v)) for k, v in stages.items()}})
    base = rows[0]["p50_ms"]
    for r in rows:
        r["speedup"] = base / r["p50_ms"]
        r["efficiency"] = r["speedup"] / r["threads"]
    return rows

