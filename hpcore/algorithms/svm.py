"""The ``svm`` algorithm: an RBF support-vector classifier (scikit-learn) on the fraud data.

scikit-learn is imported when a trial runs, never by ``import hpcore``. A kernel machine's fit
grows faster than its rows, so the generated data has 10,000 rows by default (about 50 frauds);
the autopilot offers the same model (:func:`~hpcore.algorithms.tabular.svm_estimator`) on
classification tables of up to 10,000 rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hpcore.algorithms.linear_learner import FraudTask
from hpcore.algorithms.tabular import svc
from hpcore.datasets.fraud import auc

__all__ = ["SVMTrainer"]


@dataclass
class SVMTrainer(FraudTask):
    """A picklable training function for the support-vector classifier; reports ``validation_auc`` once.

    Args:
        rows: Rows of the generated dataset (default 10,000).
        seed: Seeds the data and libsvm.
        data: A CSV file of the user's own data, instead of the generated one.
        target: The 0/1 label column of ``data``.

    Example:
        >>> from hpcore.reporter import Reporter
        >>> train = SVMTrainer(rows=3000)
        >>> 0.5 < train({"C": 1.0, "gamma": 0.02}, Reporter(0, {}))["validation_auc"] <= 1.0
        True
    """

    rows: int = 10_000

    def __call__(self, params: dict[str, Any], reporter: Any = None) -> dict[str, float]:
        try:
            model = svc(params, self.seed)
        except ImportError:
            raise ImportError("the svm algorithm needs scikit-learn: pip install 'hpcore[autopilot]'") from None
        d = self.dataset()
        model.fit(d.x_train, d.y_train)
        value = auc(d.y_val, model.decision_function(d.x_val))
        if reporter is not None:
            reporter.report(1, validation_auc=value)
        return {"validation_auc": value}
