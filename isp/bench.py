"""`isp bench`: per-frame latency against frame budgets, side by side with peers.

What is measured, in this order (`run_bench`):

1. **Set-up and first frame.** Building the pipeline (LUT compilation, ...) and the first frame are
   timed apart: the first frame pays for numba's JIT compilation, or, with the kernels' on-disk
   cache warm, for loading the cached machine code. `compile_ms` = first frame - the steady-state
   p50 of the same work. `--cold` points numba at an empty cache directory so that it is a true
   compile time.
2. **Steady state.** `frames` frames, each timed per stage (`Pipeline.process_timed`'s stage names,
   as the config makes them: "sensor", "denoise", "balance", "demosaic", "colour+grade", ...), plus
   "read" (`isp.read` of an input sequence's frame; synthetic frames are in memory and have no read)
   and "write" (only with `--write EXT`: `isp.write` of the result to a temporary file). End-to-end
   is the wall time of read + process (+ write), so it includes what the stage timers leave out.
   Percentiles are numpy's linear interpolation between order statistics.
3. **Budgets.** For each frame rate, budget = 1000 / fps ms; a budget is met when the end-to-end
   p99 latency is within it (at most ~1% of frames late); headroom = (budget - p99) / budget in
   percent, negative when missed. The same figures on p50 are given beside it.
4. **Memory bandwidth.** A buffer as large as the largest image the pipeline makes (H x W x 3
   float32) copied with numpy and with a numba parallel loop: bytes read + bytes written per
   second. Each stage's achieved rate is estimated from the arrays it must read and write once
   (e.g. sensor: uint16 H x W in, float32 H x W out; demosaic: float32 H x W in, H x W x 3 out),
   so it is a lower bound of its traffic, and given as a fraction of the better copy rate.
5. **Thread scaling.** 1..N numba threads (`numba.set_num_threads`), the thread counts alternating
   frame by frame (1 2 ... N 1 2 ... N ...) so load from elsewhere spreads over all of them.
6. **Peers** (`--compare`): on the same frame in the same run, alternating with isp (A B C ... A B
   C ...), medians reported and ratios = peer ms / isp ms (above 1: isp is faster). LibRaw (rawpy
   `postprocess`, linear and AHD, on the frame written as an uncompressed DNG, decode excluded),
   OpenCV (16-bit Bayer demosaic + bilateral filter on float32), colour-demosaicing Menon 2007 +
   colour-science `LUT3D.apply` (too slow for whole frames: timed on a crop, scaled per pixel, so
   marked), and OpenColorIO's CPU processor for a 33^3 3D LUT beside isp's LUT kernel on the same
   float image. The develop peers are compared with the whole isp pipeline as configured; the
   LUT-only peers with isp's LUT alone ("isp lut").

JSON (`--json FILE`), schema "isp-bench/1"; keys marked * are stable for scripts, the rest may
grow. Times are milliseconds, rates GB/s (1e9 bytes):

    schema*        "isp-bench/1"
    created        ISO 8601 local time; command: the argument list
    machine*       {cpu_model, cores_logical, cores_available, numba_threads_max, threading_layer,
                    numba_cache_dir, memory_gb, loadavg_start, loadavg_end,
                    versions: {python, numpy, numba, isp, isp_commit, [rawpy, opencv, colour,
                    colour_demosaicing, opencolorio with --compare]}}
    input          {kind: "synthetic"|"sequence", width, height, pattern, distinct_frames, source}
    pipeline       {stages: [names], fused, strip_rows, depth, output_dtype, config: {...}}
    frames         number of steady-state frames measured
    setup_ms       building the pipeline
    first_frame_ms*  the first frame, end to end
    compile_ms*    first frame - steady p50 of the processing (JIT compile or cache load), floored at 0;
                   compile_kind: "cold" (--cold: an empty numba cache) | "cache"
    stages*        {name: {p50_ms*, p95_ms*, p99_ms*, max_ms*, min_ms, mean_ms, bytes, gb_per_s,
                    bandwidth_fraction}}  (bytes/gb_per_s/bandwidth_fraction null when unknown)
    end_to_end*    {p50_ms*, p95_ms*, p99_ms*, max_ms*, min_ms, mean_ms, fps*, includes: [...]}
                   fps = frames / summed end-to-end time (sequential throughput)
    budgets*       [{fps*, budget_ms*, basis: "p99", latency_ms, meets*, headroom_pct*,
                     meets_p50, headroom_p50_pct}]
    bandwidth      {bytes, numpy_copy_gb_s, numba_copy_gb_s, peak_gb_s}
    threads*       {used, scaling: [{threads*, frames, p50_ms*, fps*, speedup*, efficiency,
                    stages_p50_ms: {...}}]}
    per_frame      [{index, source, ms: {stage: ms}, total_ms}]
    compare*       null, or {repeats, peers: {name: {median_ms*, ratio*, reference, scaled_from_crop,
                    crop, what}}, reference_ms: {"isp": ms, "isp lut": ms}}
    notes          [strings]: what a reader should know about this run (noise, scaling, ...)
"""
from __future__ import annotations

