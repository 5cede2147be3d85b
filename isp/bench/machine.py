"""The machine a run measured: CPU, cores, memory, versions, load; its memory bandwidth, and the
bytes each stage must move at least."""
from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np

from isp.bench.measure import alternate


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

    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        r = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                           timeout=5)
        return r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def loadavg() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the system does not say)."""
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
    parallel loop; medians of `repeats` alternating runs. `isp bench` sizes it as the largest image
    the pipeline makes (H x W x 3 float32)."""
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
    """Bytes a stage must read plus write at least once (None for a stage this does not know), from
    the arrays it takes and makes (e.g. sensor: uint16 H x W in, float32 H x W out; demosaic: float32
    H x W in, H x W x 3 out). A stage's rate from these is a lower bound of its traffic; `isp bench`
    gives it as a fraction of the better copy rate of `bandwidth`."""
    px = height * width
    mosaic_raw, mosaic, rgb, out = px * raw_itemsize, px * 4, px * 12, px * 3 * out_itemsize
    table = {
        "read": mosaic_raw,  # the decoded mosaic written (file bytes depend on the format)
        "sensor": mosaic_raw + mosaic,
        "sensor+denoise+balance": mosaic_raw + mosaic,
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

