"""The pipeline: a raw frame to a graded image, in camera order.

    sensor    black/white level, defective pixels          kernels.sensor
    denoise   on the CFA mosaic, noise-model aware          isp.denoise
    balance   white balance, highlight clip                 kernels.wb
    demosaic  mosaic -> camera RGB                          kernels.demosaic
    colour    camera RGB -> output space, transfer          kernels.colour
    grade     ASC CDL, 1D shaper + 3D LUT                   kernels.lut
    output    quantisation to the output's integers         kernels.fused

`Pipeline.process(frame)` runs them. The fused path (the default) runs sensor correction, the
real-time denoiser and white balance in one pass (the denoiser loads raw values through the
levels and stores them balanced), and demosaic, colour, CDL, LUT and quantisation in another:
with RCD or Menon 2007, each tile is demosaiced in cache and finished straight into the output
(kernels.develop); the other demosaicers write the frame and one pass finishes it. So the image
crosses memory once per pass instead of once per stage. The unfused path runs each stage as its
own kernel over the whole frame; both give the same result (tests hold them to 1e-5).

Buffers: the intermediate images (the corrected mosaic, the demosaiced frame) are kept per
thread and reused from frame to frame, since a fresh UHD array costs milliseconds of page faults
each time; the output goes into `out=` when the caller passes one (the sequence runner recycles
them once written), else into a new array.
"""
from __future__ import annotations

import threading
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from isp import config as configuration
from isp import orientation
from isp.errors import InputError, ProcessingWarning
from isp.frame import RawFrame
from kernels import develop as kdevelop
from kernels import fused as kfused
from kernels import sensor as ksensor
from kernels import wb as kwb
from kernels.cfa import channels

@dataclass
class FrameParams:
    """What the frame itself decides: white balance gains, camera -> output matrix."""

    gains: np.ndarray  # (3,) float32 white-balance multipliers (R, G, B)
    site_gains: np.ndarray  # (2, 2) float32, the gains laid out like the CFA
    clip: np.float32  # highlight clip level after white balance (inf: none)
    matrix: np.ndarray  # (3, 3) float32, white-balanced camera RGB -> output space (linear)


