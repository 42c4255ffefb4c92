"""The report's details: rank colours in parallel coordinates, whole-number ticks, the setup in the
title, and nothing clipped in a real browser."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from cdp import CHROMIUM, Browser  # noqa: E402

import hpcore  # noqa: E402
import hpcore.plot  # noqa: E402
from hpcore.report import write_report  # noqa: E402

OBJ = "validation_loss_of_the_model"  # a long name: the summary card must not clip it


def train(params, reporter):
    loss = None
    for step in range(1, 8):
        loss = (params["x"] - 0.3) ** 2 + 0.1 * params["layers"] + 1 / step
        reporter.report(step, **{OBJ: loss})
    if params["x"] > 0.97:  # a diverged trial: a far outlier
        loss = 1e6
    return {OBJ: loss}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("details") / "t.db")
    space = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0), "layers": hpcore.Int(1, 6),
                                "optimizer_name_that_is_long": hpcore.Categorical(["adam", "sgd"])})
    hpcore.TuningJob(train, space, objective=OBJ, strategy="random", max_trials=24,
                     seed=3, store=db, progress=False, early_stopping="median",
                     enqueue=[{"x": 0.99}]).run()
    return hpcore.plot.load(db)


def test_parallel_coordinates_colour_by_rank_despite_an_outlier(result):
    assert max(r.value for r in result.trials if r.value is not None) >= 1e6
    fig = hpcore.plot.parallel_coordinates(result)
    fig.canvas.draw()
    lines = next(c for c in fig.axes[0].collections if c.get_gid() == "trials")
    colours = lines.to_rgba(lines.get_array())
    n = len(lines.get_paths())
    assert len({tuple(np.round(c, 3)) for c in colours}) == n  # every line its own shade, not one colour
    bar = fig.axes[-1]
    labels = [t.get_text() for t in bar.get_yticklabels()]
    assert labels[-1] == f"{min(r.value for r in result.trials if r.state == 'completed'):.4g}"  # best at the top
    assert "by rank" in bar.get_ylabel()


def test_integer_axes_have_whole_number_ticks(result):
    fig = hpcore.plot.intermediate(result)
    fig.canvas.draw()
    ticks = fig.axes[0].get_xticks()
    assert len(ticks) >= 3 and all(float(t).is_integer() for t in ticks)
    fig = hpcore.plot.slices(result)
    fig.canvas.draw()
    layers = next(ax for ax in fig.axes if ax.get_xlabel().startswith("layers"))
    assert all(float(t).is_integer() for t in layers.get_xticks())


def test_the_title_names_the_job_strategy_stopper_seed_and_version(result, tmp_path):
    text = Path(write_report(result, str(tmp_path / "r.html"))).read_text(encoding="utf-8")
    assert (f"strategy random · early stopping median · seed 3 · hpcore {hpcore.__version__}</p>") in text
    assert "<h1>Tuning report: default</h1>" in text


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's chromium)")
def test_nothing_is_clipped_in_a_real_browser(result, tmp_path):
    path = write_report(result, str(tmp_path / "r.html"))
    browser = Browser(str(tmp_path / "profile"), size=(1000, 1600))
    try:
        browser.open("file://" + os.path.abspath(path))
        browser.wait_for("document.readyState === 'complete' && document.querySelectorAll('.card').length > 5")
        # An element whose content is wider than its box, outside the trial table's own scroll area.
        clipped = browser.js("""Array.from(document.querySelectorAll('.card, .card *, .kv td, .kv th, header *'))
            .filter(e => !e.closest('.scroll') && e.scrollWidth > e.clientWidth + 1)
            .map(e => e.className + ': ' + e.textContent.slice(0, 40))""")
        assert clipped == []
        # The trial table may be wider than the page: it scrolls, it is not cut.
        assert browser.js("getComputedStyle(document.querySelector('.scroll')).overflowX") == "auto"
    finally:
        browser.close()
