"""isp.lut_text: a malformed LUT file is refused with the line at fault; valid files are never faulted."""
import warnings
from pathlib import Path

import colour
import numpy as np
import pytest

from isp import grade, lut_text
from isp.errors import InputError

COLOUR_RESOURCES = Path(colour.__file__).parent / "io" / "luts" / "tests" / "resources"
SUFFIXES = (".cube", ".spi1d", ".spi3d", ".csp", ".spimtx")
IDENTITY_8 = "".join(f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1))


def _valid_files(shared_data):
    files = [p for p in sorted(COLOUR_RESOURCES.rglob("*")) if p.suffix in SUFFIXES]
    if shared_data is not None:
        files += sorted((shared_data / "luts").rglob("*.cube"))
    readable = []
    for p in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                colour.io.read_LUT(str(p))
        except Exception:
            continue  # colour-science's own deliberately broken files
        readable.append(p)
    return readable


def test_no_file_colour_science_reads_is_faulted(request):
    try:
        shared = request.getfixturevalue("shared_data")
    except pytest.skip.Exception:
        shared = None
    files = _valid_files(shared)
    assert len(files) >= 30  # colour-science's resources hold ~33 readable LUTs in these formats
    assert {p.suffix for p in files} == set(SUFFIXES)
    assert [(p.name, lut_text.explain(p)) for p in files if lut_text.explain(p)] == []


@pytest.mark.parametrize("name,text,message", [
    ("row.cube", "LUT_3D_SIZE 2\n0 0 0\n1 0\n", "line 3: 2 numbers in a table row, expected 3"),
    ("word.cube", "LUT_3D_SIZE 2\n0 0 0\n1 x 0\n", "line 3: 'x' in a table row is not a number"),
    ("key.cube", "LUT_3D_SIZES 2\n" + IDENTITY_8, "line 1: unknown keyword 'LUT_3D_SIZES'"),
    ("size.cube", "LUT_3D_SIZE 2.5\n" + IDENTITY_8, "line 1: LUT_3D_SIZE must be a whole number from 2 to 9999999, got 2.5"),
    ("nosize.cube", "# a comment\n0 0 0\n1 1 1\n", "no LUT_1D_SIZE or LUT_3D_SIZE line"),
    ("short.cube", "LUT_3D_SIZE 2\n0 0 0\n1 0 0\n\n", r"2 table rows, but LUT_3D_SIZE 2 needs 8 \(the file ends at line 4\)"),
    ("long.cube", "LUT_3D_SIZE 2\n" + IDENTITY_8 + "1 1 1\n", r"9 table rows, but LUT_3D_SIZE 2 needs 8 \(line 10\)"),
    ("shaper.cube", "LUT_1D_SIZE 2\nLUT_3D_SIZE 2\n0 0 0\n1 1 1\n" + IDENTITY_8[:12],
     "4 table rows, but LUT_1D_SIZE 2 and LUT_3D_SIZE 2 need 10"),
    ("late.cube", "LUT_3D_SIZE 2\n0 0 0\nDOMAIN_MIN 0 0 0\n", r"line 3: DOMAIN_MIN after the table rows began \(line 2\)"),
    ("domain.cube", "DOMAIN_MAX 1 1\nLUT_3D_SIZE 2\n" + IDENTITY_8, "line 1: 2 numbers in DOMAIN_MAX, expected 3"),
    ("comps.spi1d", "Version 1\nFrom 0 1\nLength 2\nComponents 3\n{\n0 0\n1 1 1\n}\n",
     "line 6: 2 numbers in a table row, expected 3"),
    ("from.spi1d", "Version 1\nFrom 0\nLength 2\nComponents 1\n{\n0\n1\n}\n", "line 2: 1 number in From, expected 2"),
    ("index.spi3d", "SPILUT 1.0\n3 3\n2 2 2\n0 0 0 0 0 0\n0 0 2 0 0 1\n",
     r"line 5: indexes 0 0 2 are not whole numbers in range \(0..1\)"),
    ("twice.spi3d", "SPILUT 1.0\n3 3\n2 2 2\n0 0 0 0 0 0\n0 0 0 0 0 1\n", "line 5: indexes 0 0 0 appear twice"),
    ("grid.spi3d", "SPILUT 1.0\n3 3\n2 3 2\n", "line 3: the three sizes must be one number, got 2 3 2"),
    ("type.csp", "CSPLUTV100\n2D\n", "line 2: the type must be 1D or 3D"),
    ("pre.csp", "CSPLUTV100\n3D\n2\n0 1\n0 1\n2\n0 1\n0 1\n2\n0 1 2\n0 1\n2 2 2\n" + IDENTITY_8,
     "line 10: 3 numbers in the B pre-LUT's input values, expected 2"),
    ("rows.csp", "CSPLUTV100\n3D\n2\n0 1\n0 1\n2\n0 1\n0 1\n2\n0 1\n0 1\n2 2 2\n" + IDENTITY_8[:-6],
     "7 table rows, but the size on line 12 needs 8"),
    ("m.spimtx", "1 0 0 0\n0 1 0 0 # offsets\n0 0 1\n", "11 numbers, expected 12"),
    ("sup.cube", "LUT_3D_SIZE \u00b2\n" + IDENTITY_8, "line 1: LUT_3D_SIZE must be a whole number from 2 to 9999999, got \u00b2"),
    ("comma.cube", "LUT_3D_SIZE 2\n0 0 0\n0,5 0 0\n", r"line 3: '0,5' in a table row is not a number \(the decimal point must be '.'\)"),
    ("words.cube", "LUT_3D_SIZE 2\n0 0 0 x\n", "line 2: 'x' in a table row is not a number"),
    ("lower.cube", "lut_3d_size 2\n" + IDENTITY_8, r"line 1: unknown keyword 'lut_3d_size' \(keywords are upper case\)"),
    ("long.spi1d", "Version 1\nFrom 0 1\nLength 2\nComponents 1\n{\n0\n" + "9" * 300 + "x\n}\n",
     r"line 7: '99999999999999999999...' in a table row is not a number"),
    ("blank.csp", "\n\nCSPLUTV100\n\n2D\n", "line 5: the type must be 1D or 3D"),
    ("mac.cube", "LUT_3D_SIZE 2\r0 0 0\r1 0 0\r", r"2 table rows, but LUT_3D_SIZE 2 needs 8 \(the file ends at line 3\)"),
    ("sep.cube", "# a\u2028b\x0cc\nLUT_3D_SIZE 2\n0 0 0\n", r"1 table row, but LUT_3D_SIZE 2 needs 8 \(the file ends at line 3\)"),
    ("nan.cube", "LUT_3D_SIZE 2\nnan 0 0\n1 0\n", "line 3: 2 numbers in a table row, expected 3"),
    ("huge.cube", "LUT_3D_SIZE " + "9" * 400 + "\n" + IDENTITY_8, r"got 99999999999999999999\.\.\.\)$"),
])
def test_a_malformed_lut_names_the_line_at_fault(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=message) as e:
        grade.read_lut(tmp_path / name)
    assert "\n" not in str(e.value) and str(tmp_path / name) in str(e.value)


