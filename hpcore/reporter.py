"""The reporter: how a running trial sends intermediate metrics and learns it should stop."""

from __future__ import annotations

import contextvars
import math
import numbers
from collections.abc import Callable
from typing import Any

__all__ = ["Reporter", "current_reporter"]

_current: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar("hpcore_reporter", default=None)


def current_reporter() -> Reporter | None:
    """The reporter of the trial running in this thread or process, or ``None`` outside a job.

    Trainer callbacks use it to find their trial without being handed anything.
    """
    return _current.get()


class Reporter:
    """Passed to the training function as its second argument.

    ``report(step, **metrics)`` records intermediate metrics and returns True when the trial should
    stop (an early-stopping decision, or the job's runtime running out). Once True, it stays True.

    Args:
        trial_id: The trial's number.
        params: The trial's hyperparameters.
        send: Delivers ``(step, metrics)`` to the job's controller and returns its stop decision.
        attempt: 0 for the first run of the trial, then 1, 2 ... for retries.
        threads: CPU threads this trial may use.

    Example:
        >>> r = Reporter(0, {"lr": 0.1}, send=lambda step, metrics: step >= 2)
        >>> [r.report(step, loss=1.0 / step) for step in (1, 2)]
        [False, True]
    """

    def __init__(self, trial_id: int, params: dict[str, Any],
                 send: Callable[[int, dict[str, float]], bool] | None = None,
                 attempt: int = 0, threads: int | None = None) -> None:
        self.trial_id = trial_id
        self.params = params
        self.attempt = attempt
        self.threads = threads
        self._send = send
        self.should_stop = False
        self.last_step: int | None = None
        self.last_metrics: dict[str, float] = {}
        self._token: contextvars.Token[Reporter | None] | None = None

    def report(self, step: int | None = None, **metrics: float) -> bool:
        """Sends intermediate metrics at ``step`` (1, 2, ... when omitted).

        Args:
            step: A step counter that grows over the trial (epoch, iteration, validation count).
            **metrics: Metric names and numbers, for example ``auc=0.91, loss=0.3``.

        Returns:
            True when the trial should stop now.

        Raises:
            TypeError: When a metric is not a number, or no metric is given.
        """
        if not metrics:
            raise TypeError("report() needs at least one metric, for example reporter.report(epoch, auc=0.9)")
        clean: dict[str, float] = {}
        for k, v in metrics.items():
            if hasattr(v, "item") and callable(v.item) and getattr(v, "ndim", 0) == 0:  # numpy, torch scalars
                v = v.item()
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"report(): metric {k}={v!r} is not a number (report one number per metric; "
                                "return lists or arrays as metrics of the result instead)")
            try:
                clean[k] = float(v)
            except OverflowError:
                raise TypeError(f"report(): metric {k} is too large for a float") from None
        if step is None:
            step = (self.last_step or 0) + 1
        step = int(step)
        self.last_step = step
        self.last_metrics = clean
        if self._send is not None and not self.should_stop:
            self.should_stop = bool(self._send(step, clean))
        return self.should_stop

    def last(self, name: str) -> float | None:
        """The last reported value of a metric, if finite."""
        v = self.last_metrics.get(name)
        return v if v is not None and math.isfinite(v) else None

    def __enter__(self) -> Reporter:
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None
