"""The synthetic sensor: linear scenes rendered into noisy Bayer raw frames.

A scene is linear, scene-referred camera RGB, float (H, W, 3), where 1.0 is the sensor's white
level. `render` samples it through the CFA and applies the physical noise model of a
`SensorModel`:

    signal_DN = scene * (white - black)                       (per CFA site, after mosaicking)
    electrons ~ Poisson(signal_DN * gain)                      shot noise, gain in e-/DN
    DN        = electrons / gain + Normal(0, read_noise) + black
    mosaic    = clip(round(DN), 0, white) as uint16

so, in the normalised units of `RawFrame.normalized()` (x = (DN - black) / (white - black)), the
variance at mean level x is `a * x + b` with

    a = 1 / (gain * (white - black)),   b = (read_noise / (white - black)) ** 2

(plus the quantisation step's 1/12 DN^2, which the model leaves out). The true parameters go in
`frame.extra["noise"]` so a noise estimator can be checked against them.

Scenes: `colorchecker`, `zone_plate`, `slanted_edge`, `ramps`, `default_chart` (all four together)
and `load_image` (any 8/16-bit RGB PNG/TIFF, sRGB-decoded to linear); `make_scene` picks one by
name. `render_sequence` makes frames with motion (a global pan or a moving object over a static
background). `write_test_images` regenerates `test_images/` (`python -m isp.synth --test-images DIR`).

The camera of a synthetic frame has linear Rec.709/sRGB primaries: `xyz_to_camera` is the inverse
of colour-science's sRGB RGB->XYZ matrix, so a colour pipeline turns camera RGB back into
Rec.709 exactly, and the as-shot white balance is (1, 1, 1).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from isp.errors import InputError
from isp.frame import DngColour, RawFrame
from kernels import cfa

CAMERA = "isp synthetic"
D65 = 21  # EXIF LightSource code

SIZES = {
    "uhd": (2160, 3840),
    "4k": (2160, 4096),
    "dci4k": (2160, 4096),
    "2k": (1080, 2048),
    "1080p": (1080, 1920),
    "hd": (1080, 1920),
    "720p": (720, 1280),
    "vga": (480, 640),
    "small": (240, 320),
}


def srgb_xyz_to_camera() -> np.ndarray:
    """XYZ -> linear sRGB/Rec.709: the inverse of colour-science's sRGB RGB->XYZ matrix."""
    import colour

    return np.linalg.inv(np.asarray(colour.RGB_COLOURSPACES["sRGB"].matrix_RGB_to_XYZ, dtype=np.float64))


@dataclass
class SensorModel:
    """A Bayer sensor: CFA pattern, levels and noise.

    pattern      CFA pattern of the top-left 2x2 block ("RGGB", "BGGR", "GRBG", "GBRG").
    bits         bit depth of the ADC (1..16).
    black_level  black level in DN (the same at every CFA site).
    white_level  saturation in DN; None means 2**bits - 1.
    gain         conversion gain in electrons per DN (larger = less shot noise).
    read_noise   Gaussian read noise, standard deviation in DN.
    seed         seed of the noise generator (frames of a sequence use (seed, frame index)).
    iso          metadata only, written to the frame and the DNG.
    exposure_time  metadata only, seconds.
    xyz_to_camera  XYZ (D65) -> camera RGB; None means linear sRGB primaries.
    as_shot_neutral  camera RGB of a neutral in the scene; (1, 1, 1) for the built-in charts.
    """

    pattern: str = "RGGB"
    bits: int = 12
    black_level: float = 256.0
    white_level: float | None = None
    gain: float = 2.0
    read_noise: float = 2.0
    seed: int | None = 0
    iso: float | None = 100.0
    exposure_time: float | None = 1 / 48
    xyz_to_camera: np.ndarray | None = None
    as_shot_neutral: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self):
        try:
            self.pattern = cfa.check_pattern(self.pattern)
        except ValueError as e:
            raise InputError(str(e)) from None
        if not 1 <= int(self.bits) <= 16:
            raise InputError(f"bit depth must be 1..16, got {self.bits}")
        self.bits = int(self.bits)
        if self.white_level is None:
            self.white_level = float(2 ** self.bits - 1)
        self.white_level = float(self.white_level)
        self.black_level = float(self.black_level)
        if not 0 < self.white_level <= 2 ** self.bits - 1:
            raise InputError(f"white level {self.white_level:g} is outside 1..{2 ** self.bits - 1} for {self.bits} bits")
        if not 0 <= self.black_level < self.white_level:
            raise InputError(f"black level {self.black_level:g} must be >= 0 and below the white level {self.white_level:g}")
        if not self.gain > 0:
            raise InputError(f"gain must be > 0 e-/DN, got {self.gain}")
        if not self.read_noise >= 0:
            raise InputError(f"read noise must be >= 0 DN, got {self.read_noise}")
        if min(self.as_shot_neutral) <= 0:
            raise InputError(f"as-shot neutral must be positive, got {self.as_shot_neutral}")

    @property
    def range(self) -> float:
        """white - black in DN: the signal that scene value 1.0 produces."""
        return self.white_level - self.black_level

    def noise_model(self) -> dict:
        """The true noise parameters, in DN and in normalised units (variance = a * x + b)."""
        return {
            "gain": float(self.gain),
            "read_noise": float(self.read_noise),
            "a": 1.0 / (self.gain * self.range),
            "b": (self.read_noise / self.range) ** 2,
        }


