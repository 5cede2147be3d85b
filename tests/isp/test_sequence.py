"""The sequence runner: order, missing and bad frames, resume, inputs never overwritten."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import isp
from isp.io.dng import write_frame
from isp.io.writers import writer_id
from isp.sequence import process_sequence
from isp.synth import SensorModel, render


class Grey:
    """A stand-in pipeline: the frame's normalised mosaic as a grey image."""

    def process_timed(self, frame, depth=None):
        m = frame.normalized()
        return np.repeat(m[..., None], 3, axis=2), {"develop": 0.0}


@pytest.fixture
def shots(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    scene = np.full((24, 32, 3), 0.5, np.float32)
    for n in (1, 2, 3, 5):
        frame = render(scene * n / 5, SensorModel(seed=n), noise=False)
        write_frame(folder / f"shot.{n:04d}.npy", frame)
    return folder


@pytest.mark.parametrize("write_behind", [0, 2])
def test_written_images_arrays_are_reused(tmp_path, monkeypatch, write_behind):
    scene = np.full((24, 32, 3), 0.5, np.float32)
    for n in range(1, 7):
        write_frame(tmp_path / f"shot.{n:04d}.dng", render(scene * n / 7, SensorModel(seed=n)))

    class Recording(isp.Pipeline):
        given = []

        def process_timed(self, frame, **kw):
            self.given.append(kw.get("out"))
            return super().process_timed(frame, **kw)

    (tmp_path / "out").mkdir()
    pipeline = Recording.from_config({"denoise": {"method": "off"}})
    if write_behind:  # slow writes: frames are computed while earlier ones are still being written
        def slow_write(*args, **kw):
            time.sleep(0.2)
            return isp.write(*args, **kw)

        monkeypatch.setattr("isp.sequence.write", slow_write)
    results = list(process_sequence(tmp_path / "shot.####.dng", tmp_path / "out" / "shot.####.tif", pipeline,
                                    depth=16, write_behind=write_behind))
    assert all(r.ok for r in results) and len(pipeline.given) == 6
    assert pipeline.given[0] is None and any(a is not None and a.dtype == np.uint16 for a in pipeline.given)
    if not write_behind:  # each write is done before the next frame: its array comes back at once
        assert all(a is not None for a in pipeline.given[1:])
    for r in results:  # every frame intact although they shared arrays
        expected = pipeline.process(isp.read(r.source), depth=16)
        np.testing.assert_array_equal(isp.read_image(r.output), expected / np.float32(65535))


@pytest.mark.parametrize("name,depth", [("shot.####.exr", None), ("shot.####.tif", None), ("shot.####.png", 16)])
def test_frames_come_out_of_the_pipeline_at_the_written_depth(shots, tmp_path, name, depth):
    # half floats for EXR, 16-bit for TIFF by default: the fused pass delivers what is written
    pipeline = isp.Pipeline.from_config({"denoise": {"method": "off"}})
    given = []

    class Recording:
        def process_timed(self, frame, depth=None, **kw):
            given.append(depth)
            return pipeline.process_timed(frame, depth=depth, **kw)

    results = list(process_sequence(shots / "shot.####.npy", tmp_path / name, Recording(), depth=depth))
    assert all(r.ok for r in results if r.source) and given == [{"shot.####.exr": "half"}.get(name, 16)] * 4
    for r in results:
        if r.source is None:
            continue
        exact = pipeline.process(isp.read(r.source))
        written = isp.read_image(r.output)
        if name.endswith(".exr"):  # numpy's float16 rounding of the float result, bit for bit
            np.testing.assert_array_equal(written, exact.astype(np.float16).astype(np.float32))
        else:
            assert np.abs(written * 65535 - np.clip(exact, 0, 1) * 65535).max() <= 1.0


def test_a_compression_the_format_refuses_fails_before_any_frame(shots, tmp_path):
    with pytest.raises(isp.InputError, match="png cannot be written with 'zip' compression"):
        next(process_sequence(shots / "shot.####.npy", tmp_path / "o.####.png", Grey(), compression="zip"))
    assert list(tmp_path.glob("o.*")) == []


def test_frames_in_order_with_missing_ones_reported(shots, tmp_path):
    (tmp_path / "out").mkdir()
    results = list(process_sequence(shots / "shot.####.npy", tmp_path / "out" / "shot.####.exr", Grey()))
    assert [(r.number, r.ok) for r in results] == [(4, False), (1, True), (2, True), (3, True), (5, True)]
    assert "frame 4 is missing" in results[0].error
    for r in results[1:]:
        image = isp.read_image(r.output)
        expected = isp.read(r.source).normalized()
        np.testing.assert_allclose(image[..., 0], expected, atol=1e-3)
        assert "read" in r.timings and "write" in r.timings


def test_a_bad_frame_does_not_stop_the_others(shots, tmp_path):
    (shots / "shot.0002.npy").write_bytes(b"not a numpy file")
    results = list(process_sequence(shots / "shot.%04d.npy", None, Grey(), frames=[1, 2, 3]))
    assert [r.ok for r in results] == [True, False, True]
    assert "shot.0002.npy" in results[1].error
    assert results[0].image.shape == (24, 32, 3)


def test_skip_existing_leaves_finished_frames_alone(shots, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "shot.0002.png").write_bytes(b"finished earlier")
    results = list(process_sequence(shots / "shot.####.npy", out / "shot.####.png", Grey(), frames=[1, 2, 3],
                                    skip_existing=True))
    assert [r.skipped for r in results] == [False, True, False]
    assert (out / "shot.0002.png").read_bytes() == b"finished earlier"


def test_resume_sweeps_what_a_killed_run_left(shots, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".shot.0001.k2j4x9.tmp.png").write_bytes(b"half a frame")  # a killed run's atomic write
    (out / ".notes.tmp.png").write_bytes(b"someone else's")
    list(process_sequence(shots / "shot.####.npy", out / "shot.####.png", Grey(), frames=[1]))
    assert sorted(p.name for p in out.iterdir()) == [".notes.tmp.png", "shot.0001.png"]


def test_resume_leaves_the_temporaries_of_a_run_still_writing(shots, tmp_path):
    """Two runs on one output folder: the second sweeps only what dead processes left (on another
    machine sharing the disk it cannot tell, so only day-old files)."""
    out = tmp_path / "out"
    out.mkdir()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        host = writer_id().rpartition("-")[0]
        (out / f".shot.0001.{host}-{live.pid}.abc123.tmp.png").write_bytes(b"being written")
        (out / f".shot.0001.{host}-{dead.pid}.def456.tmp.png").write_bytes(b"left by a killed run")
        (out / ".shot.0001.farm07-12.ghi789.tmp.png").write_bytes(b"another machine, writing now")
        old = out / ".shot.0001.farm07-13.jkl012.tmp.png"
        old.write_bytes(b"another machine, two days ago")
        os.utime(old, (time.time() - 2 * 86400,) * 2)
        list(process_sequence(shots / "shot.####.npy", out / "shot.####.png", Grey(), frames=[1]))
    finally:
        live.kill()
        live.wait()
    assert sorted(p.name for p in out.iterdir()) == sorted([
        f".shot.0001.{host}-{live.pid}.abc123.tmp.png", ".shot.0001.farm07-12.ghi789.tmp.png", "shot.0001.png"])


def test_inputs_are_never_overwritten(shots):
    with pytest.raises(isp.InputError, match="refusing to write over an input"):
        list(process_sequence(shots / "shot.0001.npy", shots / "shot.0001.npy", Grey()))


def test_many_frames_need_an_output_pattern(shots, tmp_path):
    with pytest.raises(isp.InputError, match=r"need an output pattern with #### or %04d, like .*one\.####\.exr"):
        list(process_sequence(shots, tmp_path / "one.exr", Grey()))
    with pytest.raises(isp.InputError, match=r"like .*review\.####\.exr"):
        list(process_sequence(shots, tmp_path / "review", Grey()))
