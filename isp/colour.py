"""Colour: white balance, camera matrices, working/output spaces — the matrices from colour-science.

Public API::

    COLOURSPACES                      user-facing name -> colour-science RGB_COLOURSPACES key
    TRANSFER_FUNCTIONS                (re-exported from kernels.colour) name -> kernel id
    colourspace(name) -> colour.RGB_Colourspace      (InputError naming the allowed names)
    transfer_function(name) -> int                   (InputError naming the allowed names)
    white_balance_gains(frame, spec="as_shot", mosaic=None) -> (3,) float64 multipliers, G = 1
    temperature_gains(frame, cct, tint=0.0) -> (3,) float64
    grey_world_gains(frame, mosaic) / white_patch_gains(frame, mosaic) -> (3,) float64
    white_balance(frame, gains, highlights="clip", mosaic=None) -> float32 balanced mosaic
    camera_to_xyz_matrix(frame, gains) -> (3x3 float64, white xy): balanced camera RGB -> XYZ
    camera_to_working_matrix(frame, gains, space) -> (3, 3) float32
    xyz_to_working_matrix(space, source_white_xy=D65) -> (3, 3) float64

White balance multiplies each CFA site of the normalised mosaic (black 0, white level 1) by its
channel's gain, before demosaic. `gains` maps the scene's neutral to (1, 1, 1): the camera neutral
is 1 / gains. Highlights: "clip" clips every site at the balanced saturation level (the smallest
gain), so a pixel blown in all channels stays neutral instead of turning magenta; "none" keeps
the values (and the magenta).

Camera matrices, by what the frame carries:
- DNG ColorMatrix1/2 (RawFrame.dng): the matrices are interpolated in inverse CCT between the two
  calibration illuminants at the white balance's CCT, which is found by iterating camera neutral
  -> XYZ -> xy -> CCT (DNG spec 1.6, chapter 6, "Mapping Camera Color Space to CIE XYZ Space").
  With ForwardMatrix1/2 the (interpolated) ForwardMatrix maps balanced camera RGB to XYZ D50;
  without them the inverse ColorMatrix maps to XYZ under the scene white, which is then adapted
  (Bradford, as the DNG spec) to the working space's white. CameraCalibration is applied.
- Otherwise LibRaw's XYZ(D65) -> camera matrix (RawFrame.xyz_to_camera), normalised as dcraw
  does so balanced (1, 1, 1) maps to the D65 white.
- A frame with no matrix is taken to be in linear sRGB/Rec.709 primaries already.
XYZ -> working space: colour-science's `matrix_XYZ_to_RGB` of the space after a Bradford
chromatic adaptation from the source white to the space's white. Nothing is hand-typed.
"""
from __future__ import annotations

import re
import warnings

import numpy as np

from isp.errors import InputError, ProcessingWarning
from kernels import cfa
from kernels import wb as kwb
from kernels.colour import TRANSFER_FUNCTIONS

# user-facing name -> colour-science key (None: CIE XYZ itself, D65 white)
COLOURSPACES = {
    "sRGB": "sRGB",
    "Rec709": "ITU-R BT.709",
    "Rec2020": "ITU-R BT.2020",
    "DCI-P3": "DCI-P3",
    "P3-D65": "P3-D65",
    "ACES2065-1": "ACES2065-1",
    "ACEScg": "ACEScg",
    "S-Gamut3.Cine": "S-Gamut3.Cine",
    "S-Gamut3": "S-Gamut3",
    "AWG3": "ARRI Wide Gamut 3",
    "AWG4": "ARRI Wide Gamut 4",
    "XYZ": None,
}
_ALIASES = {
    "bt709": "Rec709", "itur bt709": "Rec709", "rec 709": "Rec709",
    "bt2020": "Rec2020", "itur bt2020": "Rec2020",
    "p3": "DCI-P3", "dcip3": "DCI-P3", "p3d65": "P3-D65", "displayp3": "P3-D65",
    "aces": "ACES2065-1", "ap0": "ACES2065-1", "aces20651": "ACES2065-1", "ap1": "ACEScg",
    "sgamut3cine": "S-Gamut3.Cine", "sgamut3": "S-Gamut3",
    "arriwidegamut3": "AWG3", "alexawidegamut": "AWG3", "awg": "AWG3", "arriwidegamut4": "AWG4",
    "ciexyz": "XYZ", "xyzd65": "XYZ",
}
CAT = "Bradford"
WB_METHODS = ("auto", "as_shot", "grey_world", "white_patch", "none")
HIGHLIGHTS = ("clip", "none")

