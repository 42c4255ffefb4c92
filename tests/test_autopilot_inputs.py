"""Autopilot: the data analysis, bad input (one clear line each), preprocessing without leakage, metrics."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from hpcore import plugins
from hpcore.autopilot import AutopilotError, run
from hpcore.autopilot.data import analyse, features_frame
from hpcore.autopilot.metrics import score
from hpcore.autopilot.preprocess import make_preprocessor
from hpcore.autopilot.search import Candidate, CandidateTrainer, make_splits
from hpcore.cli import main


def table(rows=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    df = pd.DataFrame({"x": x, "z": rng.exponential(size=rows) ** 3, "c": rng.choice(["u", "v", "w"], rows)})
    df["y"] = (x + rng.normal(scale=0.5, size=rows) > 0).astype(int)
    return df


def cli_error(capsys, *args):
    """Runs the CLI; returns its stderr, checking it failed with one line and no traceback."""
    code = main(list(args))
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_analysis_drops_id_constant_missing_and_leaking_columns():
    df = table()
    df["row_id"] = np.arange(len(df))
    df["const"] = 7
    df["empty"] = np.nan
    df["leak"] = df["y"] * 10 + 1  # the target in disguise
    df["name"] = [f"customer {i}" for i in range(len(df))]
    df.loc[::10, "x"] = np.nan
    a = analyse(df, "y")
    assert a.problem_type == "binary" and "inferred" in a.problem_reason
    assert set(a.dropped) == {"row_id", "const", "empty", "leak", "name"}
    assert "leakage" in a.dropped["leak"] and "identifier" in a.dropped["row_id"]
    assert a.numeric == ["x", "z"] and a.categorical == ["c"]
    assert a.skewed == ["z"] and a.missing == {"x": pytest.approx(0.1)}
    text = a.text()
    assert "'empty' entirely missing: dropped" in text and "class balance" in text


def test_problem_type_inference_and_high_cardinality():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(size=200), "city": [f"c{i % 60}" for i in range(200)]})
    df["y"] = rng.normal(size=200)
    assert analyse(df, "y").problem_type == "regression"
    df["y"] = rng.integers(0, 4, 200)
    a = analyse(df, "y")
    assert a.problem_type == "multiclass" and a.classes == ["0", "1", "2", "3"]
    assert a.high_cardinality == ["city"]
    df["y"] = rng.choice(["red", "green", "blue"], 200)
    assert analyse(df, "y").problem_type == "multiclass"


def test_empty_file(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert "is empty" in cli_error(capsys, "autopilot", str(path), "--target", "y")
    path.write_text("a,b,y\n")
    assert "no data rows" in cli_error(capsys, "autopilot", str(path), "--target", "y")


def test_missing_target_lists_the_columns(tmp_path, capsys):
    path = tmp_path / "d.csv"
    table().to_csv(path, index=False)
    err = cli_error(capsys, "autopilot", str(path), "--target", "label")
    assert "no target column 'label'" in err and "x, z, c, y" in err


def test_target_with_one_class(tmp_path, capsys):
    df = table()
    df["y"] = 1
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    assert "single value" in cli_error(capsys, "autopilot", str(path), "--target", "y")


def test_all_missing_columns(tmp_path, capsys):
    df = table()[["y"]].assign(a=np.nan, b=np.nan)
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    err = cli_error(capsys, "autopilot", str(path), "--target", "y")
    assert "no usable feature column" in err and "a (entirely missing)" in err


def test_mixed_types_in_a_column(tmp_path, capsys):
    df = table()
    df["x"] = df["x"].round(3).astype(object)
    df.loc[5, "x"] = "oops"
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    err = cli_error(capsys, "autopilot", str(path), "--target", "y")
    assert "column 'x' mixes numbers and text" in err and "'oops' at row 5" in err
    # The hint works: the value becomes missing and the analysis goes through.
    a = analyse(pd.read_csv(path, na_values=["oops"]), "y")
    assert "x" in a.numeric and a.missing["x"] > 0


def test_too_small_to_split(tmp_path, capsys):
    path = tmp_path / "d.csv"
    table(rows=12).to_csv(path, index=False)
    assert "needs at least 20" in cli_error(capsys, "autopilot", str(path), "--target", "y")


def test_class_with_one_row():
    df = table()
    df.loc[0, "y"] = 2
    with pytest.raises(AutopilotError, match="class '2' .* single row"):
        analyse(df, "y")


def test_budget_too_small(tmp_path, capsys):
    path = tmp_path / "d.csv"
    table().to_csv(path, index=False)
    err = cli_error(capsys, "autopilot", str(path), "--target", "y", "--max-runtime", "1")
    assert "too small for one candidate" in err and "at least 5 seconds" in err


def test_objective_must_fit_the_problem():
    with pytest.raises(AutopilotError, match="does not apply to a binary problem"):
        run(table(), "y", objective="mse", max_runtime=10, output=None, log=None)


def test_parquet_without_pyarrow(tmp_path, capsys, monkeypatch):
    path = tmp_path / "d.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` fail
    assert "needs pyarrow" in cli_error(capsys, "autopilot", str(path), "--target", "y")


def test_predict_bad_model_file(tmp_path, capsys):
    bad = tmp_path / "model.joblib"
    bad.write_bytes(b"not a pickle")
    data = tmp_path / "d.csv"
    table().to_csv(data, index=False)
    assert "is not a saved model" in cli_error(capsys, "predict", str(bad), str(data))
    assert "no such model file" in cli_error(capsys, "predict", str(tmp_path / "none.joblib"), str(data))


def test_preprocessor_statistics_come_from_the_rows_it_is_fitted_on():
    df = table(200)
    df.loc[::7, "x"] = np.nan
    df.loc[::11, "c"] = np.nan
    train = df.iloc[:150]
    pre = make_preprocessor(["x", "z"], ["c"], power=["z"]).fit(train)
    numeric = pre.named_transformers_["numeric"]
    assert numeric["impute"].statistics_[0] == pytest.approx(train["x"].median())
    filled = train["x"].fillna(train["x"].median())
    assert numeric["scale"].mean_[0] == pytest.approx(filled.mean())
    assert numeric["scale"].scale_[0] == pytest.approx(filled.std(ddof=0))
    assert pre.named_transformers_["skewed"]["power"].lambdas_.shape == (1,)  # Yeo-Johnson on z only
    out = pre.transform(train)
    assert out[:, 0].mean() == pytest.approx(0.0, abs=1e-6)
    # Unseen categories get no one-hot column set, missing ones their own; ordinal codes turn both into NaN.
    odd = df.iloc[:2].assign(c=["never seen", np.nan])
    names = list(pre.get_feature_names_out())
    onehot = [i for i, n in enumerate(names) if n.startswith("categorical__")]
    assert pre.transform(odd)[:, onehot].sum(axis=1).tolist() == [0.0, 1.0]
    assert pre.transform(odd)[1, names.index("categorical__c_<missing>")] == 1.0
    codes = make_preprocessor([], ["c"], encoding="ordinal", scale=False).fit(train).transform(odd)
    assert np.isnan(codes).all()


def test_no_leakage_between_folds(monkeypatch):
    """Every preprocessor of a cross-validated trial is fitted on its fold's training rows only."""
    from sklearn.compose import ColumnTransformer

    df = table(150)
    a = analyse(df, "y")
    x = features_frame(df, a).reset_index(drop=True)
    y = a.encode_target(df["y"])
    splits = make_splits(y, "binary", seed=0)
    model = plugins.lookup("algorithms", "linear-learner").tabular
    trainer = CandidateTrainer(Candidate("linear-learner", model, "onehot", False), a, x, y, splits, "auc")

    # The fitted scaler's mean is the training fold's mean, not the full data's.
    train, val = splits[0]
    pipe = trainer.fit_fold({**model.space("binary").defaults(), "epochs": 1}, train)
    scaler = pipe.named_steps["preprocess"].named_transformers_["numeric"]["scale"]
    assert scaler.mean_[0] == pytest.approx(x["x"].iloc[train].mean())
    assert scaler.mean_[0] != pytest.approx(x["x"].mean())

    seen: list[set[int]] = []
    original = ColumnTransformer.fit_transform

    def spy(self, frame, y=None, **params):
        seen.append(set(frame.index))
        return original(self, frame, y, **params)

    monkeypatch.setattr(ColumnTransformer, "fit_transform", spy)
    trainer({**model.space("binary").defaults(), "epochs": 2})
    assert len(seen) == len(splits) == 5
    for rows, (train, val) in zip(seen, splits):
        assert rows == set(train.tolist()) and not rows & set(val.tolist())