import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from isp.errors import InputError

SCHEMA = "isp-bench/1"
SIZES = {"1080p": (1080, 1920), "uhd": (2160, 3840), "dci4k": (2160, 4096), "8k": (4320, 7680)}
DEFAULT_FPS = (23.976, 24.0, 25.0, 30.0, 50.0, 60.0)
BASIS = "p99"  # the end-to-end statistic budgets are judged on
MIN_SIDE = 16


# ------------------------------------------------------------------------------------------------
# arguments


def parse_size(text: str) -> tuple[int, int]:
    """'uhd', '1080p', 'dci4k', '8k' (or a size isp.synth knows) or 'WIDTHxHEIGHT' -> (height, width)."""
    from isp import synth

    t = str(text).strip().lower()
    names = {**synth.SIZES, **SIZES}
    if t in names:
        return names[t]
    if "x" not in t:
        raise InputError(f"--size: unknown size {text!r}; expected one of {', '.join(SIZES)} or WIDTHxHEIGHT")
    try:
        h, w = synth.parse_size(t)
    except InputError:
        raise InputError(f"--size: cannot read {text!r}; expected one of {', '.join(SIZES)} or WIDTHxHEIGHT") from None
    if h < MIN_SIDE or w < MIN_SIDE or h % 2 or w % 2:
        raise InputError(f"--size: {text!r}; width and height must be even and at least {MIN_SIDE}")
    return h, w


def parse_fps(text) -> list[float]:
    """'23.976,24,30' -> [23.976, 24.0, 30.0]: positive, finite, duplicates dropped, order kept."""
    if isinstance(text, (list, tuple)):
        items = [str(v) for v in text]
    else:
        items = [p.strip() for p in str(text).split(",")]
    out: list[float] = []
    for item in items:
        try:
            v = float(item)
        except ValueError:
            raise InputError(f"--fps: cannot read {item!r} as a frame rate; expected a list like 23.976,24,30") from None
        if not math.isfinite(v) or v <= 0:
            raise InputError(f"--fps: frame rates must be positive, got {item!r}")
        if v not in out:
            out.append(v)
    if not out:
        raise InputError("--fps: no frame rates given")
    return out


def check_output_path(path, flag: str, suffixes: tuple[str, ...] | None = None) -> Path:
    """Fail now, not after minutes of measuring, if `path` cannot be written."""
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise InputError(f"{flag}: {p}: expected a {' or '.join(suffixes)} file")
    if p.is_dir():
        raise InputError(f"{flag}: {p}: is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{flag}: {parent}: no such directory")
    try:  # os.access says yes to root on read-only mounts; try it
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".isp-bench-check-"):
            pass
    except OSError as e:
        raise InputError(f"{flag}: {parent}: cannot write here ({e.strerror})") from None
    if p.exists() and not os.access(p, os.W_OK):
        raise InputError(f"{flag}: {p}: not writable")
    return p


# ------------------------------------------------------------------------------------------------
# statistics and verdicts


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
    """A verdict per frame rate on the end-to-end `basis` percentile, with the p50 verdict beside it."""
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
# the machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) * 1024 / 1e9, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _version(dist: str, module: str | None = None) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        pass
    try:
        return str(getattr(__import__(module or dist), "__version__", None))
    except Exception:
        return None


