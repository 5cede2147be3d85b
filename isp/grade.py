"""The grade: ASC CDL and LUT loading (colour-science's readers, stdlib XML) and application (numba).

Public API::

    apply_lut(image, lut, interpolation="tetrahedral", out=None) -> float32 image
    apply_cdl(image, cdl, style=None, out=None) -> float32 image
    read_lut(path) -> colour LUT object (LUT1D, LUT3x1D, LUT3D, LUTSequence, LUTOperatorMatrix)
    read_cdl(path, id=None) -> CDL ;  read_cdls(path) -> list[CDL]
    compile_lut(lut) -> CompiledLUT   (reusable: .apply(image, interpolation, out))

Semantics follow OpenColorIO's CPU processor (the tests compare against it): inputs outside a
LUT's domain take its edge values, 1D LUTs interpolate linearly, 3D LUTs trilinearly or
tetrahedrally; the CDL default style is OCIO's CDL_NO_CLAMP, and "asc" is ASC CDL v1.2's clamped
style.

Images: any float array whose last axis is 3 ((H, W, 3), (N, 3) or (3,)); the result is float32
of the same shape. `out` (float32, C-contiguous, same shape) may be the input for in-place work.
"""
from __future__ import annotations

import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from isp import lut_text
from isp.errors import InputError
from kernels import fused as kfused
from kernels import lut as klut

INTERPOLATIONS = ("tetrahedral", "trilinear")
_INTERP_ALIASES = {"tetrahedral": "tetrahedral", "tetra": "tetrahedral", "trilinear": "trilinear", "linear": "trilinear"}
LUT_EXTENSIONS = (".cube", ".spi1d", ".spi3d", ".csp", ".spimtx")
CDL_EXTENSIONS = (".cdl", ".cc", ".ccc")
CDL_STYLES = ("no_clamp", "asc")


# ---------------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------------
def _pixels(image) -> tuple[np.ndarray, tuple[int, ...]]:
    """(P, 3) float32 C-contiguous view (or copy) of an image with a last axis of 3."""
    a = np.asarray(image)
    if a.ndim == 0 or a.shape[-1] != 3:
        raise InputError(f"an image must have 3 channels on its last axis, got shape {a.shape}")
    a = np.ascontiguousarray(a, dtype=np.float32)
    return a.reshape(-1, 3), a.shape


def _out_pixels(out, shape) -> np.ndarray:
    if out is None:
        return np.empty((int(np.prod(shape[:-1], dtype=np.int64)), 3), dtype=np.float32)
    if not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.shape != shape or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float32 array of shape {shape}")
    return out.reshape(-1, 3)


# ---------------------------------------------------------------------------------------------
# LUTs
# ---------------------------------------------------------------------------------------------
def _colour():
    import colour  # deferred: importing colour-science takes about a second

    return colour


