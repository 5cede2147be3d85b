"""A long sequence at constant memory, killed half way and resumed: `python -m bench.soak`.

Synthesises N small raw frames (default 1000), runs `isp process` on them in a subprocess while
sampling its resident memory, kills it (SIGKILL) once half the outputs exist, re-runs with
`--skip-existing`, and checks that every frame is there and identical to a clean run's frame.
"""
from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from isp import read_image
from isp.io.dng import write_frame
from isp.synth import SensorModel, default_chart, render_sequence


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(raw: Path, out: Path, frames: int, kill_at: int | None = None) -> tuple[list[tuple[int, float]], int]:
    """Run isp process; sample (outputs done, RSS MB) every 50 ms; SIGKILL once kill_at exist."""
    cmd = [sys.executable, "-m", "isp", "process", str(raw / "s.####.dng"), "-o", str(out / "s.####.tif"),
           "--no-progress", "--skip-existing"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples = []
    while proc.poll() is None:
        done = sum(1 for _ in out.glob("s.*.tif"))
        try:
            samples.append((done, rss_mb(proc.pid)))
        except OSError:
            break
        if kill_at is not None and done >= kill_at:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return samples, -9
        time.sleep(0.05)
    return samples, proc.returncode


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--size", default="96x128", help="HxW of the frames")
    args = ap.parse_args(argv)
    h, w = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        raw, out, clean = tmp / "raw", tmp / "out", tmp / "clean"
        for d in (raw, out, clean):
            d.mkdir()
        for frame in render_sequence(default_chart(h, w), SensorModel(), frames=args.frames, motion=(0.0, 0.5)):
            write_frame(raw / f"s.{frame.frame_number:04d}.dng", frame)

        samples, code = run(raw, out, args.frames, kill_at=args.frames // 2)
        killed_at = sum(1 for _ in out.glob("s.*.tif"))
        more, code2 = run(raw, out, args.frames)
        profile, code3 = run(raw, clean, args.frames)
        names = sorted(p.name for p in clean.glob("s.*.tif"))
        same = all(np.array_equal(read_image(out / n), read_image(clean / n)) for n in names)
        leftovers = [p.name for p in out.iterdir() if not p.name.startswith("s.")]

        profile = [(d, r) for d, r in profile if np.isfinite(r)]
        rss = np.array([r for _, r in profile])
        early = [r for d, r in profile if 50 <= d < 150]
        late = [r for d, r in profile if d >= args.frames - 100]
        print(f"{args.frames} frames of {w}x{h}: killed after {killed_at} outputs (exit {code}), "
              f"resumed (exit {code2}); clean run exit {code3}")
        print(f"outputs: {len(list(out.glob('s.*.tif')))} of {args.frames}, identical to a clean run: {same}, "
              f"stray temporary files: {leftovers or 'none'}")
        if early and late:
            print(f"resident memory of the clean run: {np.median(early):.0f} MB around frames 50-150, "
                  f"{np.median(late):.0f} MB over the last 100 frames, peak {rss.max():.0f} MB")
        ok = same and len(names) == args.frames and code2 == 0 and not leftovers
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
