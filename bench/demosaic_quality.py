"""Demosaic quality: CPSNR on Kodak-24 and McMaster-18, isp beside colour-demosaicing and OpenCV.

Protocol of ../shared/test_data/README.md: 8-bit images as float in [0, 1], RGGB mosaic,
demosaic, clip to [0, 1] (what any 8-bit or display output does; it reproduces the README's
peer numbers), CPSNR (one MSE over all three channels, peak 1) after cropping 10 px from every
border, mean over the set. OpenCV has no float Bayer path: bilinear and edge-aware run on the
mosaic as exact 16-bit (x257), VNG on 8 bits. Prints a markdown table; the standard run (both
sets, every contender, RGGB) also writes it to bench/RESULTS-demosaic.md.

    python -m bench.demosaic_quality [--data ../shared/test_data]
    python -m bench.demosaic_quality --set mine=photos/ --only rcd,menon --pattern GRBG --per-image

`--set NAME=FOLDER` (repeatable) scores your own images instead (PNG, TIFF or JPEG, RGB, 8 or
16 bits); `--only` keeps the contenders whose names contain one of the words; `--per-image`
adds a row per image.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import colour_demosaicing as cdm
import cv2
import numpy as np
from skimage import io

from kernels import cfa
from kernels.demosaic import ALGORITHMS

ROOT = Path(__file__).resolve().parents[1]
SETS = {"Kodak-24": ("kodak", "kodim*.png"), "McMaster-18": ("mcmaster", "*.tif")}
CROP = 10


# OpenCV names a Bayer pattern by the second and third pixels of its second row: RGGB is "BG".
_OPENCV_NAME = {"RGGB": "BG", "BGGR": "RG", "GRBG": "GB", "GBRG": "GR"}
_IMAGES = {".png", ".tif", ".tiff", ".jpg", ".jpeg"}


def _opencv(method: str, bits: int):
    def run(m: np.ndarray, pattern: str) -> np.ndarray:
        code = getattr(cv2, f"COLOR_Bayer{_OPENCV_NAME[pattern]}2RGB{method}")
        scale = 255 if bits == 8 else 65535
        q = np.round(m * scale).astype(np.uint8 if bits == 8 else np.uint16)
        return cv2.cvtColor(q, code).astype(np.float32) / scale

    return run


def contenders(only: list[str] | None = None) -> dict[str, object]:
    """Name -> f(mosaic, pattern); with `only`, those whose names contain one of its words."""
    out = {f"isp {name}": f for name, f in ALGORITHMS.items()}
    out["colour-demosaicing bilinear"] = cdm.demosaicing_CFA_Bayer_bilinear
    out["colour-demosaicing Malvar2004"] = cdm.demosaicing_CFA_Bayer_Malvar2004
    out["colour-demosaicing Menon2007"] = cdm.demosaicing_CFA_Bayer_Menon2007
    out["OpenCV bilinear (16-bit)"] = _opencv("", 16)
    out["OpenCV EA (16-bit)"] = _opencv("_EA", 16)
    out["OpenCV VNG (8-bit)"] = _opencv("_VNG", 8)
    if only:
        out = {k: f for k, f in out.items() if any(w.lower() in k.lower() for w in only)}
    return out


def images(folder: Path, glob: str | None = None) -> list[Path]:
    """The images in a folder (those matching `glob`, or every PNG, TIFF and JPEG), sorted."""
    if not folder.is_dir():
        return []
    return sorted(f for f in folder.glob(glob or "*") if glob or f.suffix.lower() in _IMAGES)


def truth(path: Path) -> np.ndarray:
    """An RGB image as float64 in [0, 1], or ValueError saying why it cannot be one."""
    img = io.imread(path)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"{path}: not an RGB image (shape {img.shape})")
    if img.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{path}: expected 8- or 16-bit samples, got {img.dtype}")
    if min(img.shape[:2]) <= 2 * CROP + 4:
        raise ValueError(f"{path}: {img.shape[1]}x{img.shape[0]} is too small for the {CROP}-px border crop")
    return img[..., :3].astype(np.float64) / np.iinfo(img.dtype).max


def cpsnr(rgb: np.ndarray, truth: np.ndarray) -> float:
    d = (np.clip(np.asarray(rgb, np.float64), 0, 1) - truth)[CROP:-CROP, CROP:-CROP]
    return float(10 * np.log10(1.0 / np.mean(d**2)))


def evaluate(sets: dict[str, list[Path]], only: list[str] | None = None, pattern: str = "RGGB"):
    """CPSNR per contender per image, {contender: {set: {image name: dB}}}."""
    run = contenders(only)
    scores: dict[str, dict[str, dict[str, float]]] = {name: {s: {} for s in sets} for name in run}
    for set_name, files in sets.items():
        for f in files:
            t = truth(f)
            m = cfa.mosaic(t.astype(np.float32), pattern)
            for name, fn in run.items():
                scores[name][set_name][f.name] = cpsnr(fn(m, pattern), t)
    return scores


def markdown(scores: dict[str, dict[str, dict[str, float]]], per_image: bool = False) -> str:
    """The mean over each set per contender; with `per_image`, a table per set of every image."""
    sets = list(next(iter(scores.values()))) if scores else []
    lines = ["| algorithm (implementation) | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for name, by_set in scores.items():
        lines.append(f"| {name} | " + " | ".join(f"{np.mean(list(by_set[s].values())):.2f}" for s in sets) + " |")
    if per_image:
        for s in sets:
            names = list(scores)
            lines += ["", f"{s}, per image:", "", "| image | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
            for image in next(iter(scores.values()))[s]:
                lines.append(f"| {image} | " + " | ".join(f"{scores[n][s][image]:.2f}" for n in names) + " |")
    return "\n".join(lines)


def _own_set(text: str) -> tuple[str, Path]:
    name, sep, folder = text.partition("=")
    if not sep or not name or not folder:
        raise argparse.ArgumentTypeError(f"expected NAME=FOLDER, got {text!r}")
    return name, Path(folder)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "test_data",
                    help="the folder holding kodak/ and mcmaster/ (default ../shared/test_data)")
    ap.add_argument("--set", dest="sets", action="append", type=_own_set, metavar="NAME=FOLDER",
                    help="score the images in FOLDER as a set called NAME instead (repeatable)")
    ap.add_argument("--only", type=lambda t: [w for w in t.split(",") if w], metavar="WORDS",
                    help="comma-separated words: keep the contenders whose names contain one")
    ap.add_argument("--pattern", default="RGGB", type=str.upper, choices=cfa.PATTERNS)
    ap.add_argument("--per-image", action="store_true", help="a row per image as well as the means")
    args = ap.parse_args(argv)
    if args.sets:
        sets = {name: images(folder) for name, folder in args.sets}
    else:
        sets = {name: images(args.data / folder, glob) for name, (folder, glob) in SETS.items()}
    for name, files in sets.items():
        if not files:
            ap.error(f"set {name}: no images found (is the folder there? see --data and --set)")
    if args.only and not contenders(args.only):
        ap.error(f"--only {','.join(args.only)}: no contender matches; they are: {', '.join(contenders())}")
    try:
        scores = evaluate(sets, args.only, args.pattern)
    except ValueError as e:
        ap.error(str(e))
    print(markdown(scores, args.per_image))
    if not (args.sets or args.only or args.pattern != "RGGB"):  # the standard table
        update_results(ROOT / "bench" / "RESULTS-demosaic.md", markdown(scores))


def update_results(path: Path, table: str) -> None:
    """Put the table at the top of the results file, keeping the notes below it (the first
    "## " heading on)."""
    old = path.read_text() if path.exists() else ""
    notes = old[old.index("\n## ") + 1:] if "\n## " in old else ""
    head = ("CPSNR (dB), mean over each set; protocol of `../shared/test_data/README.md` "
            "(RGGB mosaic of 8-bit images as [0, 1] float, output clipped to [0, 1], 10-px border "
            "crop, peak 1). `python -m bench.demosaic_quality`\n\n")
    path.write_text(head + table + "\n" + ("\n" + notes if notes else ""))


if __name__ == "__main__":
    main()