def read_lut(path):
    """Read a LUT file with `colour.io.read_LUT`; malformed files and NaNs raise InputError."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: LUT file not found")
    if p.suffix.lower() not in LUT_EXTENSIONS:
        raise InputError(f"{p}: unknown LUT format {p.suffix!r}; expected one of {', '.join(LUT_EXTENSIONS)}")
    try:
        lut = _read_lut(p)
    except Exception as e:  # colour raises ValueError, IndexError, AssertionError ... on bad files
        msg = lut_text.explain(p) or " ".join(str(e).split()) or type(e).__name__
        raise InputError(f"{p}: malformed LUT file ({msg})") from None
    _check_lut(lut, p)
    _check_1d_length(lut, p)
    return lut


def _read_lut(p: Path):
    import warnings

    colour = _colour()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixed = lut_text.with_metadata(p.read_text()) if p.suffix.lower() == ".csp" else None
        if fixed is None:
            return colour.io.read_LUT(str(p))
        # colour-science needs the optional METADATA section: read a copy that has an empty one
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / p.name
            copy.write_text(fixed)
            return colour.io.read_LUT(str(copy))


def _check_1d_length(lut, p: Path) -> None:
    """colour-science reads a 1D table cut short as a shorter one (a .cube's LUT_1D_SIZE, a
    .spi1d's Length): the rows must be as many as the header says."""
    key = {".cube": "LUT_1D_SIZE", ".spi1d": "Length"}.get(p.suffix.lower())
    if key is None:
        return
    m = re.search(rf"^\s*{key}\s+(\d+)", p.read_text(errors="replace"), re.MULTILINE)
    colour = _colour()
    ones = [op for op in _operators(lut) if isinstance(op, (colour.LUT1D, colour.LUT3x1D))]
    if m and ones and len(ones[0].table) != int(m.group(1)):
        msg = lut_text.explain(p) or f"{len(ones[0].table)} rows, but {key} says {m.group(1)}"
        raise InputError(f"{p}: malformed LUT file ({msg})")


def _operators(lut) -> list:
    colour = _colour()
    if isinstance(lut, colour.LUTSequence):
        return list(lut)
    return [lut]


def _check_lut(lut, name) -> None:
    colour = _colour()
    for op in _operators(lut):
        if isinstance(op, colour.LUTOperatorMatrix):
            arrays = (op.matrix, op.offset)
        elif isinstance(op, (colour.LUT1D, colour.LUT3x1D, colour.LUT3D)):
            arrays = (op.table,)
        else:
            raise InputError(f"{name}: unsupported LUT operator {type(op).__name__}")
        for a in arrays:
            if not np.all(np.isfinite(np.asarray(a, dtype=np.float64))):
                raise InputError(f"{name}: LUT contains NaN or infinite values")


@dataclass
class _Step:
    kind: str  # "lut1d", "lut1d_irregular", "lut3d", "matrix"
    arrays: tuple


def _regular_domain(domain, n, name) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(domain, dtype=np.float64).reshape(2, -1)
    lo = np.broadcast_to(d[0], (3,)).astype(np.float64)
    hi = np.broadcast_to(d[1], (3,)).astype(np.float64)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(hi > lo)):
        raise InputError(f"{name}: LUT domain must have max > min, got min {lo.tolist()} max {hi.tolist()}")
    scale = (n - 1) / (hi - lo)
    return lo.astype(np.float32), scale.astype(np.float32)


