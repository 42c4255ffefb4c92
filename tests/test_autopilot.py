"""Autopilot end to end: one small generated table per problem type, tiny budgets, real outputs."""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from hpcore.autopilot import load_card, run
from hpcore.cli import main


def make_table(problem: str, rows: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "id": np.arange(rows),
        "x1": rng.normal(size=rows),
        "x2": rng.exponential(size=rows) ** 2,  # skewed
        "color": rng.choice(["red", "green", "blue"], rows),
        "constant": 1.0,
    })
    signal = df["x1"] * 2 + (df["color"] == "red") * 1.5 + np.log1p(df["x2"])
    df.loc[rng.random(rows) < 0.1, "x2"] = np.nan
    if problem == "binary":
        df["y"] = np.where(signal + rng.normal(scale=0.5, size=rows) > signal.median(), "yes", "no")
    elif problem == "multiclass":
        df["y"] = pd.cut(signal, 3, labels=["low", "mid", "high"]).astype(str)
    else:
        df["y"] = signal * 10 + rng.normal(scale=1.0, size=rows)
    return df


@pytest.mark.parametrize("problem,good", [("multiclass", 0.6), ("regression", None)])
def test_end_to_end_api(problem, good, tmp_path):
    df = make_table(problem)
    lines: list[str] = []
    result = run(df, "y", max_runtime=8, output=str(tmp_path / "out"), notebooks=False, log=lines.append)
    text = "\n".join(lines)
    assert f"problem type: {problem} (inferred" in text
    assert "'id' identifier-like" in text and "'constant' constant" in text
    assert result.analysis.problem_type == problem
    top = result.leaderboard[0]
    assert top["rank"] == 1 and top["trials"] >= 1
    pred = result.model.predict(df)
    if problem == "regression":
        assert result.metric == "mse"
        assert top["score"] < 0.5 * df["y"].var()  # far better than predicting the mean
        assert np.mean((pred - df["y"]) ** 2) < 0.5 * df["y"].var()
    else:
        assert result.metric == "accuracy" and top["score"] > good
        assert set(pred) <= {"low", "mid", "high"}
        assert np.mean(pred == df["y"].to_numpy()) > good
    files = os.listdir(tmp_path / "out")
    assert {"model.joblib", "model.json", "leaderboard.csv", "leaderboard.html"} <= set(files)
    with open(tmp_path / "out" / "leaderboard.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["candidate"] for r in rows] == [r["candidate"] for r in result.leaderboard]
    assert float(rows[0]["score"]) == pytest.approx(top["score"])


def test_cli_binary_with_notebooks_and_predict(tmp_path, capsys):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    df = make_table("binary")
    data = tmp_path / "train.csv"
    df.to_csv(data, index=False)
    out = tmp_path / "run"
    code = main(["autopilot", str(data), "--target", "y", "--max-runtime", "10", "-o", str(out),
                 "--objective", "f1"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "problem type: binary (inferred: the target has 2 distinct values)" in printed
    assert "objective: f1 (maximize), validated by 5-fold cross-validation" in printed
    assert "leaderboard:" in printed and "best parameters:" in printed
    html = (out / "leaderboard.html").read_text()
    assert "<table id=\"leaderboard\">" in html and "class='best'" in html and "identifier-like" in html
    assert "--accent" in html and "±" in html  # the report's style; standard errors shown
    if importlib.util.find_spec("matplotlib"):  # the winner's trials as an `hpcore report` page, linked
        assert "href='best_candidate_report.html'" in html
        assert (out / "best_candidate_report.html").read_text().startswith("<!DOCTYPE html>")

    # hpcore predict: the saved pipeline (with its preprocessing) on new rows, keeping the ID column.
    new = make_table("binary", rows=60, seed=5).drop(columns=["y"])
    new["id"] += 1000
    new_path = tmp_path / "new.csv"
    new.to_csv(new_path, index=False)
    model_path = str(out / "model.joblib")
    assert main(["predict", model_path, str(new_path), "-o", str(tmp_path / "pred.csv")]) == 0
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert list(pred.columns) == ["id", "predicted_y", "proba_no", "proba_yes"]
    assert pred["id"].tolist() == new["id"].tolist()
    assert len(pred) == 60 and set(pred["predicted_y"]) <= {"yes", "no"}
    assert np.allclose(pred["proba_no"] + pred["proba_yes"], 1.0)
    capsys.readouterr()
    assert main(["predict", model_path, str(new_path)]) == 0
    assert capsys.readouterr().out.startswith("id,predicted_y,proba_no,proba_yes")
    # Missing columns: one line naming them.
    new.drop(columns=["x1"]).to_csv(new_path, index=False)
    assert main(["predict", model_path, str(new_path)]) == 2
    assert "lacks the column(s) the model needs: x1" in capsys.readouterr().err

    # Both notebooks arrive executed, with their outputs; the second reproduces the winner's score and
    # predictions with plain scikit-learn code, and they run again top to bottom from a moved folder.
    moved = tmp_path / "moved" / "run"
    moved.parent.mkdir()
    shutil.copytree(out, moved)
    shutil.copy(data, tmp_path / "moved" / "train.csv")
    for name in ("data_exploration.ipynb", "candidate_definition.ipynb"):
        written = nbformat.read(out / name, as_version=4)
        assert all(c.execution_count for c in written.cells if c.cell_type == "code")
        nb = nbformat.read(moved / name, as_version=4)
        assert "DATA = '../train.csv'" in nb.cells[1].source
        nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                resources={"metadata": {"path": str(moved)}}).execute()
        for ran in (written, nb):
            text = "".join(o.get("text", "") for c in ran.cells if c.cell_type == "code" for o in c.outputs)
            assert "Error" not in text
            if name.startswith("candidate"):
                assert "predictions equal the saved model: True" in text
                assert "hpcore.autopilot" not in "".join(c.source for c in ran.cells)
            else:
                assert "'id' identifier-like" in text
    card = load_card(model_path)
    assert card.metric == "f1" and card.problem_type == "binary" and card.classes == ["no", "yes"]
    assert card.id_columns == ["id"]


def test_executor_options_reach_the_tuning_jobs():
    df = make_table("binary", seed=2)
    result = run(df, "y", max_runtime=8, max_parallel=2, executor="process", output=None, log=None)
    top = result.leaderboard[0]
    assert top["trials"] > 1 and top["all_folds"]
    assert result.model.predict_proba(df).shape == (len(df), 2)