def _git_commit() -> str | None:
    import subprocess

    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None
    try:
        r = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                           timeout=5)
        return r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _loadavg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def machine_info(peers: bool = False) -> dict:
    """CPU, cores, numba's threading, versions. Call after a parallel numba kernel has run, so
    that numba's threading layer is known."""
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        layer = None
    versions = {"python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
                "isp": _version("isp"), "isp_commit": _git_commit()}
    if peers:
        versions.update(rawpy=_version("rawpy"), opencv=_version("opencv-python-headless", "cv2"),
                        colour=_version("colour-science", "colour"),
                        colour_demosaicing=_version("colour-demosaicing", "colour_demosaicing"),
                        opencolorio=_version("opencolorio", "PyOpenColorIO"))
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:
        available = os.cpu_count()
    return {"cpu_model": cpu_model(), "cores_logical": os.cpu_count(), "cores_available": available,
            "numba_threads_max": int(numba.config.NUMBA_NUM_THREADS), "threading_layer": layer,
            "numba_cache_dir": numba.config.CACHE_DIR or None, "memory_gb": _memory_gb(),
            "platform": platform.platform(), "loadavg_start": None, "loadavg_end": None, "versions": versions}


# ------------------------------------------------------------------------------------------------
# memory bandwidth, and what each stage moves


def _parallel_copy():
    import numba

    @numba.njit(parallel=True, cache=True)
    def copy(src, dst):  # pragma: no cover - compiled
        for i in numba.prange(src.size):
            dst[i] = src[i]

    return copy


_COPY = None


MIN_BANDWIDTH_BYTES = 64 << 20  # smaller buffers would be timed in the CPU's caches


def bandwidth(nbytes: int, repeats: int = 7) -> dict:
    """Copy rate (bytes read + bytes written per second, GB/s) of an `nbytes` float32 buffer (at
    least MIN_BANDWIDTH_BYTES, so that memory, not cache, is timed) with numpy and with a numba
    parallel loop; medians of `repeats` alternating runs."""
    global _COPY
    if _COPY is None:
        _COPY = _parallel_copy()
    n = max(nbytes, MIN_BANDWIDTH_BYTES) // 4
    src = np.ones(n, np.float32)
    dst = np.empty_like(src)
    dst.fill(0)  # fault the pages in before timing
    times = alternate({"numpy": lambda: np.copyto(dst, src), "numba": lambda: _COPY(src, dst)}, repeats)
    moved = 2 * src.nbytes
    rate = {k: moved / (float(np.median(v)) / 1e3) / 1e9 for k, v in times.items()}
    return {"bytes": int(src.nbytes), "numpy_copy_gb_s": rate["numpy"], "numba_copy_gb_s": rate["numba"],
            "peak_gb_s": max(rate.values())}


def stage_bytes(name: str, height: int, width: int, out_itemsize: int, raw_itemsize: int = 2) -> int | None:
    """Bytes a stage must read plus write at least once (None for a stage this does not know)."""
    px = height * width
    mosaic_raw, mosaic, rgb, out = px * raw_itemsize, px * 4, px * 12, px * 3 * out_itemsize
    table = {
        "read": mosaic_raw,  # the decoded mosaic written (file bytes depend on the format)
        "sensor": mosaic_raw + mosaic,
        "denoise": 2 * mosaic,
        "balance": 2 * mosaic,
        "demosaic": mosaic + rgb,
        "colour+grade": rgb + out,
        "demosaic+colour+grade": mosaic + out,
        "colour": 2 * rgb,
        "grade": 2 * rgb,
        "output": rgb + out,
        "write": out,
    }
    return table.get(name)


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
    """One frame end to end: read (if from disk), process, write (with `write_ext`)."""

    def __init__(self, pipeline, source: FrameSource, depth=None, fused: bool = True, write_ext: str | None = None,
                 tmpdir: Path | None = None):
        self.pipeline, self.source, self.depth, self.fused = pipeline, source, depth, fused
        self.write_ext, self.tmpdir = write_ext, tmpdir
        self.last_image = None

    def frame(self, i: int) -> tuple[dict, float, str]:
        t0 = time.perf_counter()
        frame, read_ms, name = self.source.get(i)
        image, stage_ms = self.pipeline.process_timed(frame, fused=self.fused, depth=self.depth)
        ms = {}
        if read_ms is not None:
            ms["read"] = read_ms
        ms.update(stage_ms)
        if self.write_ext:
            from isp.io import write

            t1 = time.perf_counter()
            write(self.tmpdir / f"frame{self.write_ext}", image)
            ms["write"] = (time.perf_counter() - t1) * 1e3
        total = (time.perf_counter() - t0) * 1e3
        self.last_image = image
        return ms, total, name


