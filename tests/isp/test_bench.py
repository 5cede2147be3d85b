"""`isp bench`: statistics, verdicts, argument checks, the JSON schema and the plot.

No timing is asserted anywhere: speed depends on the machine and its load.
"""
from __future__ import annotations

import json
import tempfile

import numpy as np
import pytest

from isp import bench
from isp.cli import main
from isp.errors import InputError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STAGE_KEYS = {"p50_ms", "p95_ms", "p99_ms", "max_ms", "min_ms", "mean_ms", "bytes", "gb_per_s", "bandwidth_fraction"}


# ------------------------------------------------------------------------------------------------
# maths


def test_percentiles_match_numpy_linear_interpolation():
    v = [5.0, 1.0, 3.0, 2.0, 4.0, 100.0]
    s = bench.percentiles(v)
    assert s["p50_ms"] == pytest.approx(3.5)
    assert s["p95_ms"] == pytest.approx(np.percentile(v, 95))
    assert s["p99_ms"] == pytest.approx(5.0 + 0.95 * 95.0)  # rank 0.99 * 5 = 4.95: between 5 and 100
    assert s["max_ms"] == 100.0 and s["min_ms"] == 1.0
    assert s["mean_ms"] == pytest.approx(np.mean(v))
    assert bench.percentiles([7.0]) == {k: 7.0 for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "min_ms", "mean_ms")}


def test_percentiles_refuse_nothing():
    with pytest.raises(ValueError):
        bench.percentiles([])


@pytest.mark.parametrize("latency, fps, meets, headroom", [
    (20.0, 25, True, 50.0),  # budget 40 ms, half used
    (40.0, 25, True, 0.0),  # exactly on budget meets
    (50.0, 25, False, -25.0),  # a quarter over
    (1000 / 24, 24, True, 0.0),
    (33.0, 30, True, 1.0),
])
def test_verdict(latency, fps, meets, headroom):
    v = bench.verdict(latency, fps)
    assert v["meets"] is meets
    assert v["budget_ms"] == pytest.approx(1000 / fps)
    assert v["headroom_pct"] == pytest.approx(headroom, abs=1e-9)


def test_budgets_judge_on_p99_and_give_p50_beside_it():
    e2e = {"p50_ms": 30.0, "p99_ms": 45.0}
    rows = bench.budgets(e2e, [24, 30])
    assert [r["fps"] for r in rows] == [24, 30]
    r24, r30 = rows
    assert r24["basis"] == "p99" and r24["latency_ms"] == 45.0
    assert r24["meets"] is False and r24["headroom_pct"] == pytest.approx(-8.0)
    assert r24["meets_p50"] is True and r24["headroom_p50_pct"] == pytest.approx(28.0)
    assert r30["meets"] is False and r30["meets_p50"] is True
    assert r30["headroom_p50_pct"] == pytest.approx(10.0)


def test_alternate_runs_in_turn():
    calls = []
    times = bench.alternate({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3)
    assert calls == ["a", "b"] + ["a", "b"] * 3  # one warm-up each, then A B A B A B
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3}


def test_stage_bytes():
    h, w = 10, 20
    assert bench.stage_bytes("sensor", h, w, 4) == h * w * (2 + 4)
    assert bench.stage_bytes("demosaic", h, w, 4) == h * w * (4 + 12)
    assert bench.stage_bytes("colour+grade", h, w, 2) == h * w * (12 + 6)
    assert bench.stage_bytes("something new", h, w, 4) is None


def test_thread_counts():
    assert bench.thread_counts(1) == [1]
    assert bench.thread_counts(2) == [1, 2]
    assert bench.thread_counts(12) == [1, 2, 4, 8, 12]
    assert bench.thread_counts(16) == [1, 2, 4, 8, 16]


def test_bandwidth_and_machine():
    bw = bench.bandwidth(1 << 20, repeats=1)
    assert bw["bytes"] >= 1 << 20 and bw["peak_gb_s"] == max(bw["numpy_copy_gb_s"], bw["numba_copy_gb_s"]) > 0
    m = bench.machine_info()
    assert m["cpu_model"] and m["cores_logical"] >= 1 and m["threading_layer"]  # the numba copy ran
    assert set(m["versions"]) >= {"python", "numpy", "numba", "isp"}


# ------------------------------------------------------------------------------------------------
# arguments


@pytest.mark.parametrize("text, expected", [("uhd", (2160, 3840)), ("1080p", (1080, 1920)), ("8k", (4320, 7680)),
                                            ("dci4k", (2160, 4096)), ("64x48", (48, 64)), (" UHD ", (2160, 3840))])
def test_parse_size(text, expected):
    assert bench.parse_size(text) == expected


