"""Pipeline configuration: a TOML file (or dict) of sections in camera order, validated.

    [input]     geometry of headerless sensor dumps: width, height, bits, pattern, byte_order,
                packing, stride, offset, black_level, white_level (all optional)
    [sensor]    white_balance = "auto" (as shot, else grey world) | "as_shot" | "grey_world" |
                "white_patch" | "none" | 5600 | [r, g, b]
                defect_threshold = 0.0 (off) or a level above/below the same-colour neighbours
                highlights = "clip" | "none"
    [demosaic]  algorithm = "rcd" | "menon2007" | "malvar2004" | "bilinear" | ...
    [denoise]   method = "off" | "realtime" | "realtime2" | "hq" | "temporal"; strength = 1.0;
                window = 5 (frames the temporal denoiser averages over, in a sequence)
    [grade]     cdl = "shot.cc"; cccid = "A001" (which correction of a .ccc/.cdl; default the first);
                lut = "show.cube"; interpolation = "tetrahedral" | "trilinear"
    [output]    colorspace = "sRGB" | "ACEScg" | ...; transfer = "srgb" | "linear" | ...;
                depth = 8 | 16 | 32 | "half" | "float" (default: the format's first);
                compression = "none" (default) | EXR: "zip", "piz", "dwaa", ... | TIFF: "zlib", "lzw", "zstd";
                orientation = "display" (turned and stretched as the file says it is shown) | "sensor"

Unknown sections, keys or values are errors naming the key and what is allowed. Relative file
paths (LUT, CDL) in a config file are taken relative to that file; in overrides (command-line
flags, a script's dict), relative to the working directory. Every key has a default, so an empty
config is the default pipeline.
"""
from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Callable
from pathlib import Path

from isp.errors import InputError


def _names(kind: str) -> Callable[[], list[str]]:
    """Allowed names of a registry, looked up when first needed (the registries import numba)."""
    def allowed() -> list[str]:
        if kind == "demosaic":
            from kernels.demosaic import ALGORITHMS

            return sorted(ALGORITHMS)
        if kind == "denoise":
            from isp.denoise import METHODS

            return sorted([*METHODS, "temporal"])
        if kind == "colorspace":
            from isp.colour import COLOURSPACES

            return sorted(COLOURSPACES)
        if kind == "compression":
            from isp.io.writers import COMPRESSIONS

            return list(dict.fromkeys(name for names in COMPRESSIONS.values() for name in names))
        from kernels.colour import TRANSFER_FUNCTIONS

        return sorted(TRANSFER_FUNCTIONS)

    return allowed


def _one_of(*values) -> Callable:
    def check(key, v):
        if v not in values:
            raise InputError(f"config: {key} = {v!r} is not allowed; expected one of {', '.join(map(repr, values))}")
        return v

    return check


def _registry(kind: str) -> Callable:
    allowed = _names(kind)

    def check(key, v):
        names = allowed()
        if not isinstance(v, str):
            raise InputError(f"config: {key} must be a name, one of {', '.join(names)}")
        for name in names:
            if name.lower() == v.lower():
                return name
        if kind == "colorspace":  # the spellings `isp grade` takes: Rec.2020, BT.709, P3, AP1, ...
            from isp.colour import canonical_colourspace

            try:
                return canonical_colourspace(v)
            except InputError:
                pass
        raise InputError(f"config: {key} = {v!r} is unknown; expected one of {', '.join(names)}")

    return check


def _number(lo=None, hi=None) -> Callable:
    def check(key, v):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"config: {key} must be a number, got {v!r}")
        if not math.isfinite(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
            raise InputError(f"config: {key} = {v} is outside [{lo}, {hi}]")
        return float(v)

    return check


def _optional_path(key, v):
    if v in (None, "", False):
        return None
    if not isinstance(v, (str, Path)):
        raise InputError(f"config: {key} must be a file path, got {v!r}")
    return Path(v)


def _white_balance(key, v):
    if isinstance(v, str) and v in ("auto", "as_shot", "grey_world", "white_patch", "none"):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool) and 1000 <= v <= 40000:
        return float(v)
    if isinstance(v, (list, tuple)) and len(v) == 3 and all(isinstance(x, (int, float)) and x > 0 for x in v):
        return [float(x) for x in v]
    raise InputError(f"config: {key} = {v!r}; expected 'auto', 'as_shot', 'grey_world', 'white_patch', 'none', "
                     "a colour temperature in kelvin (1000-40000) or three positive multipliers [r, g, b]")


def _window(key, v):
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 15:
        raise InputError(f"config: {key} = {v!r}; expected a whole number of frames from 1 to 15")
    return v


