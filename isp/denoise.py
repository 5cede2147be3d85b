"""Denoise stage: noise-model-aware denoisers on the normalised Bayer mosaic, by name.

    from isp.noise import NoiseModel, estimate
    from isp.denoise import denoise, denoise_temporal

    clean = denoise(mosaic, NoiseModel(a, b), method="realtime", strength=1.0)
    clean = denoise(mosaic, None, method="hq")                    # model estimated from the frame
    clean = denoise_temporal(frames, centre=3, model=model)       # a window of frames

Inputs are (H, W) float32 mosaics normalised to [0, 1] after black subtraction (what
`RawFrame.normalized()` gives), *before* demosaic: see `kernels.denoise` for why. Results have
the same shape and dtype. Any Bayer pattern works without being told (the 2x2 Haar the
denoisers use treats all four patterns alike).

Methods (`METHODS`, aliases in brackets):
    realtime (bilateral)   luma-steered joint bilateral on the CFA's Haar channels, 3x3 blocks
    realtime2              the same plus a dilated (a-trous) second pass: ~+1 dB, 2x the cost
    hq (nlm)               non-local means on the CFA's Haar channels, for offline renders
    off                    a copy
`strength` scales the filters' thresholds, which are in units of the local noise sigma given
by the model (1 = tuned default, 0 = no change). Errors a user can cause raise InputError.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from isp.errors import InputError
from isp.noise import NoiseModel, estimate
from kernels import denoise as K

METHODS = {name: fn for name, fn in K.ALGORITHMS.items() if name != "temporal"}


def _check_strength(strength) -> float:
    try:
        s = float(strength)
    except (TypeError, ValueError):
        raise InputError(f"denoise: strength must be a number, got {strength!r}") from None
    if not np.isfinite(s) or s < 0:
        raise InputError(f"denoise: strength must be finite and >= 0, got {strength!r}")
    return s


def _check_mosaic(image, what="image", check_finite=True) -> np.ndarray:
    m = np.asarray(image)
    if m.ndim != 2:
        raise InputError(f"denoise: {what} must be an (H, W) normalised Bayer mosaic (denoise before "
                         f"demosaic), got shape {m.shape}")
    if m.shape[0] < 2 or m.shape[1] < 2:
        raise InputError(f"denoise: {what} {m.shape} is smaller than one 2x2 CFA block")
    if not np.issubdtype(m.dtype, np.floating):
        raise InputError(f"denoise: {what} must be a float mosaic normalised to [0, 1] "
                         f"(RawFrame.normalized()), got dtype {m.dtype}")
    m = np.ascontiguousarray(m, dtype=np.float32)
    if check_finite and not np.isfinite(m).all():
        raise InputError(f"denoise: {what} contains NaN or inf")
    return m


def _model(model, mosaic) -> NoiseModel:
    if model is None:
        return estimate(mosaic)
    if isinstance(model, NoiseModel):
        return model
    try:
        a, b = model
    except (TypeError, ValueError):
        raise InputError(f"denoise: model must be a NoiseModel, (a, b) or None, got {model!r}") from None
    return NoiseModel(a, b)


# methods whose kernel checks for NaN/inf while it loads the mosaic (no separate pass) and takes
# the sensor front end (levels and defects on load, white balance and clip on store)
_FUSED = {"realtime": 1, "bilateral": 1, "realtime2": 2}


def denoise(image, model: NoiseModel | tuple[float, float] | None = None, method: str = "realtime",
            strength: float = 1.0, out: np.ndarray | None = None) -> np.ndarray:
    """Denoise one normalised (H, W) mosaic with the named method.

    `model` is the frame's NoiseModel (None: estimated from the frame with `isp.noise.estimate`).
    `out`: an optional float32 (H, W) buffer to reuse (a streaming pipeline's: a fresh 33 MB
    output costs a UHD frame its page faults). Returns the float32 (H, W) result.
    """
    name = str(method).lower()
    if name not in METHODS:
        raise InputError(f"denoise: unknown method {method!r}; expected one of {', '.join(METHODS)}")
    s = _check_strength(strength)
    fused = name in _FUSED and model is not None
    m = _check_mosaic(image, check_finite=not fused)
    nm = _model(model, m)
    try:
        if fused:
            return K.bilateral_cfa(m, nm.a, nm.b, s, out=out, passes=_FUSED[name], check_finite=True)
        if out is None:
            return METHODS[name](m, nm.a, nm.b, s)
        return METHODS[name](m, nm.a, nm.b, s, out=out)
    except ValueError as e:
        raise InputError(f"denoise: {e}") from None


def denoise_raw(raw, levels, model: NoiseModel | tuple[float, float] | None, method: str = "realtime",
                strength: float = 1.0, *, threshold: float = 0.0, gains=None, clip=None,
                out: np.ndarray | None = None) -> np.ndarray:
    """The sensor front end and the denoiser in one: the raw (H, W) mosaic (uint16, or any real
    dtype) to the denoised, white-balanced, clipped float32 mosaic. Equal to

        m = kernels.sensor.correct(raw, black, scale, ones((2, 2)), threshold, inf)
        m = denoise(m, model, method, strength)
        kernels.wb.white_balance_mosaic(m, channels(pattern), rgb_gains, inf if clip is None else clip, m)

    with levels = (black, scale), each (2, 2) float32 per CFA site (scale = 1 / (white - black));
    gains = the (2, 2) white-balance gain of each CFA site (None: 1); clip = the highlight clip
    after white balance (None, inf or <= 0: none). For "realtime" and "realtime2" it is one
    pass over the frame (levels and defect suppression on load, gains and clip on store; bit
    for bit the three passes); other methods run the three passes. `model` None: estimated
    from the corrected mosaic (a separate pass). `out`: optional float32 (H, W) buffer to reuse.
    """
    name = str(method).lower()
    if name not in METHODS:
        raise InputError(f"denoise: unknown method {method!r}; expected one of {', '.join(METHODS)}")
    s = _check_strength(strength)
    r = np.asarray(raw)
    if r.ndim != 2 or r.shape[0] < 2 or r.shape[1] < 2:
        raise InputError(f"denoise: raw must be an (H, W) Bayer mosaic of at least 2x2, got shape {r.shape}")
    if not (np.issubdtype(r.dtype, np.integer) or np.issubdtype(r.dtype, np.floating)):
        raise InputError(f"denoise: raw mosaic must be of an integer or real dtype, got {r.dtype}")
    try:
        black, scale = (np.ascontiguousarray(np.broadcast_to(np.asarray(v, np.float32), (2, 2))) for v in levels)
        g = np.ones((2, 2), np.float32) if gains is None else \
            np.ascontiguousarray(np.broadcast_to(np.asarray(gains, np.float32), (2, 2)))
    except (ValueError, TypeError):
        raise InputError("denoise: levels must be (black, scale) and gains one value or (2, 2) per CFA site") from None
    c = np.float32(np.inf) if clip is None or not clip > 0 else np.float32(clip)
    t = np.float32(threshold)
    try:
        if name in _FUSED and model is not None:
            nm = _model(model, None)
            return K.bilateral_cfa(r, nm.a, nm.b, s, out=out, passes=_FUSED[name], levels=(black, scale),
                                   threshold=t, gains=g, clip=c, check_finite=np.issubdtype(r.dtype, np.floating))
        from kernels.sensor import correct

        m = correct(r, black, scale, np.ones((2, 2), np.float32), t, np.float32(np.inf))
        d = denoise(m, model, name, s, out=out)
        from kernels.wb import white_balance_mosaic

        # site gains as a 4-"channel" pattern: the same arithmetic as with the CFA's channels
        return white_balance_mosaic(d, _SITES, g.ravel(), c, d)
    except ValueError as e:
        raise InputError(f"denoise: {e}") from None


def denoise_temporal(frames: Sequence[np.ndarray] | np.ndarray, centre: int,
                     model: NoiseModel | tuple[float, float] | None = None, strength: float = 1.0,
                     spatial_strength: float = 1.0) -> np.ndarray:
    """Denoise frame `centre` of a window of frames (a list of (H, W) mosaics or a (T, H, W)
    array, all normalised and the same size) by motion-adaptive averaging over the window,
    then the real-time spatial filter at the noise level that is left at each pixel.

    Pixels whose neighbourhood differs from the centre frame's by more than noise explains
    (motion, changes) take nothing from that frame, so moving objects do not ghost; there the
    result is the single-frame denoiser's. `strength` scales the motion test's tolerance,
    `spatial_strength` the spatial filter. `model` None: estimated from the centre frame.
    """
    if isinstance(frames, np.ndarray) and frames.ndim == 3:
        seq = frames
    else:
        try:
            items = list(frames)
        except TypeError:
            raise InputError("denoise_temporal: frames must be a sequence of (H, W) mosaics") from None
        if not items:
            raise InputError("denoise_temporal: the window of frames is empty")
        checked = [_check_mosaic(f, f"frame {i}") for i, f in enumerate(items)]
        shapes = {f.shape for f in checked}
        if len(shapes) != 1:
            raise InputError(f"denoise_temporal: frames differ in size: {sorted(shapes)}")
        seq = np.stack(checked)
    if seq.ndim != 3:
        raise InputError(f"denoise_temporal: frames must be (T, H, W), got shape {seq.shape}")
    seq = np.ascontiguousarray(seq, dtype=np.float32)
    t = seq.shape[0]
    try:
        c = int(centre)
    except (TypeError, ValueError):
        raise InputError(f"denoise_temporal: centre must be a frame index, got {centre!r}") from None
    if c != centre or not 0 <= c < t:
        raise InputError(f"denoise_temporal: centre {centre!r} is outside the window of {t} frames")
    _check_mosaic(seq[c], f"frame {c}")
    if not np.isfinite(seq).all():
        raise InputError("denoise_temporal: the frames contain NaN or inf")
    s = _check_strength(strength)
    ss = _check_strength(spatial_strength)
    nm = _model(model, seq[c])
    return K.temporal_cfa(seq, c, nm.a, nm.b, s, ss)


_SITES = np.array([[0, 1], [2, 3]], dtype=np.int64)


def window(n_frames: int, index: int, size: int) -> tuple[int, int]:
    """The [start, stop) of a window of `size` frames around `index` in a sequence of
    `n_frames`, shifted inwards at the ends. InputError when size > n_frames or size < 1."""
    if size < 1 or size > n_frames:
        raise InputError(f"denoise: a temporal window of {size} frames does not fit a sequence of {n_frames}")
    if not 0 <= index < n_frames:
        raise InputError(f"denoise: frame {index} is outside the sequence of {n_frames}")
    start = min(max(index - size // 2, 0), n_frames - size)
    return start, start + size