@pytest.mark.parametrize("text", ["16k", "64x", "x48", "0x0", "65x48", "8x8", "big"])
def test_parse_size_refuses(text):
    with pytest.raises(InputError, match="--size"):
        bench.parse_size(text)


def test_parse_fps():
    assert bench.parse_fps("23.976, 24,25,24") == [23.976, 24.0, 25.0]
    for bad in ("", "24,,30", "0", "-24", "nan", "inf", "fast"):
        with pytest.raises(InputError, match="--fps"):
            bench.parse_fps(bad)


def test_check_output_path(tmp_path):
    assert bench.check_output_path(tmp_path / "a.json", "--json") == tmp_path / "a.json"
    with pytest.raises(InputError, match="no such directory"):
        bench.check_output_path(tmp_path / "missing" / "a.json", "--json")
    with pytest.raises(InputError, match="is a directory"):
        bench.check_output_path(tmp_path, "--json")
    with pytest.raises(InputError, match=r"\.png"):
        bench.check_output_path(tmp_path / "a.jpg", "--plot", (".png",))


@pytest.mark.parametrize("argv, message", [
    (["--size", "16k"], "--size"),
    (["--size", "64x48", "--frames", "0"], "--frames"),
    (["--size", "64x48", "--frames", "-3"], "--frames"),
    (["--size", "64x48", "--fps", "24,abc"], "--fps"),
    (["--size", "64x48", "--fps", "0"], "--fps"),
    (["--size", "64x48", "--threads", "0"], "--threads"),
    (["--size", "64x48", "--threads", "100000"], "--threads"),
    (["--size", "64x48", "--json", "/nonexistent-dir/out.json"], "--json"),
    (["--size", "64x48", "--plot", "/nonexistent-dir/out.png"], "--plot"),
    (["--size", "64x48", "--plot", "OUTDIR/out.jpg"], "--plot"),
    (["--size", "64x48", "--json", "OUTDIR"], "is a directory"),
    (["--size", "64x48", "--input", "OUTDIR/shot.####.dng"], "no files match"),
    (["--size", "64x48", "--demosaic", "nonesuch"], "nonesuch"),
    (["--size", "64x48", "--write", "gif"], "--write"),
    (["--size", "64x48", "--write", "tif", "--depth", "half"], "--depth"),
    (["--size", "64x48", "--write", "png", "--compression", "zip"], "png cannot be written with 'zip'"),
    (["--size", "64x48", "--write", "tif", "--sustained"], "--sustained"),
    (["--size", "64x48", "--input", "OUTDIR/shot.####.dng", "--sustained"], "--sustained"),
    (["--size", "64x48", "--input", "OUTDIR/shot.####.dng", "--write", "tif", "--sustained", "--unfused"],
     "--unfused"),
])
def test_bad_arguments_exit_2_with_one_line(argv, message, tmp_path, capsys):
    argv = [a.replace("OUTDIR", str(tmp_path)) for a in argv]
    if "--input" in argv:
        argv = [a for a in argv if a not in ("--size", "64x48")]
    assert main(["bench", "--quiet", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("isp bench: error:") and "\n" not in err
    assert message in err
    assert not list(tmp_path.iterdir())  # nothing written


# ------------------------------------------------------------------------------------------------
# a whole (tiny) run


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench")
    out_json, out_png = d / "out.json", d / "out.png"
    code = main(["bench", "--quiet", "--size", "64x48", "--frames", "3", "--fps", "24,60", "--scaling-frames", "1",
                 "--json", str(out_json), "--plot", str(out_png)])
    return code, json.loads(out_json.read_text()), out_png


def test_run_writes_json_with_the_stable_keys(tiny_run):
    code, r, _ = tiny_run
    assert code == 0
    assert r["schema"] == bench.SCHEMA
    assert r["frames"] == 3 and len(r["per_frame"]) == 3
    assert r["input"]["width"] == 64 and r["input"]["height"] == 48
    for key in ("machine", "compile_ms", "first_frame_ms", "stages", "end_to_end", "budgets", "threads", "compare",
                "bandwidth", "notes"):
        assert key in r
    assert r["compare"] is None and r["sustained"] is None
    assert {"cpu_model", "cores_logical", "threading_layer", "versions"} <= set(r["machine"])
    assert r["stages"] and r["pipeline"]["stages"]
    for name, s in r["stages"].items():
        assert set(s) >= STAGE_KEYS, name
        assert s["p50_ms"] <= s["p95_ms"] <= s["p99_ms"] <= s["max_ms"]
    e = r["end_to_end"]
    assert {"p50_ms", "p95_ms", "p99_ms", "max_ms", "fps"} <= set(e) and e["fps"] > 0
    # end to end is the wall time of each frame: at least the sum of its timed stages
    for f in r["per_frame"]:
        assert f["total_ms"] >= sum(f["ms"].values()) - 1e-6
    assert [b["fps"] for b in r["budgets"]] == [24, 60]
    for b in r["budgets"]:
        assert {"fps", "budget_ms", "meets", "headroom_pct"} <= set(b)
        assert b["meets"] == (e["p99_ms"] <= b["budget_ms"])
    sc = r["threads"]["scaling"]
    assert sc[0]["threads"] == 1 and sc[0]["speedup"] == pytest.approx(1.0)
    assert [row["threads"] for row in sc] == bench.thread_counts(r["threads"]["used"])
    for row in sc:
        assert {"threads", "p50_ms", "fps", "speedup"} <= set(row)


def test_run_writes_a_png(tiny_run):
    _, _, png = tiny_run
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert png.stat().st_size > 10_000


def test_report_is_a_table(tiny_run):
    _, r, _ = tiny_run
    text = bench.report(r)
    assert "end to end" in text and "p99 ms" in text
    for b in r["budgets"]:
        assert f"{b['fps']:g} fps" in text


def test_plot_of_synthetic_numbers_with_peers(tmp_path):
    """The plot and the table from made-up numbers (peers included) without running anything."""
    rng = np.random.default_rng(0)
    frames = []
    for i in range(20):
        ms = {"sensor": 3 + rng.random(), "demosaic": 20 + 5 * rng.random(), "colour+grade": 8 + rng.random()}
        frames.append({"index": i + 1, "source": "synthetic #1", "ms": ms, "total_ms": sum(ms.values()) + 0.5})
    e2e = bench.percentiles([f["total_ms"] for f in frames])
    e2e.update(fps=1000 / e2e["mean_ms"], includes=list(frames[0]["ms"]))
    stages = {k: {**bench.percentiles([f["ms"][k] for f in frames]), "bytes": None, "gb_per_s": None,
                  "bandwidth_fraction": 0.3} for k in frames[0]["ms"]}
    peer = {"median_ms": 100.0, "ratio": 3.0, "reference": "isp", "scaled_from_crop": True, "crop": [480, 270],
            "what": "x"}
    r = {"machine": {"cpu_model": "test cpu", "cores_available": 2, "cores_logical": 2, "threading_layer": "omp",
                     "versions": {"numba": "0", "numpy": "0", "python": "3", "isp": "0"}},
         "input": {"kind": "synthetic", "width": 3840, "height": 2160, "pattern": "RGGB", "distinct_frames": 3},
         "pipeline": {"stages": list(stages), "fused": True, "output_dtype": "float32",
                      "config": {"demosaic": {"algorithm": "rcd"}, "denoise": {"method": "off"},
                                 "output": {"colorspace": "sRGB", "transfer": "srgb"},
                                 "grade": {"lut": None, "cdl": None}}},
         "frames": 20, "setup_ms": 1.0, "first_frame_ms": 900.0, "compile_ms": 870.0, "compile_kind": "cache",
         "stages": stages, "end_to_end": e2e, "budgets": bench.budgets(e2e, bench.DEFAULT_FPS),
         "bandwidth": {"bytes": 1e8, "numpy_copy_gb_s": 10.0, "numba_copy_gb_s": 12.0, "peak_gb_s": 12.0},
         "threads": {"used": 2, "scaling": [{"threads": 1, "frames": 5, "p50_ms": 50.0, "fps": 20.0, "speedup": 1.0,
                                             "efficiency": 1.0},
                                            {"threads": 2, "frames": 5, "p50_ms": 30.0, "fps": 33.0, "speedup": 1.67,
                                             "efficiency": 0.83}]},
         "per_frame": frames,
         "compare": {"repeats": 5, "reference_ms": {"isp": 33.0, "isp lut": 10.0},
                     "peers": {"colour Menon2007+LUT3D": peer, "opencolorio lut": {**peer, "ratio": 0.8,
                                                                                 "reference": "isp lut",
                                                                                 "scaled_from_crop": False}}},
         "notes": ["a note"]}
    path = bench.plot(r, tmp_path / "p.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    text = bench.report(r)
    assert "colour Menon2007+LUT3D" in text and "crop, scaled per pixel" in text and "note: a note" in text
    # 60 fps (16.7 ms) is missed by a ~30 ms frame, 24 fps is met
    verdicts = {b["fps"]: b["meets"] for b in r["budgets"]}
    assert verdicts[60.0] is False and verdicts[24.0] is True
    json.dumps(bench.jsonable(r), allow_nan=False)


def test_write_at_the_configured_depth(tmp_path):
    """--write png --depth 16: the pipeline's uint16 image is written as 16-bit PNG (not refused as 8-bit)."""
    out = tmp_path / "out.json"
    assert main(["bench", "--quiet", "--size", "64x48", "--frames", "1", "--scaling-frames", "0", "--write", "png",
                 "--depth", "16", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["pipeline"]["depth"] == 16 and r["pipeline"]["output_dtype"] == "uint16" and "write" in r["stages"]


def test_run_on_an_input_sequence_with_peers_and_writing(tmp_path):
    """--input reads a DNG sequence (a "read" stage), --write adds a "write" stage, --compare the peers."""
    from isp import synth
    from isp.io.dng import write_dng

    scene = synth.default_chart(48, 64)
    for frame in synth.render_sequence(scene, synth.SensorModel(seed=1), frames=2, start=1001):
        write_dng(tmp_path / f"shot.{frame.frame_number:04d}.dng", frame)
    out = tmp_path / "out.json"
    code = main(["bench", "--quiet", "--input", str(tmp_path / "shot.####.dng"), "--frames", "2", "--write", "png",
                 "--compare", "--repeats", "1", "--scaling-frames", "0", "--json", str(out)])
    assert code == 0
    r = json.loads(out.read_text())
    assert r["input"]["kind"] == "sequence" and r["input"]["distinct_frames"] == 2
    assert list(r["stages"])[0] == "read" and list(r["stages"])[-1] == "write"
    assert r["end_to_end"]["includes"][0] == "read" and "read" not in r["pipeline"]["stages"]
    assert r["threads"]["scaling"] == []
    c = r["compare"]
    assert set(c["peers"]) == {"libraw linear", "libraw AHD", "opencv demosaic+bilateral", "colour Menon2007+LUT3D",
                               "opencolorio lut"}
    for name, p in c["peers"].items():
        assert p["median_ms"] > 0 and p["ratio"] == pytest.approx(p["median_ms"] / c["reference_ms"][p["reference"]])
    assert c["peers"]["colour Menon2007+LUT3D"]["scaled_from_crop"] is False  # 64x48 is smaller than the crop
    assert "rawpy" in r["machine"]["versions"]


def test_sustained_streams_the_input_through_the_sequence_runner(tmp_path, monkeypatch):
    """--sustained: 4 frames cycled through isp.process_sequence into a temporary folder, removed after."""
    from isp import synth
    from isp.io.dng import write_frame

    inputs = tmp_path / "in"
    inputs.mkdir()
    scene = synth.default_chart(48, 64)
    for n in range(1, 5):
        write_frame(inputs / f"shot.{n:04d}.dng", synth.render(scene, synth.SensorModel(seed=1), frame_number=n))
    before = sorted(inputs.iterdir())
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    out = tmp_path / "out.json"
    assert main(["bench", "--quiet", "--input", str(inputs / "shot.####.dng"), "--frames", "5", "--write", "tif",
                 "--sustained", "--fps", "24,60", "--scaling-frames", "0", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    st = r["sustained"]
    assert st["runner"] == "isp.process_sequence"
    # 5 timed frames after the warm-up one, then the write-behind queue draining: 8 frames, all written
    assert st["frames"] == 5 and st["warmup_frames"] == 1 and st["write_behind"] == 2
    assert st["streamed"] == 8 and st["written"] == 8
    assert st["fps"] > 0 and st["fps"] == pytest.approx(1000 / st["ms_per_frame"])
    assert st["ms_per_frame"] == pytest.approx(st["timed_wall_ms"] / 5) and st["timed_wall_ms"] <= st["wall_ms"]
    assert st["format"] == ".tif" and st["depth"] == 16 and r["pipeline"]["depth"] == 16
    assert st["serial_ms_per_frame"] == pytest.approx(r["end_to_end"]["mean_ms"])
    assert st["speedup"] == pytest.approx(st["serial_ms_per_frame"] / st["ms_per_frame"])
    assert {"read", "write"} <= set(st["stages_p50_ms"])
    assert [b["fps"] for b in st["budgets"]] == [24, 60]
    for b in st["budgets"]:
        assert b["meets"] == (st["ms_per_frame"] <= b["budget_ms"])
    assert any("streamed again" in n for n in r["notes"])
    text = bench.report(r)
    assert "through isp.process_sequence" in text and f"{st['ms_per_frame']:.1f} ms/frame" in text
    assert sorted(inputs.iterdir()) == before  # nothing written beside the inputs
    assert not list(temporary.iterdir())  # the outputs' temporary folder is gone