def _stage_stats(records: list[dict]) -> dict[str, list[float]]:
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
    """Frames at 1..max_threads numba threads, the counts alternating frame by frame."""
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
        stages = _stage_stats([{"ms": ms} for ms, _ in records[t]])
        rows.append({"threads": t, "frames": len(totals), "p50_ms": float(np.median(totals)),
                     "fps": len(totals) / (sum(totals) / 1e3),
                     "stages_p50_ms": {k: float(np.median(v)) for k, v in stages.items()}})
    base = rows[0]["p50_ms"]
    for r in rows:
        r["speedup"] = base / r["p50_ms"]
        r["efficiency"] = r["speedup"] / r["threads"]
    return rows


# ------------------------------------------------------------------------------------------------
# peers


_OPENCV_CODES = {"RGGB": "BG", "BGGR": "RG", "GRBG": "GB", "GBRG": "GR"}  # OpenCV names by the 2nd row


def make_lut33(path: Path) -> Path:
    """A 33^3 .cube with a gentle curve and a little cross-talk (a stand-in show LUT)."""
    import colour

    t = colour.LUT3D.linear_table(33)
    t = np.clip(t ** 0.8, 0, 1)
    t = np.clip(t + 0.1 * (t - t.mean(-1, keepdims=True)), 0, 1)
    colour.io.write_LUT(colour.LUT3D(t, name="bench33"), str(path))
    text = path.read_text()  # OCIO's Resolve .cube reader refuses TITLE lines
    path.write_text("\n".join(l for l in text.splitlines() if not l.startswith("TITLE")) + "\n")
    return path