# --------------------------------------------------------------------------------------------
# rendering


def render(scene: np.ndarray, sensor: SensorModel | None = None, noise: bool = True,
           rng: np.random.Generator | None = None, frame_number: int | None = None) -> RawFrame:
    """Render a linear camera-RGB scene (H, W, 3), 1.0 = white level, into a Bayer RawFrame.

    With `noise=False` the mosaic is the exact quantised signal. `rng` defaults to one seeded
    with `sensor.seed` (and `frame_number` when given, so sequence frames are independent).
    """
    sensor = sensor or SensorModel()
    scene = np.asarray(scene)
    if scene.ndim != 3 or scene.shape[2] != 3 or scene.shape[0] < 2 or scene.shape[1] < 2:
        raise InputError(f"a scene is (H, W, 3) with H, W >= 2, got shape {scene.shape}")
    signal = cfa.mosaic(scene, sensor.pattern).astype(np.float64)  # sample first: a third of the memory
    np.nan_to_num(signal, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    dn = np.clip(signal, 0.0, None) * sensor.range  # clip: no negative light
    if noise:
        if rng is None:
            key = [sensor.seed] if frame_number is None else [sensor.seed, frame_number]
            rng = np.random.default_rng(None if sensor.seed is None else key)
        # Electrons above ~1e9 are far beyond any real full well; cap them so poisson cannot fail.
        electrons = rng.poisson(np.minimum(dn * sensor.gain, 1e9))
        dn = electrons / sensor.gain
        if sensor.read_noise > 0:
            dn += rng.normal(0.0, sensor.read_noise, size=dn.shape)
    dn += sensor.black_level
    mosaic = np.clip(np.rint(dn), 0, sensor.white_level).astype(np.uint16)
    return make_frame(mosaic, sensor, frame_number=frame_number)


def make_frame(mosaic: np.ndarray, sensor: SensorModel, frame_number: int | None = None) -> RawFrame:
    """Wrap a mosaic rendered with `sensor` in a RawFrame with its levels, colour and noise."""
    m = srgb_xyz_to_camera() if sensor.xyz_to_camera is None else np.asarray(sensor.xyz_to_camera, dtype=np.float64)
    neutral = np.asarray(sensor.as_shot_neutral, dtype=np.float64)
    neutral = neutral / neutral[1]
    wb = tuple(float(v) for v in 1.0 / neutral)
    return RawFrame(
        mosaic=mosaic,
        pattern=sensor.pattern,
        black_level=np.full((2, 2), sensor.black_level, dtype=np.float32),
        white_level=sensor.white_level,
        wb=wb,
        xyz_to_camera=m,
        dng=DngColour(color_matrix1=m.copy(), calibration_illuminant1=D65, as_shot_neutral=neutral),
        camera=CAMERA,
        iso=sensor.iso,
        exposure_time=sensor.exposure_time,
        frame_number=frame_number,
        extra={"noise": sensor.noise_model(), "bits": sensor.bits},
    )


def shift_image(image: np.ndarray, dy: float, dx: float, border: str = "reflect") -> np.ndarray:
    """Translate an (H, W[, C]) float image by (dy, dx) pixels, sub-pixel with bilinear weights."""
    import cv2

    if dy == 0 and dx == 0:
        return image
    modes = {"reflect": cv2.BORDER_REFLECT101, "constant": cv2.BORDER_CONSTANT}
    h, w = image.shape[:2]
    matrix = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float64)
    img = np.ascontiguousarray(image, dtype=np.float32)
    out = cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=modes[border], borderValue=0)
    return out.reshape(image.shape)


