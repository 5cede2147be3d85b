"""Image writers chosen by extension: OpenEXR (half/float), TIFF (16-bit or float), PNG (8/16-bit),
JPEG. Every write goes to a temporary file in the destination folder and is renamed into place,
so a reader never sees a half-written image and an interrupted run leaves no truncated output.

EXR and TIFF are written uncompressed unless a compression is asked for: at UHD, OpenEXR's ZIP
took ~1.1 s a frame here on one thread (~0.36-0.4 s on two, which it now gets) and PIZ ~0.6 s,
against ~0.06-0.09 s uncompressed, so the writer, not the pipeline, sets a compressed sequence's
frame rate. `COMPRESSIONS` lists what each format takes.
"""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import OpenEXR
import tifffile

from isp.errors import InputError
from isp.io.quiet import quiet
from kernels.half import as_half

FORMATS = {".exr": "exr", ".tif": "tiff", ".tiff": "tiff", ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}
_UMASK = os.umask(0o022)
os.umask(_UMASK)
DEPTHS = {"exr": ("half", "float"), "tiff": (16, 32), "png": (8, 16), "jpeg": (8,)}
COMPRESSIONS = {
    "exr": {"none": OpenEXR.NO_COMPRESSION, "rle": OpenEXR.RLE_COMPRESSION, "zips": OpenEXR.ZIPS_COMPRESSION,
            "zip": OpenEXR.ZIP_COMPRESSION, "piz": OpenEXR.PIZ_COMPRESSION, "pxr24": OpenEXR.PXR24_COMPRESSION,
            "b44": OpenEXR.B44_COMPRESSION, "b44a": OpenEXR.B44A_COMPRESSION, "dwaa": OpenEXR.DWAA_COMPRESSION,
            "dwab": OpenEXR.DWAB_COMPRESSION},
    "tiff": {"none": None, "zlib": "zlib", "lzw": "lzw", "zstd": "zstd"},
}


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside `path` (same suffix); rename it onto `path` on success.
    Its name, `.<stem>.<host>-<pid>.XXXX.tmp<suffix>`, says which process on which machine writes
    it (see `isp.sequence`, which sweeps up the temporaries of runs that were killed)."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.{writer_id()}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as e:  # errors name the output, not a temporary the user never asked for
        raise OSError(e.errno, e.strerror, str(path)) from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        if e.filename in (tmp, Path(tmp)):
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def writer_id() -> str:
    """`<host>-<pid>` of this process, as temporaries are named (dots in the host name as '_')."""
    return f"{socket.gethostname().replace('.', '_')}-{os.getpid()}"


def output_folder(path) -> Path:
    """The folder `path` is written into, made with its parents if missing; InputError naming
    it when it cannot be (a file in the way, no permission)."""
    folder = Path(path).parent
    if not folder.is_dir() and folder.parts and folder.parts[0].startswith("~"):
        raise InputError(f"{path}: '~' was not expanded (the shell does not after '='); give the full path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{folder}: cannot create the output folder ({e.strerror or e})") from None
    return folder


def write(path, image: np.ndarray, depth=None, *, quality: int = 95, compression: str | None = None) -> Path:
    """Write an (H, W, 3) or (H, W) float image; returns the path.

    Display formats (TIFF 16-bit, PNG, JPEG) clip to [0, 1] and quantise (a uint16/uint8 image of
    the right depth is written as it is); EXR and float TIFF keep values as they are. `depth` picks
    "half"/"float" for EXR, 16/32 for TIFF, 8/16 for PNG; the default is the first of each.
    `compression` (EXR, TIFF): a name from `COMPRESSIONS`; the default is none.
    """
    path = Path(path)
    kind, depth, compression = output_format(path, depth, compression)
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise InputError(f"{path}: expected an (H, W, 3) or (H, W) image, got shape {image.shape}")
    output_folder(path)
    tmp = None
    try:
        with atomic_path(path) as tmp:
            _WRITERS[kind](tmp, image, depth, quality, compression)
    except InputError as e:  # a writer's own message names the temporary it was writing
        if tmp is None or str(tmp) not in str(e):
            raise
        raise InputError(str(e).replace(str(tmp), str(path))) from e
    except (OSError, RuntimeError, ValueError) as e:  # a full disk, a folder we may not write to, ...
        why = e.strerror if isinstance(e, OSError) and e.strerror else " ".join(str(e).split())
        why = why.replace(str(tmp), str(path)) if tmp else why
        hint = "" if "space" in why.lower() else _space_left(path, image.nbytes)
        raise InputError(f"{path}: cannot write ({why}{hint})") from e
    return path


def _space_left(path: Path, nbytes: int) -> str:
    """'; 0.1 MB free on the device' when a failed write may be a full disk (numpy's and some
    libraries' short writes do not say so), else ''."""
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return ""
    return f"; {free / 1e6:.1f} MB free on the device" if free < nbytes else ""


