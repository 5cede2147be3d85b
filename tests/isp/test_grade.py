"""isp.grade against OpenColorIO's CPU processor: every shared LUT, generated LUTs, CDLs; bad input."""
import re
import warnings

import numpy as np
import pytest

from isp import grade
from isp.errors import InputError

ocio = pytest.importorskip("PyOpenColorIO")
colour = pytest.importorskip("colour")

TOL = 1e-5  # max |ours - OCIO|, relative where |OCIO| > 1 (float32 spacing at 704 is 6e-5)
INTERPS = {"tetrahedral": ocio.INTERP_TETRAHEDRAL, "trilinear": ocio.INTERP_LINEAR}


@pytest.fixture(scope="module")
def grid():
    """A dense grid reaching well outside [0, 1] on every axis, plus random points."""
    g = np.linspace(-0.6, 4.6, 27, dtype=np.float32)
    x = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    rng = np.random.default_rng(0)
    return np.ascontiguousarray(np.concatenate([
        x, rng.uniform(-1, 5, (20000, 3)), rng.uniform(0, 1, (20000, 3))]).astype(np.float32))


def _ocio(transform, x, flags=None):
    proc = ocio.Config.CreateRaw().getProcessor(transform)
    cpu = proc.getDefaultCPUProcessor() if flags is None else proc.getOptimizedCPUProcessor(flags)
    y = x.copy()
    cpu.applyRGB(y)
    return y


def _ocio_file(path, interp, x, tmp_path):
    """OCIO's result for a LUT file. OCIO's Resolve .cube reader refuses TITLE lines, which
    colour-science (and Resolve) accept, so on that refusal OCIO gets a copy without them."""
    try:
        return _ocio(ocio.FileTransform(src=str(path), interpolation=INTERPS[interp]), x)
    except ocio.Exception as e:
        if "TITLE" not in str(e):
            raise
    text = path.read_text()
    copy = tmp_path / f"notitle_{path.name}"
    copy.write_text("\n".join(l for l in text.splitlines() if not l.startswith("TITLE")) + "\n")
    return _ocio(ocio.FileTransform(src=str(copy), interpolation=INTERPS[interp]), x)


def _err(ours, ref):
    return float(np.max(np.abs(ours.astype(np.float64) - ref) / np.maximum(1.0, np.abs(ref))))


def _shared_luts(shared_data):
    files = sorted((shared_data / "luts").rglob("*.cube"))
    assert len(files) >= 19
    return files