def _crop(h: int, w: int, target_px: int = 480 * 270) -> tuple[int, int]:
    """An even-sized crop of about `target_px` pixels with the frame's aspect (the whole frame if smaller)."""
    if h * w <= target_px:
        return h, w
    s = math.sqrt(target_px / (h * w))
    return max(2, int(h * s) // 2 * 2), max(2, int(w * s) // 2 * 2)


def compare_peers(runner: Runner, frame, tmpdir: Path, lut_path: Path | None, repeats: int = 5,
                  say=lambda s: None) -> dict:
    """Peers and isp on the same frame, alternating; medians and ratios to isp (see the module doc)."""
    import colour
    import colour_demosaicing as cdm
    import cv2
    import PyOpenColorIO as ocio
    import rawpy

    from isp import grade
    from isp.io.dng import write_dng

    pipeline, depth, fused = runner.pipeline, runner.depth, runner.fused
    h, w = frame.mosaic.shape
    if lut_path is None:
        lut_path = make_lut33(tmpdir / "bench33.cube")
    dng = write_dng(tmpdir / "frame.dng", frame)
    raw = rawpy.imread(str(dng))
    libraw_kw = dict(use_camera_wb=True, no_auto_bright=True, output_bps=16, user_flip=0)

    def libraw(algorithm):
        return lambda: raw.postprocess(demosaic_algorithm=algorithm, **libraw_kw)

    code = getattr(cv2, f"COLOR_Bayer{_OPENCV_CODES[frame.pattern]}2RGB")
    scale = np.float32(1.0 / float(frame.white_level))

    def opencv():
        rgb = cv2.cvtColor(frame.mosaic, code)
        return cv2.bilateralFilter(rgb.astype(np.float32) * scale, 5, 0.1, 1.5)

    ch, cw = _crop(h, w)
    y0, x0 = (h - ch) // 4 * 2, (w - cw) // 4 * 2  # even offsets keep the pattern
    crop_mosaic = np.ascontiguousarray(frame.normalized()[y0:y0 + ch, x0:x0 + cw], dtype=np.float32)
    lut_obj = colour.io.read_LUT(str(lut_path))
    interp = colour.algebra.table_interpolation_tetrahedral

    def colour_science():
        rgb = cdm.demosaicing_CFA_Bayer_Menon2007(crop_mosaic, frame.pattern)
        return lut_obj.apply(np.clip(rgb, 0, 1), interpolator=interp)

    # the float image the LUT-only contenders work on: isp's own output, in float
    image = np.clip(np.asarray(pipeline.process(frame, fused=fused, depth=None), dtype=np.float32), 0, 1)
    image = np.ascontiguousarray(image)
    ocio_buf = image.copy()
    cfg = ocio.Config.CreateRaw()
    proc = cfg.getProcessor(ocio.FileTransform(src=str(lut_path), interpolation=ocio.INTERP_TETRAHEDRAL)) \
        .getDefaultCPUProcessor()
    compiled = grade.compile_lut(lut_path)
    lut_out = np.empty_like(image)

    px_scale = (h * w) / (ch * cw)
    peers = {
        "libraw linear": ("isp", False, "rawpy postprocess, linear demosaic, camera WB, sRGB, 16-bit (decode excluded)",
                          libraw(rawpy.DemosaicAlgorithm.LINEAR)),
        "libraw AHD": ("isp", False, "rawpy postprocess, AHD demosaic, camera WB, sRGB, 16-bit (decode excluded)",
                       libraw(rawpy.DemosaicAlgorithm.AHD)),
        "opencv demosaic+bilateral": ("isp", False, "cv2.cvtColor Bayer->RGB on uint16, to float32, "
                                      "cv2.bilateralFilter d=5", opencv),
        "colour Menon2007+LUT3D": ("isp", px_scale > 1, f"colour-demosaicing Menon 2007 + colour-science LUT3D.apply "
                                   f"tetrahedral 33^3", colour_science),
        "opencolorio lut": ("isp lut", False, "OCIO CPU processor, 33^3 tetrahedral, applyRGB in place "
                            "(one thread)", lambda: proc.applyRGB(ocio_buf)),
    }
    contenders = {"isp": lambda: pipeline.process(frame, fused=fused, depth=depth),
                  "isp lut": lambda: compiled.apply(image, "tetrahedral", out=lut_out)}
    contenders.update({name: fn for name, (_, _, _, fn) in peers.items()})
    say(f"comparing with {len(peers)} peers, {repeats} alternating rounds"
        + (f" (colour-science on a {cw}x{ch} crop, scaled x{px_scale:.1f})" if px_scale > 1 else ""))
    times = alternate(contenders, repeats)
    raw.close()
    med = {k: float(np.median(v)) for k, v in times.items()}
    out_peers = {}
    for name, (ref, scaled, what, _) in peers.items():
        ms = med[name] * (px_scale if name == "colour Menon2007+LUT3D" else 1.0)
        out_peers[name] = {"median_ms": ms, "ratio": ms / med[ref], "reference": ref, "scaled_from_crop": bool(scaled),
                           "crop": [cw, ch] if scaled else None, "what": what}
    return {"repeats": repeats, "reference_ms": {"isp": med["isp"], "isp lut": med["isp lut"]},
            "opencv_threads": cv2.getNumThreads(), "lut": str(lut_path), "peers": out_peers}


# ------------------------------------------------------------------------------------------------
# the whole run


def run_bench(*, config=None, overrides: dict | None = None, size: str | None = "uhd", frames: int = 30,
              input=None, geometry: dict | None = None, fps=DEFAULT_FPS, threads: int | None = None,
              compare: bool = False, compare_repeats: int = 5, scaling_frames: int | None = None,
              distinct: int | None = None, fused: bool = True, strip_rows: int = 0, write_ext: str | None = None,
              cold: bool = False, seed: int = 0, say: Callable[[str], None] = lambda s: None,
              command: list[str] | None = None) -> dict:
    """Measure and return the result dict (the JSON schema in the module docstring)."""
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
    notes: list[str] = []
    loadavg_start = _loadavg()
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
    pipeline = Pipeline(cfg, strip_rows=strip_rows) if strip_rows else Pipeline(cfg)
    setup_ms = (time.perf_counter() - t0) * 1e3
    depth = cfg["output"]["depth"]
    tmp = tempfile.TemporaryDirectory(prefix="isp-bench-")
    tmpdir = Path(tmp.name)
    try:
        runner = Runner(pipeline, source, depth=depth, fused=fused, write_ext=write_ext, tmpdir=tmpdir)
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
        stage_lists = _stage_stats(records)
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
    machine["loadavg_start"], machine["loadavg_end"] = loadavg_start, _loadavg()
    load = max((machine["loadavg_start"] or [0])[0], (machine["loadavg_end"] or [0])[0])
    if load > 0.5 * (machine["cores_available"] or 1):
        notes.append(f"the machine was busy (load average up to {load:.1f} on {machine['cores_available']} cores): "
                     "expect noise, compare runs with care")
    if source.frames is not None:
        notes.append(f"synthetic input: {len(source.frames)} distinct frames in memory, cycled; no read stage")
    elif frames + 1 > len(source):
        notes.append(f"the input has {len(source)} frame(s); they were read again in turn for {frames + 1}")
    if not write_ext:
        notes.append("end-to-end excludes output encoding/writing (use --write EXT to include it)")
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
                     "strip_rows": strip_rows, "depth": depth, "output_dtype": str(image.dtype),
                     "config": _jsonable(cfg)},
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
        "notes": notes,
    }
    return result


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def write_json(result: dict, path) -> Path:
    import json

    from isp.io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_jsonable(result), indent=1, allow_nan=False) + "\n")
    return path