# EXIF LightSource code -> correlated colour temperature (K), as the DNG SDK maps them
# (dng_camera_profile::IlluminantToTemperature; fluorescents: the middle of EXIF 2.3's ranges)
_ILLUMINANT_CCT = {
    17: 2850.0, 3: 2850.0, 24: 3200.0, 23: 5000.0, 20: 5500.0, 1: 5500.0, 9: 5500.0, 4: 5500.0,
    18: 5500.0, 21: 6500.0, 19: 6500.0, 10: 6500.0, 22: 7500.0, 11: 7500.0,
    12: (5700.0 + 7100.0) / 2, 13: (4600.0 + 5500.0) / 2, 14: (3800.0 + 4500.0) / 2,
    2: (3800.0 + 4500.0) / 2, 15: (3250.0 + 3800.0) / 2, 16: (2600.0 + 3250.0) / 2,
}


def _colour():
    import colour  # deferred: importing colour-science takes about a second

    return colour


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def canonical_colourspace(name: str) -> str:
    """The COLOURSPACES name for `name` (case, spaces, dots and dashes ignored; a few aliases)."""
    k = _key(name)
    for canon in COLOURSPACES:
        if _key(canon) == k:
            return canon
    for alias, canon in _ALIASES.items():
        if _key(alias) == k:
            return canon
    raise InputError(f"unknown colour space {name!r}; expected one of {', '.join(COLOURSPACES)}")


def colourspace(name: str):
    """colour-science's RGB_Colourspace for a working/output space name (None for XYZ)."""
    key = COLOURSPACES[canonical_colourspace(name)]
    return None if key is None else _colour().RGB_COLOURSPACES[key]


def transfer_function(name: str) -> int:
    """Kernel id of a transfer function name (`kernels.colour.TRANSFER_FUNCTIONS`)."""
    k = str(name).lower().replace("-", "").replace("_", "").replace(".", "")
    k = {"bt709": "rec709", "bt2100pq": "pq", "st2084": "pq", "bt2100hlg": "hlg", "logc": "logc3",
         "none": "linear", "lin": "linear", "slog": "slog3"}.get(k, k)
    if k not in TRANSFER_FUNCTIONS:
        raise InputError(f"unknown transfer function {name!r}; expected one of {', '.join(TRANSFER_FUNCTIONS)}")
    return TRANSFER_FUNCTIONS[k]