def test_splits_cv_below_the_line_holdout_above():
    y = np.array([0, 1] * 6000)
    assert len(make_splits(y[:10_000], "binary")) == 5
    (train, val), = make_splits(y, "binary")
    assert len(val) == 2400 and y[val].mean() == pytest.approx(0.5)
    rare = np.r_[np.ones(100), np.zeros(19_900)]  # 20 rare rows in a holdout: too few, cross-validate
    assert len(make_splits(rare, "binary")) == 5


def test_metrics_match_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 100)
    proba = rng.dirichlet([1, 1, 1], 100)
    assert score("accuracy", y, proba) == pytest.approx(metrics.accuracy_score(y, proba.argmax(1)))
    assert score("f1", y, proba) == pytest.approx(metrics.f1_score(y, proba.argmax(1), average="macro"))
    assert score("logloss", y, proba) == pytest.approx(metrics.log_loss(y, proba))
    assert score("auc", y, proba) == pytest.approx(metrics.roc_auc_score(y, proba, multi_class="ovr"))
    yb = rng.integers(0, 2, 100)
    pb = rng.dirichlet([1, 1], 100)
    assert score("f1", yb, pb) == pytest.approx(metrics.f1_score(yb, pb.argmax(1)))
    t, p = rng.normal(size=50), rng.normal(size=50)
    assert score("r2", t, p) == pytest.approx(metrics.r2_score(t, p))
    assert score("mae", t, p) == pytest.approx(metrics.mean_absolute_error(t, p))