def moving_square(size: int = 32, colour=(0.9, 0.25, 0.1)) -> np.ndarray:
    """A flat coloured square, (size, size, 3): the default moving object."""
    return np.broadcast_to(np.asarray(colour, dtype=np.float32), (size, size, 3)).copy()


def composite_sequence_scene(scene: np.ndarray, index: int, motion=(0.0, 0.0), moving_object=None,
                             start=None) -> tuple[np.ndarray, dict]:
    """The clean scene of frame `index` (0-based) of a sequence, and what moved where.

    Without `moving_object` the whole scene pans by `index * motion` (edges reflected). With one
    (an (h, w, 3) array, an (h, w, 4) RGBA array, or True / "square" for `moving_square`), the
    background stays still and the object's top-left corner is at `start + index * motion`
    (`start` defaults to a quarter of the frame in from the top-left).
    """
    scene = np.asarray(scene, dtype=np.float32)
    dy, dx = (float(index * motion[0]), float(index * motion[1]))
    if moving_object is None or moving_object is False:
        return shift_image(scene, dy, dx), {"shift": (dy, dx)}
    h, w = scene.shape[:2]
    obj = moving_object
    if obj is True or (isinstance(obj, str) and obj == "square"):
        obj = moving_square(max(4, min(h, w) // 4))
    obj = np.asarray(obj, dtype=np.float32)
    if obj.ndim != 3 or obj.shape[2] not in (3, 4):
        raise InputError(f"a moving object is (h, w, 3) or (h, w, 4), got shape {obj.shape}")
    alpha = obj[..., 3] if obj.shape[2] == 4 else np.ones(obj.shape[:2], np.float32)
    oh, ow = obj.shape[:2]
    if start is None:
        start = (h // 4, w // 4)
    y0, x0 = start[0] + dy, start[1] + dx
    layer = np.zeros((h, w, 4), np.float32)
    ph, pw = min(oh, h), min(ow, w)
    layer[:ph, :pw, :3] = obj[:ph, :pw, :3] * alpha[:ph, :pw, None]
    layer[:ph, :pw, 3] = alpha[:ph, :pw]
    layer = shift_image(layer, y0, x0, border="constant")  # premultiplied: bilinear edges are right
    out = scene * (1.0 - layer[..., 3:4]) + layer[..., :3]
    return out, {"object_origin": (y0, x0), "object_size": (oh, ow)}


def render_sequence(scene: np.ndarray, sensor: SensorModel | None = None, frames: int = 8,
                    motion=(0.0, 0.0), moving_object=None, noise: bool = True, start: int = 1,
                    object_start=None) -> Iterator[RawFrame]:
    """Yield `frames` RawFrames numbered from `start`, moving by `motion` = (dy, dx) px per frame.

    See `composite_sequence_scene` for what moves. Each frame's noise is drawn from a generator
    seeded with (sensor.seed, frame number), so any frame can be re-rendered alone. The ground
    truth motion of each frame is in `frame.extra["motion"]`.
    """
    sensor = sensor or SensorModel()
    if frames < 1:
        raise InputError(f"frames must be >= 1, got {frames}")
    for i in range(frames):
        clean, truth = composite_sequence_scene(scene, i, motion, moving_object, object_start)
        frame = render(clean, sensor, noise=noise, frame_number=start + i)
        frame.extra["motion"] = truth
        yield frame


# --------------------------------------------------------------------------------------------
# scenes: linear camera RGB, float32 (H, W, 3)


def colorchecker_rgb() -> np.ndarray:
    """The 24 ColorChecker patches (colour-science, 'After November 2014'), linear Rec.709, (24, 3).

    The reference xyY values (D50) are adapted to D65 with Bradford and converted to linear sRGB.
    """
    import colour

    cc = colour.CCS_COLOURCHECKERS["ColorChecker24 - After November 2014"]
    xyy = np.array(list(cc.data.values()), dtype=np.float64)
    xyz = colour.xyY_to_XYZ(xyy)
    rgb = colour.XYZ_to_RGB(xyz, "sRGB", illuminant=cc.illuminant, chromatic_adaptation_transform="Bradford",
                            apply_cctf_encoding=False)
    return np.clip(rgb, 0.0, None).astype(np.float32)


def colorchecker(height: int = 400, width: int = 600, border: float = 0.02) -> np.ndarray:
    """A 6x4 ColorChecker chart filling the frame, patches on a dark surround."""
    patches = colorchecker_rgb()
    out = np.full((height, width, 3), border, np.float32)
    ph, pw = height / 4, width / 6
    my, mx = ph * 0.1, pw * 0.1
    for i, rgb in enumerate(patches):
        r, c = divmod(i, 6)
        y0, y1 = int(round(r * ph + my)), int(round((r + 1) * ph - my))
        x0, x1 = int(round(c * pw + mx)), int(round((c + 1) * pw - mx))
        out[y0:y1, x0:x1] = rgb
    return out


def zone_plate(height: int = 512, width: int = 512, mean: float = 0.45, amplitude: float = 0.4) -> np.ndarray:
    """A circular zone plate, grey, cos(k r^2): spatial frequency rises from 0 at the centre to
    the pixel Nyquist frequency (0.5 cycles/px) at the nearer edge, and beyond it in the corners."""
    y = np.arange(height, dtype=np.float64) - (height - 1) / 2
    x = np.arange(width, dtype=np.float64) - (width - 1) / 2
    r2 = y[:, None] ** 2 + x[None, :] ** 2
    rmax = min(height, width) / 2
    # phase = k r^2 has local frequency k r / pi cycles/px; 0.5 at rmax -> k = pi / (2 rmax)
    k = np.pi / (2 * rmax)
    v = (mean + amplitude * np.cos(k * r2)).astype(np.float32)
    return np.repeat(v[:, :, None], 3, axis=2)


def slanted_edge(height: int = 256, width: int = 256, angle: float = 5.0, low: float = 0.1,
                 high: float = 0.7) -> np.ndarray:
    """An ISO 12233-style slanted edge: dark left, bright right, tilted `angle` degrees from
    vertical through the centre, anti-aliased by pixel area coverage."""
    t = np.deg2rad(angle)
    y = np.arange(height, dtype=np.float64)[:, None] - (height - 1) / 2
    x = np.arange(width, dtype=np.float64)[None, :] - (width - 1) / 2
    d = x * np.cos(t) - y * np.sin(t)  # signed distance to the edge in pixels
    # coverage of a unit pixel by the bright half-plane, exact for a straight edge of this slope
    a, b = abs(np.cos(t)), abs(np.sin(t))
    lo, hi = max(a, b), min(a, b)
    cov = _edge_coverage(d, lo, hi)
    v = (low + (high - low) * cov).astype(np.float32)
    return np.repeat(v[:, :, None], 3, axis=2)


def _edge_coverage(d, p, q):
    """Area of the unit square centred at the origin where u*cos + v*sin < d, p >= q >= 0 being
    the larger and smaller of |cos|, |sin| (a trapezoid profile convolved with a box)."""
    if q < 1e-9:
        return np.clip(d / p + 0.5, 0.0, 1.0)
    half = (p + q) / 2
    s = np.clip(d + half, 0.0, p + q)  # distance travelled from the first corner
    area = np.where(s < q, s * s / (2 * p * q),
                    np.where(s < p, (s - q / 2) / p, 1.0 - (p + q - s) ** 2 / (2 * p * q)))
    return np.clip(area, 0.0, 1.0)


def ramps(height: int = 256, width: int = 512) -> np.ndarray:
    """Horizontal ramps 0 -> 1 in bands: grey (linear), grey (exposure steps, log2 from -12 to 0),
    red, green, blue, and a hue sweep at constant maximum 1."""
    x = np.linspace(0.0, 1.0, width, dtype=np.float64)
    bands = [
        np.stack([x, x, x], axis=1),
        np.repeat(2.0 ** (-12 + 12 * x)[:, None], 3, axis=1),
        np.stack([x, 0 * x, 0 * x], axis=1),
        np.stack([0 * x, x, 0 * x], axis=1),
        np.stack([0 * x, 0 * x, x], axis=1),
        _hue_sweep(x),
    ]
    edges = np.linspace(0, height, len(bands) + 1).round().astype(int)
    out = np.empty((height, width, 3), np.float32)
    for band, y0, y1 in zip(bands, edges[:-1], edges[1:]):
        out[y0:y1] = band[None, :, :]
    return out


def _hue_sweep(x):
    h = (x * 6.0)[:, None]
    k = (np.array([5.0, 3.0, 1.0])[None, :] + h) % 6
    return 1.0 - np.clip(np.minimum(k, 4 - k), 0, 1)  # HSV -> RGB with S = V = 1


def default_chart(height: int = 540, width: int = 960) -> np.ndarray:
    """The four charts in a 2x2 grid: ColorChecker | zone plate / slanted edge | ramps."""
    h0, w0 = height // 2, width // 2
    h1, w1 = height - h0, width - w0
    out = np.empty((height, width, 3), np.float32)
    out[:h0, :w0] = colorchecker(h0, w0)
    out[:h0, w0:] = zone_plate(h0, w1)
    out[h0:, :w0] = slanted_edge(h1, w0)
    out[h0:, w0:] = ramps(h1, w1)
    return out


def load_image(path, height: int | None = None, width: int | None = None) -> np.ndarray:
    """An RGB image file as a linear scene: 8/16-bit integers are sRGB-decoded
    (colour-science's `cctf_decoding`), float images are taken as linear already.
    Resized (area-averaged, in linear light) when a size is given."""
    import colour
    import cv2

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such image file")
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if img is None:
        raise InputError(f"{path}: not an image OpenCV can read")
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    elif img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    else:
        raise InputError(f"{path}: {img.shape[2]} channels; expected grey, RGB or RGBA")
    if img.dtype == np.uint8 or img.dtype == np.uint16:
        lin = colour.cctf_decoding(img.astype(np.float64) / np.iinfo(img.dtype).max, function="sRGB")
    elif img.dtype.kind == "f":
        lin = img.astype(np.float64)
    else:
        raise InputError(f"{path}: unsupported sample type {img.dtype}")
    lin = np.ascontiguousarray(lin, dtype=np.float32)
    if height and width and (height, width) != lin.shape[:2]:
        interp = cv2.INTER_AREA if height < lin.shape[0] else cv2.INTER_CUBIC
        lin = cv2.resize(lin, (width, height), interpolation=interp)
    return lin


SCENES = {
    "chart": default_chart,
    "colorchecker": colorchecker,
    "zoneplate": zone_plate,
    "edge": slanted_edge,
    "ramps": ramps,
}


def make_scene(name: str, height: int, width: int) -> np.ndarray:
    """A built-in scene by name (see `SCENES`), or an image file's path, at (height, width)."""
    fn = SCENES.get(str(name).lower())
    if fn is not None:
        return fn(height, width)
    if Path(name).suffix:
        return load_image(name, height, width)
    raise InputError(f"unknown scene {name!r}; expected one of {', '.join(SCENES)} or an image file")


def parse_size(text: str) -> tuple[int, int]:
    """'1920x1080' or a name in SIZES ('uhd', '1080p', ...) -> (height, width)."""
    t = str(text).strip().lower()
    if t in SIZES:
        return SIZES[t]
    parts = t.split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise InputError(f"bad size {text!r}; expected WIDTHxHEIGHT or one of {', '.join(SIZES)}") from None
    if w < 2 or h < 2 or w > 65535 or h > 65535:
        raise InputError(f"bad size {text!r}; width and height must be 2..65535")
    return h, w


# --------------------------------------------------------------------------------------------
# test_images/


def write_test_images(directory, size=(64, 96)) -> list[Path]:
    """Regenerate the small test inputs: a DNG per CFA pattern (12-bit, noisy, default chart),
    a 10-bit noiseless DNG, and a .raw dump with its JSON sidecar. Returns the paths written."""
    from isp.io.dng import write_frame

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    h, w = size
    scene = default_chart(h, w)
    written = []
    for pattern in cfa.PATTERNS:
        frame = render(scene, SensorModel(pattern=pattern, bits=12, black_level=256, seed=1))
        written += write_frame(d / f"synth_{pattern.lower()}_12bit.dng", frame)
    frame = render(scene, SensorModel(pattern="RGGB", bits=10, black_level=64), noise=False)
    written += write_frame(d / "synth_rggb_10bit_clean.dng", frame)
    frame = render(scene, SensorModel(pattern="GRBG", bits=12, black_level=200, seed=2))
    written += write_frame(d / "synth_grbg_12bit.raw", frame)
    return written


def _main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m isp.synth", description="Regenerate the synthetic test images.")
    p.add_argument("--test-images", metavar="DIR", default="test_images")
    args = p.parse_args(argv)
    for path in write_test_images(args.test_images):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
