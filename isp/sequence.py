"""Streaming a sequence through a pipeline: read ahead, compute, write behind, in bounded memory.

Reading (LibRaw, file I/O) and writing (compression, file I/O) run in one thread each and overlap
with the compute, which runs in the caller's thread with numba's own parallelism. At most
`read_ahead` decoded frames and `write_behind` finished images are held at once, so a sequence of
any length runs at constant memory. A frame that fails (missing, unreadable, unwritable) is
reported in its result and the others go on.
"""
from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from isp.denoise import window
from isp.errors import InputError, is_interrupt
from isp.io import expand, frame_path, read, write
from isp.io.writers import output_folder, output_format, writer_id
from isp.io.sequence import is_pattern


@dataclass
class FrameResult:
    """What happened to one frame: its number, paths, per-stage milliseconds, and any error."""

    number: int | None
    source: Path | None
    output: Path | None = None
    image: np.ndarray | None = None  # only when no output path is given
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    skipped: bool = False
    exception: BaseException | None = field(default=None, repr=False)  # what `error` says, for --debug

    @property
    def ok(self) -> bool:
        return self.error is None

    def fail(self, e: Exception) -> None:
        """Record why the frame failed: the message of an error the input or the disk caused, or
        the type and message of anything else (a bug: the other frames still go on)."""
        text = " ".join(str(e).split())
        self.error = text if isinstance(e, (InputError, OSError)) else f"{type(e).__name__}: {text}"
        self.exception = e


def output_paths(sequence, output) -> list[Path | None]:
    """Output path per frame: a `####`/`%04d` template, a folder, or one file for one frame."""
    if output is None:
        return [None] * len(sequence.frames)
    output = Path(output)
    if is_pattern(output):
        numbered = [n if n is not None else i + 1 for i, (n, _) in enumerate(sequence.frames)]
        paths = [frame_path(output, n) for n in numbered]
        first: dict[Path, Path] = {}
        for out, (_, source) in zip(paths, sequence.frames):
            if out in first:  # two clips in one folder with the same frame numbers, say
                raise InputError(f"{out}: would be written for both {first[out]} and {source}; "
                                 "give each clip its own run or output pattern")
            first[out] = source
        return paths
    if output.is_dir():
        raise InputError(f"{output}: is a folder; give an output file name or a pattern like {output}/shot.####.exr")
    if len(sequence.frames) > 1:
        like = output.with_name(f"{output.stem}.####{output.suffix or '.exr'}")
        raise InputError(f"{output}: {len(sequence.frames)} input frames need an output pattern with #### or %04d, "
                         f"like {like}")
    return [output]


def _check_not_inputs(sources: list[Path], outputs: list[Path | None]) -> None:
    inputs = {p.resolve() for p in sources}
    for out in outputs:
        if out is not None and out.resolve() in inputs:
            raise InputError(f"{out}: refusing to write over an input file")


def _sweep_temporaries(outputs: list[Path | None]) -> None:
    """Remove what a killed earlier run left of its atomic writes (`.<stem>.<host>-<pid>.XXXX.tmp
    <suffix>` beside an output, `isp.io.atomic_path`): this machine's when the process that wrote
    it is gone, another machine's (a render farm on a shared disk) only when a day old. A run
    still writing to the same folder keeps its files; finished outputs are never touched."""
    for folder, suffix in {(p.parent, p.suffix) for p in outputs if p is not None}:
        stems = {p.stem for p in outputs if p is not None and p.parent == folder}
        for tmp in folder.glob(f".*.tmp{suffix}") if folder.is_dir() else ():
            stem, owner = _temporary_owner(tmp.name[1:-len(f".tmp{suffix}")], stems)
            if stem in stems and _abandoned(tmp, owner):
                tmp.unlink(missing_ok=True)


def _temporary_owner(name: str, stems: set[str]) -> tuple[str, str | None]:
    """(output stem, `<host>-<pid>` of the writer) of a temporary's name without dot and suffix."""
    parts = name.rsplit(".", 2)
    if len(parts) == 3 and parts[0] in stems and "-" in parts[1]:
        return parts[0], parts[1]
    return name.rsplit(".", 1)[0], None  # written by an older isp: no owner


def _abandoned(tmp: Path, owner: str | None) -> bool:
    if owner is None:
        return True
    host, _, pid = owner.rpartition("-")
    if host != writer_id().rpartition("-")[0] or not pid.isdigit():
        try:
            return time.time() - tmp.stat().st_mtime > 86400
        except FileNotFoundError:
            return False
    return not _alive(int(pid))


