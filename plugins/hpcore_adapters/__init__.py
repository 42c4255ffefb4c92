"""What the trainer adapters share: the link from a framework callback to the running trial.

The Lightning, Keras and XGBoost callbacks are thin translators; the behaviour they have in common
(finding the trial, warning once outside a job, step numbering across fits, the missing-metric error,
recording why a trial stopped) lives here once, in :class:`TrialLink`; when they checkpoint, in
:class:`CheckpointSchedule`. It imports no framework.

Example:
    >>> from hpcore_adapters import TrialLink
    >>> link = TrialLink("val_auc", framework="demo")
    >>> link.value({"val_auc": 0.8, "loss": 0.4})
    0.8
"""

from hpcore_adapters.link import LinkedCallback, TrialLink, numeric_metrics
from hpcore_adapters.schedule import DEFAULT_BUDGET, CheckpointSchedule, check_budget

__all__ = ["DEFAULT_BUDGET", "CheckpointSchedule", "LinkedCallback", "TrialLink", "check_budget", "numeric_metrics"]
