"""The quality bench rewrites its table and keeps the notes written below it."""
from bench.demosaic_quality import update_results


def test_update_results_keeps_the_notes(tmp_path):
    path = tmp_path / "RESULTS.md"
    update_results(path, "| a | 1 |")
    assert "| a | 1 |" in path.read_text()
    path.write_text(path.read_text() + "\n## Speed\n\nnotes\n")
    update_results(path, "| a | 2 |")
    text = path.read_text()
    assert "| a | 2 |" in text and "| a | 1 |" not in text
    assert text.endswith("## Speed\n\nnotes\n")