class CompiledLUT:
    """A LUT (or LUT sequence) turned into kernel-ready float32 arrays; apply it many times."""

    def __init__(self, lut, name: str = "LUT"):
        colour = _colour()
        self.name = name
        _check_lut(lut, name)
        steps: list[_Step] = []
        for op in _operators(lut):
            if isinstance(op, colour.LUTOperatorMatrix):
                m = np.ascontiguousarray(np.asarray(op.matrix, dtype=np.float32)[:3, :3])
                off = np.ascontiguousarray(np.asarray(op.offset, dtype=np.float32)[:3])
                steps.append(_Step("matrix", (m, off)))
            elif isinstance(op, (colour.LUT1D, colour.LUT3x1D)):
                table = np.asarray(op.table, dtype=np.float32)
                if table.ndim == 1:
                    table = np.repeat(table[:, None], 3, axis=1)
                table = np.ascontiguousarray(table)
                n = table.shape[0]
                if n < 2:
                    raise InputError(f"{name}: a 1D LUT needs at least 2 entries, got {n}")
                domain = np.asarray(op.domain, dtype=np.float64)
                if op.is_domain_explicit():
                    xs = domain if domain.ndim == 2 else np.repeat(domain[:, None], 3, axis=1)
                    xs = _pad_irregular(xs, name)
                    if xs.shape[0] != n:
                        raise InputError(f"{name}: 1D LUT domain has {xs.shape[0]} points for {n} entries")
                    steps.append(_Step("lut1d_irregular", (np.ascontiguousarray(xs, dtype=np.float32), table)))
                else:
                    lo, scale = _regular_domain(domain, n, name)
                    steps.append(_Step("lut1d", (table, lo, scale)))
            elif isinstance(op, colour.LUT3D):
                table = np.asarray(op.table, dtype=np.float32)
                n = table.shape[0]
                if table.shape != (n, n, n, 3) or n < 2:
                    raise InputError(f"{name}: a 3D LUT must be an n x n x n cube with n >= 2, got {table.shape}")
                if op.is_domain_explicit():
                    raise InputError(f"{name}: 3D LUTs with an explicit (irregular) domain are not supported")
                lo, scale = _regular_domain(op.domain, n, name)
                flat = np.ascontiguousarray(table).reshape(-1)
                steps.append(_Step("lut3d", (flat, np.int64(n), lo, scale)))
            else:  # pragma: no cover - _check_lut refuses these
                raise InputError(f"{name}: unsupported LUT operator {type(op).__name__}")
        self.steps = steps

    def fused_args(self, tetrahedral: bool = True) -> tuple | None:
        """The LUT as `kernels.fused.finish`'s `lut` tuple (a 1D shaper and/or a 3D cube), or None
        when it has steps that pass cannot take (matrices, irregular 1D domains, longer chains)."""
        kinds = [s.kind for s in self.steps]
        if kinds not in (["lut3d"], ["lut1d"], ["lut1d", "lut3d"]):
            return None
        shaper = self.steps[0].arrays if kinds[0] == "lut1d" else None
        cube = self.steps[-1].arrays if kinds[-1] == "lut3d" else None
        none = kfused.NO_LUT
        return ((True, *shaper) if shaper is not None else none[:4]) + \
            ((True, *cube, tetrahedral) if cube is not None else none[4:])

    def apply(self, image, interpolation: str = "tetrahedral", out=None) -> np.ndarray:
        interp = _interpolation(interpolation)
        tetra = interp == "tetrahedral"
        px, shape = _pixels(image)
        dst = _out_pixels(out, shape)
        fused = self.fused_args(tetra) if tetra else None
        if fused is not None and fused[4] and len(shape) == 3:  # an image through a tetrahedral cube:
            # kernels.fused's vector pass (its trilinear and 1D steps are per pixel, the kernels' own)
            src, h = px.reshape(shape), shape[0]
            kfused.finish(src, 0, h, dst.reshape(shape), 0, kfused.IDENTITY, 0, kfused.linear_curves(),
                          kfused.NO_CDL, fused, np.float32(0))
            return dst.reshape(shape)
        src = px
        steps = self.steps
        if not steps:
            np.copyto(dst, src)
        i = 0
        while i < len(steps):
            s = steps[i]
            if s.kind == "lut1d" and i + 1 < len(steps) and steps[i + 1].kind == "lut3d":
                flat, n, lo, scale = steps[i + 1].arrays
                klut.apply_shaper_lut3d(src, *s.arrays, flat, n, lo, scale, tetra, dst)
                i += 2
            else:
                if s.kind == "lut1d":
                    klut.apply_lut1d(src, *s.arrays, dst)
                elif s.kind == "lut1d_irregular":
                    klut.apply_lut1d_irregular(src, *s.arrays, dst)
                elif s.kind == "lut3d":
                    if tetra:
                        klut.apply_lut3d_tetrahedral(src, *s.arrays, dst)
                    else:
                        klut.apply_lut3d_trilinear(src, *s.arrays, dst)
                else:
                    klut.apply_matrix_offset(src, *s.arrays, dst)
                i += 1
            src = dst  # later steps work in place on the output
        return dst.reshape(shape)

    def __repr__(self) -> str:
        return f"CompiledLUT({self.name!r}, steps={[s.kind for s in self.steps]})"


def _pad_irregular(xs: np.ndarray, name) -> np.ndarray:
    """Explicit 1D domains: NaN-padded short columns repeat their last point; must increase."""
    xs = np.array(xs, dtype=np.float64)
    for c in range(xs.shape[1]):
        col = xs[:, c]
        valid = np.isfinite(col)
        k = int(valid.sum())
        if k < 2 or not valid[:k].all():
            raise InputError(f"{name}: 1D LUT domain column {c} is malformed")
        col[k:] = col[k - 1]
        if np.any(np.diff(col[:k]) <= 0):
            raise InputError(f"{name}: 1D LUT domain column {c} is not increasing")
    return xs


CSP_PRELUT_SAMPLES = 65536


