"""`isp grade IN -o OUT [--lut FILE] [--cdl FILE] [--colorspace NAME --transfer NAME]`: grade an
already-developed image (EXR, TIFF, PNG, JPEG).

Order, each step only when asked for:
  1. decode the input's transfer function (--in-transfer; default: values used as they are),
  2. convert colour space --in-colorspace -> --colorspace (colour-science matrices),
  3. encode with --transfer (e.g. logc3 before a LogC-to-Rec709 show LUT),
  4. the ASC CDL (--cdl; --cccid picks one correction of a .ccc/.cdl),
  5. the LUT (--lut; --interpolation for 3D LUTs),
and the result is written at --depth (default: the format's first).
"""
from __future__ import annotations

import numpy as np


def add_parser(sub):
    p = sub.add_parser("grade", help="apply a CDL and/or LUT (and colour conversions) to developed images")
    p.add_argument("input", help="an EXR, TIFF, PNG or JPEG image")
    p.add_argument("-o", "--output", required=True, help="output image (format from the extension)")
    p.add_argument("--lut", metavar="FILE", help="a LUT file (.cube, .spi1d, .spi3d, .csp)")
    p.add_argument("--cdl", metavar="FILE", help="an ASC CDL file (.cdl, .cc, .ccc)")
    p.add_argument("--cccid", metavar="ID", help="which ColorCorrection of a .ccc/.cdl (default: the first)")
    p.add_argument("--cdl-style", default="no_clamp", choices=("no_clamp", "asc"),
                   help="no_clamp (OpenColorIO's default) or asc (ASC v1.2 clamping)")
    p.add_argument("--interpolation", default="tetrahedral", choices=("tetrahedral", "trilinear"),
                   help="3D LUT interpolation")
    p.add_argument("--in-colorspace", metavar="NAME", help="colour space of the input (default: --colorspace)")
    p.add_argument("--in-transfer", metavar="NAME", default="linear",
                   help="transfer function the input is encoded with (decoded first); default linear")
    p.add_argument("--colorspace", metavar="NAME", help="working/output colour space, e.g. ACEScg, Rec2020")
    p.add_argument("--transfer", metavar="NAME", default="linear",
                   help="transfer function applied before the grade, e.g. logc3, slog3, srgb; default linear")
    p.add_argument("--depth", help="output depth: 8, 16, 32, half or float")
    p.add_argument("--compression", metavar="NAME", help="EXR or TIFF compression (default none), e.g. zip, piz")
    return p


def run(args) -> int:
    from isp import colour as icolour
    from isp import grade
    from isp.errors import InputError
    from isp.io import read_image, write
    from kernels import colour as kcolour

    from pathlib import Path

    if Path(args.output).resolve() == Path(args.input).resolve():
        raise InputError(f"{args.output}: refusing to write over the input image")
    in_tf = icolour.transfer_function(args.in_transfer)
    out_tf = icolour.transfer_function(args.transfer)
    matrix = None
    if args.colorspace or args.in_colorspace:
        if not (args.colorspace and args.in_colorspace):
            raise InputError("--colorspace and --in-colorspace go together (the input's space and the target)")
        src = icolour.canonical_colourspace(args.in_colorspace)
        dst = icolour.canonical_colourspace(args.colorspace)
        if src != dst:
            matrix = icolour.working_to_working_matrix(src, dst)
    cdl = grade.read_cdl(args.cdl, id=args.cccid) if args.cdl else None
    if cdl is not None:
        cdl.style = args.cdl_style
    lut = grade.compile_lut(args.lut) if args.lut else None
    depth = None
    if args.depth:
        depth = int(args.depth) if str(args.depth).isdigit() else args.depth
        if depth not in (8, 16, 32, "half", "float"):
            raise InputError(f"--depth {args.depth!r}: expected 8, 16, 32, half or float")

    image = np.ascontiguousarray(read_image(args.input), dtype=np.float32)
    px = image.reshape(-1, 3)
    if in_tf != kcolour.TF_LINEAR:
        kcolour.apply_transfer(px, in_tf, True, px)
    if matrix is not None:
        kcolour.apply_matrix(px, matrix, px)
    if out_tf != kcolour.TF_LINEAR:
        kcolour.apply_transfer(px, out_tf, False, px)
    if cdl is not None:
        grade.apply_cdl(image, cdl, out=image)
    if lut is not None:
        grade.apply_lut(image, lut, interpolation=args.interpolation, out=image)
    write(args.output, image, depth, compression=args.compression)
    return 0