@pytest.mark.parametrize("interp", sorted(INTERPS))
def test_every_shared_lut_matches_ocio(shared_data, grid, interp, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in _shared_luts(shared_data):
            ref = _ocio_file(path, interp, grid, tmp_path)
            ours = grade.apply_lut(grid, path, interpolation=interp)
            assert _err(ours, ref) <= TOL, path


def _generated(tmp_path):
    rng = np.random.default_rng(7)
    L3, L1 = colour.LUT3D, colour.LUT3x1D
    luts = {
        "a.cube": L3(L3.linear_table(17) ** 1.7 + rng.normal(0, 0.02, (17, 17, 17, 3)),
                     domain=np.array([[-0.1, 0, 0.05], [1.2, 1.5, 2.0]])),
        "b33.cube": L3(L3.linear_table(33) ** 0.6 + rng.normal(0, 0.01, (33, 33, 33, 3))),
        "c.spi3d": L3(L3.linear_table(9) ** 1.3 + rng.normal(0, 0.02, (9, 9, 9, 3))),
        "d.cube": L1(L1.linear_table(64) ** [0.5, 1.2, 2.0], domain=np.array([[-0.2, 0, 0.1], [1.5, 2.0, 1.0]])),
        "e.spi1d": colour.LUT1D(colour.LUT1D.linear_table(100) ** 2.2, domain=np.array([0, 2.0])),
        "f.cube": colour.LUTSequence(
            L1(np.sqrt(np.clip(L1.linear_table(32, np.array([[-0.1] * 3, [3.0] * 3])), 0, None)),
               domain=np.array([[-0.1] * 3, [3.0] * 3])),
            L3(L3.linear_table(17) ** 1.5 + rng.normal(0, 0.02, (17, 17, 17, 3)))),
        "g.csp": colour.LUTSequence(L1(L1.linear_table(16) ** 0.7), L3(L3.linear_table(9) ** 1.5)),
    }
    paths = []
    for name, lut in luts.items():
        p = tmp_path / name
        colour.io.write_LUT(lut, str(p))
        paths.append(p)
    return paths


@pytest.mark.parametrize("interp", sorted(INTERPS))
def test_generated_luts_match_ocio(grid, interp, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in _generated(tmp_path):
            ref = _ocio_file(path, interp, grid, tmp_path)
            ours = grade.apply_lut(grid, path, interpolation=interp)
            assert _err(ours, ref) <= TOL, path


def test_lut_objects_images_and_out(grid):
    lut = colour.LUT3D(colour.LUT3D.linear_table(5) ** 2)
    img = grid[: 60 * 50].reshape(60, 50, 3)
    a = grade.apply_lut(img, lut)
    assert a.shape == img.shape and a.dtype == np.float32
    np.testing.assert_allclose(a, lut.apply(np.clip(img, 0, 1), interpolator=colour.algebra.table_interpolation_tetrahedral), atol=1e-5)
    seq = colour.LUTSequence(colour.LUT1D(colour.LUT1D.linear_table(16) ** 0.5), lut)
    b = img.copy()
    grade.apply_lut(b, seq, out=b)  # in place
    assert np.allclose(b, grade.apply_lut(img, seq))
    assert grade.apply_lut(np.array([0.5, 0.5, 0.5]), lut).shape == (3,)


# ---------------------------------------------------------------------------------------------
# CDL
# ---------------------------------------------------------------------------------------------


def _exact_pow_flags():
    return ocio.OptimizationFlags(int(ocio.OPTIMIZATION_DEFAULT) & ~int(ocio.OPTIMIZATION_FAST_LOG_EXP_POW))


@pytest.mark.parametrize("style", grade.CDL_STYLES)
def test_cdl_matches_ocio(grid, style):
    rng = np.random.default_rng(11)
    x = np.ascontiguousarray(np.concatenate([grid, [[np.nan, 0.5, -0.2]]]).astype(np.float32))
    for _ in range(4):
        c = grade.CDL(slope=rng.uniform(0, 2, 3), offset=rng.uniform(-0.2, 0.2, 3), power=rng.uniform(0.3, 3, 3),
                      saturation=rng.uniform(0, 2), style=style)
        t = ocio.CDLTransform()
        t.setSlope(c.slope); t.setOffset(c.offset); t.setPower(c.power); t.setSat(c.saturation)
        t.setStyle(ocio.CDL_ASC if style == "asc" else ocio.CDL_NO_CLAMP)
        ours = grade.apply_cdl(x, c)
        # OCIO's default CPU processor uses an approximate SSE power (OPTIMIZATION_FAST_LOG_EXP_POW,
        # ~3e-5 relative); with exact powf its CDL and ours agree to the bit.
        assert _err(ours, _ocio(t, x, _exact_pow_flags())) <= TOL
        assert _err(ours, _ocio(t, x)) <= 2e-4


CCC = """<?xml version="1.0" encoding="UTF-8"?>
<ColorCorrectionCollection xmlns="urn:ASC:CDL:v1.01">
  <ColorCorrection id="shot_010">
    <SOPNode><Description>warm</Description>
      <Slope>1.1 1.0 0.9</Slope><Offset>0.01 0 -0.02</Offset><Power>0.9 1.0 1.1</Power>
    </SOPNode>
    <SatNode><Saturation>0.8</Saturation></SatNode>
  </ColorCorrection>
  <ColorCorrection id="shot_020">
    <SOPNode><Slope>2 2 2</Slope><Offset>0 0 0</Offset><Power>1 1 1</Power></SOPNode>
  </ColorCorrection>
</ColorCorrectionCollection>
"""
CDLFILE = """<ColorDecisionList xmlns="urn:ASC:CDL:v1.2"><ColorDecision>
<ColorCorrection id="cc1"><SOPNode><Slope>1.2 1.1 1.0</Slope><Offset>0.0 0.01 0.02</Offset>
<Power>1.0 0.95 0.9</Power></SOPNode><SATNode><Saturation>1.2</Saturation></SATNode></ColorCorrection>
</ColorDecision></ColorDecisionList>"""
CC = """<ColorCorrection id="one"><SOPNode><Slope>0.5 0.6 0.7</Slope><Offset>0.1 0.1 0.1</Offset>
<Power>2 2 2</Power></SOPNode></ColorCorrection>"""


def test_cdl_files_read_and_match_ocio(tmp_path, grid):
    files = {"grade.ccc": CCC, "grade.cdl": CDLFILE, "grade.cc": CC}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    ccs = grade.read_cdls(tmp_path / "grade.ccc")
    assert [c.id for c in ccs] == ["shot_010", "shot_020"]
    assert ccs[0].slope == (1.1, 1.0, 0.9) and ccs[0].saturation == 0.8 and ccs[1].saturation == 1.0
    assert grade.read_cdl(tmp_path / "grade.ccc", id="shot_020").slope == (2.0, 2.0, 2.0)
    assert grade.read_cdl(tmp_path / "grade.cdl").saturation == 1.2
    for name in files:
        path = tmp_path / name
        t = ocio.FileTransform(src=str(path), cccId="0" if name != "grade.cc" else "")
        ref = _ocio(t, grid, _exact_pow_flags())
        assert _err(grade.apply_cdl(grid, path), ref) <= TOL, name


# ---------------------------------------------------------------------------------------------
# bad input: one-line InputError naming the file
# ---------------------------------------------------------------------------------------------
def _one_line_error(fn, *names):
    with pytest.raises(InputError) as e:
        fn()
    msg = str(e.value)
    assert "\n" not in msg
    for n in names:
        assert str(n) in msg, msg
    return msg


def test_bad_luts(tmp_path):
    bad = tmp_path / "bad.cube"
    bad.write_text("LUT_3D_SIZE 2\n0 0 0\n1 0 0\nnot numbers here\n")
    _one_line_error(lambda: grade.apply_lut(np.zeros((2, 2, 3)), bad), bad)
    trunc = tmp_path / "trunc.cube"
    trunc.write_text("LUT_3D_SIZE 3\n0 0 0\n1 0 0\n")
    _one_line_error(lambda: grade.read_lut(trunc), trunc)
    nan = tmp_path / "nan.cube"
    nan.write_text("LUT_1D_SIZE 2\n0 0 0\nnan 1 1\n")
    assert "NaN" in _one_line_error(lambda: grade.read_lut(nan), nan)
    nanobj = colour.LUT3D(colour.LUT3D.linear_table(2))
    nanobj.table[0, 0, 0, 0] = np.nan
    _one_line_error(lambda: grade.apply_lut(np.zeros(3), nanobj))
    _one_line_error(lambda: grade.read_lut(tmp_path / "missing.cube"), "missing.cube")
    other = tmp_path / "x.lut"
    other.write_text("1 2 3")
    _one_line_error(lambda: grade.read_lut(other), other, ".cube")
    msg = _one_line_error(lambda: grade.apply_lut(np.zeros(3), colour.LUT3D(), interpolation="cubic"), "cubic")
    assert "tetrahedral" in msg and "trilinear" in msg


def test_bad_cdls(tmp_path):
    cases = {
        "broken.cc": "<ColorCorrection><SOPNode><Slope>1 1</Slope></SOP",
        "short.cc": "<ColorCorrection><SOPNode><Slope>1 1</Slope></SOPNode></ColorCorrection>",
        "word.cc": "<ColorCorrection><SOPNode><Slope>1 one 1</Slope></SOPNode></ColorCorrection>",
        "neg.cc": "<ColorCorrection><SOPNode><Slope>-1 1 1</Slope></SOPNode></ColorCorrection>",
        "power.cc": "<ColorCorrection><SOPNode><Power>0 1 1</Power></SOPNode></ColorCorrection>",
        "root.cdl": "<Something/>",
        "empty.ccc": "<ColorCorrectionCollection/>",
    }
    for name, text in cases.items():
        p = tmp_path / name
        p.write_text(text)
        _one_line_error(lambda: grade.apply_cdl(np.zeros(3), p), p)
    _one_line_error(lambda: grade.read_cdl(tmp_path / "none.cc"), "none.cc")
    (tmp_path / "ok.ccc").write_text(CCC)
    _one_line_error(lambda: grade.read_cdl(tmp_path / "ok.ccc", id="nope"), "nope", "shot_010")
    _one_line_error(lambda: grade.apply_cdl(np.zeros(3), grade.CDL(), style="clampy"), "clampy", "no_clamp")


# ---------------------------------------------------------------------------------------------
# isp grade CLI
# ---------------------------------------------------------------------------------------------
def test_cli_grade(tmp_path, capsys):
    import isp
    from isp import colour as icolour
    from isp.cli import main
    from kernels import colour as kc

    img = np.random.default_rng(3).uniform(0, 1, (12, 20, 3)).astype(np.float32)
    src = tmp_path / "in.exr"
    isp.write(src, img, "float")
    (tmp_path / "g.ccc").write_text(CCC)
    lut = colour.LUT3D(colour.LUT3D.linear_table(9) ** 1.4)
    colour.io.write_LUT(lut, str(tmp_path / "l.cube"))
    out = tmp_path / "out.exr"
    rc = main([ "grade", str(src), "-o", str(out), "--lut", str(tmp_path / "l.cube"), "--cdl", str(tmp_path / "g.ccc"),
                "--cccid", "shot_020", "--in-colorspace", "sRGB", "--colorspace", "ACEScg", "--transfer", "acescct",
                "--depth", "float"])
    assert rc == 0
    expect = img.reshape(-1, 3) @ icolour.working_to_working_matrix("sRGB", "ACEScg").T
    expect = kc.apply_transfer(np.ascontiguousarray(expect, np.float32), kc.TF_ACESCCT, False, np.empty_like(expect, np.float32))
    expect = grade.apply_lut(grade.apply_cdl(expect, grade.read_cdl(tmp_path / "g.ccc", "shot_020")), lut)
    np.testing.assert_allclose(isp.read_image(out).reshape(-1, 3), expect, atol=1e-5)
    # bad names: exit 2 and one line naming the problem
    assert main(["grade", str(src), "-o", str(out), "--transfer", "gamma9"]) == 2
    assert main(["grade", str(src), "-o", str(out), "--lut", str(tmp_path / "missing.cube")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "gamma9" in err[0] and "missing.cube" in err[1]
    before = src.read_bytes()
    assert main(["grade", str(src), "-o", str(src), "--cdl", str(tmp_path / "g.ccc")]) == 2
    assert src.read_bytes() == before and "refusing to write over the input" in capsys.readouterr().err


@pytest.mark.parametrize("interp", ["tetrahedral", "trilinear"])
@pytest.mark.parametrize("kind", ["cube", "shaper+cube", "shaper"])
def test_images_take_the_vectorised_pass_and_agree_with_the_per_step_kernels(grid, interp, kind):
    """An (H, W, 3) image goes through kernels.fused's chunked pass when there is a tetrahedral
    cube; the same pixels as a flat (N, 3) array through the per-step kernels (each checked
    against OCIO above): equal to 1e-6, NaN and inf included."""
    rng = np.random.default_rng(3)
    cube = colour.LUT3D(np.clip(colour.LUT3D.linear_table(17) ** 1.3 + rng.normal(0, 0.01, (17, 17, 17, 3)), 0, 1))
    shaper = colour.LUT3x1D(colour.LUT3x1D.linear_table(64) ** 0.6, domain=np.array([[0, 0, 0], [4, 4, 4]]))
    lut = {"cube": cube, "shaper+cube": colour.LUTSequence(shaper, cube), "shaper": shaper}[kind]
    compiled = grade.compile_lut(lut)
    assert compiled.fused_args(interp == "tetrahedral") is not None
    px = grid[: 250 * 200].copy()
    px[:7] = [[np.nan, 0.5, 0.5], [np.inf, 0.2, 0.1], [-np.inf, 0.5, 2.0], [0.3, np.nan, np.inf],
              [-0.0, 0.0, 1.0], [5e30, -5e30, 0.5], [1.0, 1.0, 1.0]]
    flat = compiled.apply(px, interp)
    image = compiled.apply(px.reshape(250, 200, 3), interp)
    assert np.isfinite(image).all() == np.isfinite(flat).all()
    np.testing.assert_allclose(image.reshape(-1, 3), flat, atol=1e-6, rtol=0)
