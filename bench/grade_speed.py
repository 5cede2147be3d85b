"""Grade speed: isp's LUT and CDL kernels beside OpenColorIO's CPU processor and colour-science.

    python -m bench.grade_speed [--size uhd] [--repeats 7] [--out bench/RESULTS-grade.md]

Main case: a 33^3 .cube 3D LUT, tetrahedral, on a UHD float32 RGB image (a Kodak photo resized,
so the pixel statistics are a real image's; a uniform-random image as a second case).
- OCIO: `FileTransform` on the same .cube, default optimized CPU processor, `applyRGB` in place
  on a packed float32 buffer (OCIO's CPU path runs on one thread).
- isp: `CompiledLUT.apply(image, out=buffer)` (numba, all threads), and `isp.grade.apply_lut(image,
  path)` which also allocates the output (and looks the compiled LUT up in its cache).
- colour-science `LUT3D.apply(..., interpolator=table_interpolation_tetrahedral)` is too slow for a
  UHD frame in an alternating loop: it runs on a 480x270 crop and its time is scaled per pixel
  to the full frame (stated in the table).
Contenders alternate (A B C A B C ...), medians and ratios reported (bench.common).
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from bench.common import SIZES, alternate, median_ms, ratio_table

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "test_data"


def _image(h: int, w: int, kind: str) -> np.ndarray:
    rng = np.random.default_rng(0)
    if kind == "random":
        return rng.uniform(0, 1, (h, w, 3)).astype(np.float32)
    src = SHARED / "kodak" / "kodim05.png"
    try:
        import cv2

        img = cv2.imread(str(src), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(src)
        img = cv2.resize(img[:, :, ::-1], (w, h), interpolation=cv2.INTER_LINEAR)
        return np.ascontiguousarray(img.astype(np.float32) / 255.0)
    except Exception:  # no shared data: a smooth synthetic image with noise
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.stack([xx / w, yy / h, 0.5 + 0.4 * np.sin(xx / 300) * np.cos(yy / 200)], -1)
        return np.ascontiguousarray(img + rng.normal(0, 0.02, img.shape).astype(np.float32))


def _lut33(path: Path) -> None:
    import colour

    rng = np.random.default_rng(1)
    t = colour.LUT3D.linear_table(33)
    t = t ** 0.8
    t = t + 0.15 * (t - t.mean(-1, keepdims=True)) + rng.normal(0, 0.003, t.shape)
    colour.io.write_LUT(colour.LUT3D(t, name="bench33"), str(path))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="uhd", choices=sorted(SIZES))
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", default=str(ROOT / "bench" / "RESULTS-grade.md"))
    args = ap.parse_args(argv)

    import colour
    import numba
    import PyOpenColorIO as ocio

    from isp import grade

    warnings.simplefilter("ignore")
    h, w = SIZES[args.size]
    tmp = Path(tempfile.mkdtemp(prefix="isp-grade-bench-"))
    lut_path = tmp / "bench33.cube"
    _lut33(lut_path)
    lut_obj = colour.io.read_LUT(str(lut_path))
    compiled = grade.compile_lut(lut_path)
    cfg = ocio.Config.CreateRaw()

    def ocio_cpu(transform):
        return cfg.getProcessor(transform).getDefaultCPUProcessor()

    report = [
        "# Grade speed: isp vs OpenColorIO vs colour-science",
        "",
        f"`python -m bench.grade_speed --size {args.size}` on {platform.machine()} "
        f"({os.cpu_count()} cores, numba {numba.__version__} with {numba.get_num_threads()} threads, "
        f"OpenColorIO {ocio.__version__}, colour-science {colour.__version__}), "
        f"{time.strftime('%Y-%m-%d %H:%M')}. Median of {args.repeats} alternating runs; "
        "'x ocio' = OCIO time / contender time (above 1 = faster than OCIO).",
        "",
        "The machine is shared with other work: OCIO runs on one thread, isp on all of them, so",
        "load from elsewhere costs isp more than OCIO; ratios move by ~±20% from run to run.",
        "'isp, 1 thread' is the same kernel limited to one thread: the per-core comparison.",
        "",
    ]
    summary = {}
    load0 = f"{os.getloadavg()[0]:.2f}"
    for kind in ("kodak", "random"):
        img = _image(h, w, kind)
        buf = img.copy()
        out = np.empty_like(img)
        proc = ocio_cpu(ocio.FileTransform(src=str(lut_path), interpolation=ocio.INTERP_TETRAHEDRAL))
        # colour-science on a crop, scaled per pixel
        crop = np.ascontiguousarray(img[:270, :480])
        scale = (h * w) / crop.shape[0] / crop.shape[1]
        interp = colour.algebra.table_interpolation_tetrahedral
        t0 = time.perf_counter()
        lut_obj.apply(crop, interpolator=interp)
        cs_once = (time.perf_counter() - t0) * 1e3
        def one_thread():
            n = numba.get_num_threads()
            numba.set_num_threads(1)
            try:
                compiled.apply(img, out=out)
            finally:
                numba.set_num_threads(n)

        times = alternate({
            "ocio (1 thread)": lambda: proc.applyRGB(buf),
            "isp CompiledLUT.apply(out=)": lambda: compiled.apply(img, out=out),
            "isp, 1 thread": one_thread,
            "isp apply_lut(path) allocating": lambda: grade.apply_lut(img, lut_path),
            "colour-science (crop, scaled)": lambda: lut_obj.apply(crop, interpolator=interp),
        }, repeats=args.repeats)
        times["colour-science (crop, scaled)"] = [t * scale for t in times["colour-science (crop, scaled)"]]
        # agreement on this image
        ref = img.copy()
        proc.applyRGB(ref)
        diff = float(np.abs(compiled.apply(img) - ref).max())
        table = ratio_table(times, "ocio (1 thread)",
                            f"33^3 tetrahedral 3D LUT, {args.size} {w}x{h}, {kind} image")
        med = median_ms(times)
        summary[kind] = med
        print(table, f"\nmax |isp - ocio| = {diff:.2e}\n", flush=True)
        report += ["```", table, "```",
                   f"max |isp - OCIO| on this image: {diff:.1e}. colour-science: 480x270 crop "
                   f"x{scale:.0f} per pixel (one cold call took {cs_once:.0f} ms).", ""]

    # secondary: trilinear, shaper + 3D, 1D, CDL at the same size, kodak image
    img = _image(h, w, "kodak")
    buf = img.copy()
    out = np.empty_like(img)
    rows = []
    shaper_path = tmp / "shaper.cube"
    colour.io.write_LUT(colour.LUTSequence(
        colour.LUT3x1D(colour.LUT3x1D.linear_table(4096) ** 0.5, domain=np.array([[0, 0, 0], [2.0, 2.0, 2.0]])),
        colour.LUT3D(colour.LUT3D.linear_table(33) ** 1.8)), str(shaper_path))
    text = shaper_path.read_text()  # OCIO's Resolve reader refuses TITLE lines
    shaper_path.write_text("\n".join(l for l in text.splitlines() if not l.startswith("TITLE")) + "\n")
    lut1d_path = tmp / "curve.spi1d"
    colour.io.write_LUT(colour.LUT3x1D(colour.LUT3x1D.linear_table(4096) ** [0.45, 0.5, 0.55]), str(lut1d_path))
    cdl = grade.CDL(slope=(1.1, 1.0, 0.9), offset=(0.01, 0.0, -0.01), power=(0.9, 1.0, 1.1), saturation=0.85)
    t_cdl = ocio.CDLTransform()
    t_cdl.setSlope(cdl.slope); t_cdl.setOffset(cdl.offset); t_cdl.setPower(cdl.power); t_cdl.setSat(cdl.saturation)
    cases = [
        ("33^3 trilinear", ocio.FileTransform(src=str(lut_path), interpolation=ocio.INTERP_LINEAR),
         lambda: compiled.apply(img, interpolation="trilinear", out=out)),
        ("shaper 1D (4096) + 33^3 tetrahedral (.cube)",
         ocio.FileTransform(src=str(shaper_path), interpolation=ocio.INTERP_TETRAHEDRAL),
         (lambda c=grade.compile_lut(shaper_path): c.apply(img, out=out))),
        ("1D LUT 4096 (.spi1d)", ocio.FileTransform(src=str(lut1d_path)),
         (lambda c=grade.compile_lut(lut1d_path): c.apply(img, out=out))),
        ("ASC CDL (no clamp)", t_cdl, lambda: grade.apply_cdl(img, cdl, out=out)),
    ]
    for name, transform, fn in cases:
        proc = ocio_cpu(transform)
        times = alternate({"ocio": lambda: proc.applyRGB(buf), "isp": fn}, repeats=args.repeats)
        med = median_ms(times)
        rows.append(f"| {name} | {med['ocio']:.1f} | {med['isp']:.1f} | {med['ocio'] / med['isp']:.2f} |")
        print(name, med, flush=True)
    report += [f"## Other grade operations, {args.size}, Kodak image (ms, median)", "",
               "| operation | OCIO | isp | x OCIO |", "|---|---:|---:|---:|", *rows, "",
               "OCIO's CDL uses its fast approximate power by default (OPTIMIZATION_FAST_LOG_EXP_POW);",
               "isp's uses exact powf (bit-identical to OCIO with that flag off).", "",
               "## Reading", "",
               "The 3D LUT kernel is branch-free (each cell corner weighted by min/max of the fractions,",
               "FMA-contracted): per core it runs ~2.2-2.8x OCIO's SSE tetrahedral, so the 4x target needs",
               "both cores free; with the load this shared machine carries (2-7 runnable tasks on 2 cores",
               "during these runs) the second thread adds little. colour-science runs numpy on one core;",
               "the same arithmetic puts 100x within reach only with both cores. A branchy six-case",
               "tetrahedral (OCIO's form) ran 2x slower in numba (mispredictions), and LLVM vectorised",
               "neither an SoA two-stage variant nor a 4-float padded table (no gathers, no SLP).", ""]

    main_k = summary["kodak"]
    ratio_ocio = main_k["ocio (1 thread)"] / main_k["isp CompiledLUT.apply(out=)"]
    ratio_cs = main_k["colour-science (crop, scaled)"] / main_k["isp CompiledLUT.apply(out=)"]
    report[8:8] = [
        f"**Headline ({args.size}, 33^3 tetrahedral, Kodak image): isp {ratio_ocio:.2f}x OCIO's CPU "
        f"throughput (target >= 4), {ratio_cs:.0f}x colour-science's (target >= 100); on one thread "
        f"{main_k['ocio (1 thread)'] / main_k['isp, 1 thread']:.2f}x OCIO's. Load average during the run: "
        f"{load0} before, {os.getloadavg()[0]:.2f} after (2 cores).**", ""]
    if args.out:
        Path(args.out).write_text("\n".join(report) + "\n")
        print("wrote", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