class Pipeline:
    """A configured pipeline; build once, process many frames."""

    def __init__(self, config: dict | None = None):
        import colour as _  # noqa: F401  colour-science takes ~1 s to import: here, not in the first frame's timings

        from isp import colour, grade
        from kernels.colour import TRANSFER_FUNCTIONS
        from kernels.demosaic import ALGORITHMS

        self.config = config if config is not None else configuration.load()
        c = self.config
        self.demosaic = ALGORITHMS[c["demosaic"]["algorithm"]]
        # demosaicers that run tile by tile with the finish (kernels.develop)
        self._tiled = c["demosaic"]["algorithm"] if c["demosaic"]["algorithm"] in kdevelop.ALGORITHMS else None
        self.denoise_method = c["denoise"]["method"]
        # frames the temporal denoiser looks at around each frame (1: each frame alone)
        self.temporal_window = int(c["denoise"]["window"]) if self.denoise_method == "temporal" else 1
        self.space = c["output"]["colorspace"]
        self.transfer = TRANSFER_FUNCTIONS[c["output"]["transfer"]]

        self.cdl = grade.read_cdl(c["grade"]["cdl"], id=c["grade"]["cccid"]) if c["grade"]["cdl"] else None
        self.lut = grade.compile_lut(c["grade"]["lut"]) if c["grade"]["lut"] else None
        self.interpolation = c["grade"]["interpolation"]
        self._cdl_args = _cdl_args(self.cdl)
        self.curves = kfused.curve_tables(self.transfer, self._cdl_args)
        # the fused pass's LUT arguments; None: the LUT has steps it cannot take (isp.grade applies it after)
        lut_args = self.lut.fused_args(self.interpolation == "tetrahedral") if self.lut is not None else kfused.NO_LUT
        self._lut_rest = lut_args is None
        self._lut_args = kfused.NO_LUT if self._lut_rest else lut_args
        self._threshold = np.float32(c["sensor"]["defect_threshold"])
        self._colour = colour
        self._params: dict[tuple, FrameParams] = {}
        self._noise: dict[tuple, object] = {}
        self._buffers = _Buffers()

    @classmethod
    def from_config(cls, source=None, overrides: dict | None = None) -> Pipeline:
        """A pipeline from a TOML path, a config dict or None (the defaults), with overrides
        ({"section.key": value}) on top, as the command line gives them."""
        return cls(configuration.load(source, overrides))

    # -- what each frame decides ---------------------------------------------------------------
    def frame_params(self, frame: RawFrame, mosaic: np.ndarray | None = None) -> FrameParams:
        """White balance and colour matrix for this frame. `mosaic` (normalised) is
        needed for the automatic white balances. Frames of a sequence share their metadata, so
        the result is kept per metadata (colour-science takes milliseconds to build a matrix)."""
        key = None if self._needs_mosaic_for_wb(frame) else _metadata_key(frame)
        if key is not None and key in self._params:
            return self._params[key]
        gains = np.asarray(self._colour.white_balance_gains(frame, self.config["sensor"]["white_balance"], mosaic),
                           dtype=np.float32)
        clip = np.float32(np.inf)
        if self.config["sensor"]["highlights"] == "clip":
            clip = np.float32(gains.min())  # the lowest balanced saturation: blown areas stay neutral
        matrix = np.asarray(self._colour.camera_to_working_matrix(frame, gains, self.space), dtype=np.float32)
        params = FrameParams(gains, gains[channels(frame.pattern)].astype(np.float32), clip,
                             np.ascontiguousarray(matrix))
        if key is not None:
            self._params[key] = params
        return params

    def noise_model(self, frame: RawFrame, mosaic: np.ndarray | None):
        """The frame's noise model: from its metadata, else estimated from the first frame of each
        camera and ISO seen (an estimate takes a few hundred ms and the noise of a camera at one
        ISO does not change from frame to frame). None when it must be estimated and `mosaic`
        (the corrected mosaic) is None."""
        from isp.noise import estimate, from_frame

        model = from_frame(frame)
        if model is None:
            key = (frame.camera, frame.iso, frame.white_level, frame.black_level.tobytes())
            if key not in self._noise:
                if mosaic is None:
                    return None
                self._noise[key] = estimate(mosaic, frame.pattern)
            model = self._noise[key]
        return model

    def _estimated_noise(self, frame: RawFrame, mosaic: np.ndarray):
        """`noise_model` measured on `mosaic`; None, with a warning, when the frame cannot give
        one (too small, saturated, no flat region): that frame is then not denoised, and the
        next frame of the camera is measured again."""
        try:
            return self.noise_model(frame, mosaic)
        except InputError as e:
            warnings.warn(f"{frame.source or 'frame'}: {e}; not denoised", ProcessingWarning, stacklevel=2)
            return None

    def _corrected(self, frame: RawFrame, out: np.ndarray | None = None) -> np.ndarray:
        """The normalised mosaic with defects suppressed, before white balance."""
        return ksensor.correct(frame.mosaic, *_levels(frame), _UNIT, self._threshold, np.float32(np.inf), out=out)

    def _needs_mosaic_for_wb(self, frame: RawFrame) -> bool:
        """The white balance is measured on this frame's pixels (not read from its metadata)."""
        wb = self.config["sensor"]["white_balance"]
        if wb == "auto":
            return not self._colour.has_as_shot(frame)
        return wb in ("grey_world", "white_patch")

    # -- running ---------------------------------------------------------------------------------
    def process(self, frame: RawFrame, *, fused: bool = True, depth=None, window: list | None = None,
                centre: int = 0, out: np.ndarray | None = None) -> np.ndarray:
        """The graded (H, W, 3) image: float32, float16 when `depth` is "half", or uint8/uint16
        when it is 8/16.
        `window`/`centre`: the frames around this one, for the temporal denoiser.
        `out`: an array to write the image into, of the shape and dtype `output_spec` gives."""
        return self.process_timed(frame, fused=fused, depth=depth, window=window, centre=centre, out=out)[0]

    def output_spec(self, frame: RawFrame, depth=None) -> tuple[tuple, np.dtype]:
        """The shape and dtype of what `process(frame, depth=depth)` returns (and `out=` takes)."""
        q = _quantise(depth)
        h, w = frame.height, frame.width
        if self._turns(frame):
            h, w = orientation.displayed_shape(h, w, frame.orientation, frame.pixel_aspect)
        return (h, w, 3), np.dtype(np.float16 if q == kfused.HALF else kfused.DTYPES[q])

    def _turns(self, frame: RawFrame) -> bool:
        """The developed frame is turned or stretched to be shown (`[output] orientation`)."""
        return self.config["output"]["orientation"] == "display" and (frame.orientation != 1 or frame.pixel_aspect != 1)

    def process_timed(self, frame: RawFrame, *, fused: bool = True, depth=None, window: list | None = None,
                      centre: int = 0, out: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
        """`process`, and the milliseconds each pass took (fused passes are timed together).

        With the temporal denoiser, `window` is the list of frames around this one (this one at
        index `centre`), as `temporal_window` asks for; without it the frame is denoised alone.
        """
        if not isinstance(frame, RawFrame):
            raise InputError(f"expected an isp.RawFrame, got {type(frame).__name__}")
        quantise = _quantise(depth)
        shape, dtype = self.output_spec(frame, depth)
        if out is None:
            out = np.empty(shape, dtype)
        elif out.shape != shape or out.dtype != dtype or not out.flags.c_contiguous:
            raise InputError(f"out: expected a C-contiguous {shape} {np.dtype(dtype).name} array, "
                             f"got {out.shape} {out.dtype.name}")
        ms: dict[str, float] = {}
        developed = out
        if self._turns(frame):  # developed as stored, then turned into `out`
            developed = self._buffers.get("developed", (frame.height, frame.width, 3), dtype)
        self._develop(frame, fused, window, centre, quantise, developed, ms)
        if developed is not out:
            with _timed(ms, "orientation"):
                orientation.displayed(developed, frame.orientation, frame.pixel_aspect, out=out)
        return out, ms

    def _develop(self, frame: RawFrame, fused: bool, window: list | None, centre: int, quantise: int,
                 out: np.ndarray, ms: dict) -> None:
        """Every stage, the frame as stored into `out` ((H, W, 3) of the output dtype)."""
        mosaic, p = self._front_end(frame, fused, window, centre, ms)
        dst = out.view(np.uint16) if quantise == kfused.HALF else out  # the kernels store half as its bits
        if fused and self._tiled and not self._lut_rest:
            with _timed(ms, "demosaic+colour+grade"):
                kdevelop.develop(self._tiled, mosaic, frame.pattern, dst, p.matrix, self.transfer, self.curves,
                                 self._cdl_args, self._lut_args, quantise)
            return
        with _timed(ms, "demosaic"):
            rgb = self.demosaic(mosaic, frame.pattern, out=self._buffers.get("rgb", out.shape, np.float32))
        if fused:  # every per-pixel stage in one pass, straight into the output's dtype
            with _timed(ms, "colour+grade"):
                target = rgb if self._lut_rest else dst
                kfused.finish(rgb, 0, rgb.shape[0], target, 0, p.matrix, self.transfer, self.curves,
                              self._cdl_args, self._lut_args, np.float32(0 if self._lut_rest else quantise))
                if self._lut_rest:  # a LUT with steps the fused pass cannot take
                    self.lut.apply(rgb, self.interpolation, out=rgb)
                    self._quantise_into(rgb, dst, quantise)
            return
        with _timed(ms, "colour"):
            self._colour_unfused(rgb, p)
        with _timed(ms, "grade"):
            if self.cdl is not None:
                from isp.grade import apply_cdl

                apply_cdl(rgb, self.cdl, out=rgb)
            if self.lut is not None:
                self.lut.apply(rgb, self.interpolation, out=rgb)
        with _timed(ms, "output"):
            self._quantise_into(rgb, dst, quantise)

    def _front_end(self, frame: RawFrame, fused: bool, window: list | None, centre: int, ms: dict):
        """Sensor correction, denoise and white balance: the balanced mosaic and the FrameParams.

        Fused, they are one pass where they can be: without a denoiser, levels/defects/balance/clip
        (kernels.sensor); with the real-time denoisers, all of it inside the denoiser
        (isp.denoise.denoise_raw). Otherwise (unfused, temporal, or a white balance measured on
        the mosaic) each is its own pass.
        """
        buffer = self._buffers.get("mosaic", frame.mosaic.shape, np.float32)
        model, corrected = None, None
        if self.denoise_method != "off":
            model = self.noise_model(frame, None)
            if model is None:  # the first frame of a camera without noise metadata: estimate it
                with _timed(ms, "sensor"):
                    corrected = self._corrected(frame, out=buffer)
                    model = self._estimated_noise(frame, corrected)
        denoising = model is not None
        if fused and not self._needs_mosaic_for_wb(frame) and self.denoise_method != "temporal":
            p = self.frame_params(frame)
            if not denoising:
                with _timed(ms, "sensor"):  # levels, defects, white balance and clip in a single pass
                    return ksensor.correct(frame.mosaic, *_levels(frame), p.site_gains, self._threshold, p.clip,
                                           out=buffer), p
            from isp.denoise import denoise_raw

            with _timed(ms, "sensor+denoise+balance"):
                return denoise_raw(frame.mosaic, _levels(frame), model, self.denoise_method,
                                   self.config["denoise"]["strength"], threshold=self._threshold,
                                   gains=p.site_gains, clip=p.clip, out=buffer), p
        with _timed(ms, "sensor"):
            mosaic = corrected if corrected is not None else self._corrected(frame, out=buffer)
        if denoising:
            from isp.denoise import denoise, denoise_temporal

            with _timed(ms, "denoise"):
                strength = self.config["denoise"]["strength"]
                if self.denoise_method == "temporal":
                    window, centre = _alike(window or [frame], centre)
                    stack = np.stack([mosaic if i == centre else self._corrected(f) for i, f in enumerate(window)]) \
                        if len(window) > 1 else mosaic[None]
                    mosaic = denoise_temporal(stack, centre, model, strength)
                else:
                    mosaic = denoise(mosaic, model, self.denoise_method, strength,
                                     out=self._buffers.get("denoised", mosaic.shape, np.float32))
        with _timed(ms, "balance"):  # after the denoiser, whose noise model is of the raw data
            p = self.frame_params(frame, mosaic)
            kwb.white_balance_mosaic(mosaic, channels(frame.pattern), p.gains, p.clip, mosaic)
        return mosaic, p

    @staticmethod
    def _quantise_into(rgb: np.ndarray, out: np.ndarray, quantise: int) -> None:
        if quantise:
            kfused.finish(rgb, 0, rgb.shape[0], out, 0, kfused.IDENTITY, 0, kfused.linear_curves(), kfused.NO_CDL,
                          kfused.NO_LUT, np.float32(quantise))
        else:
            np.copyto(out, rgb)

    def _colour_unfused(self, rgb: np.ndarray, p: FrameParams) -> np.ndarray:
        from kernels.colour import apply_matrix, apply_transfer

        px = rgb.reshape(-1, 3)
        apply_matrix(px, p.matrix, px)
        apply_transfer(px, self.transfer, False, px)
        return rgb


class _Buffers(threading.local):
    """Scratch arrays by name, one set per thread, reused while the frame size stays the same."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple, dtype) -> np.ndarray:
        a = self.arrays.get(name)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = self.arrays[name] = np.empty(shape, dtype)
        return a


def _metadata_key(frame: RawFrame) -> tuple:
    """What white balance and colour matrices depend on, hashable."""
    def arr(a):
        return None if a is None else np.asarray(a, np.float64).tobytes()

    dng = None
    if frame.dng is not None:
        dng = tuple(arr(v) if isinstance(v, np.ndarray) else v for v in vars(frame.dng).values())
    return frame.pattern, frame.wb, arr(frame.xyz_to_camera), dng


def _alike(window: list, centre: int) -> tuple[list, int]:
    """The frames of a temporal window that match the centre one's size and CFA pattern (a
    frame of another size in a sequence is left out, with a warning), and the centre's index."""
    c = window[centre]
    keep = [i for i, f in enumerate(window) if i == centre or (f.mosaic.shape == c.mosaic.shape and f.pattern == c.pattern)]
    if len(keep) < len(window):
        odd = ", ".join(f"{f.source or 'a frame'} ({f.width}x{f.height} {f.pattern})"
                        for i, f in enumerate(window) if i not in keep)
        warnings.warn(f"{c.source or 'frame'}: its temporal window leaves out the frames unlike it "
                      f"({c.width}x{c.height} {c.pattern}): {odd}", ProcessingWarning, stacklevel=3)
    return [window[i] for i in keep], keep.index(centre)


def _levels(frame: RawFrame) -> tuple[np.ndarray, np.ndarray]:
    """Black level and 1 / (white - black) per CFA site, float32 (2, 2)."""
    black = frame.black_level.astype(np.float32)
    return black, (1.0 / (frame.white_level - black)).astype(np.float32)


def _quantise(depth) -> int:
    if depth == "half":
        return kfused.HALF
    if depth in (None, "float", 32):
        return 0
    if depth in (8, 16):
        return 255 if depth == 8 else 65535
    raise InputError(f"output depth {depth!r}; expected 8, 16, 32, 'half' or 'float'")


_UNIT = np.ones((2, 2), np.float32)


def _cdl_args(cdl) -> tuple:
    if cdl is None:
        return kfused.NO_CDL
    f = lambda v: np.ascontiguousarray(v, dtype=np.float32)  # noqa: E731
    return (True, f(cdl.slope), f(cdl.offset), f(cdl.power), np.float32(cdl.saturation), cdl.style == "asc")


@contextmanager
def _timed(ms: dict, name: str):
    t0 = time.perf_counter()
    yield
    ms[name] = ms.get(name, 0.0) + (time.perf_counter() - t0) * 1e3
