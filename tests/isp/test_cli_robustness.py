"""Bad input, interrupted runs and the paths of a run: one clear line, exit 2, nothing lost."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import isp
from isp import config
from isp.cli import main
from isp.io import parse_frames
from isp.io.dng import write_frame
from isp.io.sequence import expand
from isp.synth import SensorModel, default_chart, render

ROOT = Path(__file__).resolve().parents[2]
BLACKMAGIC = ROOT.parent / "shared" / "test_data" / "raw" / "Blackmagic.dng"


def _dumps(folder: Path, numbers=(1, 2, 3), stem="s") -> list[Path]:
    """Small .raw sensor dumps with JSON sidecars (no white balance in them)."""
    paths = []
    for n in numbers:
        frame = render(default_chart(48, 64), SensorModel(seed=n), frame_number=n)
        paths.append(write_frame(folder / f"{stem}.{n:04d}.raw", frame)[0])
    return paths


def _args(src, out, *more) -> list[str]:
    return ["process", str(src), "-o", str(out), "--no-progress", *more]


def test_a_frame_with_impossible_metadata_fails_alone(tmp_path, capsys):
    """A sidecar whose black level is above the white level: that frame fails with one line
    naming its file, the frames after it are still developed."""
    _dumps(tmp_path)
    side = tmp_path / "s.0002.raw.json"
    side.write_text(json.dumps({**json.loads(side.read_text()), "black_level": 60000}))
    code = main(_args(tmp_path / "s.####.raw", tmp_path / "o.####.png"))
    err = capsys.readouterr().err
    assert code == 2
    assert (tmp_path / "o.0001.png").exists() and (tmp_path / "o.0003.png").exists()
    assert "s.0002.raw: white level 4095.0 is not above the black level 60000" in err and "Traceback" not in err
    assert "2 frames processed, 1 FAILED (2)" in err


def test_a_single_frame_that_fails_is_one_line(tmp_path, capsys):
    """No summary after it: "0 frames processed, 1 FAILED" would only repeat the line."""
    (src,) = _dumps(tmp_path, (1,))
    src.write_bytes(src.read_bytes()[:100])
    code = main(_args(src, tmp_path / "o.png"))
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "o.png").exists()
    assert len(err.splitlines()) == 1 and f"{src}: 100 bytes of data, but 64x48 unpacked 16-bit needs 6144" in err, err


def test_a_longer_run_stopped_after_one_failed_frame_keeps_its_summary():
    """Only a run of one frame leaves the summary out: stopped after the first of three, the
    summary and the 'interrupted' line still say how far it got."""
    import io
    from types import SimpleNamespace

    from isp.cli.process import report

    failed = SimpleNamespace(number=1, source=Path("s.0001.raw"), output=None, error="bad", ok=False,
                             timings={}, skipped=False, exception=None)
    for total, lines in ((1, ["isp: frame 1: bad"]),
                         (3, ["isp: frame 1: bad", "0 frames processed, 1 FAILED (1)",
                              "interrupted after 1 of 3 frames; run again with --skip-existing to finish"])):
        out = io.StringIO()
        report(iter([failed]), progress=False, out=out, total=total, stopped=lambda: True)
        assert out.getvalue().splitlines() == lines


@pytest.mark.skipif(not BLACKMAGIC.exists(), reason="../shared/test_data is absent")
@pytest.mark.parametrize("size", [2000, 9000])
def test_a_truncated_compressed_dng_is_refused_not_developed_black(tmp_path, size):
    """LibRaw decodes the missing tiles of a cut-short lossless-JPEG DNG as zeros and says
    nothing; the tile offsets say the data runs past the end of the file."""
    cut = tmp_path / "cut.dng"
    cut.write_bytes(BLACKMAGIC.read_bytes()[:size])
    with pytest.raises(isp.InputError, match=rf"cut.dng: truncated: .* the file has {size} bytes"):
        isp.read(cut)


def test_a_failed_write_names_the_output_not_its_temporary(tmp_path, monkeypatch):
    def full_disk(path, *args):
        raise RuntimeError(f"Failed to write pixel data to {path}: No space left on device")

    monkeypatch.setitem(isp.io.writers._WRITERS, "exr", full_disk)
    out = tmp_path / "graded.exr"
    with pytest.raises(isp.InputError) as e:
        isp.write(out, np.zeros((4, 4, 3), np.float32))
    assert str(e.value) == f"{out}: cannot write (Failed to write pixel data to {out}: No space left on device)"
    assert list(tmp_path.iterdir()) == []


def test_command_line_files_are_found_from_the_working_directory(tmp_path, monkeypatch):
    """--lut next to a --config in another folder: the flag's path is the user's, not the config's."""
    show = tmp_path / "show"
    show.mkdir()
    (show / "show.toml").write_text('[grade]\nlut = "look.cube"\n')
    monkeypatch.chdir(tmp_path)
    c = config.load(show / "show.toml", {"grade.lut": "other.cube", "grade.cdl": "shot.cc"})
    assert c["grade"]["lut"] == tmp_path / "other.cube" and c["grade"]["cdl"] == tmp_path / "shot.cc"
    assert config.load(show / "show.toml")["grade"]["lut"] == show / "look.cube"


