"""Colour accuracy: the ColorChecker in Canon_PowerShot_G2_CRW_0304.CRW rendered to linear Rec.709
by isp and by LibRaw, each patch against colour-science's reference, as mean CIEDE2000.

    python -m bench.colour_accuracy [--out bench/RESULTS-colour.md] [--preview FILE.png]

Both renderings are half size (each 2x2 CFA block one pixel: isp's `kernels.wb.half_size`,
LibRaw's `half_size=True`), so the comparison is about white balance and colour matrices, not
demosaicing. isp: `isp.read` -> `isp.colour.white_balance` (clip) -> half size ->
`camera_to_working_matrix(frame, gains, "Rec709")`. LibRaw: rawpy `postprocess(half_size=True,
gamma=(1, 1), no_auto_bright=True, output_bps=16, output_color=sRGB, user_flip=0)` with
`use_camera_wb=True` (as shot) or `use_auto_wb=True` (LibRaw's auto).

Patches: a fixed grid of patch centres measured on a preview of this file (the chart fills the
frame), the mean over a 48x48 window in each (a third of a patch). Reference:
`colour.CCS_COLOURCHECKERS['ColorChecker24 - After November 2014']` (xyY, D50). Measured linear
Rec.709 -> XYZ (D65) -> Bradford to D50 -> L*a*b* (D50). Exposure is one scale per rendering,
the least-squares fit of the six neutral patches' Y to the reference's (the same for every
rendering), so exposure and the chart's lighting level do not count as colour error.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "test_data" / "raw" / "Canon_PowerShot_G2_CRW_0304.CRW"
# patch centres (x, y) in the half-size image (1156 x 860), rows of the chart top to bottom
COLUMNS = (161, 324, 493, 661, 829, 991)
ROWS = (155, 320, 483, 648)
HALF_WINDOW = 24


def patch_means(image: np.ndarray) -> np.ndarray:
    out = []
    for y in ROWS:
        for x in COLUMNS:
            win = image[y - HALF_WINDOW:y + HALF_WINDOW, x - HALF_WINDOW:x + HALF_WINDOW]
            out.append(win.reshape(-1, 3).mean(axis=0))
    return np.array(out, dtype=np.float64)


def reference_lab():
    import colour

    cc = colour.CCS_COLOURCHECKERS["ColorChecker24 - After November 2014"]
    names = list(cc.data.keys())
    xyY = np.array([cc.data[n] for n in names])
    XYZ = colour.xyY_to_XYZ(xyY)
    return names, XYZ, colour.XYZ_to_Lab(XYZ, cc.illuminant), np.asarray(cc.illuminant)


def to_lab(rec709: np.ndarray, ref_XYZ: np.ndarray, illuminant_xy: np.ndarray) -> tuple[np.ndarray, float]:
    """Patch RGB (linear Rec.709) -> Lab (D50) after the neutral-patch exposure fit."""
    import colour

    cs = colour.RGB_COLOURSPACES["ITU-R BT.709"]
    XYZ = colour.RGB_to_XYZ(rec709, cs, illuminant=illuminant_xy, chromatic_adaptation_transform="Bradford")
    neutral = slice(18, 24)
    y_meas, y_ref = XYZ[neutral, 1], ref_XYZ[neutral, 1]
    k = float(np.sum(y_meas * y_ref) / np.sum(y_meas * y_meas))
    return colour.XYZ_to_Lab(XYZ * k, illuminant_xy), k


def render_isp(frame, wb: str) -> tuple[np.ndarray, np.ndarray]:
    from isp import colour as ic
    from kernels import cfa
    from kernels import colour as kc
    from kernels import wb as kwb

    mosaic = frame.normalized()
    gains = ic.white_balance_gains(frame, wb, mosaic)
    balanced = ic.white_balance(frame, gains, "clip", mosaic)
    half = kwb.half_size(balanced, cfa.channels(frame.pattern),
                         np.empty((balanced.shape[0] // 2, balanced.shape[1] // 2, 3), np.float32))
    px = half.reshape(-1, 3)
    kc.apply_matrix(px, ic.camera_to_working_matrix(frame, gains, "Rec709"), px)
    return half, gains


def render_libraw(path: Path, auto: bool) -> np.ndarray:
    import rawpy

    with rawpy.imread(str(path)) as raw:
        rgb = raw.postprocess(half_size=True, gamma=(1, 1), no_auto_bright=True, output_bps=16,
                              output_color=rawpy.ColorSpace.sRGB, user_flip=0,
                              use_camera_wb=not auto, use_auto_wb=auto)
    return rgb.astype(np.float32) / 65535.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "bench" / "RESULTS-colour.md"))
    ap.add_argument("--preview", help="write an sRGB PNG of isp's as-shot rendering with the patch windows")
    args = ap.parse_args(argv)
    if not RAW.is_file():
        print(f"skipped: {RAW} not found")
        return 0

    import warnings

    import colour

    import isp

    warnings.simplefilter("ignore")
    names, ref_XYZ, ref_lab, ill = reference_lab()
    frame = isp.read(RAW)
    rows = []
    per_patch = {}
    renders = {
        "isp, as shot": lambda: render_isp(frame, "as_shot"),
        "isp, auto (grey world)": lambda: render_isp(frame, "grey_world"),
        "isp, auto (white patch)": lambda: render_isp(frame, "white_patch"),
        "LibRaw, as shot": lambda: (render_libraw(RAW, False), None),
        "LibRaw, auto (use_auto_wb)": lambda: (render_libraw(RAW, True), None),
    }
    images = {}
    for name, fn in renders.items():
        img, gains = fn()
        images[name] = img
        if img.shape[:2] != (860, 1156):
            raise SystemExit(f"{name}: unexpected image size {img.shape}")
        lab, k = to_lab(patch_means(img), ref_XYZ, ill)
        de = colour.delta_E(lab, ref_lab, method="CIE 2000")
        per_patch[name] = de
        g = "" if gains is None else ", ".join(f"{v:.3f}" for v in gains)
        rows.append(f"| {name} | **{de.mean():.2f}** | {np.median(de):.2f} | {de.max():.2f} ({names[int(de.argmax())]}) "
                    f"| {de[:18].mean():.2f} | {de[18:].mean():.2f} | {g} |")
        print(f"{name:28s} mean dE2000 {de.mean():.2f}  max {de.max():.2f}  exposure x{k:.3f}", flush=True)

    if args.preview:
        import cv2

        from kernels import colour as kc

        img = images["isp, as shot"]
        s = np.clip(img / np.percentile(img, 99), 0, 1).astype(np.float32)
        s = kc.apply_transfer(np.ascontiguousarray(s.reshape(-1, 3)), kc.TF_SRGB, False,
                              np.empty((s.size // 3, 3), np.float32)).reshape(s.shape)
        out = (s * 255).astype(np.uint8)[:, :, ::-1].copy()
        for y in ROWS:
            for x in COLUMNS:
                cv2.rectangle(out, (x - HALF_WINDOW, y - HALF_WINDOW), (x + HALF_WINDOW, y + HALF_WINDOW), (255, 255, 255), 1)
        cv2.imwrite(args.preview, out)

    table = ["| rendering | mean ΔE2000 | median | max (patch) | chromatic 1-18 | neutrals 19-24 | isp gains R,G,B |",
             "|---|---:|---:|---:|---:|---:|---|", *rows]
    patch_table = ["| patch | " + " | ".join(per_patch) + " |", "|---|" + "---:|" * len(per_patch)]
    for i, n in enumerate(names):
        patch_table.append(f"| {i + 1} {n} | " + " | ".join(f"{per_patch[k][i]:.2f}" for k in per_patch) + " |")
    text = [
        "# Colour accuracy: ColorChecker (Canon PowerShot G2) to linear Rec.709",
        "",
        f"`python -m bench.colour_accuracy`, {time.strftime('%Y-%m-%d')}, colour-science {colour.__version__}. "
        "Mean CIEDE2000 of the 24 patches against colour-science's "
        "'ColorChecker24 - After November 2014' (D50), after one exposure scale per rendering "
        "fitted on the six neutrals. Both renderings are half size (2x2 CFA block = 1 pixel); "
        "isp uses LibRaw's colour matrix for this camera (`RawFrame.xyz_to_camera`), normalised as dcraw does, "
        "so with the same as-shot multipliers the two renderings should agree closely; the auto white "
        "balances differ in method (isp: grey world over unclipped blocks, white patch = 99.5th "
        "percentile per channel; LibRaw: its own grey-box average).",
        "",
        *table,
        "",
        "The chart is lit by whatever light the photographer had (not D50), and the reference is "
        "the average chart of 2014, so a few ΔE remain even for a perfect camera model; the "
        "comparison between renderings of the same file is the meaningful part.",
        "",
        "## Per patch (ΔE2000)",
        "",
        *patch_table,
        "",
    ]
    if args.out:
        Path(args.out).write_text("\n".join(text) + "\n")
        print("wrote", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
