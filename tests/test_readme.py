"""The README's config and review script run as printed (on small synthetic frames)."""
import re
from pathlib import Path

import numpy as np

import isp
from isp.cli.demo import write_look
from isp.io.dng import write_frame
from isp.synth import SensorModel, default_chart, render

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _block(heading: str, language: str) -> str:
    return re.search(rf"### {heading}\n\n```{language}\n(.*?)```", README, re.S).group(1)


def test_review_script_with_the_readme_config(tmp_path, monkeypatch):
    lut, cdl = write_look(tmp_path)
    lut.rename(tmp_path / "show.cube")
    (tmp_path / "show.toml").write_text(_block("A config a colourist can hand over", "toml"))
    for n in range(1, 27):
        write_frame(tmp_path / f"A001_C002.{n:04d}.dng", render(default_chart(48, 64), SensorModel(seed=n), frame_number=n))
    isp.write(tmp_path / "plate.exr", np.full((8, 8, 3), 0.18, np.float32))
    monkeypatch.chdir(tmp_path)
    exec(compile(_block("In a review script", "python"), "README.md", "exec"), {})
    review = tmp_path / "review"
    assert len(list(review.glob("A001_C002.*.jpg"))) == 26
    assert (review / "A001_C002.0001.exr").exists()
    sheet = isp.read_image(review / "contact_sheet.jpg")
    assert sheet.shape == (6, 16, 3)  # frames 1 and 25, each 48x64 at 1/8
