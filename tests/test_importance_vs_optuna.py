"""hpcore's importance next to Optuna's fANOVA and PED-ANOVA on the same trials, against known shares."""

from __future__ import annotations

import os
import sys
import warnings

import pytest

pytest.importorskip("matplotlib")
optuna = pytest.importorskip("optuna")
pytest.importorskip("sklearn")  # Optuna's fANOVA fits scikit-learn's forest

import hpcore  # noqa: E402
from hpcore.plot import importance_values  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from bench_importance import DISTRIBUTIONS, FUNCTIONS, SPACE  # noqa: E402

# First-order variance shares of f over the unit-cube encoding (analytic): a 0.81, b 0.05, c 0.14, d 0.
TRUTH = {"a": 0.8076, "b": 0.0505, "c": 0.1420, "d": 0.0}


f = FUNCTIONS["bowls"]  # 4 (a - 0.5)^2 + (b - 0.5)^2 + 0.25 [c = y]


@pytest.mark.parametrize("seed", [0, 1])
def test_hpcore_and_optuna_fanova_agree_and_ped_anova_answers_another_question(seed):
    result = hpcore.TuningJob(f, SPACE, objective="loss", strategy="random", max_trials=60, seed=seed,
                              progress=False).run()
    result.space = SPACE
    ours = importance_values(result)
    study = optuna.create_study()
    for t in result.trials:
        study.add_trial(optuna.trial.create_trial(params=t.params, distributions=DISTRIBUTIONS, value=t.value))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fanova = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed))
        ped = optuna.importance.get_param_importances(study, evaluator=optuna.importance.PedAnovaImportanceEvaluator())
    # The same decomposition on two forests: close to each other, and to the truth.
    assert max(abs(ours[n] - fanova[n]) for n in SPACE) < 0.08
    assert sum(abs(ours[n] - TRUTH[n]) for n in SPACE) / 4 < 0.1
    assert max(ours, key=ours.get) == max(fanova, key=fanova.get) == "a" and ours["d"] < 0.03
    # PED-ANOVA measures how the best 10 % of trials are spread, not a share of variance: 'b' too
    # must be near its centre for a trial to be among the best, so it counts far more there.
    assert ped["b"] > 3 * ours["b"]
