"""The quality bench: its own sets, filters and patterns, and the results file it rewrites."""
import numpy as np
import pytest
from skimage import data, io

from bench import demosaic_quality as dq
from bench.demosaic_quality import update_results
from kernels import cfa


def test_update_results_keeps_the_notes(tmp_path):
    path = tmp_path / "RESULTS.md"
    update_results(path, "| a | 1 |")
    assert "| a | 1 |" in path.read_text()
    path.write_text(path.read_text() + "\n## Speed\n\nnotes\n")
    update_results(path, "| a | 2 |")
    text = path.read_text()
    assert "| a | 2 |" in text and "| a | 1 |" not in text
    assert text.endswith("## Speed\n\nnotes\n")


@pytest.fixture
def own_set(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    io.imsave(folder / "a.png", data.astronaut()[:64, :96], check_contrast=False)
    io.imsave(folder / "b.TIF", data.coffee()[:48, :80].astype(np.uint16) * 257, check_contrast=False)
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_own_images_per_image_and_nothing_written(own_set, monkeypatch, capsys):
    monkeypatch.setattr(dq, "update_results", lambda *a: pytest.fail("the standard table was rewritten"))
    dq.main(["--set", f"mine={own_set}", "--only", "malvar", "--pattern", "gbrg", "--per-image"])
    out = capsys.readouterr().out
    t = dq.truth(own_set / "b.TIF")
    expected = dq.cpsnr(dq.contenders()["isp malvar2004"](cfa.mosaic(t.astype(np.float32), "GBRG"), "GBRG"), t)
    row = next(line for line in out.splitlines() if line.startswith("| b.TIF |"))
    assert row.split("|")[2].strip() == f"{expected:.2f}"
    assert "| isp malvar2004 |" in out and "colour-demosaicing Malvar2004" in out and "rcd" not in out
    assert "notes.txt" not in out


@pytest.mark.parametrize("pattern", cfa.PATTERNS)
def test_opencv_peers_read_every_pattern(pattern):
    """OpenCV's bilinear equals isp's on every pattern, so its codes are mapped right."""
    t = np.ascontiguousarray(data.astronaut()[100:180, 150:250], np.float64) / 255
    m = cfa.mosaic(t.astype(np.float32), pattern)
    run = dq.contenders(["bilinear"])
    ours = dq.cpsnr(run["isp bilinear"](m, pattern), t)
    assert abs(dq.cpsnr(run["OpenCV bilinear (16-bit)"](m, pattern), t) - ours) < 0.05


def test_bad_sets_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        dq.main(["--set", f"empty={tmp_path}"])
    assert e.value.code == 2 and "set empty: no images found" in capsys.readouterr().err
    io.imsave(tmp_path / "grey.png", data.camera()[:64, :64], check_contrast=False)
    with pytest.raises(SystemExit) as e:
        dq.main(["--set", f"g={tmp_path}", "--only", "bilinear"])
    assert e.value.code == 2 and "grey.png: not an RGB image" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        dq.main(["--set", "nofolder", "--only", "bilinear"])
    assert e.value.code == 2 and "expected NAME=FOLDER" in capsys.readouterr().err