def test_timings_never_overwrite_an_input(tmp_path, capsys):
    (src,) = _dumps(tmp_path, (1,))
    before = src.read_bytes()
    assert main(_args(src, tmp_path / "o.png", "--timings", str(src))) == 2
    assert "refusing to write timings over an input" in capsys.readouterr().err
    assert src.read_bytes() == before and not (tmp_path / "o.png").exists()


def test_two_clips_that_would_write_the_same_outputs_are_refused(tmp_path):
    _dumps(tmp_path, (1,), "A001_C001")
    _dumps(tmp_path, (1,), "A001_C002")
    (tmp_path / "out").mkdir()
    with pytest.raises(isp.InputError, match=r"x.0001.png: would be written for both .*A001_C001.0001.raw and "):
        list(isp.process_sequence(tmp_path, tmp_path / "out" / "x.####.png"))


def test_frames_pick_from_a_folder_and_are_refused_for_one_file(tmp_path):
    paths = _dumps(tmp_path, (1, 2, 3))
    seq = expand(tmp_path, [2, 3, 4])
    assert [n for n, _ in seq.frames] == [2, 3] and seq.missing == [4]
    with pytest.raises(isp.InputError, match="--frames picks frames of a sequence"):
        expand(paths[0], [1])


def test_frame_ranges_are_bounded_and_missing_frames_are_reported_as_ranges(tmp_path, capsys):
    with pytest.raises(isp.InputError, match="asks for more than 1000000 frames"):
        parse_frames("1-100000000")
    _dumps(tmp_path, (1, 5))
    code = main(_args(tmp_path / "s.####.raw", tmp_path / "o.####.png", "--frames", "1-3,5,7-9"))
    err = capsys.readouterr().err
    assert code == 2 and "frames 2-3, 7-9 are missing" in err and err.count("missing") == 1


def test_a_dump_without_white_balance_develops_by_default(tmp_path):
    """The default white balance is as shot when the file says, else grey world: the README's
    dump example needs no --white-balance. Asking for as_shot explicitly still refuses."""
    (src,) = _dumps(tmp_path, (1,))
    assert main(_args(src, tmp_path / "o.png")) == 0 and (tmp_path / "o.png").exists()
    assert main(_args(src, tmp_path / "p.png", "--white-balance", "as_shot")) == 2


def test_empty_outputs_are_not_taken_as_done(tmp_path):
    _dumps(tmp_path, (1, 2))
    (tmp_path / "o.0002.png").write_bytes(b"")  # a crash in a writer that was not atomic, say
    assert main(_args(tmp_path / "s.####.raw", tmp_path / "o.####.png", "--skip-existing")) == 0
    assert (tmp_path / "o.0002.png").stat().st_size > 0


