"""hpcore in a fresh Jupyter kernel: plots show as a cell's value, the progress bar does not warn."""

from __future__ import annotations

import base64

import pytest

CELLS = [
    "import hpcore, hpcore.plot\n"
    "def train(p, r):\n"
    "    for step in range(1, 4):\n"
    "        r.report(step, loss=(p['x'] - 1) ** 2 + 1 / step)\n"
    "    return {'loss': (p['x'] - 1) ** 2}\n"
    "space = hpcore.SearchSpace({'x': hpcore.Float(-2.0, 2.0), 'k': hpcore.Int(1, 5)})\n"
    "result = hpcore.TuningJob(train, space, objective='loss', strategy='random', max_trials=8, seed=0).run()",
    "hpcore.plot.history(result)",
    "hpcore.plot.slices(result)",
    "hpcore.plot.intermediate(result)",
    "hpcore.plot.parallel_coordinates(result)",
]


@pytest.mark.slow
def test_plots_display_as_images_and_the_progress_bar_does_not_warn():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("matplotlib")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]  # no %matplotlib line, no pyplot import
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3").execute()
    first = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in first)
    assert "8/8" in text and "Warning" not in text and "IProgress" not in text, text
    assert not [o for o in first if o.output_type == "error"]
    for cell in nb.cells[1:]:
        values = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert len(values) == 1 and not [o for o in cell.outputs if o.output_type in ("stream", "error")], cell
        png = base64.b64decode(values[0].data["image/png"])
        assert png.startswith(b"\x89PNG") and len(png) > 5000  # a drawn figure, not an empty canvas
