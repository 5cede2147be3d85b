"""RawFrame: a Bayer mosaic as stored, and everything needed to develop it."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kernels import cfa


@dataclass
class DngColour:
    """The DNG colour tags (DNG spec 1.6, chapter 6), as read from the file; any may be None."""

    color_matrix1: np.ndarray | None = None  # XYZ -> camera, 3x3, under illuminant 1
    color_matrix2: np.ndarray | None = None
    forward_matrix1: np.ndarray | None = None  # white-balanced camera -> XYZ (D50), 3x3
    forward_matrix2: np.ndarray | None = None
    camera_calibration1: np.ndarray | None = None
    camera_calibration2: np.ndarray | None = None
    calibration_illuminant1: int | None = None  # EXIF LightSource code (17 = A, 21 = D65, ...)
    calibration_illuminant2: int | None = None
    as_shot_neutral: np.ndarray | None = None  # camera RGB of a neutral, 3 values


@dataclass
class RawFrame:
    """One raw Bayer frame.

    `mosaic` is the (H, W) uint16 sensor data of the delivered frame (visible area, after any
    default crop); `pattern` is the CFA pattern of its top-left 2x2 block; `black_level` is a
    (2, 2) array per CFA site laid out like `pattern`; `white_level` is the saturation level.
    `wb` is the as-shot white balance as (R, G, B) multipliers with G = 1, or None when unknown.
    `xyz_to_camera` is the 3x3 matrix taking CIE XYZ (D65) to camera RGB (LibRaw's or the DNG's
    ColorMatrix for D65), None when unknown; `dng` holds the DNG colour tags when present.
    `origin` is the (row, column) of the frame's top-left pixel on the full sensor readout.
    `orientation` (TIFF/EXIF 1-8) and `pixel_aspect` (a pixel's width over its height) say how
    the developed image is shown (see isp.orientation); the mosaic itself is as stored.
    """

    mosaic: np.ndarray
    pattern: str
    black_level: np.ndarray
    white_level: float
    wb: tuple[float, float, float] | None = None
    xyz_to_camera: np.ndarray | None = None
    dng: DngColour | None = None
    camera: str = ""
    iso: float | None = None
    exposure_time: float | None = None
    source: Path | None = None
    frame_number: int | None = None
    origin: tuple[int, int] = (0, 0)
    orientation: int = 1
    pixel_aspect: float = 1.0
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.pattern = cfa.check_pattern(self.pattern)
        if self.mosaic.ndim != 2:
            raise ValueError(f"a mosaic is 2-D, got shape {self.mosaic.shape}")
        if self.mosaic.size == 0:
            raise ValueError(f"the mosaic is empty ({self.mosaic.shape[1]}x{self.mosaic.shape[0]})")
        bl = np.asarray(self.black_level, dtype=np.float32)
        self.black_level = np.broadcast_to(bl, (2, 2)).copy() if bl.size in (1, 4) else bl.reshape(2, 2)
        self.white_level = float(self.white_level)
        if self.orientation not in range(1, 9):
            raise ValueError(f"orientation {self.orientation!r}; expected 1 to 8")
        self.pixel_aspect = float(self.pixel_aspect)
        if not 0.1 <= self.pixel_aspect <= 10:
            raise ValueError(f"pixel aspect ratio {self.pixel_aspect} is outside 0.1..10")
        if not (np.isfinite(self.black_level).all() and np.isfinite(self.white_level)):
            raise ValueError(f"black and white levels must be finite numbers, got {self.black_level.ravel().tolist()} "
                             f"and {self.white_level}")
        if self.white_level <= float(self.black_level.max()):
            raise ValueError(f"white level {self.white_level} is not above the black level {self.black_level.max()}")

    @property
    def height(self) -> int:
        return self.mosaic.shape[0]

    @property
    def width(self) -> int:
        return self.mosaic.shape[1]

    @property
    def camera_to_xyz(self) -> np.ndarray | None:
        """Camera RGB -> XYZ (D65): the inverse of `xyz_to_camera`, None when that is unknown."""
        return None if self.xyz_to_camera is None else np.linalg.inv(self.xyz_to_camera)

    def normalized(self) -> np.ndarray:
        """The mosaic as float32, black subtracted per CFA site and scaled so white is 1.

        Values are not clipped: noise below black stays negative, nothing above white exists.
        """
        out = np.empty(self.mosaic.shape, dtype=np.float32)
        for r in range(2):
            for c in range(2):
                black = self.black_level[r, c]
                scale = np.float32(1.0 / (self.white_level - black))
                out[r::2, c::2] = (self.mosaic[r::2, c::2].astype(np.float32) - black) * scale
        return out

    def crop(self, top: int, left: int, height: int, width: int) -> RawFrame:
        """A new frame of the given window; the pattern and black levels follow an odd offset."""
        if top < 0 or left < 0 or height <= 0 or width <= 0 or top + height > self.height or left + width > self.width:
            raise ValueError(f"crop {top},{left} {width}x{height} is outside the {self.width}x{self.height} frame")
        black = np.roll(self.black_level, (-top, -left), axis=(0, 1))
        return dataclasses.replace(
            self,
            mosaic=np.ascontiguousarray(self.mosaic[top:top + height, left:left + width]),
            pattern=cfa.shift(self.pattern, top, left),
            black_level=black,
            origin=(self.origin[0] + top, self.origin[1] + left),
        )

    def describe(self) -> dict:
        """Metadata as plain JSON-able values (what `isp info --json` prints)."""
        def mat(m):
            return None if m is None else np.asarray(m, dtype=float).round(6).tolist()

        d = {
            "source": str(self.source) if self.source else None,
            "camera": self.camera,
            "width": self.width,
            "height": self.height,
            "pattern": self.pattern,
            "black_level": self.black_level.tolist(),
            "white_level": self.white_level,
            "wb": None if self.wb is None else [round(float(v), 6) for v in self.wb],
            "xyz_to_camera": mat(self.xyz_to_camera),
            "iso": self.iso,
            "exposure_time": self.exposure_time,
            "origin": list(self.origin),
            "orientation": self.orientation,
            "pixel_aspect": self.pixel_aspect,
            "frame_number": self.frame_number,
        }
        if self.dng is not None:
            d["dng"] = {
                k: (mat(v) if isinstance(v, np.ndarray) else v) for k, v in dataclasses.asdict(self.dng).items()
            }
        return d
