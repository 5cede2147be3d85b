"""Why a text LUT file cannot be read: the first fault, by line, for the formats colour-science
reads (.cube, .spi1d, .spi3d, .csp, .spimtx), so that a colourist is told "line 12: 2 numbers,
expected 3" instead of a numpy message.

Only called once colour-science has failed (or read a table that is cut short), so it never
refuses a file that colour-science accepts. The layouts checked are those of the formats'
descriptions: Adobe's "Cube LUT Specification" 1.0 and Blackmagic's Resolve variant (a 1D
shaper before the cube), Sony Pictures Imageworks' spi1d/spi3d/spimtx as OpenColorIO reads them,
and Rising Sun Research's Cinespace .csp.
"""
from __future__ import annotations

import re
from pathlib import Path

_CUBE_KEYWORDS = {"TITLE": None, "DOMAIN_MIN": 3, "DOMAIN_MAX": 3, "LUT_1D_INPUT_RANGE": 2,
                  "LUT_3D_INPUT_RANGE": 2, "LUT_1D_SIZE": 1, "LUT_3D_SIZE": 1}


class _Fault(Exception):
    pass


def _lines(text: str, comments: bool = True) -> list[tuple[int, list[str]]]:
    """(line number, tokens) of the non-blank lines, without '#' comment lines."""
    out = []
    for n, line in enumerate(text.split("\n"), 1):  # as colour-science splits lines (not on \f, \x85 ...)
        s = line.strip()
        if s and not (comments and s.startswith("#")):
            out.append((n, s.split()))
    return out


def _numbers(n: int, tokens: list[str], count: int | None, what: str) -> list[float]:
    bad = next((t for t in tokens if not _is_number(t)), None)
    if bad is not None:
        comma = " (the decimal point must be '.')" if _is_number(bad.replace(",", ".")) else ""
        raise _Fault(f"line {n}: {_quoted(bad)} in {what} is not a number{comma}")
    if count is not None and len(tokens) != count:
        raise _Fault(f"line {n}: {len(tokens)} number{'s' * (len(tokens) != 1)} in {what}, expected {count}")
    return [float(t) for t in tokens]


def _short(text: str) -> str:
    """`text` cut to 20 characters: a faulty token may be a whole binary file."""
    return text if len(text) <= 20 else text[:20] + "..."


def _quoted(token: str) -> str:
    return repr(_short(token))


def _is_number(t: str) -> bool:
    try:
        float(t)
    except ValueError:
        return False
    return True


def _size(n: int, tokens: list[str], key: str, least: int = 2) -> int:
    if len(tokens) != 1 or not re.fullmatch("[0-9]{1,7}", tokens[0]) or int(tokens[0]) < least:
        got = _short(" ".join(tokens)) if tokens else "nothing"
        raise _Fault(f"line {n}: {key} must be a whole number from {least} to 9999999, got {got}")
    return int(tokens[0])


def _last(text: str) -> int:
    """The number of the file's last line, counted as `_lines` counts."""
    return text.count("\n") + (not text.endswith("\n"))


def _rows(rows: list[tuple[int, list[str]]], expected: int, what: str, last: int) -> None:
    if len(rows) != expected:
        where = f"line {rows[expected][0]}" if len(rows) > expected else f"the file ends at line {last}"
        raise _Fault(f"{len(rows)} table row{'s' * (len(rows) != 1)}, but {what} {'need' if ' and ' in what else 'needs'} "
                     f"{expected} ({where})")


def _cube(text: str) -> None:
    sizes: dict[str, tuple[int, int]] = {}
    rows = []
    for n, tokens in _lines(text):
        key = tokens[0]
        if re.match("[-+.0-9]", key) or _is_number(key):  # a table row (nan, inf too), if a faulty one
            _numbers(n, tokens, 3, "a table row")
            rows.append((n, tokens))
        elif key not in _CUBE_KEYWORDS:
            case = " (keywords are upper case)" if key.upper() in _CUBE_KEYWORDS else ""
            raise _Fault(f"line {n}: unknown keyword {_quoted(key)}{case}")
        elif rows:
            raise _Fault(f"line {n}: {key} after the table rows began (line {rows[0][0]})")
        elif key.endswith("_SIZE"):
            sizes[key] = (n, _size(n, tokens[1:], key))
        elif _CUBE_KEYWORDS[key]:
            _numbers(n, tokens[1:], _CUBE_KEYWORDS[key], key)
    if not sizes:
        raise _Fault("no LUT_1D_SIZE or LUT_3D_SIZE line")
    n1 = sizes.get("LUT_1D_SIZE", (0, 0))[1]
    n3 = sizes.get("LUT_3D_SIZE", (0, 0))[1]
    what = " and ".join(f"{k} {v}" for k, (_, v) in sizes.items())
    _rows(rows, n1 + n3 ** 3, what, _last(text))


def _spi1d(text: str) -> None:
    head: dict[str, tuple[int, list[str]]] = {}
    rows, inside, closed = [], False, False
    for n, tokens in _lines(text):
        key = tokens[0]
        if key == "{":
            inside = True
        elif key == "}":
            closed = inside
        elif inside and not closed:
            rows.append((n, tokens))
        elif key in ("Version", "From", "Length", "Components"):
            head[key] = (n, tokens[1:])
        else:
            raise _Fault(f"line {n}: unexpected {_quoted(key)} outside the table")
    for key in ("From", "Length", "Components"):
        if key not in head:
            raise _Fault(f"no {key} line")
    _numbers(head["From"][0], head["From"][1], 2, "From")
    length = _size(*head["Length"], "Length", 1)
    comps = _size(*head["Components"], "Components", 1)
    if comps not in (1, 3):
        raise _Fault(f"line {head['Components'][0]}: Components {comps}; colour-science reads 1 or 3")
    if not inside:
        raise _Fault("no '{' before the table")
    for n, tokens in rows:
        _numbers(n, tokens, comps, "a table row")
    _rows(rows, length, f"Length {length}", _last(text))


