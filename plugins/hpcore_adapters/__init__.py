"""What the trainer adapters share: the link from a framework callback to the running trial.

The Lightning, Keras and XGBoost callbacks are thin translators; the behaviour they have in common
(finding the trial, warning once outside a job, step numbering across fits, the missing-metric error,
recording why a trial stopped) lives here once, in :class:`TrialLink`. It imports no framework.

Example:
    >>> from hpcore_adapters import TrialLink
    >>> link = TrialLink("val_auc", framework="demo")
    >>> link.value({"val_auc": 0.8, "loss": 0.4})
    0.8
"""

from hpcore_adapters.link import LinkedCallback, TrialLink, numeric_metrics

__all__ = ["LinkedCallback", "TrialLink", "numeric_metrics"]
