"""isp beside its peers (`isp bench --compare`), on the same frame in the same run.

The contenders alternate with isp (A B C ... A B C ...) after one warm-up call each (`alternate`);
medians are reported, and ratio = peer ms / isp ms (above 1: isp is faster).

- LibRaw: rawpy `postprocess`, linear and AHD, on the frame written as an uncompressed DNG
  (decode excluded).
- OpenCV: 16-bit Bayer demosaic + bilateral filter on float32.
- colour-demosaicing Menon 2007 + colour-science `LUT3D.apply`: too slow for whole frames, so timed
  on a crop and scaled per pixel (and marked so).
- OpenColorIO's CPU processor for a 33^3 3D LUT, beside isp's LUT kernel on the same float image.

The develop peers are compared with the whole isp pipeline as configured ("isp"), writing into one
reused output array as `isp process` does; the LUT-only peers with isp's LUT alone ("isp lut").
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from isp.bench.measure import Runner, alternate

_OPENCV_CODES = {"RGGB": "BG", "BGGR": "RG", "GRBG": "GB", "GBRG": "GR"}  # OpenCV names by the 2nd row


def make_lut33(path: Path) -> Path:
    """A 33^3 .cube with a gentle curve and a little cross-talk (a stand-in show LUT)."""
    import colour

    t = colour.LUT3D.linear_table(33)
    t = np.clip(t ** 0.8, 0, 1)
    t = np.clip(t + 0.1 * (t - t.mean(-1, keepdims=True)), 0, 1)
    colour.io.write_LUT(colour.LUT3D(t, name="bench33"), str(path))
    text = path.read_text()  # OCIO's Resolve .cube reader refuses TITLE lines
    path.write_text("\n".join(l for l in text.splitlines() if not l.startswith("TITLE")) + "\n")
    return path


def _crop(h: int, w: int, target_px: int = 480 * 270) -> tuple[int, int]:
    """An even-sized crop of about `target_px` pixels with the frame's aspect (the whole frame if smaller)."""
    if h * w <= target_px:
        return h, w
    s = math.sqrt(target_px / (h * w))
    return max(2, int(h * s) // 2 * 2), max(2, int(w * s) // 2 * 2)


def compare_peers(runner: Runner, frame, tmpdir: Path, lut_path: Path | None, repeats: int = 5,
                  say=lambda s: None) -> dict:
    """Peers and isp on the same frame, alternating; medians and ratios to isp (see the module doc).

    `runner` gives the pipeline as measured; `lut_path` the 33^3 .cube for the LUT peers (None:
    a generated one)."""
    import colour
    import colour_demosaicing as cdm
    import cv2
    import PyOpenColorIO as ocio
    import rawpy

    from isp import grade
    from isp.io.dng import write_dng

    pipeline, depth, fused = runner.pipeline, runner.depth, runner.fused
    h, w = frame.mosaic.shape
    if lut_path is None:
        lut_path = make_lut33(tmpdir / "bench33.cube")
    dng = write_dng(tmpdir / "frame.dng", frame)
    raw = rawpy.imread(str(dng))
    libraw_kw = dict(use_camera_wb=True, no_auto_bright=True, output_bps=16)  # turned as the frame says, as isp

    def libraw(algorithm):
        return lambda: raw.postprocess(demosaic_algorithm=algorithm, **libraw_kw)

    code = getattr(cv2, f"COLOR_Bayer{_OPENCV_CODES[frame.pattern]}2RGB")
    scale = np.float32(1.0 / float(frame.white_level))

    def opencv():
        rgb = cv2.cvtColor(frame.mosaic, code)
        return cv2.bilateralFilter(rgb.astype(np.float32) * scale, 5, 0.1, 1.5)

    ch, cw = _crop(h, w)
    y0, x0 = (h - ch) // 4 * 2, (w - cw) // 4 * 2  # even offsets keep the pattern
    crop_mosaic = np.ascontiguousarray(frame.normalized()[y0:y0 + ch, x0:x0 + cw], dtype=np.float32)
    lut_obj = colour.io.read_LUT(str(lut_path))
    interp = colour.algebra.table_interpolation_tetrahedral

    def colour_science():
        rgb = cdm.demosaicing_CFA_Bayer_Menon2007(crop_mosaic, frame.pattern)
        return lut_obj.apply(np.clip(rgb, 0, 1), interpolator=interp)

    # the float image the LUT-only contenders work on: isp's own output, in float
    image = np.clip(np.asarray(pipeline.process(frame, fused=fused, depth=None), dtype=np.float32), 0, 1)
    image = np.ascontiguousarray(image)
    ocio_buf = image.copy()
    cfg = ocio.Config.CreateRaw()
    proc = cfg.getProcessor(ocio.FileTransform(src=str(lut_path), interpolation=ocio.INTERP_TETRAHEDRAL)) \
        .getDefaultCPUProcessor()
    compiled = grade.compile_lut(lut_path)
    lut_out = np.empty_like(image)

    px_scale = (h * w) / (ch * cw)
    peers = {
        "libraw linear": ("isp", False, "rawpy postprocess, linear demosaic, camera WB, sRGB, 16-bit (decode excluded)",
                          libraw(rawpy.DemosaicAlgorithm.LINEAR)),
        "libraw AHD": ("isp", False, "rawpy postprocess, AHD demosaic, camera WB, sRGB, 16-bit (decode excluded)",
                       libraw(rawpy.DemosaicAlgorithm.AHD)),
        "opencv demosaic+bilateral": ("isp", False, "cv2.cvtColor Bayer->RGB on uint16, to float32, "
                                      "cv2.bilateralFilter d=5", opencv),
        "colour Menon2007+LUT3D": ("isp", px_scale > 1, "colour-demosaicing Menon 2007 + colour-science LUT3D.apply "
                                   "tetrahedral 33^3", colour_science),
        "opencolorio lut": ("isp lut", False, "OCIO CPU processor, 33^3 tetrahedral, applyRGB in place "
                            "(one thread)", lambda: proc.applyRGB(ocio_buf)),
    }
    isp_out = np.empty(*pipeline.output_spec(frame, depth))  # reused, as isp process recycles outputs
    contenders = {"isp": lambda: pipeline.process(frame, fused=fused, depth=depth, out=isp_out),
                  "isp lut": lambda: compiled.apply(image, "tetrahedral", out=lut_out)}
    contenders.update({name: fn for name, (_, _, _, fn) in peers.items()})
    say(f"comparing with {len(peers)} peers, {repeats} alternating rounds"
        + (f" (colour-science on a {cw}x{ch} crop, scaled x{px_scale:.1f})" if px_scale > 1 else ""))
    times = alternate(contenders, repeats)
    raw.close()
    med = {k: float(np.median(v)) for k, v in times.items()}
    out_peers = {}
    for name, (ref, scaled, what, _) in peers.items():
        ms = med[name] * (px_scale if name == "colour Menon2007+LUT3D" else 1.0)
        out_peers[name] = {"median_ms": ms, "ratio": ms / med[ref], "reference": ref, "scaled_from_crop": bool(scaled),
                           "crop": [cw, ch] if scaled else None, "what": what}
    return {"repeats": repeats, "reference_ms": {"isp": med["isp"], "isp lut": med["isp lut"]},
            "opencv_threads": cv2.getNumThreads(), "lut": str(lut_path), "peers": out_peers}