@pytest.mark.parametrize("given,expected", [("Rec.2020", "Rec2020"), ("P3", "DCI-P3"), ("bt.709", "Rec709")])
def test_colour_space_spellings_that_isp_grade_takes_are_taken_everywhere(given, expected):
    assert config.load(None, {"output.colorspace": given})["output"]["colorspace"] == expected


@pytest.mark.parametrize("given,message", [
    ({"input": {"width": "abc"}}, r"input.width = 'abc'; expected a whole number"),
    ({"input": {"packing": "lz4"}}, r"input.packing = 'lz4' is not allowed"),
    ({"denoise": {"strength": float("nan")}}, r"denoise.strength = nan is outside"),
])
def test_config_checks_what_it_used_to_pass_through(given, message):
    with pytest.raises(isp.InputError, match=message):
        config.load(given)


@pytest.mark.parametrize("flags,message", [
    (["--offset", "-100"], "offset and stride are byte counts >= 0"),
    (["--stride", "100"], "stride 100 is shorter than a row of 64 16-bit samples"),
])
def test_dump_offsets_and_strides_are_checked(tmp_path, capsys, flags, message):
    (src,) = _dumps(tmp_path, (1,))
    assert main(["info", str(src), *flags]) == 2
    assert message in capsys.readouterr().err


def test_info_json_is_strict_json(capsys):
    assert main(["info", "--json", "--noise", str(ROOT / "test_images" / "synth_rggb_10bit_clean.dng")]) == 0

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    json.loads(capsys.readouterr().out, parse_constant=refuse)