def test_a_csp_without_its_optional_metadata_reads_as_with_it(tmp_path):
    """colour-science's reader needs the METADATA section that the format (and OpenColorIO) leave
    optional; isp reads such a file as the same file with an empty section."""
    table = "".join(f"{r ** 2} {g} {0.5 * b}\n" for b in (0, 0.5, 1) for g in (0, 0.5, 1) for r in (0, 0.5, 1))
    pre = "3\n0 0.5 1\n0 0.25 1\n" * 3
    bare = tmp_path / "bare.csp"
    bare.write_text(f"CSPLUTV100\n3D\n\n{pre}\n3 3 3\n{table}")
    meta = tmp_path / "meta.csp"
    meta.write_text(f"CSPLUTV100\n3D\n\nBEGIN METADATA\nEND METADATA\n\n{pre}\n3 3 3\n{table}")
    x = np.random.default_rng(0).random((50, 3)).astype(np.float32)
    assert lut_text.with_metadata(bare.read_text()) is not None and lut_text.with_metadata(meta.read_text()) is None
    np.testing.assert_array_equal(grade.apply_lut(x, grade.read_lut(bare)), grade.apply_lut(x, grade.read_lut(meta)))


@pytest.mark.parametrize("data,message", [
    ('TITLE "Caf\xe9"\nLUT_3D_SIZE 2\n'.encode("latin-1"), "line 1: byte 0xe9 is not UTF-8 text"),
    (b"\xef\xbb\xbfLUT_3D_SIZE 2\n" + IDENTITY_8.encode(), "the file starts with a UTF-8 byte-order mark"),
])
def test_a_lut_that_is_not_utf8_text_says_where(tmp_path, data, message):
    (tmp_path / "t.cube").write_bytes(data)
    with pytest.raises(InputError, match=message):
        grade.read_lut(tmp_path / "t.cube")
