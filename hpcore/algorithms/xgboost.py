"""The ``xgboost`` algorithm: gradient-boosted trees with SageMaker's recommended ranges.

xgboost is imported when a trial runs, never by ``import hpcore``; without it the trial fails with
the command that installs it. Validation AUC is reported every ``report_every`` rounds through an
xgboost callback, so early stopping works as for the linear learner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hpcore.algorithms.linear_learner import FraudTask
from hpcore.datasets.fraud import auc
from hpcore.space import Float, Int, SearchSpace

__all__ = ["XGBoostTrainer", "xgboost_space"]


def xgboost_space() -> SearchSpace:
    """The five parameters SageMaker names as most impactful, in its recommended ranges.

    ``num_round`` is capped at 300 (SageMaker allows 4000) to keep a local trial short.
    """
    return SearchSpace({
        "eta": Float(0.1, 0.5, scale="log", category="optimizer", default=0.3),
        "alpha": Float(1e-3, 1000.0, scale="log", default=1e-3),
        "min_child_weight": Float(1.0, 120.0, scale="log", default=1.0),
        "subsample": Float(0.5, 1.0, category="data", default=1.0),
        "max_depth": Int(1, 10, default=6),
        "num_round": Int(10, 300, scale="log", category="optimizer", default=100),
    })


def _import_xgboost() -> Any:
    try:
        import xgboost
    except ImportError:
        raise ImportError("the xgboost algorithm needs xgboost: pip install 'hpcore[xgboost]'") from None
    return xgboost


@dataclass
class XGBoostTrainer(FraudTask):
    """A picklable training function for xgboost on the fraud data (generated or ``data`` CSV).

    Args:
        rows: Rows of the generated dataset.
        seed: Seeds the data, its split and xgboost.
        data: A CSV file of the user's own data, instead of the generated one.
        target: The 0/1 label column of ``data``.
        report_every: Boosting rounds between two reports.

    Example:
        >>> from hpcore.reporter import Reporter
        >>> train = XGBoostTrainer(rows=2000)
        >>> params = dict(xgboost_space().defaults(), num_round=5)
        >>> 0.5 < train(params, Reporter(0, {}))["validation_auc"] <= 1.0  # doctest: +SKIP
        True
    """

    report_every: int = 10

    def __call__(self, params: dict[str, Any], reporter: Any = None) -> dict[str, float]:
        xgb = _import_xgboost()
        d = self.dataset()
        dtrain = xgb.DMatrix(d.x_train, label=d.y_train)
        dval = xgb.DMatrix(d.x_val, label=d.y_val)
        booster_params = {
            "objective": "binary:logistic", "eval_metric": "auc", "seed": self.seed,
            "nthread": int(getattr(reporter, "threads", None) or 1), "tree_method": "hist",
            "eta": float(params["eta"]), "alpha": float(params["alpha"]),
            "min_child_weight": float(params["min_child_weight"]), "subsample": float(params["subsample"]),
            "max_depth": int(params["max_depth"]),
        }
        every = max(1, self.report_every)
        last = {"value": 0.5}

        class _Report(xgb.callback.TrainingCallback):
            def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
                if (epoch + 1) % every:
                    return False
                last["value"] = auc(d.y_val, model.predict(dval))
                # Returning True is xgboost's own way to stop training.
                return bool(reporter is not None and reporter.report(epoch + 1, validation_auc=last["value"]))

        booster = xgb.train(booster_params, dtrain, num_boost_round=int(params["num_round"]),
                            callbacks=[_Report()], verbose_eval=False)
        return {"validation_auc": auc(d.y_val, booster.predict(dval))}