def test_leaderboard_flags_ties_within_one_standard_error(tmp_path):
    from hpcore.autopilot.leaderboard import leaderboard_rows, leaderboard_table, write_html
    from hpcore.autopilot.search import Standing
    from hpcore.results import TuningResult
    from hpcore.trial import TrialRecord, TrialState

    model = plugins.lookup("algorithms", "xgboost").tabular

    def standing(name: str, value: float, std: float) -> Standing:
        record = TrialRecord(0, {"eta": 0.123456}, TrialState.COMPLETED, value,
                             {"auc": value, "score_std": std, "folds": 5.0, "complete": 1.0})
        return Standing(Candidate(name, model, "ordinal", False), [TuningResult([record], "auc", "maximize")],
                        seconds=12.34)

    # best 0.90 with std 0.02 over 5 folds: standard error 0.0089; 0.895 is within it, 0.88 is not.
    rows = leaderboard_rows([standing("c", 0.88, 0.01), standing("a", 0.90, 0.02), standing("b", 0.895, 0.05)], "auc")
    assert [r["candidate"].split("/")[0] for r in rows] == ["a", "b", "c"]
    assert rows[0]["se"] == pytest.approx(0.02 / 5 ** 0.5)
    assert [r["tie"] for r in rows] == [False, True, False]
    text = leaderboard_table(rows, "auc", with_params=True)
    assert "±0.0089" in text and "tie" in text.splitlines()[2] and "12 s" in text and "eta=0.123" in text
    with open(write_html(rows, str(tmp_path / "l.html"), "auc", "t", ["note"])) as fh:
        page = fh.read()
    assert page.count("badge narrow") == 1 and "ties with the best</div><div class='v'>1" in page


def test_the_notebook_code_builds_each_candidates_pipeline():
    """The scikit-learn code the candidate notebook shows builds the very pipeline the autopilot fits."""
    from hpcore.autopilot.notebooks import pipeline_code
    from hpcore.autopilot.search import make_candidates

    df = table(200)
    df.loc[::9, "x"] = np.nan
    a = analyse(df, "y")
    candidates = make_candidates(a)
    assert {c.name for c in candidates} == {"xgboost/ordinal", "xgboost/onehot", "linear-learner/onehot",
                                            "linear-learner/onehot+power", "mlp/onehot", "mlp/onehot+power",
                                            "svm/onehot", "svm/onehot+power"}
    assert [c.name for c in candidates[:4]] == ["xgboost/ordinal", "svm/onehot+power",  # every model's first
                                                "linear-learner/onehot+power", "mlp/onehot+power"]  # variant first
    for c in candidates:
        params = c.model.space("binary").defaults()
        scope: dict = {"np": np}
        exec(pipeline_code(c, a, params, seed=3), scope)
        assert repr(scope["pipeline"].get_params()) == repr(c.pipeline(a, params, seed=3).get_params()), c.name
    regression = analyse(df.assign(y=np.arange(len(df), dtype=float)), "y")
    assert not any(c.algorithm == "svm" for c in make_candidates(regression))  # SVC classifies only
