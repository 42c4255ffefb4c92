"""The trial link: one callback's connection to the trial it runs in."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping
from typing import Any, Protocol

import hpcore
from hpcore.errors import MetricError

__all__ = ["LinkedCallback", "Sink", "TrialLink", "numeric_metrics"]


class Sink(Protocol):
    """Where reports go: a :class:`hpcore.Reporter`, or a relay to one in another process."""

    last_step: int | None

    def report(self, step: int | None = None, **metrics: float) -> bool: ...


def numeric_metrics(values: Mapping[str, Any]) -> dict[str, float]:
    """The scalar numbers among ``values`` (floats, ints, numpy/torch scalars), as floats.

    Frameworks mix numbers with tensors of several elements, strings and None in their logs; only
    scalars can be reported, so the rest is dropped here instead of failing in the reporter.

    Example:
        >>> numeric_metrics({"auc": 0.9, "name": "x", "flag": True, "n": 3})
        {'auc': 0.9, 'n': 3.0}
    """
    out: dict[str, float] = {}
    for key, v in values.items():
        if hasattr(v, "numel") and callable(v.numel) and v.numel() != 1:
            continue
        if hasattr(v, "size") and not callable(v.size) and getattr(v, "size", 1) != 1:
            continue
        if hasattr(v, "item") and callable(v.item):
            v = v.item()
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            continue
        out[str(key)] = float(v)
    return out


class TrialLink:
    """Connects a framework callback to the running trial: steps, reports, the stop decision.

    A callback calls :meth:`begin` when a fit starts, :meth:`value` to read the monitored metric
    (raising with the names that do exist when it is missing) and :meth:`report` after each
    evaluation. Steps continue from the trial's last reported step, so several fits in one trial
    (cross-validation folds, a refit, a reused estimator) never report the same step twice.

    Args:
        monitor: The metric to watch, as the framework names it (``val_auc``, ``validation-auc``).
        framework: The framework's name, for messages.
        report_as: Also report the monitored value under this name (for example the job's
            ``objective`` when it differs from the framework's metric name).

    Example:
        >>> import hpcore
        >>> seen = []
        >>> r = hpcore.Reporter(0, {}, send=lambda step, m: seen.append(step) or step >= 2)
        >>> link = TrialLink("auc", framework="demo")
        >>> with r:
        ...     _ = link.begin()
        ...     [link.report({"auc": v}) for v in (0.5, 0.6)]
        [False, True]
        >>> seen, link.stop_reason
        ([1, 2], 'hpcore stopped the trial at step 2 (auc=0.6)')
    """

    def __init__(self, monitor: str, framework: str, report_as: str | None = None) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor={monitor!r}: give the name of the metric to watch")
        self.monitor = monitor
        self.framework = framework
        self.report_as = report_as
        self.sink: Sink | None = None
        self.offset = 0
        self.count = 0
        self.last_step: int | None = None
        self.stopped = False
        self.stop_reason: str | None = None
        self._warned = False

    def __getstate__(self) -> dict[str, Any]:
        # The sink is found again at the next fit: copying it would copy the job behind the reporter
        # (sklearn's clone deep-copies callbacks) or fail to pickle for a worker process.
        state = dict(self.__dict__)
        state["sink"] = None
        return state

    def begin(self, sink: Sink | None = None) -> bool:
        """Starts a fit: finds the trial (``sink`` or :func:`hpcore.current_reporter`), resets the counters.

        Returns:
            True when a trial receives the reports; False outside a tuning job (warned once).
        """
        self.sink = sink if sink is not None else hpcore.current_reporter()
        self.count = 0
        self.stopped = False
        self.stop_reason = None
        if self.sink is None:
            self.offset = 0
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"hpcore {self.framework} TuningCallback: not inside a tuning trial "
                    f"(hpcore.current_reporter() is None), so it reports nothing and never stops training",
                    stacklevel=3)
            return False
        self.offset = self.sink.last_step or 0
        return True

    @property
    def active(self) -> bool:
        """True while a fit reports to a trial."""
        return self.sink is not None

    def value(self, metrics: Mapping[str, float]) -> float:
        """The monitored metric among ``metrics``.

        Raises:
            MetricError: When it is missing; the message lists the metrics that exist.
        """
        if self.monitor not in metrics:
            names = ", ".join(repr(k) for k in sorted(metrics)) or "none"
            raise MetricError(
                f"hpcore {self.framework} TuningCallback: monitored metric {self.monitor!r} is not among the "
                f"metrics {self.framework} logged; available: {names}. Pass monitor= one of those")
        return float(metrics[self.monitor])

    def report(self, metrics: Mapping[str, float], advance: int = 1) -> bool:
        """Reports ``metrics`` ``advance`` steps after the last report; True when the trial should stop.

        ``advance`` keeps a step's unit when a callback reports every few units (XGBoost's
        ``interval``: a step is a boosting round however often it reports). Outside a trial it only
        counts the steps and returns False.
        """
        value = self.value(metrics)
        self.count += max(1, int(advance))
        step = self.offset + self.count
        self.last_step = step
        if self.sink is None:
            return False
        out = dict(metrics)
        if self.report_as:
            out[self.report_as] = value
        stop = bool(self.sink.report(step, **out))
        if stop and not self.stopped:
            self.stopped = True
            shown = f"{value:.6g}" if math.isfinite(value) else str(value)
            self.stop_reason = f"hpcore stopped the trial at step {step} ({self.monitor}={shown})"
        return stop

    def mark_stopped(self, reason: str) -> None:
        """Records a stop decided elsewhere (another distributed rank's report)."""
        if not self.stopped:
            self.stopped = True
            self.stop_reason = reason


class LinkedCallback:
    """What every adapter callback shows of its :class:`TrialLink` (held in ``self._link``).

    Example:
        >>> class Demo(LinkedCallback):
        ...     def __init__(self):
        ...         self._link = TrialLink("val_auc", "Demo")
        >>> Demo().monitor, Demo().stop_reason
        ('val_auc', None)
    """

    _link: TrialLink

    @property
    def monitor(self) -> str:
        """The monitored metric's name."""
        return self._link.monitor

    @property
    def stop_reason(self) -> str | None:
        """Why this callback stopped the last fit, or None."""
        return self._link.stop_reason

    @property
    def last_step(self) -> int | None:
        """The step of the last evaluation reported in this fit."""
        return self._link.last_step
