"""The XGBoost callback: reports an evaluation metric after each boosting round, stops by returning True."""

from __future__ import annotations

from typing import Any

import xgboost as xgb
from hpcore_adapters import LinkedCallback, TrialLink

__all__ = ["TuningCallback", "flatten_evals_log"]


def flatten_evals_log(evals_log: dict[str, dict[str, list[Any]]]) -> dict[str, float]:
    """The last round's scores as ``{"<data>-<metric>": value}``.

    ``<data>`` is the name given in ``evals=[(dvalid, "validation")]`` (native API), ``validation_0``,
    ``validation_1`` ... for the sklearn API's ``eval_set``, or ``train``/``test`` under ``xgb.cv``,
    where each score is a ``(mean, std)`` pair over the folds: the mean is reported under the name
    and the standard deviation under ``<name>-std``.

    Example:
        >>> flatten_evals_log({"test": {"auc": [(0.7, 0.02), (0.8, 0.01)]}, "train": {"auc": [0.9]}})
        {'test-auc': 0.8, 'test-auc-std': 0.01, 'train-auc': 0.9}
    """
    out: dict[str, float] = {}
    for data, metrics in evals_log.items():
        for metric, scores in metrics.items():
            if not scores:
                continue
            key, last = f"{data}-{metric}", scores[-1]
            if isinstance(last, (tuple, list)):
                out[key], out[f"{key}-std"] = float(last[0]), float(last[1])
            else:
                out[key] = float(last)
    return out


class TuningCallback(LinkedCallback, xgb.callback.TrainingCallback):
    """Reports ``monitor`` to the running hpcore trial after each boosting round; stops when told.

    Works with ``xgb.train``, the sklearn estimators (pass it to the constructor:
    ``XGBClassifier(callbacks=[cb])``, xgboost >= 2.1 no longer takes callbacks in ``fit``) and
    ``xgb.cv`` (the mean over folds). ``before_training`` resets it and its steps continue from the
    trial's last step, so an estimator or callback reused across fits, folds or refits never reports
    a step twice. Every flattened score of the round is reported.

    Args:
        monitor: ``"<data>-<metric>"``, for example ``validation-auc``, ``validation_0-logloss``
            (sklearn ``eval_set``) or ``test-auc`` (``xgb.cv``).
        report_as: Also report the monitored value under this name (the job's ``objective``).
        interval: Report every ``interval`` rounds (and the last one), for rounds so fast that a report
            per round would cost more than 1% of the training time.

    Attributes:
        stop_reason: Why the last training was stopped, or None.

    Example:
        >>> import numpy as np, xgboost as xgb
        >>> from hpcore_xgboost import TuningCallback
        >>> d = xgb.DMatrix(np.random.rand(32, 3), label=np.random.rand(32))
        >>> cb = TuningCallback(monitor="train-rmse")
        >>> import warnings; warnings.simplefilter("ignore")  # outside a job it only warns
        >>> _ = xgb.train({"nthread": 1}, d, num_boost_round=3, evals=[(d, "train")], callbacks=[cb],
        ...               verbose_eval=False)
        >>> cb.last_step
        3
    """

    def __init__(self, monitor: str = "validation-logloss", report_as: str | None = None, interval: int = 1) -> None:
        super().__init__()
        if int(interval) < 1:
            raise ValueError(f"interval={interval}: report every 1 or more rounds")
        self._link = TrialLink(monitor, "XGBoost", report_as=report_as)
        self.interval = int(interval)
        self._rounds = 0
        self._unreported: dict[str, float] | None = None


    def before_training(self, model: Any) -> Any:
        self._link.begin()
        self._rounds, self._unreported = 0, None
        return model

    def after_training(self, model: Any) -> Any:
        if self._unreported is not None:  # the last round fell between two intervals
            self._link.report(self._unreported)
            self._unreported = None
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, dict[str, list[Any]]]) -> bool:
        if not evals_log:
            raise ValueError("hpcore XGBoost TuningCallback: no evaluation results; pass evals=[(dvalid, "
                             "'validation')] to xgb.train or eval_set=[(X_valid, y_valid)] to fit()")
        metrics = flatten_evals_log(evals_log)
        self._rounds += 1
        if self._rounds % self.interval:
            self._link.value(metrics)  # a wrong monitor fails at the first round, not at the first report
            self._unreported = metrics
            return False
        self._unreported = None
        stop = self._link.report(metrics)
        if stop and not isinstance(model, xgb.Booster) and model.attr("best_iteration") is None:
            # xgb.cv trims its history to ``best_iteration`` when a callback stops it, and fails when no
            # early-stopping callback set one: keep every round done so far.
            model.set_attr(best_iteration=str(epoch))
        return stop
