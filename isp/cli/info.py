"""`isp info FILE...`: camera, size, pattern, levels, white balance and matrices of raw files."""
from __future__ import annotations

import json
import math
import sys

from isp.errors import InputError
from isp.io import read
from isp.io.dng_reader import reader
from isp.io.dump import GEOMETRY_KEYS


def add_parser(sub):
    p = sub.add_parser("info", help="describe raw files (camera, size, CFA pattern, levels, colour)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object per file (a list for several)")
    p.add_argument("--noise", action="store_true", help="estimate the noise model from the frame itself")
    add_geometry_flags(p)
    return p


def add_geometry_flags(p):
    """Flags describing headerless sensor dumps (otherwise read from a <file>.json sidecar)."""
    g = p.add_argument_group("sensor dumps (.raw/.bin)")
    g.add_argument("--width", type=int)
    g.add_argument("--height", type=int)
    g.add_argument("--bits", type=int)
    g.add_argument("--pattern", help="CFA pattern: RGGB, BGGR, GRBG or GBRG")
    g.add_argument("--byte-order", dest="byte_order", choices=("little", "big"))
    g.add_argument("--packing", choices=("none", "mipi"))
    g.add_argument("--stride", type=int, help="bytes per row, for padded rows")
    g.add_argument("--offset", type=int, help="header bytes to skip")
    g.add_argument("--black-level", dest="black_level", type=float)
    g.add_argument("--white-level", dest="white_level", type=float)


def geometry(args) -> dict:
    """The dump geometry flags that were given."""
    return {k: getattr(args, k) for k in GEOMETRY_KEYS if getattr(args, k, None) is not None}


def run(args) -> int:
    results, failures = [], 0
    for path in args.files:
        try:
            frame = read(path, **geometry(args))
            d = frame.describe()
            if str(path).lower().endswith(".dng") and not geometry(args):
                d["reader"] = reader(path)
            if args.noise:
                from isp.noise import describe, estimate, from_frame

                measured = describe(estimate(frame.normalized(), frame.pattern))
                d["noise"] = {"estimated": measured}
                known = from_frame(frame)
                if known is not None:
                    d["noise"]["metadata"] = describe(known)
            results.append(d)
            if not args.json:
                print(_text(d))
        except InputError as e:
            failures += 1
            print(f"isp info: error: {' '.join(str(e).split())}", file=sys.stderr)
    if args.json and (results or len(args.files) > 1):
        print(json.dumps(_finite(results[0] if len(args.files) == 1 and results else results), indent=2,
                         allow_nan=False))
    return 2 if failures else 0


def _finite(v):
    """`v` with infinities and NaN as null: strict JSON has no such numbers (JSON.parse refuses them)."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


_TURNS = {2: "mirrored left-right", 3: "turned 180 degrees", 4: "mirrored top-bottom",
          5: "transposed", 6: "turned 90 degrees clockwise", 7: "transverse",
          8: "turned 90 degrees counter-clockwise"}


def _geometry_lines(d: dict) -> list[str]:
    """How the developed image is shown, when that is not as stored."""
    lines = []
    if d["orientation"] != 1:
        lines.append(f"  orientation  {d['orientation']} (shown {_TURNS[d['orientation']]})")
    if d["pixel_aspect"] != 1:
        lines.append(f"  pixel aspect {d['pixel_aspect']:.6g} (stretched to square pixels when developed)")
    return lines


# EXIF 2.3 LightSource, the codes of a DNG's CalibrationIlluminant tags
_LIGHTS = {0: "unknown", 1: "daylight", 2: "fluorescent", 3: "tungsten", 4: "flash", 9: "fine weather",
           10: "cloudy", 11: "shade", 12: "daylight fluorescent", 13: "day white fluorescent",
           14: "cool white fluorescent", 15: "white fluorescent", 16: "warm white fluorescent",
           17: "standard light A", 18: "standard light B", 19: "standard light C", 20: "D55", 21: "D65",
           22: "D75", 23: "D50", 24: "ISO studio tungsten", 255: "other"}


def _tag_name(key: str) -> str:
    """The DNG tag a RawFrame.dng field holds: color_matrix1 -> ColorMatrix1."""
    return "".join(w[:1].upper() + w[1:] for w in key.split("_"))


def _tag_value(key: str, value) -> str:
    if key.startswith("calibration_illuminant"):
        return f"{value} ({_LIGHTS.get(int(value), 'not an EXIF light source')})"
    return str(value)


def _shutter(t) -> str:
    """An exposure time as cameras show it: 1/50 s for short ones, then 0.6 s, 2.5 s, 30 s."""
    if not t or not t > 0:  # none, zero, negative or NaN
        return "? s"
    return f"1/{1 / t:.0f} s" if t < 0.3 else f"{t:.2g} s" if t < 10 else f"{t:.0f} s"


def _text(d: dict) -> str:
    lines = [f"{d['source']}", f"  camera       {d['camera'] or '(unknown)'}",
             f"  size         {d['width']} x {d['height']}  (origin {d['origin'][0]}, {d['origin'][1]} on the sensor)",
             *_geometry_lines(d),
             f"  pattern      {d['pattern']}",
             f"  black level  {d['black_level']}", f"  white level  {d['white_level']:g}",
             f"  as-shot WB   {d['wb'] if d['wb'] else '(unknown)'}"]
    if d.get("reader"):
        lines.append(f"  read by      {d['reader']}")
    if d["iso"] or d["exposure_time"]:
        iso = f"{d['iso']:g}" if d["iso"] else "?"
        lines.append(f"  exposure     ISO {iso}, {_shutter(d['exposure_time'])}")
    if d["xyz_to_camera"]:
        lines.append(f"  XYZ->camera  {d['xyz_to_camera']}")
    tags = [(_tag_name(k), _tag_value(k, v)) for k, v in (d.get("dng") or {}).items() if v is not None]
    if tags:
        width = max(len(k) for k, _ in tags)
        lines += ["  DNG tags"] + [f"    {k:<{width}} {v}" for k, v in tags]
    for source, model in d.get("noise", {}).items():
        lines.append(f"  noise ({source}) {model['text']}")
    return "\n".join(lines)