def _csp_spline_prelut(lut):
    """Cinespace (.csp) preluts are splines, not polylines: resample them as OpenColorIO does.

    colour-science reads a .csp prelut as a LUT3x1D with an explicit domain (linear between the
    points); the format (and OCIO) interpolates it with Rising Sun Research's cubic Hermite spline,
    which OCIO resamples into a 2^16-entry linear 1D LUT over [first, last] input point. We build the
    same table, so .csp files agree with OCIO. An identity prelut is dropped, as OCIO drops it.
    """
    colour = _colour()
    ops = _operators(lut)
    if not ops or not isinstance(ops[0], colour.LUT3x1D) or not ops[0].is_domain_explicit():
        return lut
    pre = ops[0]
    xs = np.asarray(pre.domain, dtype=np.float32)
    ys = np.asarray(pre.table, dtype=np.float32)
    if np.allclose(xs, ys, rtol=1e-6, atol=0):
        rest = ops[1:]
    else:
        table = np.empty((CSP_PRELUT_SAMPLES, 3), dtype=np.float32)
        lo = np.empty(3)
        hi = np.empty(3)
        t = (np.arange(CSP_PRELUT_SAMPLES, dtype=np.float32) / np.float32(CSP_PRELUT_SAMPLES - 1))
        for c in range(3):
            valid = np.isfinite(xs[:, c])
            sx, sy = xs[valid, c], ys[valid, c]
            lo[c], hi[c] = sx[0], sx[-1]
            src = (sx[-1] - sx[0]) * t + sx[0]
            table[:, c] = _rsr_spline(sx, sy, src)
        rest = [colour.LUT3x1D(table, domain=np.array([lo, hi]))] + ops[1:]
    if len(rest) == 1:
        return rest[0]
    return colour.LUTSequence(*rest)


