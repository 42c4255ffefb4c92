"""The ``mlp`` algorithm: the autopilot's multilayer perceptron tuned on the bundled fraud data.

The network is :class:`~hpcore.estimators.torch_mlp.TorchMLPClassifier`, trained with torch directly
rather than through the Lightning or Keras adapters: an autopilot trial fits it once per
cross-validation fold, and a Lightning ``Trainer`` costs about a second of set-up per fit, more than
the whole fit of a small table. torch is imported when a trial runs: ``import hpcore`` never loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hpcore.algorithms.linear_learner import FraudTask
from hpcore.algorithms.tabular import mlp_estimator, mlp_tabular_space
from hpcore.datasets.fraud import auc
from hpcore.space import SearchSpace

__all__ = ["MLPTrainer", "mlp_space"]


def mlp_space() -> SearchSpace:
    """The MLP's search space (the same as the autopilot's): model, optimizer and data parameters."""
    return mlp_tabular_space("binary")


@dataclass
class MLPTrainer(FraudTask):
    """A picklable training function for the MLP on the fraud data, reporting ``validation_auc`` per epoch.

    Args:
        rows: Rows of the generated dataset (ignored when ``data`` is given).
        seed: Seeds the data, its split and the network.
        data: A CSV file of the user's own data, instead of the generated one.
        target: The 0/1 label column of ``data``.

    Example:
        >>> from hpcore.reporter import Reporter
        >>> train = MLPTrainer(rows=20000)
        >>> params = dict(mlp_space().defaults(), epochs=5)
        >>> train(params, Reporter(0, {}))["validation_auc"] > 0.8
        True
    """

    def __call__(self, params: dict[str, Any], reporter: Any = None) -> dict[str, float]:
        d = self.dataset()
        last = {"value": 0.5}

        def on_epoch(epoch: int, predict_proba: Any) -> bool:
            scores = predict_proba(d.x_val)[:, 1]
            last["value"] = auc(d.y_val, scores) if np.isfinite(scores).all() else 0.5
            return bool(reporter is not None and reporter.report(epoch, validation_auc=last["value"]))

        net = mlp_estimator(params, "binary", seed=self.seed, threads=int(getattr(reporter, "threads", None) or 1))
        net.fit(d.x_train, d.y_train.astype(np.int64), on_epoch=on_epoch)
        return {"validation_auc": last["value"]}
