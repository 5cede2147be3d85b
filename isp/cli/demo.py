"""`isp demo`: synthesise a short UHD raw sequence, develop and grade it, and time every stage.

Nothing of the user's is needed: the raw frames (DNG), a show LUT and a CDL are made in the
demo folder, then the default full pipeline (white balance, RCD demosaic, the real-time
denoiser, camera -> Rec.709 with the sRGB curve, CDL, 33^3 tetrahedral LUT, 16-bit TIFF) runs
over the sequence exactly as `isp process` would, and per-stage milliseconds are compared with
the 24/30/60 fps frame budgets.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from isp.cli.process import add_pipeline_flags, overrides
from isp.errors import InputError

BUDGETS = (24, 30, 60)


def add_parser(sub):
    p = sub.add_parser("demo", help="synthesise a UHD raw sequence, grade it, and time every stage")
    p.add_argument("--out", default="isp-demo", help="demo folder (default ./isp-demo)")
    p.add_argument("--size", default="uhd", help="frame size: uhd, 1080p, 8k, WxH ... (default uhd)")
    p.add_argument("--frames", type=int, default=8, help="frames in the sequence (default 8)")
    add_pipeline_flags(p)
    return p


def run(args) -> int:
    from isp import synth
    from isp.cli.process import report
    from isp.io.dng import write_frame
    from isp.pipeline import Pipeline
    from isp.sequence import process_sequence

    if args.frames < 1:
        raise InputError(f"--frames must be at least 1, got {args.frames}")
    height, width = synth.parse_size(args.size)
    out = Path(args.out)
    (out / "raw").mkdir(parents=True, exist_ok=True)
    (out / "graded").mkdir(exist_ok=True)

    t0 = time.perf_counter()
    scene = synth.default_chart(height, width)
    sensor = synth.SensorModel(pattern="RGGB", bits=12, black_level=256, gain=1.5, read_noise=2.5, iso=800)
    for frame in synth.render_sequence(scene, sensor, frames=args.frames, motion=(0.0, 2.0),
                                       moving_object="square", start=1001):
        write_frame(out / "raw" / f"demo.{frame.frame_number:04d}.dng", frame)
    print(f"synthesised {args.frames} {width}x{height} 12-bit raw frames in {time.perf_counter() - t0:.1f} s "
          f"-> {out / 'raw'}", file=sys.stderr)

    lut, cdl = write_look(out)
    given = overrides(args)
    given.setdefault("grade.lut", str(lut))
    given.setdefault("grade.cdl", str(cdl))
    pipeline = Pipeline.from_config(args.config, given)

    records = []
    results = process_sequence(out / "raw" / "demo.####.dng", out / "graded" / "demo.####.tif", pipeline,
                               depth=pipeline.config["output"]["depth"] or 16,
                               compression=pipeline.config["output"]["compression"])
    status = report(_keep(results, records), progress=True, total=args.frames)
    print(budget_table(records))
    return status


def _keep(results, records):
    for r in results:
        records.append(r)
        yield r


def write_look(out: Path) -> tuple[Path, Path]:
    """A show look for the demo: a 33^3 .cube (a gentle filmic S-curve with warm highlights and
    cool shadows, on sRGB-encoded values) and a CDL .cc with a small warm push."""
    import colour

    n = 33
    lut = colour.LUT3D(size=n, name="isp demo look")
    x = lut.table
    luma = x @ np.array([0.2126, 0.7152, 0.0722])
    s_curve = 0.5 + 0.5 * np.tanh(2.2 * (x - 0.5)) / np.tanh(1.1)
    tint = np.stack([0.02 * (luma - 0.5), 0.0 * luma, -0.02 * (luma - 0.5)], axis=-1)
    lut.table = np.clip(s_curve + tint, 0.0, 1.0)
    lut_path = out / "look.cube"
    colour.write_LUT(lut, str(lut_path))
    cdl_path = out / "shot.cc"
    cdl_path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ColorCorrection id="demo" xmlns="urn:ASC:CDL:v1.2">\n'
        "  <SOPNode><Slope>1.04 1.0 0.97</Slope><Offset>0.005 0.0 -0.005</Offset><Power>1.0 1.0 1.02</Power></SOPNode>\n"
        "  <SatNode><Saturation>1.1</Saturation></SatNode>\n"
        "</ColorCorrection>\n")
    return lut_path, cdl_path


def budget_table(results) -> str:
    """Per-stage median milliseconds (first frame apart: it pays for JIT compilation) against the
    24/30/60 fps budgets."""
    done = [r for r in results if r.ok and not r.skipped]
    if not done:
        return "no frame was processed"
    steady = done[1:] or done
    stages = {}
    for r in steady:
        for k, v in r.timings.items():
            stages.setdefault(k, []).append(v)
    compute = [sum(v for k, v in r.timings.items() if k not in ("read", "write")) for r in steady]
    first = sum(v for k, v in done[0].timings.items() if k not in ("read", "write"))
    lines = ["", "stage                     median ms"]
    lines += [f"  {k:<22} {np.median(v):9.1f}" for k, v in stages.items()]
    ms = float(np.median(compute))
    lines.append(f"  {'compute (all stages)':<22} {ms:9.1f}   ({1000 / ms:.1f} fps; first frame {first:.0f} ms incl. JIT)")
    for fps in BUDGETS:
        budget = 1000.0 / fps
        verdict = "meets" if ms <= budget else "misses"
        lines.append(f"  {fps:>3} fps budget {budget:6.1f} ms: {verdict} ({100 * (budget - ms) / budget:+.0f}% headroom)")
    return "\n".join(lines)