def _spi3d(text: str) -> None:
    lines = _lines(text)
    if len(lines) < 3:
        raise _Fault("the header (SPILUT 1.0, 3 3, the three sizes) is incomplete")
    n, tokens = lines[2]
    _numbers(n, tokens, 3, "the sizes")
    if len(set(tokens)) != 1:
        raise _Fault(f"line {n}: the three sizes must be one number, got {_short(' '.join(tokens))}")
    size = _size(n, tokens[:1], "the size")
    seen = set()
    for n, tokens in lines[3:]:
        _numbers(n, tokens, 6, "a table row (3 indexes, 3 values)")
        idx = tuple(tokens[:3])
        if not all(re.fullmatch("[0-9]{1,7}", t) and int(t) < size for t in idx):
            raise _Fault(f"line {n}: indexes {_short(' '.join(idx))} are not whole numbers in range "
                         f"(0..{size - 1})")
        if idx in seen:
            raise _Fault(f"line {n}: indexes {' '.join(idx)} appear twice")
        seen.add(idx)
    _rows(lines[3:], size ** 3, f"size {size}", _last(text))


def _csp(text: str) -> None:
    lines = _lines(text, comments=False)
    if not lines or lines[0][1] != ["CSPLUTV100"]:
        raise _Fault(f"line {lines[0][0] if lines else 1}: the header must be CSPLUTV100")
    if len(lines) < 2 or lines[1][1] not in (["1D"], ["3D"]):
        raise _Fault(f"line {lines[1][0] if len(lines) > 1 else lines[0][0] + 1}: the type must be 1D or 3D")
    is3d = lines[1][1] == ["3D"]
    k = 2
    if k < len(lines) and lines[k][1] == ["BEGIN", "METADATA"]:
        while k < len(lines) and lines[k][1] != ["END", "METADATA"]:
            k += 1
        if k == len(lines):
            raise _Fault(f"line {lines[2][0]}: BEGIN METADATA without END METADATA")
        k += 1
    for channel in "RGB":
        if k + 3 > len(lines):
            raise _Fault(f"the {channel} pre-LUT is incomplete")
        (n, tokens), (n_in, v_in), (n_out, v_out) = lines[k:k + 3]
        count = _size(n, tokens, f"the {channel} pre-LUT's length")
        _numbers(n_in, v_in, count, f"the {channel} pre-LUT's input values")
        _numbers(n_out, v_out, count, f"the {channel} pre-LUT's output values")
        k += 3
    if k == len(lines):
        raise _Fault("no table after the pre-LUTs")
    n, tokens = lines[k]
    if is3d:
        if len(tokens) != 3:
            raise _Fault(f"line {n}: {len(tokens)} cube sizes, expected 3")
        x, y, z = (_size(n, [t], "a cube size") for t in tokens)
        expected = x * y * z
    else:
        expected = _size(n, tokens, "the table length")
    for m, row in lines[k + 1:]:
        _numbers(m, row, 3, "a table row")
    _rows(lines[k + 1:], expected, f"the size on line {n}", _last(text))


def _spimtx(text: str) -> None:
    values = []
    for n, tokens in _lines(re.sub("#.*", "", text)):  # numpy.loadtxt's comments
        values += _numbers(n, tokens, None, "the matrix")
    if len(values) != 12:
        raise _Fault(f"{len(values)} numbers, expected 12 (3 rows of 3 coefficients and an offset)")


_CHECKS = {".cube": _cube, ".spi1d": _spi1d, ".spi3d": _spi3d, ".csp": _csp, ".spimtx": _spimtx}


def explain(path) -> str | None:
    """The first fault in a text LUT file ('line 12: ...'), or None if none is found."""
    p = Path(path)
    check = _CHECKS.get(p.suffix.lower())
    if check is None:
        return None
    try:
        data = p.read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n")  # as text mode reads lines
        if data.startswith(b"\xef\xbb\xbf"):
            return "the file starts with a UTF-8 byte-order mark"
        text = data.decode()
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        return f"line {line}: byte 0x{data[e.start]:02x} is not UTF-8 text"
    except OSError:
        return None
    try:
        check(text)
    except _Fault as e:
        return str(e)
    except Exception:  # best effort: never in the way of the reader's own message
        return None
    return None


def with_metadata(text: str) -> str | None:
    """A Cinespace .csp's text with an empty METADATA section after its type line, if it has none
    (the section is optional in the format, and OpenColorIO reads such files; colour-science's
    reader skips the first pre-LUT line of one); None if it has one, or is too short to tell."""
    lines = text.splitlines(keepends=True)
    kept = [i for i, line in enumerate(lines) if line.strip()]
    if len(kept) < 3 or lines[kept[2]].strip() == "BEGIN METADATA":
        return None
    at = kept[1] + 1
    return "".join(lines[:at] + ["\nBEGIN METADATA\nEND METADATA\n"] + lines[at:])
