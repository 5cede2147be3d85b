"""Demosaic quality: CPSNR on Kodak-24 and McMaster-18, isp beside colour-demosaicing and OpenCV.

Protocol of ../shared/test_data/README.md: 8-bit images as float in [0, 1], RGGB mosaic,
demosaic, clip to [0, 1] (what any 8-bit or display output does; it reproduces the README's
peer numbers), CPSNR (one MSE over all three channels, peak 1) after cropping 10 px from every
border, mean over the set. OpenCV has no float Bayer path: bilinear and edge-aware run on the
mosaic as exact 16-bit (x257), VNG on 8 bits. Prints a markdown table and writes it to
bench/RESULTS-demosaic.md.

    python -m bench.demosaic_quality [--data ../shared/test_data]
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


def _opencv(code: int, bits: int):
    def run(m: np.ndarray, pattern: str) -> np.ndarray:
        assert pattern == "RGGB"  # OpenCV names Bayer codes by the second row: RGGB is "BG"
        scale = 255 if bits == 8 else 65535
        q = np.round(m * scale).astype(np.uint8 if bits == 8 else np.uint16)
        return cv2.cvtColor(q, code).astype(np.float32) / scale

    return run


def contenders() -> dict[str, object]:
    out = {f"isp {name}": f for name, f in ALGORITHMS.items()}
    out["colour-demosaicing bilinear"] = cdm.demosaicing_CFA_Bayer_bilinear
    out["colour-demosaicing Malvar2004"] = cdm.demosaicing_CFA_Bayer_Malvar2004
    out["colour-demosaicing Menon2007"] = cdm.demosaicing_CFA_Bayer_Menon2007
    out["OpenCV bilinear (16-bit)"] = _opencv(cv2.COLOR_BayerBG2RGB, 16)
    out["OpenCV EA (16-bit)"] = _opencv(cv2.COLOR_BayerBG2RGB_EA, 16)
    out["OpenCV VNG (8-bit)"] = _opencv(cv2.COLOR_BayerBG2RGB_VNG, 8)
    return out


def cpsnr(rgb: np.ndarray, truth: np.ndarray) -> float:
    d = (np.clip(np.asarray(rgb, np.float64), 0, 1) - truth)[CROP:-CROP, CROP:-CROP]
    return float(10 * np.log10(1.0 / np.mean(d**2)))


def evaluate(data: Path) -> dict[str, dict[str, float]]:
    """Mean CPSNR per contender per set."""
    scores: dict[str, dict[str, float]] = {name: {} for name in contenders()}
    for set_name, (folder, glob) in SETS.items():
        files = sorted((data / folder).glob(glob))
        if not files:
            raise SystemExit(f"no images matching {glob} in {data / folder}")
        per: dict[str, list[float]] = {name: [] for name in scores}
        for f in files:
            truth = io.imread(f).astype(np.float64) / 255
            m = cfa.mosaic(truth.astype(np.float32), "RGGB")
            for name, fn in contenders().items():
                per[name].append(cpsnr(fn(m, "RGGB"), truth))
        for name, values in per.items():
            scores[name][set_name] = float(np.mean(values))
    return scores


def markdown(scores: dict[str, dict[str, float]]) -> str:
    lines = ["| algorithm (implementation) | " + " | ".join(SETS) + " |", "|---|" + "---|" * len(SETS)]
    for name, by_set in scores.items():
        lines.append(f"| {name} | " + " | ".join(f"{by_set[s]:.2f}" for s in SETS) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "test_data")
    args = ap.parse_args(argv)
    table = markdown(evaluate(args.data))
    print(table)
    update_results(ROOT / "bench" / "RESULTS-demosaic.md", table)


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
