"""`isp synth`: render a scene through the synthetic sensor into raw frames (.dng, .raw, .npy).

    isp synth -o out/shot.####.dng --scene chart --size 1080p --frames 24 --motion 0.5,1.25
    isp synth -o flat.npy --scene ramps --size 640x480 --bits 14 --black 512 --no-noise
    isp synth --test-images test_images
"""
from __future__ import annotations

from pathlib import Path

from isp.errors import InputError


def add_parser(sub):
    p = sub.add_parser(
        "synth",
        help="render a test chart or an image into synthetic raw frames (DNG, .raw, .npy)",
        description="Render a linear scene through a synthetic Bayer sensor with shot and read noise. "
                    "The output format follows the extension: .dng, .raw (with a .raw.json sidecar) or .npy.",
    )
    p.add_argument("-o", "--output", help="output file, or a sequence pattern (shot.####.dng, shot.%%04d.dng)")
    p.add_argument("--scene", default="chart",
                   help="chart (default), colorchecker, zoneplate, edge, ramps, or an RGB image file (PNG/TIFF)")
    p.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT or uhd, 4k, 2k, 1080p, hd, 720p, vga, small")
    p.add_argument("--frames", type=int, default=1, help="number of frames (default 1)")
    p.add_argument("--start", type=int, default=1, help="first frame number of a sequence (default 1)")
    p.add_argument("--motion", default="0,0", metavar="DY,DX", help="motion in pixels per frame, sub-pixel allowed (write --motion=-1,0 when DY is negative)")
    p.add_argument("--object", action="store_true",
                   help="move a square over the still scene instead of panning the whole scene")
    p.add_argument("--exposure", type=float, default=0.0, metavar="EV", help="scale the scene by 2**EV")
    s = p.add_argument_group("sensor")
    s.add_argument("--pattern", default="RGGB", help="CFA pattern: RGGB, BGGR, GRBG or GBRG")
    s.add_argument("--bits", type=int, default=12, help="bit depth (default 12)")
    s.add_argument("--black", type=float, default=256, help="black level in DN (default 256)")
    s.add_argument("--white", type=float, default=None, help="white level in DN (default 2**bits - 1)")
    s.add_argument("--gain", type=float, default=2.0, help="conversion gain in e-/DN (default 2.0)")
    s.add_argument("--read-noise", dest="read_noise", type=float, default=2.0, help="read noise in DN (default 2.0)")
    s.add_argument("--no-noise", dest="noise", action="store_false", help="no shot or read noise")
    s.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    s.add_argument("--iso", type=float, default=100.0, help="ISO written to the metadata (default 100)")
    p.add_argument("--test-images", dest="test_images", metavar="DIR",
                   help="regenerate the small test inputs into DIR (other options are ignored)")
    return p


def parse_motion(text: str) -> tuple[float, float]:
    parts = str(text).replace(" ", "").split(",")
    try:
        dy, dx = (float(v) for v in parts)
    except ValueError:
        raise InputError(f"--motion: cannot read {text!r}; expected DY,DX in pixels per frame, e.g. 0.5,1") from None
    return dy, dx


def output_paths(output: str, frames: int, start: int) -> list[Path]:
    from isp.io.sequence import frame_path, is_pattern

    if is_pattern(output):
        return [frame_path(output, start + i) for i in range(frames)]
    if frames > 1:
        raise InputError(f"{output}: {frames} frames need a sequence pattern such as shot.####.dng or shot.%04d.dng")
    return [Path(output)]


def run(args) -> int:
    from isp import synth
    from isp.io.dng import WRITERS, write_frame

    if args.test_images:
        for path in synth.write_test_images(args.test_images):
            print(path)
        return 0
    if not args.output:
        raise InputError("-o/--output is required (or --test-images DIR)")
    if args.frames < 1:
        raise InputError(f"--frames must be at least 1, got {args.frames}")
    suffix = Path(args.output).suffix.lower()
    if suffix not in WRITERS:
        raise InputError(f"{args.output}: unknown output format {suffix or '(none)'!r}; use {', '.join(WRITERS)}")
    paths = output_paths(args.output, args.frames, args.start)
    height, width = synth.parse_size(args.size)
    motion = parse_motion(args.motion)
    sensor = synth.SensorModel(pattern=args.pattern, bits=args.bits, black_level=args.black, white_level=args.white,
                               gain=args.gain, read_noise=args.read_noise, seed=args.seed, iso=args.iso)
    scene = synth.make_scene(args.scene, height, width)
    if args.exposure:
        scene = scene * (2.0 ** args.exposure)
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    frames = synth.render_sequence(scene, sensor, frames=args.frames, motion=motion,
                                   moving_object="square" if args.object else None, noise=args.noise,
                                   start=args.start)
    for path, frame in zip(paths, frames):
        for written in write_frame(path, frame):
            print(written)
    return 0