def _depth(key, v):
    if v in (None, 8, 16, 32, "half", "float"):
        return v
    raise InputError(f"config: {key} = {v!r}; expected 8, 16, 32, 'half' or 'float'")


def _name(key, v):
    if not isinstance(v, str) or not v:
        raise InputError(f"config: {key} = {v!r}; expected a name")
    return v


def _level(key, v):
    """A level: a number, or one per CFA site as [a, b, c, d]."""
    values = v if isinstance(v, list) and len(v) == 4 else [v]
    for x in values:
        _number(0.0)(key, x)
    return v


def _count(key, v):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise InputError(f"config: {key} = {v!r}; expected a whole number >= 0")
    return v


def _pattern(key, v):
    from kernels.cfa import check_pattern

    try:
        return check_pattern(v)
    except ValueError as e:
        raise InputError(f"config: {key}: {e}") from None


# section -> key -> (default, validator)
SCHEMA: dict[str, dict[str, tuple[object, Callable]]] = {
    "input": {**{k: (None, _count) for k in ("width", "height", "bits", "stride", "offset")},
              "pattern": (None, _pattern), "byte_order": (None, _one_of("little", "big")),
              "packing": (None, _one_of("none", "mipi")),
              "black_level": (None, _level), "white_level": (None, _level)},
    "sensor": {
        "white_balance": ("auto", _white_balance),
        "defect_threshold": (0.0, _number(0.0, 1.0)),
        "highlights": ("clip", _one_of("clip", "none")),
    },
    "demosaic": {"algorithm": ("rcd", _registry("demosaic"))},
    "denoise": {"method": ("realtime", _registry("denoise")), "strength": (1.0, _number(0.0, 100.0)),
                "window": (5, _window)},
    "grade": {
        "cdl": (None, _optional_path),
        "cccid": (None, _name),
        "lut": (None, _optional_path),
        "interpolation": ("tetrahedral", _one_of("tetrahedral", "trilinear")),
    },
    "output": {
        "colorspace": ("sRGB", _registry("colorspace")),
        "transfer": ("srgb", _registry("transfer")),
        "depth": (None, _depth),
        "compression": (None, _registry("compression")),
        "orientation": ("display", _one_of("display", "sensor")),
    },
}


def default() -> dict:
    """The default configuration, every key present."""
    return {section: {key: d for key, (d, _) in keys.items()} for section, keys in SCHEMA.items()}


def load(source=None, overrides: dict | None = None) -> dict:
    """A validated, complete configuration from a TOML path, a dict or None (the defaults).

    `overrides` ({"section.key": value}) win over the file, as command-line flags do.
    """
    base_dir = Path.cwd()
    if source is None:
        given = {}
    elif isinstance(source, dict):
        given = copy.deepcopy(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{path}: no such config file")
        try:
            given = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: not valid TOML ({e})") from None
        base_dir = path.parent
    for dotted, value in (overrides or {}).items():
        section, key = dotted.split(".", 1)
        if SCHEMA.get(section, {}).get(key, (None, None))[1] is _optional_path and isinstance(value, (str, Path)) and value:
            value = Path.cwd() / value  # a flag (or a script) names files from the working directory
        given.setdefault(section, {})[key] = value
    return validate(given, base_dir)


def validate(given: dict, base_dir: Path) -> dict:
    unknown = sorted(set(given) - set(SCHEMA))
    if unknown:
        raise InputError(f"config: unknown section [{unknown[0]}]; sections are {', '.join(SCHEMA)}")
    config = default()
    for section, values in given.items():
        if not isinstance(values, dict):
            raise InputError(f"config: [{section}] must be a table of keys")
        for key, value in values.items():
            if key not in SCHEMA[section]:
                raise InputError(f"config: unknown key {section}.{key}; keys of [{section}] are {', '.join(SCHEMA[section])}")
            if value is None:
                continue
            checked = SCHEMA[section][key][1](f"{section}.{key}", value)
            if isinstance(checked, Path) and not checked.is_absolute():
                checked = base_dir / checked
            config[section][key] = checked
    if config["grade"]["cccid"] is not None and config["grade"]["cdl"] is None:
        raise InputError("config: grade.cccid picks a correction of grade.cdl, which is not given")
    return config


def dumps(config: dict) -> str:
    """The configuration as TOML text (what `isp process --print-config` shows)."""
    lines = []
    for section, values in config.items():
        set_values = {k: v for k, v in values.items() if v is not None}
        if not set_values:
            continue
        lines.append(f"[{section}]")
        for key, value in set_values.items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