# ------------------------------------------------------------------------------------------------
# the terminal table


def _fmt_ms(v) -> str:
    return f"{v:8.1f}" if v >= 10 else f"{v:8.2f}"


def report(result: dict) -> str:
    """The result as a terminal table."""
    m, inp, pl = result["machine"], result["input"], result["pipeline"]
    v = m["versions"]
    lines = []
    src = "synthetic" if inp["kind"] == "synthetic" else inp["source"]
    lines.append(f"isp bench: {inp['width']}x{inp['height']} {inp['pattern']}, {src} "
                 f"({inp['distinct_frames']} distinct), {result['frames']} frames, "
                 f"{result['threads']['used']} thread(s)")
    lines.append(f"machine:   {m['cpu_model']}, {m['cores_available']} of {m['cores_logical']} cores, "
                 f"numba {v['numba']} ({m['threading_layer']}), numpy {v['numpy']}, python {v['python']}, "
                 f"isp {v['isp']}{' @' + v['isp_commit'] if v.get('isp_commit') else ''}")
    cfg = pl["config"]
    lines.append(f"pipeline:  {' -> '.join(pl['stages'])}  [demosaic {cfg['demosaic']['algorithm']}, denoise "
                 f"{cfg['denoise']['method']}, {cfg['output']['colorspace']}/{cfg['output']['transfer']}, "
                 f"lut {'yes' if cfg['grade']['lut'] else 'no'}, cdl {'yes' if cfg['grade']['cdl'] else 'no'}, "
                 f"{pl['output_dtype']} out{', unfused' if not pl['fused'] else ''}]")
    lines.append(f"warm-up:   set-up {result['setup_ms']:.0f} ms; first frame {result['first_frame_ms']:.0f} ms "
                 f"= {'JIT compile' if result['compile_kind'] == 'cold' else 'compile/cache load'} "
                 f"~{result['compile_ms']:.0f} ms + one frame")
    lines.append("")
    bw = result["bandwidth"]
    head = f"{'stage':<24}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}{'GB/s':>8}{'% bw':>7}"
    lines += [head, "-" * len(head)]
    for name, s in result["stages"].items():
        gb = f"{s['gb_per_s']:8.2f}" if s.get("gb_per_s") else f"{'-':>8}"
        fr = f"{100 * s['bandwidth_fraction']:6.0f}%" if s.get("bandwidth_fraction") else f"{'-':>7}"
        lines.append(f"{name:<24}{_fmt_ms(s['p50_ms'])}{_fmt_ms(s['p95_ms'])}{_fmt_ms(s['p99_ms'])}"
                     f"{_fmt_ms(s['max_ms'])}{gb}{fr}")
    e = result["end_to_end"]
    lines.append("-" * len(head))
    lines.append(f"{'end to end':<24}{_fmt_ms(e['p50_ms'])}{_fmt_ms(e['p95_ms'])}{_fmt_ms(e['p99_ms'])}"
                 f"{_fmt_ms(e['max_ms'])}   {e['fps']:.1f} fps  ({' + '.join(e['includes'])})")
    lines.append(f"memory bandwidth ({bw['bytes'] / 1e6:.0f} MB copy, read + write): numpy "
                 f"{bw['numpy_copy_gb_s']:.1f} GB/s, numba parallel {bw['numba_copy_gb_s']:.1f} GB/s; "
                 "'% bw' = stage's minimum traffic at p50 / the better")
    lines.append("")
    lines.append(f"{'budget':<12}{'ms':>8}  {'verdict (p99)':<14}{'headroom':>9}   {'p50':<7}{'headroom':>9}")
    for b in result["budgets"]:
        lines.append(f"{b['fps']:g} fps".ljust(12) + f"{b['budget_ms']:8.2f}  "
                     f"{'meets' if b['meets'] else 'MISSES':<14}{b['headroom_pct']:8.1f}%   "
                     f"{'meets' if b['meets_p50'] else 'MISSES':<7}{b['headroom_p50_pct']:8.1f}%")
    sc = result["threads"]["scaling"]
    if sc:
        lines.append("")
        lines.append(f"{'threads':<9}{'p50 ms':>8}{'fps':>8}{'speedup':>9}{'efficiency':>12}   "
                     f"(alternating, {sc[0]['frames']} frames each)")
        for r in sc:
            lines.append(f"{r['threads']:<9}{_fmt_ms(r['p50_ms'])}{r['fps']:8.1f}{r['speedup']:9.2f}"
                         f"{100 * r['efficiency']:11.0f}%")
    c = result.get("compare")
    if c:
        lines.append("")
        ref = c["reference_ms"]
        lines.append(f"peers (median of {c['repeats']} alternating rounds; ratio = peer ms / isp ms, "
                     f"above 1 = isp faster): isp {ref['isp']:.1f} ms, isp lut {ref['isp lut']:.1f} ms")
        for name, p in c["peers"].items():
            note = f"  [{p['crop'][0]}x{p['crop'][1]} crop, scaled per pixel]" if p["scaled_from_crop"] else ""
            lines.append(f"  {name:<28}{p['median_ms']:9.1f} ms  {p['ratio']:7.2f}x {p['reference']:<8}{note}")
    if result["notes"]:
        lines.append("")
        lines += [f"note: {n}" for n in result["notes"]]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# the plot