# ---------------------------------------------------------------------------------------------
# XYZ <-> working spaces
# ---------------------------------------------------------------------------------------------
def _d65_xy() -> np.ndarray:
    return np.asarray(_colour().CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"], dtype=np.float64)


def _d50_xy() -> np.ndarray:
    return np.asarray(_colour().CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D50"], dtype=np.float64)


def _cat(src_xy, dst_xy) -> np.ndarray:
    colour = _colour()
    src = colour.xy_to_XYZ(np.asarray(src_xy, dtype=np.float64))
    dst = colour.xy_to_XYZ(np.asarray(dst_xy, dtype=np.float64))
    if np.allclose(src, dst, rtol=0, atol=1e-12):
        return np.eye(3)
    return colour.adaptation.matrix_chromatic_adaptation_VonKries(src, dst, transform=CAT)


def xyz_to_working_matrix(space: str, source_white_xy=None) -> np.ndarray:
    """XYZ (white `source_white_xy`, D65 by default) -> the space's linear RGB, Bradford-adapted."""
    src = _d65_xy() if source_white_xy is None else np.asarray(source_white_xy, dtype=np.float64)
    cs = colourspace(space)
    if cs is None:  # XYZ output keeps the D65 white
        return _cat(src, _d65_xy())
    return np.asarray(cs.matrix_XYZ_to_RGB, dtype=np.float64) @ _cat(src, cs.whitepoint)


# ---------------------------------------------------------------------------------------------
# DNG colour (spec 1.6 chapter 6)
# ---------------------------------------------------------------------------------------------
def _has_dng_matrices(frame) -> bool:
    return frame.dng is not None and frame.dng.color_matrix1 is not None


def _illuminant_cct(code) -> float | None:
    return _ILLUMINANT_CCT.get(int(code)) if code is not None else None


def _interp_weight(frame, cct: float) -> float:
    """Weight of the *1 matrices at `cct`: linear in 1/CCT between the calibration illuminants."""
    d = frame.dng
    if d.color_matrix2 is None:
        return 1.0
    t1, t2 = _illuminant_cct(d.calibration_illuminant1), _illuminant_cct(d.calibration_illuminant2)
    if not t1 or not t2 or t1 == t2:
        return 1.0
    g = (1.0 / cct - 1.0 / t2) / (1.0 / t1 - 1.0 / t2)
    return float(np.clip(g, 0.0, 1.0))


def _mix(a, b, g):
    if a is None:
        return None if b is None else np.asarray(b, dtype=np.float64)
    if b is None:
        return np.asarray(a, dtype=np.float64)
    return g * np.asarray(a, dtype=np.float64) + (1.0 - g) * np.asarray(b, dtype=np.float64)


def _dng_xyz_to_camera(frame, cct: float) -> np.ndarray:
    """CameraCalibration x ColorMatrix at `cct` (AnalogBalance is not carried, taken as identity)."""
    d = frame.dng
    g = _interp_weight(frame, cct)
    cm = _mix(d.color_matrix1, d.color_matrix2, g)
    cc = _mix(d.camera_calibration1, d.camera_calibration2, g)
    return cm if cc is None else cc @ cm


def _xy_to_cct(xy) -> float:
    colour = _colour()
    uv = colour.xy_to_UCS_uv(np.asarray(xy, dtype=np.float64))
    cct = float(colour.temperature.uv_to_CCT_Robertson1968(uv)[0])
    return float(np.clip(cct, 1667.0, 25000.0))


def _cct_to_xy(cct: float, tint: float = 0.0) -> np.ndarray:
    """xy of a Planckian white at `cct` kelvin, `tint` its Duv (Robertson 1968 isotemperature lines)."""
    colour = _colour()
    uv = colour.temperature.CCT_to_uv_Robertson1968(np.array([float(cct), float(tint)]))
    return np.asarray(colour.UCS_uv_to_xy(uv), dtype=np.float64)


def _xyz_to_xy(xyz) -> np.ndarray:
    xyz = np.asarray(xyz, dtype=np.float64)
    return xyz[:2] / xyz.sum()


def _dng_white(frame, neutral) -> tuple[np.ndarray, float]:
    """(xy, CCT) of the white whose camera response is `neutral`: DNG's fixed-point iteration."""
    xy = _d50_xy()
    cct = _xy_to_cct(xy)
    for _ in range(50):
        m = _dng_xyz_to_camera(frame, cct)
        xyz = np.linalg.solve(m, np.asarray(neutral, dtype=np.float64))
        new_xy = _xyz_to_xy(xyz)
        new_cct = _xy_to_cct(new_xy)
        done = abs(new_cct - cct) < 0.01
        xy, cct = new_xy, new_cct
        if done:
            break
    return xy, cct


# ---------------------------------------------------------------------------------------------
# white balance
# ---------------------------------------------------------------------------------------------
def _normalise(gains) -> np.ndarray:
    g = np.asarray(gains, dtype=np.float64).reshape(3)
    if not (np.all(np.isfinite(g)) and np.all(g > 0)):
        raise InputError(f"white balance multipliers must be positive numbers, got {g.tolist()}")
    return g / g[1]


def _frame_name(frame) -> str:
    return str(frame.source) if getattr(frame, "source", None) else "frame"


def _xyz_to_camera_d65(frame) -> np.ndarray | None:
    if _has_dng_matrices(frame):
        return _dng_xyz_to_camera(frame, 6500.0)
    if frame.xyz_to_camera is not None:
        return np.asarray(frame.xyz_to_camera, dtype=np.float64)
    return None


def as_shot_gains(frame) -> np.ndarray:
    """The camera's as-shot multipliers (RawFrame.wb, else the DNG AsShotNeutral), G = 1.

    A frame with neither gets the D65 (daylight) white through its matrix; with no matrix either,
    InputError.
    """
    gains = _recorded_white(frame)
    if gains is None:
        raise InputError(f"{_frame_name(frame)}: no as-shot white balance in the metadata; use grey_world, "
                         "white_patch, a colour temperature or multipliers")
    return gains


def has_as_shot(frame) -> bool:
    """Whether `as_shot_gains` has something to go on for this frame."""
    return _recorded_white(frame) is not None


def _recorded_white(frame) -> np.ndarray | None:
    if frame.wb is not None:
        return _normalise(frame.wb)
    if frame.dng is not None and frame.dng.as_shot_neutral is not None:
        return _normalise(1.0 / np.asarray(frame.dng.as_shot_neutral, dtype=np.float64))
    m = _xyz_to_camera_d65(frame)
    if m is not None:
        return _normalise(1.0 / (m @ _colour().xy_to_XYZ(_d65_xy())))
    return None


def temperature_gains(frame, cct: float, tint: float = 0.0) -> np.ndarray:
    """Multipliers that make a Planckian white of `cct` kelvin (Duv `tint`) neutral.

    The white's XYZ goes through the camera matrix for that CCT (DNG: ColorMatrix1/2 interpolated;
    otherwise LibRaw's D65 matrix) to its camera response, whose inverse is the gains.
    """
    cct = float(cct)
    if not 1000.0 <= cct <= 40000.0:
        raise InputError(f"colour temperature {cct:g} K is outside 1000-40000 K")
    colour = _colour()
    xyz = colour.xy_to_XYZ(_cct_to_xy(cct, tint))
    if _has_dng_matrices(frame):
        m = _dng_xyz_to_camera(frame, cct)
    elif frame.xyz_to_camera is not None:
        m = np.asarray(frame.xyz_to_camera, dtype=np.float64)
    else:  # no matrix: camera RGB taken as linear sRGB
        m = np.asarray(colour.RGB_COLOURSPACES["sRGB"].matrix_XYZ_to_RGB, dtype=np.float64)
    neutral = m @ xyz
    return _normalise(1.0 / neutral)


def _mosaic_for_stats(frame, mosaic) -> np.ndarray:
    if mosaic is None:
        mosaic = frame.normalized()
    m = np.ascontiguousarray(mosaic, dtype=np.float32)
    if m.shape != frame.mosaic.shape:
        raise InputError(f"{_frame_name(frame)}: mosaic shape {m.shape} is not the frame's {frame.mosaic.shape}")
    return m


SATURATION = 0.98  # sites at or above this fraction of the white level count as clipped


def grey_world_gains(frame, mosaic=None) -> np.ndarray:
    """Grey world: the mean of every channel over the unclipped 2x2 blocks is made equal."""
    m = _mosaic_for_stats(frame, mosaic)
    sums, counts = kwb.block_channel_sums(m, cfa.channels(frame.pattern), np.float32(SATURATION))
    if np.any(counts == 0):
        raise InputError(f"{_frame_name(frame)}: every 2x2 block is clipped; grey world has nothing to measure")
    means = sums / counts
    if np.any(means <= 0):
        raise InputError(f"{_frame_name(frame)}: a channel's mean is not positive; grey world cannot balance it")
    return _normalise(1.0 / means)


WHITE_PATCH_PERCENTILE = 99.5


def white_patch_gains(frame, mosaic=None, percentile: float = WHITE_PATCH_PERCENTILE) -> np.ndarray:
    """White patch (Land's retinex max-RGB): each channel's brightest unclipped value, taken as a
    high percentile of the half-size image so single hot pixels do not decide, is made equal."""
    m = _mosaic_for_stats(frame, mosaic)
    ch = cfa.channels(frame.pattern)
    half = kwb.half_size(m, ch, np.empty((m.shape[0] // 2, m.shape[1] // 2, 3), np.float32))
    px = half.reshape(-1, 3)
    ok = np.all(np.isfinite(px), axis=1) & (px.max(axis=1) < SATURATION)
    # a block with any clipped site is left out (its green average hides a clipped site too)
    blocks = m[: 2 * half.shape[0], : 2 * half.shape[1]].reshape(half.shape[0], 2, half.shape[1], 2)
    ok &= (blocks.max(axis=(1, 3)) < SATURATION).reshape(-1)
    if ok.sum() < 16:
        raise InputError(f"{_frame_name(frame)}: too few unclipped pixels for white patch")
    tops = np.percentile(px[ok], percentile, axis=0)
    if np.any(tops <= 0):
        raise InputError(f"{_frame_name(frame)}: a channel is black; white patch cannot balance it")
    return _normalise(1.0 / tops)


def white_balance_gains(frame, spec="as_shot", mosaic=None) -> np.ndarray:
    """(R, G, B) multipliers with G = 1 for a white-balance spec, as config and CLI give it:
    "auto" (as shot when the file says, else grey world: the default, so that a sensor dump with
    no metadata still develops), "as_shot" (an error when the file does not say), "grey_world",
    "white_patch", "none", a colour temperature in kelvin (number), or three multipliers.
    `mosaic` (the normalised mosaic) saves recomputing it for the estimating modes."""
    if isinstance(spec, str):
        s = spec.lower().replace("-", "_").replace(" ", "_")
        s = {"asshot": "as_shot", "camera": "as_shot", "greyworld": "grey_world", "gray_world": "grey_world",
             "whitepatch": "white_patch", "max_rgb": "white_patch"}.get(s, s)
        if s == "auto":
            recorded = _recorded_white(frame)
            if recorded is not None:
                return recorded
            try:
                return grey_world_gains(frame, mosaic)
            except InputError as e:  # a saturated or black frame: develop it unbalanced, and say so
                warnings.warn(f"{e}; white balance left at 1, 1, 1", ProcessingWarning, stacklevel=2)
                return np.ones(3)
        if s == "as_shot":
            return as_shot_gains(frame)
        if s == "grey_world":
            return grey_world_gains(frame, mosaic)
        if s == "white_patch":
            return white_patch_gains(frame, mosaic)
        if s == "none":
            return np.ones(3)
        try:
            return temperature_gains(frame, float(s.rstrip("k")))
        except ValueError:
            pass
        raise InputError(f"unknown white balance {spec!r}; expected one of {', '.join(WB_METHODS)}, "
                         "a colour temperature in kelvin or three multipliers")
    if isinstance(spec, (int, float, np.integer, np.floating)) and not isinstance(spec, bool):
        return temperature_gains(frame, float(spec))
    arr = np.asarray(spec, dtype=np.float64)
    if arr.shape == (3,):
        return _normalise(arr)
    raise InputError(f"white balance {spec!r}: expected a method name, a temperature or 3 multipliers")


def white_balance(frame, gains, highlights: str = "clip", mosaic=None, out=None) -> np.ndarray:
    """The normalised mosaic with the gains applied per CFA site (float32, before demosaic).

    highlights="clip" clips at the balanced saturation level min(gains) (blown highlights stay
    neutral); "none" leaves values as multiplied.
    """
    if highlights not in HIGHLIGHTS:
        raise InputError(f"unknown highlight mode {highlights!r}; expected one of {', '.join(HIGHLIGHTS)}")
    g = _normalise(gains).astype(np.float32)
    m = np.ascontiguousarray(frame.normalized() if mosaic is None else mosaic, dtype=np.float32)
    clip = np.float32(g.min()) if highlights == "clip" else np.float32(np.inf)
    dst = np.empty_like(m) if out is None else out
    return kwb.white_balance_mosaic(m, cfa.channels(frame.pattern), g, clip, dst)


# ---------------------------------------------------------------------------------------------
# camera -> XYZ -> working space
# ---------------------------------------------------------------------------------------------
def camera_to_xyz_matrix(frame, gains) -> tuple[np.ndarray, np.ndarray]:
    """(M, white_xy): M maps white-balanced camera RGB (neutral = (1, 1, 1)) to CIE XYZ whose
    white is `white_xy`, with the neutral at Y = 1."""
    colour = _colour()
    g = _normalise(gains)
    neutral = 1.0 / g
    if _has_dng_matrices(frame):
        white_xy, cct = _dng_white(frame, neutral)
        d = frame.dng
        w = _interp_weight(frame, cct)
        fm = _mix(d.forward_matrix1, d.forward_matrix2, w)
        if fm is not None:
            cc = _mix(d.camera_calibration1, d.camera_calibration2, w)
            cc_inv = np.eye(3) if cc is None else np.linalg.inv(cc)
            ref = cc_inv @ neutral
            m = fm @ np.diag(1.0 / ref) @ cc_inv @ np.diag(neutral)
            white_xy = _d50_xy()
        else:
            m = np.linalg.inv(_dng_xyz_to_camera(frame, cct)) @ np.diag(neutral)
    elif frame.xyz_to_camera is not None:
        cam_xyz = np.asarray(frame.xyz_to_camera, dtype=np.float64)
        white = colour.xy_to_XYZ(_d65_xy())
        cam_xyz = cam_xyz / (cam_xyz @ white)[:, None]  # dcraw: D65 white -> camera (1, 1, 1)
        m = np.linalg.inv(cam_xyz)
        white_xy = _d65_xy()
    else:
        srgb = colour.RGB_COLOURSPACES["sRGB"]
        m = np.asarray(srgb.matrix_RGB_to_XYZ, dtype=np.float64)
        white_xy = np.asarray(srgb.whitepoint, dtype=np.float64)
    y = (m @ np.ones(3))[1]
    return m / y, np.asarray(white_xy, dtype=np.float64)


def camera_to_working_matrix(frame, gains, space: str = "sRGB") -> np.ndarray:
    """(3, 3) float32 taking white-balanced camera RGB to the linear working/output space."""
    m, white_xy = camera_to_xyz_matrix(frame, gains)
    return np.ascontiguousarray(xyz_to_working_matrix(space, white_xy) @ m, dtype=np.float32)


def working_to_working_matrix(src: str, dst: str) -> np.ndarray:
    """(3, 3) float32 between two working spaces (colour-science's matrix_RGB_to_RGB, Bradford)."""
    a, b = colourspace(src), colourspace(dst)
    colour = _colour()
    if a is None or b is None:
        to_xyz = np.eye(3) if a is None else np.asarray(a.matrix_RGB_to_XYZ, dtype=np.float64)
        src_white = _d65_xy() if a is None else a.whitepoint
        return np.ascontiguousarray(xyz_to_working_matrix(dst, src_white) @ to_xyz, dtype=np.float32)
    return np.ascontiguousarray(colour.matrix_RGB_to_RGB(a, b, chromatic_adaptation_transform=CAT), dtype=np.float32)