def output_format(path, depth=None, compression: str | None = None) -> tuple[str, object, str]:
    """(format, depth, compression) for writing `path`, defaults filled in; InputError naming the
    path when the format, depth or compression is not one the format takes. A sequence checks
    this once before its first frame."""
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{path}: unknown output format {path.suffix!r}; use one of {', '.join(sorted(FORMATS))}")
    depth = DEPTHS[kind][0] if depth is None else depth
    if depth not in DEPTHS[kind]:
        raise InputError(f"{path}: {kind} is written at depth {' or '.join(map(str, DEPTHS[kind]))}, not {depth!r}")
    compression = "none" if compression is None else str(compression).lower()
    if compression not in COMPRESSIONS.get(kind, {"none": None}):
        allowed = ", ".join(COMPRESSIONS[kind]) if kind in COMPRESSIONS else "none"
        raise InputError(f"{path}: {kind} cannot be written with {compression!r} compression; use {allowed}")
    return kind, depth, compression


def _quantise(image: np.ndarray, bits: int) -> np.ndarray:
    """Clip to [0, 1] and round to `bits`-bit integers; integer images of that depth pass as they are."""
    dtype = np.uint16 if bits == 16 else np.uint8
    if image.dtype == dtype:
        return image
    if np.issubdtype(image.dtype, np.integer):
        raise InputError(f"a {image.dtype} image cannot be written at {bits} bits; pass floats in [0, 1]")
    top = (1 << bits) - 1
    q = np.clip(np.nan_to_num(image, nan=0.0), 0.0, 1.0) * top + 0.5
    return q.astype(dtype)


def _bgr(image: np.ndarray) -> np.ndarray:
    """OpenCV's channel order. cvtColor, not image[..., ::-1]: OpenCV copies a reversed view
    element by element, ~45 ms for a UHD 8-bit frame against ~2 ms here."""
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image


def _write_exr(path, image, depth, _quality, compression):
    # OpenEXR compresses line blocks on its own threads when it has some: ZIP at 4K took 620-645
    # ms a frame on one thread and 357-361 on two, and a ZIP sequence streamed at 2.1 fps instead
    # of 1.4-1.5. Uncompressed files only lose by it (5.7-5.9 against 5.9-6.1 fps).
    OpenEXR.set_global_thread_count(0 if compression == "none" else os.cpu_count() or 1)
    if depth == "half":
        data = np.ascontiguousarray(image) if image.dtype == np.float16 else as_half(image)
    else:
        data = np.ascontiguousarray(image, dtype=np.float32)
    channels = {"RGB": data} if image.ndim == 3 else {"Y": data}
    header = {"compression": COMPRESSIONS["exr"][compression], "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, channels) as f:
        f.write(str(path))


def _write_tiff(path, image, depth, _quality, compression):
    data = _quantise(image, 16) if depth == 16 else np.ascontiguousarray(image, dtype=np.float32)
    # compressed strips on all cores: a 4K 16-bit frame, zlib 321 -> 209 ms, zstd 152 -> 92, lzw 583 -> 321
    tifffile.imwrite(path, data, photometric="rgb" if image.ndim == 3 else "minisblack",
                     compression=COMPRESSIONS["tiff"][compression],
                     maxworkers=1 if compression == "none" else os.cpu_count() or 1)


def _write_encoded(path, image, suffix, params=()):
    """Encoded in memory by OpenCV, written by Python: a failed write (a full disk) is an OSError
    that says why, where cv2.imwrite returns False and libpng prints its own line."""
    ok, data = cv2.imencode(suffix, image, list(params))
    if not ok:
        raise InputError(f"{path}: OpenCV could not encode this {suffix[1:].upper()}")
    with open(path, "wb") as f:
        f.write(data.data)


def _write_png(path, image, depth, _quality, _compression):
    _write_encoded(path, _bgr(_quantise(image, depth)), ".png")


def _write_jpeg(path, image, _depth, quality, _compression):
    _write_encoded(path, _bgr(_quantise(image, 8)), ".jpg", (cv2.IMWRITE_JPEG_QUALITY, int(quality)))


_WRITERS = {"exr": _write_exr, "tiff": _write_tiff, "png": _write_png, "jpeg": _write_jpeg}


def read_image(path) -> np.ndarray:
    """Read a developed image (EXR, TIFF, PNG, JPEG) as float32 (H, W, 3), integers scaled to [0, 1]."""
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if kind is None:
        raise InputError(f"{path}: unknown image format {path.suffix!r}; use one of {', '.join(sorted(FORMATS))}")
    try:
        if kind == "exr":
            with quiet((1, 2)), OpenEXR.File(str(path)) as f:  # OpenEXR prints its own lines
                channels = f.channels()
                if "RGB" in channels:
                    image = channels["RGB"].pixels
                elif {"R", "G", "B"} <= set(channels):
                    image = np.dstack([channels[c].pixels for c in "RGB"])
                else:
                    image = next(iter(channels.values())).pixels
        elif kind == "tiff":
            image = tifffile.imread(path)
        else:
            image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if image is None:
                raise ValueError("OpenCV cannot decode it")
            image = _bgr(image[..., :3] if image.ndim == 3 else image)
    except (ValueError, OSError, RuntimeError, tifffile.TiffFileError) as e:
        raise InputError(f"{path}: cannot read image ({' '.join(str(e).split())})") from None
    if np.issubdtype(image.dtype, np.integer):
        image = image.astype(np.float32) / np.float32(np.iinfo(image.dtype).max)
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] < 3:
        raise InputError(f"{path}: expected an RGB image, got shape {image.shape}")
    return np.ascontiguousarray(image[..., :3])