def _rsr_spline(sx: np.ndarray, sy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The Cinespace prelut spline (cubic Hermite, derivatives from neighbours), float32."""
    f32 = np.float32
    n = sx.shape[0]
    params = np.zeros((n - 1, 5), dtype=np.float32)
    if n == 2:
        params[0] = [f32(1) / (sx[1] - sx[0]), sy[0], sy[1] - sy[0], 0, 0]
    else:
        for i in range(n - 1):
            f0, f1 = sy[i], sy[i + 1]
            inv = f32(1) / (sx[i + 1] - sx[i])
            delta = sx[i + 1] - sx[i]
            if i == 0:
                d2 = (sx[i + 2] - sx[i + 1]) / delta
                dfdx1 = (sy[i + 2] - f0) / (f32(1) + d2)
                params[i] = [inv, f0, f32(-2) * f0 + f32(2) * f1 - dfdx1, f0 - f1 + dfdx1, 0]
            elif i == n - 2:
                d1 = (sx[i] - sx[i - 1]) / delta
                dfdx0 = (f1 - sy[i - 1]) / (f32(1) + d1)
                params[i] = [inv, f0, dfdx0, -f0 + f1 - dfdx0, 0]
            else:
                d1 = (sx[i] - sx[i - 1]) / delta
                d2 = (sx[i + 2] - sx[i + 1]) / delta
                dfdx0 = (f1 - sy[i - 1]) / (f32(1) + d1)
                dfdx1 = (sy[i + 2] - f0) / (f32(1) + d2)
                params[i] = [inv, f0, dfdx0, f32(-3) * f0 - f32(2) * dfdx0 + f32(3) * f1 - dfdx1,
                             f32(2) * f0 + dfdx0 - f32(2) * f1 + dfdx1]
    seg = np.clip(np.searchsorted(sx, x, side="right") - 1, 0, n - 2)
    p = params[seg]
    z = (x - sx[seg]) * p[:, 0]
    out = p[:, 1] + z * (p[:, 2] + z * (p[:, 3] + p[:, 4] * z))
    out = np.where(x < sx[0], sy[0], np.where(x > sx[-1], sy[-1], out))
    return out.astype(np.float32)


def _interpolation(interpolation: str) -> str:
    key = str(interpolation).lower()
    if key not in _INTERP_ALIASES:
        raise InputError(f"unknown LUT interpolation {interpolation!r}; expected one of {', '.join(INTERPOLATIONS)}")
    return _INTERP_ALIASES[key]


_COMPILED_CACHE: dict[tuple, CompiledLUT] = {}


def compile_lut(lut) -> CompiledLUT:
    """A CompiledLUT from a path, a colour-science LUT object or a CompiledLUT (returned as is).

    Files are cached by (path, mtime, size), so applying the same LUT file to many frames reads it once.
    """
    if isinstance(lut, CompiledLUT):
        return lut
    if isinstance(lut, (str, os.PathLike)):
        p = Path(lut)
        try:
            st = p.stat()
            key = (str(p.resolve()), st.st_mtime_ns, st.st_size)
        except OSError:
            key = None
        if key is not None and key in _COMPILED_CACHE:
            return _COMPILED_CACHE[key]
        lut = read_lut(p)
        if p.suffix.lower() == ".csp":
            lut = _csp_spline_prelut(lut)
        compiled = CompiledLUT(lut, name=str(p))
        if key is not None:
            if len(_COMPILED_CACHE) > 32:
                _COMPILED_CACHE.clear()
            _COMPILED_CACHE[key] = compiled
        return compiled
    colour = _colour()
    if isinstance(lut, (colour.LUT1D, colour.LUT3x1D, colour.LUT3D, colour.LUTSequence, colour.LUTOperatorMatrix)):
        return CompiledLUT(lut, name=getattr(lut, "name", "LUT") or "LUT")
    raise InputError(f"a LUT must be a file path or a colour-science LUT object, got {type(lut).__name__}")


def apply_lut(image, lut, interpolation: str = "tetrahedral", out=None) -> np.ndarray:
    """Apply a LUT to an image; `lut` is a path, a colour-science LUT object or a CompiledLUT.

    `interpolation` ("tetrahedral" or "trilinear", alias "linear") applies to 3D LUTs; 1D LUTs
    always interpolate linearly. Returns float32 of the image's shape (written into `out` if given).
    """
    return compile_lut(lut).apply(image, interpolation=interpolation, out=out)


# ---------------------------------------------------------------------------------------------
# ASC CDL
# ---------------------------------------------------------------------------------------------
@dataclass
class CDL:
    """One ASC CDL v1.2 correction. `style`: "no_clamp" (OCIO's default) or "asc" (v1.2 clamps)."""

    slope: tuple[float, float, float] = (1.0, 1.0, 1.0)
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    power: tuple[float, float, float] = (1.0, 1.0, 1.0)
    saturation: float = 1.0
    id: str = ""
    style: str = "no_clamp"
    description: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.slope = _triple(self.slope, "slope", self.id)
        self.offset = _triple(self.offset, "offset", self.id)
        self.power = _triple(self.power, "power", self.id)
        try:
            self.saturation = float(self.saturation)
        except (TypeError, ValueError):
            label = f"CDL {self.id!r}" if self.id else "CDL"
            raise InputError(f"{label}: saturation must be a number, got {self.saturation!r}") from None
        self.style = _style(self.style)
        self.validate()

    def validate(self, where: str = "") -> None:
        """The ASC v1.2 ranges (as OCIO enforces them): slope >= 0, power > 0, saturation >= 0."""
        label = where or (f"CDL {self.id!r}" if self.id else "CDL")
        if not all(np.isfinite(self.slope + self.offset + self.power + (self.saturation,))):
            raise InputError(f"{label}: values must be finite")
        if min(self.slope) < 0:
            raise InputError(f"{label}: slope must be >= 0, got {list(self.slope)}")
        if min(self.power) <= 0:
            raise InputError(f"{label}: power must be > 0, got {list(self.power)}")
        if self.saturation < 0:
            raise InputError(f"{label}: saturation must be >= 0, got {self.saturation}")

    def is_identity(self) -> bool:
        return self.slope == (1.0,) * 3 and self.offset == (0.0,) * 3 and self.power == (1.0,) * 3 and self.saturation == 1.0


def _triple(v, what, cid) -> tuple[float, float, float]:
    try:
        t = tuple(float(x) for x in np.broadcast_to(np.asarray(v, dtype=np.float64), (3,)))
    except (TypeError, ValueError):
        raise InputError(f"CDL{' ' + repr(cid) if cid else ''}: {what} must be 1 or 3 numbers, got {v!r}") from None
    return t


def _style(style) -> str:
    s = str(style).lower().replace("-", "_")
    s = {"noclamp": "no_clamp", "default": "no_clamp", "v1.2": "asc", "asc_cdl": "asc"}.get(s, s)
    if s not in CDL_STYLES:
        raise InputError(f"unknown CDL style {style!r}; expected one of {', '.join(CDL_STYLES)}")
    return s


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(elem, name):
    for c in elem:
        if _local(c.tag).lower() == name.lower():
            return c
    return None


def _numbers(elem, name, n, where) -> list[float] | None:
    c = _child(elem, name)
    if c is None:
        return None
    parts = (c.text or "").split()
    try:
        vals = [float(x) for x in parts]
    except ValueError:
        raise InputError(f"{where}: <{name}> must hold {n} numbers, got {c.text!r}") from None
    if len(vals) != n:
        raise InputError(f"{where}: <{name}> must hold {n} numbers, got {len(vals)}")
    return vals


def _parse_cc(elem, where: str) -> CDL:
    cid = elem.get("id", "")
    here = f"{where} ColorCorrection {cid!r}" if cid else f"{where}"
    kw = {}
    desc = []
    sop = _child(elem, "SOPNode")
    if sop is not None:
        for key in ("Slope", "Offset", "Power"):
            v = _numbers(sop, key, 3, here)
            if v is not None:
                kw[key.lower()] = tuple(v)
        desc += [(d.text or "").strip() for d in sop if _local(d.tag) == "Description"]
    sat = _child(elem, "SatNode")
    if sat is None:
        sat = _child(elem, "SATNode")
    if sat is not None:
        v = _numbers(sat, "Saturation", 1, here)
        if v is not None:
            kw["saturation"] = v[0]
    if sop is None and sat is None:
        raise InputError(f"{here}: ColorCorrection has neither a SOPNode nor a SatNode")
    desc += [(d.text or "").strip() for d in elem if _local(d.tag) == "Description"]
    try:
        cdl = CDL(id=cid, description=desc, **kw)
    except InputError as e:
        raise InputError(f"{here}: {str(e).split(': ', 1)[-1]}") from None
    return cdl


def read_cdls(path) -> list[CDL]:
    """Every ColorCorrection in a .cdl (ColorDecisionList), .ccc (Collection) or .cc file, in order."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: CDL file not found")
    try:
        root = ET.parse(p).getroot()
    except ET.ParseError as e:
        raise InputError(f"{p}: malformed CDL XML ({e})") from None
    kind = _local(root.tag)
    if kind == "ColorCorrection":
        ccs = [root]
    elif kind in ("ColorCorrectionCollection", "ColorDecisionList"):
        ccs = [e for e in root.iter() if _local(e.tag) == "ColorCorrection"]
    else:
        raise InputError(
            f"{p}: not an ASC CDL file (root element <{kind}>; expected ColorCorrection, "
            "ColorCorrectionCollection or ColorDecisionList)")
    if not ccs:
        raise InputError(f"{p}: no ColorCorrection found")
    return [_parse_cc(e, str(p)) for e in ccs]


def read_cdl(path, id: str | None = None) -> CDL:
    """One correction from a CDL file: the one with `id`, or the first."""
    ccs = read_cdls(path)
    if id is None:
        return ccs[0]
    for c in ccs:
        if c.id == id:
            return c
    raise InputError(f"{path}: no ColorCorrection with id {id!r}; found {', '.join(repr(c.id) for c in ccs)}")


def apply_cdl(image, cdl, style: str | None = None, out=None) -> np.ndarray:
    """Apply an ASC CDL; `cdl` is a CDL, a path (.cdl/.cc/.ccc: the first correction) or a dict.

    `style` overrides the CDL's: "no_clamp" (OCIO's default CDL_NO_CLAMP) or "asc" (clamped v1.2).
    """
    if isinstance(cdl, (str, os.PathLike)):
        cdl = read_cdl(cdl)
    elif isinstance(cdl, dict):
        cdl = CDL(**cdl)
    elif not isinstance(cdl, CDL):
        raise InputError(f"a CDL must be a file path, a dict or an isp.grade.CDL, got {type(cdl).__name__}")
    st = _style(style) if style is not None else cdl.style
    px, shape = _pixels(image)
    dst = _out_pixels(out, shape)
    klut.apply_cdl(
        px,
        np.asarray(cdl.slope, dtype=np.float32),
        np.asarray(cdl.offset, dtype=np.float32),
        np.asarray(cdl.power, dtype=np.float32),
        np.float32(cdl.saturation),
        st == "asc",
        dst,
    )
    return dst.reshape(shape)