def _alive(pid: int) -> bool:
    if os.name != "posix":  # no harmless way to ask: keep the file
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def process_sequence(inputs, output=None, pipeline=None, *, frames: list[int] | None = None,
                     skip_existing: bool = False, depth=None, geometry: dict | None = None,
                     compression: str | None = None, read_ahead: int = 2, write_behind: int = 2,
                     should_stop: Callable[[], bool] | None = None) -> Iterator[FrameResult]:
    """Process a sequence frame by frame, yielding a FrameResult per frame in order.

    `inputs`: a pattern (`shot.####.dng`, `shot.%04d.dng`), a folder, a file, a list of files, or
    the Sequence `isp.io.expand` made of one (`frames` then goes unused).
    `output`: an output pattern (or a single file for a single frame), or None to get each image
    back in `FrameResult.image` instead of writing it. Missing frames in the requested range come
    back as failed results; `skip_existing` leaves frames whose output already exists alone.
    `depth` and `compression` are the writer's (`isp.write`). When `should_stop()` turns true, no
    further frame is started; the frames in flight are finished, written and yielded.
    """
    from isp.pipeline import Pipeline

    pipeline = pipeline if pipeline is not None else Pipeline.from_config()
    sequence = expand(inputs, frames)
    outputs = output_paths(sequence, output)
    _check_not_inputs([p for _, p in sequence.frames], outputs)
    if outputs[0] is not None:
        # refuses a depth or compression the format does not take; the pipeline then delivers
        # the written depth itself (half floats, 8 or 16-bit integers) in its fused pass
        _, depth, _ = output_format(outputs[0], depth, compression)
        for folder in dict.fromkeys(output_folder(p) for p in outputs):  # made now if missing
            if not os.access(folder, os.W_OK):  # found now, not after developing every frame
                raise InputError(f"{folder}: output folder is not writable")
    geometry = {k: v for k, v in (geometry or {}).items() if v is not None}
    _sweep_temporaries(outputs)
    for n in sequence.missing:
        yield FrameResult(n, None, error=f"frame {n} is missing")

    def load(number, path):
        t0 = time.perf_counter()
        frame = read(path, frame_number=number, **geometry)
        return frame, (time.perf_counter() - t0) * 1e3

    spare: list[np.ndarray] = []  # written images' arrays, for the next frames to reuse

    def save(result: FrameResult, image):
        t0 = time.perf_counter()
        try:
            write(result.output, image, depth, compression=compression)
        finally:
            spare.append(image)
        result.timings["write"] = (time.perf_counter() - t0) * 1e3

    def output_for(frame) -> dict:
        """`out=` for the pipeline: a written frame's array when one of the right size is free."""
        if not hasattr(pipeline, "output_spec"):
            return {}
        shape, dtype = pipeline.output_spec(frame, depth)
        while spare:
            a = spare.pop()
            if a.shape == shape and a.dtype == dtype:
                return {"out": a}
        return {}

    todo = [(n, p, out) for (n, p), out in zip(sequence.frames, outputs)]
    size = min(getattr(pipeline, "temporal_window", 1), len(todo))  # frames the denoiser looks at
    with ThreadPoolExecutor(1, thread_name_prefix="isp-read") as reader, \
            ThreadPoolExecutor(1, thread_name_prefix="isp-write") as writer:
        reads: dict[int, Future] = {}
        finished: deque[tuple[FrameResult, Future | None]] = deque()

        def wanted(i: int) -> bool:
            out = todo[i][2]
            return not (skip_existing and out is not None and out.is_file() and out.stat().st_size > 0)

        for k, (n, path, out) in enumerate(todo):
            if should_stop is not None and should_stop():
                break
            start, stop = window(len(todo), k, size)
            for i in range(start, min(len(todo), max(stop, k + 1 + read_ahead))):
                if i not in reads and (i < stop or wanted(i)):
                    reads[i] = reader.submit(load, *todo[i][:2])
            for i in [i for i in reads if i < start]:
                del reads[i]  # out of every later window: let the frame go
            result = FrameResult(n, path, out)
            writing = None
            if not wanted(k):
                result.skipped = True
            else:
                try:
                    frame, result.timings["read"] = reads[k].result()
                    near = [frame if i == k else _frame_or_none(reads[i]) for i in range(start, stop)]
                    near = [f for f in near if f is not None]
                    recycled = output_for(frame) if out is not None else {}
                    image, stage_ms = pipeline.process_timed(frame, depth=depth if out is not None else None,
                                                             **_window_args(near, frame, size), **recycled)
                    result.timings.update(stage_ms)
                    if out is None:
                        result.image = image
                    else:
                        writing = writer.submit(save, result, image)
                except Exception as e:  # this frame fails; the others go on
                    if is_interrupt(e):
                        raise
                    result.fail(e)
            finished.append((result, writing))  # results leave in frame order, writes complete
            while len(finished) > max(0, write_behind):
                yield _finish(*finished.popleft())
        while finished:
            yield _finish(*finished.popleft())


def _frame_or_none(pending: Future):
    """A neighbour's frame, or None when it could not be read (its own result says why)."""
    try:
        return pending.result()[0]
    except Exception:
        return None


def _window_args(window: list, frame, size: int) -> dict:
    return {"window": window, "centre": next(i for i, f in enumerate(window) if f is frame)} if size > 1 else {}


def _finish(result: FrameResult, pending: Future | None) -> FrameResult:
    try:
        if pending is not None:
            pending.result()
    except Exception as e:
        if is_interrupt(e):
            raise
        result.fail(e)
    return result
