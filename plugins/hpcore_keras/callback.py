"""The Keras 3 callback: reports the monitored metric after each epoch, stops via ``model.stop_training``.

It imports ``keras`` (never ``tensorflow``), so it runs on any Keras 3 backend: torch, JAX or TF.
"""

from __future__ import annotations

from typing import Any

import keras
from hpcore_adapters import LinkedCallback, TrialLink, numeric_metrics

__all__ = ["TuningCallback"]


class TuningCallback(LinkedCallback, keras.callbacks.Callback):
    """Reports ``monitor`` to the running hpcore trial at the end of each epoch and stops when told.

    It finds the trial itself (:func:`hpcore.current_reporter`); outside a tuning job it warns once and
    does nothing. Each ``fit`` starts afresh and its steps continue from the trial's last reported step,
    so several fits in one trial never report the same step twice. All numeric logs of the epoch are
    reported, so the job's ``objective`` can be any of them.

    Args:
        monitor: A key of the epoch's logs (``val_loss``, ``val_auc`` ...).
        report_as: Also report the monitored value under this name (the job's ``objective``).

    Attributes:
        stop_reason: Why the last fit was stopped, or None.

    Example:
        >>> import os; os.environ.setdefault("KERAS_BACKEND", "torch")
        'torch'
        >>> from hpcore_keras import TuningCallback
        >>> TuningCallback(monitor="val_auc").monitor
        'val_auc'
    """

    def __init__(self, monitor: str = "val_loss", report_as: str | None = None) -> None:
        super().__init__()
        self._link = TrialLink(monitor, "Keras", report_as=report_as)


    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._link.begin()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._link.report(numeric_metrics(logs or {})):
            self.model.stop_training = True