def test_ctrl_c_lets_the_frames_in_flight_finish(tmp_path):
    """A SIGINT while frame 2 is developed: frames 1 and 2 are finished, written and reported,
    no later frame is started, the summary says so, exit 130. Run in a child process: the
    signal handler belongs to the main thread of the process that gets the signal."""
    _dumps(tmp_path, (1, 2, 3, 4, 5))
    script = textwrap.dedent(f"""
        import os, signal, sys
        from isp.cli import main
        from isp.pipeline import Pipeline

        developed = []
        real = Pipeline.process_timed

        def process_timed(self, frame, **kw):
            developed.append(frame.frame_number)
            if frame.frame_number == 2:
                os.kill(os.getpid(), signal.SIGINT)
            return real(self, frame, **kw)

        Pipeline.process_timed = process_timed
        code = main(["process", r"{tmp_path / 's.####.raw'}", "-o", r"{tmp_path / 'o.####.png'}", "--no-progress"])
        print("developed", developed, "code", code)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert "developed [1, 2] code 130" in proc.stdout, proc.stderr
    assert "stopping after the frames in flight" in proc.stderr
    assert "2 frames processed" in proc.stderr and "interrupted after 2 of 5 frames" in proc.stderr
    assert sorted(p.name for p in tmp_path.glob("o.*")) == ["o.0001.png", "o.0002.png"]


def test_the_pipeline_takes_one_correction_of_a_collection_by_id(tmp_path):
    """`isp process --cccid` / `[grade] cccid`, as `isp grade --cccid` already did."""
    (tmp_path / "grade.ccc").write_text(
        '<ColorCorrectionCollection xmlns="urn:ASC:CDL:v1.01">'
        '<ColorCorrection id="shot_010"><SOPNode><Slope>1.1 1 0.9</Slope><Offset>0 0 0</Offset>'
        '<Power>1 1 1</Power></SOPNode></ColorCorrection>'
        '<ColorCorrection id="shot_020"><SOPNode><Slope>2 2 2</Slope><Offset>0 0 0</Offset>'
        '<Power>1 1 1</Power></SOPNode></ColorCorrection></ColorCorrectionCollection>')
    pipeline = isp.Pipeline.from_config({"grade": {"cdl": str(tmp_path / "grade.ccc"), "cccid": "shot_020"}})
    assert pipeline.cdl.id == "shot_020" and pipeline.cdl.slope == (2.0, 2.0, 2.0)
    with pytest.raises(isp.InputError, match="no ColorCorrection with id 'shot_999'"):
        isp.Pipeline.from_config({"grade": {"cdl": str(tmp_path / "grade.ccc"), "cccid": "shot_999"}})


def test_a_correction_id_needs_a_cdl():
    with pytest.raises(isp.InputError, match="grade.cccid picks a correction of grade.cdl, which is not given"):
        config.load({"grade": {"cccid": "shot_010"}})


def test_timings_never_replace_an_output_image(tmp_path, capsys):
    (src,) = _dumps(tmp_path, (1,))
    assert main(_args(src, tmp_path / "o.png", "--timings", str(tmp_path / "o.png"))) == 2
    assert "--timings would replace one of the run's output images" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()



class _Terminal(__import__("io").StringIO):
    def isatty(self):
        return True


def _frames(delays):
    import time

    from isp.sequence import FrameResult

    for n, delay in enumerate(delays):
        time.sleep(delay)
        yield FrameResult(number=n, source=Path(f"f.{n:04d}.dng"), timings={"total": 1.0})


@pytest.mark.parametrize("delays, noted", [((1.5, 0.0), True), ((0.0, 0.6), False)])
def test_progress_bar_says_why_the_first_frame_is_slow(monkeypatch, delays, noted):
    """Only a slow first frame gets the note (a first run compiles the kernels), and it goes once
    the frame is done."""
    from isp.cli import process

    real = process._first_frame_note
    monkeypatch.setattr(process, "_first_frame_note", lambda bar: real(bar, after=0.2))
    out = _Terminal()
    assert process.report(_frames(delays), progress=True, out=out, total=len(delays)) == 0
    text = out.getvalue()
    assert (process.FIRST_FRAME_NOTE in text) == noted
    assert process.FIRST_FRAME_NOTE not in text.split("\r")[-2]  # the last state of the bar


def test_missing_output_folders_are_made(tmp_path, capsys):
    """`-o review/shot.####.png` as the README has it: review/ (and its parents) need not exist."""
    _dumps(tmp_path, numbers=(1, 2))
    assert main(_args(tmp_path / "s.####.raw", tmp_path / "review" / "day1" / "o.####.png")) == 0
    assert sorted(p.name for p in (tmp_path / "review" / "day1").iterdir()) == ["o.0001.png", "o.0002.png"]
    isp.write(tmp_path / "stills" / "one.png", np.zeros((4, 5, 3), np.float32))
    assert (tmp_path / "stills" / "one.png").exists()


def test_a_file_in_the_way_of_the_output_folder_is_one_line(tmp_path, capsys):
    _dumps(tmp_path, numbers=(1,))
    (tmp_path / "review").write_text("not a folder")
    assert main(_args(tmp_path / "s.####.raw", tmp_path / "review" / "o.####.png")) == 2
    err = capsys.readouterr().err
    assert "review: cannot create the output folder" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(isp.InputError, match="review: cannot create the output folder"):
        isp.write(tmp_path / "review" / "one.png", np.zeros((4, 5, 3), np.float32))


def test_a_failed_single_file_is_named_once(tmp_path, capsys):
    bad = tmp_path / "bad.dng"
    bad.write_bytes(b"II*\0" + bytes(60))
    assert main(_args(bad, tmp_path / "o.png")) == 2
    line = capsys.readouterr().err.splitlines()[0]
    assert line.startswith(f"isp: {bad}: ") and line.count("bad.dng") == 1


def test_an_unexpanded_tilde_is_refused_not_made(tmp_path, monkeypatch, capsys):
    """`--output=~/review/o.png`: the shell leaves the '~' alone after '='; no folder named '~'."""
    _dumps(tmp_path, numbers=(1,))
    monkeypatch.chdir(tmp_path)
    assert main(_args(tmp_path / "s.####.raw", "~/review/o.####.png")) == 2
    assert "'~' was not expanded" in capsys.readouterr().err
    assert not (tmp_path / "~").exists()


def test_timings_go_into_a_new_folder(tmp_path):
    _dumps(tmp_path, numbers=(1,))
    assert main(_args(tmp_path / "s.####.raw", tmp_path / "o.####.png", "--timings",
                      str(tmp_path / "logs" / "t.json"))) == 0
    assert json.loads((tmp_path / "logs" / "t.json").read_text())["frames"][0]["frame"] == 1


# -- found by an audit of the readers, writers and sequence runner (session 8) -------------------

def test_timings_never_overwrite_a_dump_sidecar(tmp_path, capsys):
    (src,) = _dumps(tmp_path, (1,))
    side = Path(f"{src}.json")
    before = side.read_text()
    assert main(_args(src, tmp_path / "o.png", "--timings", str(side))) == 2
    assert "refusing to write timings over an input" in capsys.readouterr().err
    assert side.read_text() == before


@pytest.mark.parametrize("values,message", [
    (np.full((8, 8), 70000, np.int64), "values from 70000 to 70000 do not fit 16 bits"),
    (-np.ones((8, 8), np.int32), "values from -1 to -1 do not fit 16 bits"),
    (np.zeros((0, 8), np.uint16), "the mosaic is empty"),
])
def test_npy_values_that_do_not_fit_are_refused(tmp_path, values, message):
    np.save(tmp_path / "m.npy", values)
    with pytest.raises(isp.InputError, match=message):
        isp.read(tmp_path / "m.npy", pattern="RGGB")


@pytest.mark.parametrize("flag,value", [("--white-level", "nan"), ("--white-level", "inf"), ("--black-level", "nan")])
def test_levels_must_be_finite(tmp_path, capsys, flag, value):
    (src,) = _dumps(tmp_path, (1,))
    assert main(_args(src, tmp_path / "o.png", flag, value)) == 2
    assert "black and white levels must be finite numbers" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_a_sidecar_value_that_is_not_a_number_names_its_key(tmp_path):
    (src,) = _dumps(tmp_path, (1,))
    side = Path(f"{src}.json")
    side.write_text(json.dumps({**json.loads(side.read_text()), "width": "abc"}))
    with pytest.raises(isp.InputError, match=r"width must be a whole number, got 'abc'"):
        isp.read(src)


@pytest.mark.parametrize("name,text,message", [
    ("t.spi1d", "Version 1\nFrom 0.0 1.0\nLength 3\nComponents 1\n{\n0\n0.5\n}\n", "2 table rows, but Length 3 needs 3"),
    ("t.cube", "LUT_1D_SIZE 5\n0 0 0\n0.5 0.5 0.5\n1 1 1\n", "3 table rows, but LUT_1D_SIZE 5 needs 5"),
])
def test_a_1d_lut_cut_short_is_refused(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(isp.InputError, match=message):
        isp.grade.read_lut(tmp_path / name)


def test_a_stray_far_numbered_file_does_not_list_millions_of_frames(tmp_path):
    a, b = _dumps(tmp_path, (1, 2))
    b.rename(tmp_path / "s.20240115.raw")
    with pytest.raises(isp.InputError, match=r"run from frame 1 \(s.0001.raw\) to 20240115 \(s.20240115.raw\)"):
        expand(tmp_path / "s.####.raw")


def test_two_files_with_the_same_frame_number_are_refused(tmp_path):
    (a,) = _dumps(tmp_path, (1,))
    (tmp_path / "s.00001.raw").write_bytes(a.read_bytes())
    with pytest.raises(isp.InputError, match=r"frame 1 is both s.00001.raw and s.0001.raw"):
        expand(tmp_path / "s.####.raw")


def test_a_hash_in_a_folder_or_an_existing_file_name_is_not_a_pattern(tmp_path):
    folder = tmp_path / "take#2"
    folder.mkdir()
    (src,) = _dumps(folder, (1,), "cam#1")
    assert [p for _, p in expand(src).frames] == [src]  # the file itself
    assert main(_args(src, folder / "o.png")) == 0
    assert (folder / "o.png").exists() and not (tmp_path / "take12").exists()


def test_empty_frames_option_is_an_error(tmp_path, capsys):
    _dumps(tmp_path, (1,))
    assert main(_args(tmp_path / "s.####.raw", tmp_path / "o.####.png", "--frames", "")) == 2
    assert "--frames: cannot read ''" in capsys.readouterr().err


def test_dump_flags_do_not_turn_camera_raws_into_dumps(tmp_path):
    frame = render(default_chart(48, 64), SensorModel(seed=1))
    dng = write_frame(tmp_path / "c.dng", frame)[0]
    assert isp.read(dng, width=10, height=10, bits=12, pattern="RGGB").width == 64


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="named pipes are POSIX")
def test_pipes_and_empty_files_are_refused_before_reading(tmp_path):
    import os

    os.mkfifo(tmp_path / "p.dng")
    with pytest.raises(isp.InputError, match="not a regular file"):
        isp.read(tmp_path / "p.dng")
    (tmp_path / "e.dng").write_bytes(b"")
    with pytest.raises(isp.InputError, match="the file is empty"):
        isp.read(tmp_path / "e.dng")


def test_temporal_denoise_leaves_an_odd_sized_frame_out_of_its_neighbours(tmp_path):
    for n, (h, w) in zip((1, 2, 3), ((48, 64), (64, 96), (48, 64))):
        write_frame(tmp_path / f"m.{n:04d}.dng", render(default_chart(h, w), SensorModel(seed=n), frame_number=n))
    with pytest.warns(isp.ProcessingWarning, match="its temporal window leaves out the frames unlike it"):
        results = list(isp.process_sequence(tmp_path / "m.####.dng", tmp_path / "o.####.png",
                                            isp.Pipeline.from_config({"denoise": {"method": "temporal"}})))
    assert all(r.ok for r in results) and len(results) == 3


def test_unwritable_timings_folder_is_found_before_the_run(tmp_path, capsys, monkeypatch):
    (src,) = _dumps(tmp_path, (1,))
    import tempfile

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    assert main(_args(src, tmp_path / "o.png", "--timings", str(tmp_path / "t" / "t.json"))) == 2
    assert "cannot write timings in" in capsys.readouterr().err and not (tmp_path / "o.png").exists()


def test_a_failed_temporary_names_the_output(tmp_path, monkeypatch):
    """OSErrors from the temporary (making it, or writing it, as the --timings JSON does) name
    the output a user asked for."""
    import tempfile

    from isp.io import atomic_path

    out = tmp_path / "t.json"
    with pytest.raises(OSError) as e:
        with atomic_path(out) as tmp:
            raise OSError(28, "No space left on device", str(tmp))
    assert e.value.filename == str(out) and not list(tmp_path.iterdir())

    def refuse(*a, **k):
        raise PermissionError(1, "Operation not permitted", str(tmp_path / ".t.host-1.abc.tmp.json"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(OSError) as e:
        with atomic_path(out):
            pass
    assert e.value.filename == str(out)


@pytest.mark.parametrize("done,code", [(2, 0), (1, 130)])
def test_ctrl_c_after_the_last_frame_is_not_an_unfinished_run(done, code):
    import io

    from isp.cli.process import report
    from isp.sequence import FrameResult

    results = [FrameResult(n, Path(f"s.{n}.raw"), Path(f"o.{n}.png"), timings={"read": 1.0}) for n in (1, 2)][:done]
    out = io.StringIO()
    assert report(iter(results), progress=False, out=out, total=2, stopped=lambda: True) == code
    assert ("interrupted after 1 of 2 frames" in out.getvalue()) == (code == 130)


def test_a_tiff_named_dng_is_refused(tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "grey.dng", np.arange(64 * 64, dtype=np.uint16).reshape(64, 64))
    with pytest.raises(isp.InputError, match="grey.dng: a TIFF file, but not a raw"):
        isp.read(tmp_path / "grey.dng")


def test_a_camera_raw_named_dng_is_still_read(tmp_path, shared_data):
    """TIFF-based camera raws name their Make: LibRaw reads them whatever the suffix."""
    kdc = tmp_path / "k.dng"
    kdc.write_bytes((shared_data / "raw" / "Kodak_DC120_P003908.KDC").read_bytes())
    assert isp.read(kdc).pattern == "GRBG"


def test_a_folder_with_a_hash_in_its_name_is_a_folder(tmp_path):
    folder = tmp_path / "take#2"
    folder.mkdir()
    paths = _dumps(folder, (1, 2))
    assert [p for _, p in expand(folder).frames] == paths


def test_a_truncated_exr_is_one_line(tmp_path):
    """OpenEXR prints its own lines (on stdout and stderr) about a damaged file; only ours show."""
    isp.write(tmp_path / "g.exr", np.random.default_rng(0).random((64, 64, 3), np.float32))
    data = (tmp_path / "g.exr").read_bytes()
    (tmp_path / "t.exr").write_bytes(data[: len(data) // 2])
    cli = "import sys; from isp.cli import main; sys.exit(main(sys.argv[1:]))"
    run = subprocess.run([sys.executable, "-c", cli, "grade", str(tmp_path / "t.exr"), "-o", str(tmp_path / "o.exr")],
                         capture_output=True, text=True, cwd=ROOT)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and run.stdout == "" and len(lines) == 1
    assert lines[0].startswith(f"isp grade: error: {tmp_path / 't.exr'}: cannot read image (")


def test_quieting_overlapping_readers_restores_the_console():
    """Reads in two threads overlap (A in, B in, A out, B out): stderr comes back all the same."""
    import os

    from isp.io.quiet import quiet

    before = os.fstat(2)
    a, b = quiet(), quiet()
    a.__enter__()
    b.__enter__()
    a.__exit__(None, None, None)
    assert os.fstat(2).st_ino != before.st_ino  # still quiet while B reads
    b.__exit__(None, None, None)
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)


def test_a_full_disk_is_named_for_every_format(tmp_path, monkeypatch, capfd):
    """PNG/JPEG are encoded in memory and written by Python, so a full disk is an OSError that says
    so (cv2.imwrite only returned False, and libpng printed its own line); a short write that says
    nothing (numpy's, under tifffile) gets the free space on the device."""
    import errno
    import os
    from collections import namedtuple

    from isp.io import writers

    class Full:
        def __init__(self, *a, **k):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(writers, "open", Full, raising=False)
    image = np.full((8, 8, 3), 0.5, np.float32)
    for name in ("o.png", "o.jpg"):
        with pytest.raises(isp.InputError, match=rf"{name}: cannot write \(No space left on device\)$"):
            isp.write(tmp_path / name, image)
    assert capfd.readouterr().err == "" and list(tmp_path.iterdir()) == []

    def short_write(*a, **k):
        raise OSError("98 requested and 12 written")

    monkeypatch.setattr(writers.tifffile, "imwrite", short_write)
    monkeypatch.setattr(writers.shutil, "disk_usage", lambda p: namedtuple("U", "total used free")(1e9, 1e9, 12))
    with pytest.raises(isp.InputError, match=r"o.tif: cannot write \(98 requested and 12 written; 0.0 MB free on the device\)"):
        isp.write(tmp_path / "o.tif", image)
