"""The estimators of saved autopilot models pass scikit-learn's own estimator checks, and a saved model
is a plain scikit-learn pipeline: loaded by joblib alone, it predicts new rows without the autopilot."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("torch")
pytest.importorskip("xgboost")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from hpcore.estimators import TorchMLPClassifier, TorchMLPRegressor, XGBLabelClassifier  # noqa: E402

# xgboost's own XGBClassifier sets ``objective`` to multi:softprob in fit when y has several classes;
# XGBLabelClassifier inherits that (test_xgboost_itself_fails_the_same_checks shows it is xgboost's).
XGB_OWN = {"check_estimators_overwrite_params": "xgboost sets objective=multi:softprob in fit",
           "check_dont_overwrite_parameters": "xgboost sets objective=multi:softprob in fit"}


def _expected(estimator):
    return XGB_OWN if isinstance(estimator, XGBLabelClassifier) else {}


@parametrize_with_checks([TorchMLPClassifier(), TorchMLPRegressor(), XGBLabelClassifier(n_estimators=20, n_jobs=1)],
                         expected_failed_checks=_expected)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_xgboost_itself_fails_the_same_checks():
    from sklearn.utils.estimator_checks import check_estimator
    from xgboost import XGBClassifier

    results = check_estimator(XGBClassifier(n_estimators=20, n_jobs=1), on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert set(XGB_OWN) <= failed


def test_networks_learn_and_report_each_epoch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4))
    y = np.where(x[:, 0] - x[:, 1] > 0, "fraud", "ok")
    seen: list[float] = []

    def on_epoch(epoch, predict_proba):
        seen.append(float(np.mean(predict_proba(x).argmax(1) == (y == "ok"))))
        return epoch == 6  # the callback ends training

    clf = TorchMLPClassifier(layers=1, hidden_units=16, learning_rate=0.02, epochs=40).fit(x, y, on_epoch=on_epoch)
    assert clf.n_epochs_ == 6 and len(seen) == 6 and seen[-1] > 0.9
    # Prediction is numpy only: the same as torch's forward pass, after fitting.
    assert clf.predict_proba(x).shape == (400, 2) and set(clf.predict(x)) <= {"fraud", "ok"}


SCRIPT = """
import json, sys
import joblib, pandas as pd
from sklearn.base import is_classifier
model = joblib.load(sys.argv[1])
rows = pd.read_csv(sys.argv[2])
out = {"pred": [str(p) for p in model.predict(rows)], "proba": model.predict_proba(rows).tolist(),
       "classes": [str(c) for c in model.classes_], "classifier": is_classifier(model),
       "type": type(model).__module__ + "." + type(model).__name__,
       "autopilot_loaded": any(m.startswith("hpcore.autopilot") for m in sys.modules),
       "torch_loaded": "torch" in sys.modules}
print(json.dumps(out))
"""


def _table(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"id": np.arange(n), "amount": rng.lognormal(3, 1, n), "x": rng.normal(size=n),
                       "channel": rng.choice(["web", "shop", "phone"], n)})
    df["label"] = np.where(df["x"] + (df["channel"] == "web") + rng.normal(scale=0.5, size=n) > 0.8, "fraud", "ok")
    return df


def _saved_by_run(df: pd.DataFrame, folder) -> tuple[str, object]:
    from hpcore.autopilot import run

    result = run(df, "label", max_runtime=10, max_candidates=1, output=str(folder), notebooks=False, log=None)
    return result.files["model"], result.model


def _saved_candidate(algorithm: str, df: pd.DataFrame, folder) -> tuple[str, object]:
    """One candidate's pipeline at its default configuration, fitted and saved as the autopilot saves its winner."""
    from hpcore import plugins
    from hpcore.autopilot.data import analyse, features_frame
    from hpcore.autopilot.model import ModelCard, save_model
    from hpcore.autopilot.search import Candidate, CandidateTrainer

    a = analyse(df, "label")
    x = features_frame(df, a).reset_index(drop=True)
    tab = plugins.lookup("algorithms", algorithm).tabular
    trainer = CandidateTrainer(Candidate(algorithm, tab, "onehot", True), a, x, a.encode_target(df["label"]),
                               [], "auc")
    model = trainer.fit_fold(tab.space("binary").defaults(), np.arange(len(df)), y=df["label"].to_numpy())
    folder.mkdir()
    path, _ = save_model(model, ModelCard("label", "binary", list(model.classes_), a.id_columns, a.numeric,
                                          a.categorical), str(folder / "model.joblib"))
    return path, model


@pytest.mark.parametrize("candidate", ["autopilot run (xgboost)", "linear-learner", "mlp", "svm"])
def test_saved_model_is_a_scikit_learn_pipeline_loaded_without_the_autopilot(candidate, tmp_path):
    df = _table()
    if candidate.startswith("autopilot"):
        path, model = _saved_by_run(df, tmp_path / "out")
    else:
        path, model = _saved_candidate(candidate, df, tmp_path / "out")
    new = df.drop(columns=["label"]).sample(40, random_state=0)
    new.to_csv(tmp_path / "new.csv", index=False)
    done = subprocess.run([sys.executable, "-c", SCRIPT, path, str(tmp_path / "new.csv")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["type"] == "sklearn.pipeline.Pipeline" and got["classifier"]
    assert got["classes"] == ["fraud", "ok"] and set(got["pred"]) <= {"fraud", "ok"}
    assert not got["autopilot_loaded"] and not got["torch_loaded"]
    assert np.allclose(got["proba"], model.predict_proba(new))
    truth = df.loc[new.index, "label"].tolist()
    assert np.mean(np.array(got["pred"]) == np.array(truth)) > 0.75