def plot(result: dict, path) -> Path:
    """A PNG: per-frame latency by stage (stacked) with the budget lines; stage p50/p99; thread
    scaling; peers. Uses matplotlib's Agg canvas directly (no pyplot, no global backend change)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from isp.io import atomic_path

    frames = result["per_frame"]
    stages = list(result["stages"])
    fig = Figure(figsize=(13, 8), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 3)
    ax = fig.add_subplot(grid[0, :])
    x = np.array([r["index"] for r in frames])
    bottom = np.zeros(len(frames))
    colours = [f"C{i}" for i in range(10)]
    for i, name in enumerate(stages):
        vals = np.array([r["ms"].get(name, 0.0) for r in frames])
        ax.bar(x, vals, bottom=bottom, width=0.85, color=colours[i % 10], label=name, linewidth=0)
        bottom += vals
    other = np.array([r["total_ms"] for r in frames]) - bottom
    ax.bar(x, np.clip(other, 0, None), bottom=bottom, width=0.85, color="0.75", label="other (untimed)", linewidth=0)
    ax.plot(x, [r["total_ms"] for r in frames], "k.", ms=3, label="end to end")
    top = max(max(r["total_ms"] for r in frames), 1e-9)
    # show the budgets up to ~1.6x the slowest frame; the rest are met by far and listed in a corner
    shown = [b for b in result["budgets"] if b["budget_ms"] <= top * 1.6]
    hidden = [b for b in result["budgets"] if b not in shown]
    ymax = max([top * 1.12] + [b["budget_ms"] * 1.1 for b in shown])
    groups: list[list[dict]] = []  # budgets too close to label apart share one label
    for b in sorted(shown, key=lambda b: b["budget_ms"]):
        if groups and b["budget_ms"] - groups[-1][-1]["budget_ms"] < 0.04 * ymax and \
                b["meets"] == groups[-1][-1]["meets"]:
            groups[-1].append(b)
        else:
            groups.append([b])
    last_y = -np.inf
    for g in groups:
        col = "tab:green" if g[0]["meets"] else "tab:red"
        for b in g:
            ax.axhline(b["budget_ms"], color=col, lw=1, ls="--", zorder=3)
        fps_text = "/".join(f"{b['fps']:g}" for b in g)
        head = f"{g[0]['headroom_pct']:+.0f}%"
        if len(g) > 1 and f"{g[-1]['headroom_pct']:+.0f}%" != head:
            head += f" to {g[-1]['headroom_pct']:+.0f}%"
        label = f"{fps_text} fps ({g[0]['budget_ms']:.1f}{'-' + format(g[-1]['budget_ms'], '.1f') if len(g) > 1 else ''}" \
                f" ms): {'meets' if g[0]['meets'] else 'misses'} {head}"
        y = max(g[-1]["budget_ms"], last_y + 0.045 * ymax)
        last_y = y
        ax.annotate(label, (0.995, y), xycoords=("axes fraction", "data"), xytext=(0, 2), textcoords="offset points",
                    ha="right", va="bottom", fontsize=7, color=col, zorder=4,
                    bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.7))
    ax.set_ylim(0, max(ymax, last_y + 0.08 * ymax))
    ax.set_xlim(x.min() - 0.6, x.max() + 0.6)
    ax.set_xlabel("frame (after the warm-up frame)")
    ax.set_ylabel("ms")
    inp, m = result["input"], result["machine"]
    e = result["end_to_end"]
    title = (f"isp bench: {inp['width']}x{inp['height']}, {result['frames']} frames, {result['threads']['used']} "
             f"thread(s) on {m['cpu_model']} — end to end p50 {e['p50_ms']:.1f} ms, p99 {e['p99_ms']:.1f} ms, "
             f"{e['fps']:.1f} fps")
    ax.set_title(title, fontsize=10)
    if hidden:
        ax.text(0.005, 0.98, "budgets off the scale, met: " + ", ".join(
            f"{b['fps']:g} fps ({b['headroom_pct']:+.0f}%)" for b in hidden), transform=ax.transAxes, fontsize=7, va="top")
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="tab:green", ls="--", lw=1), Line2D([], [], color="tab:red", ls="--", lw=1)]
    labels += ["budget met (p99)", "budget missed (p99)"]
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7)

    ax2 = fig.add_subplot(grid[1, 0])
    y = np.arange(len(stages))
    p50 = [result["stages"][s]["p50_ms"] for s in stages]
    p99 = [result["stages"][s]["p99_ms"] for s in stages]
    ax2.barh(y + 0.2, p50, 0.4, color=[colours[i % 10] for i in range(len(stages))], label="p50")
    ax2.barh(y - 0.2, p99, 0.4, color=[colours[i % 10] for i in range(len(stages))], alpha=0.45, label="p99")
    for i, s in enumerate(stages):
        f = result["stages"][s].get("bandwidth_fraction")
        if f:
            ax2.annotate(f"{100 * f:.0f}% of copy bw", (p50[i], y[i] + 0.2), xytext=(3, 0), textcoords="offset points",
                         va="center", fontsize=7)
    ax2.set_yticks(y, stages, fontsize=8)
    ax2.invert_yaxis()
    ax2.set_xlabel("ms per frame")
    ax2.set_title("per stage: p50 (solid), p99 (light)", fontsize=9)
    ax2.set_xlim(0, max(p99 + [1e-9]) * 1.45)

    ax3 = fig.add_subplot(grid[1, 1])
    sc = result["threads"]["scaling"]
    if sc:
        t = [r["threads"] for r in sc]
        ax3.plot(t, [r["fps"] for r in sc], "o-", label="isp")
        ax3.plot(t, [sc[0]["fps"] * k for k in t], ":", color="0.5", label="linear")
        ax3.set_xticks(t)
        ax3.set_xlabel("numba threads")
        ax3.set_ylabel("frames per second")
        ax3.legend(fontsize=7)
        ax3.set_ylim(0, None)
    else:
        ax3.text(0.5, 0.5, "no thread scaling measured", ha="center", va="center", transform=ax3.transAxes)
    ax3.set_title("thread scaling", fontsize=9)

    ax4 = fig.add_subplot(grid[1, 2])
    c = result.get("compare")
    if c:
        names = list(c["peers"])
        ratios = [c["peers"][n]["ratio"] for n in names]
        labels = [f"{n}{' *' if c['peers'][n]['scaled_from_crop'] else ''}\n(vs {c['peers'][n]['reference']})"
                  for n in names]
        yy = np.arange(len(names))
        ax4.barh(yy, ratios, color=["tab:green" if r >= 1 else "tab:red" for r in ratios])
        ax4.axvline(1, color="k", lw=0.8)
        ax4.set_xscale("log")
        for i, r in enumerate(ratios):
            ax4.annotate(f"{r:.1f}x", (r, yy[i]), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7)
        ax4.set_yticks(yy, labels, fontsize=7)
        ax4.invert_yaxis()
        ax4.set_xlabel("peer time / isp time (log; >1: isp faster)")
        if any(c["peers"][n]["scaled_from_crop"] for n in names):
            ax4.text(0.99, 0.01, "* timed on a crop, scaled per pixel", transform=ax4.transAxes, ha="right",
                     fontsize=6)
        ax4.set_xlim(min(ratios + [1]) / 1.5, max(ratios + [1]) * 3)
    else:
        ax4.text(0.5, 0.5, "peers not measured\n(isp bench --compare)", ha="center", va="center",
                 transform=ax4.transAxes)
        ax4.set_xticks([])
        ax4.set_yticks([])
    ax4.set_title("peers, same frame, same run", fontsize=9)

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path
