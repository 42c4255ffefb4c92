"""The ``auto`` stopper: stops a trial when its curve is unlikely to end better than the best finished one.

The rule predicts where a running trial's curve will end from its start and from the curves of the
trials that ran to the end (the references), the way a practitioner reads a learning curve against
earlier ones: a trial's current level plus the improvement that references *like it* made from the
same step to their end. "Like it" is a kernel over two features at the step: the level (the mean
of the last ``window`` values) and the recent progress (the level now minus the level at half the
step). Each reference gives one prediction, with the curves' noise (estimated from the references'
own jitter) as its spread; the weighted mixture gives the probability that the trial ends better
than the incumbent (the best final value of the references). The trial is stopped when that
probability falls below ``threshold``.

It never acts before ``min_trials`` trials have run to the end, before the warm-up (the first
``warmup`` share of a full run's steps), at a step no reference went beyond, or on a report that
is not finite. The decisions are a pure function of the reports and ends it was given, so a
resumed job replays to the same state.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np
from scipy.special import ndtr

from hpcore.errors import ConfigError
from hpcore.hookspec import hookimpl
from hpcore.stopping.asha import is_finite
from hpcore.stopping.basic import Stopper
from hpcore.trial import TrialState

__all__ = ["AutoStopper"]


class _Curve:
    """One trial's reports in step order, with running sums for window means."""

    __slots__ = ("cumsum", "steps", "values")

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.values: list[float] = []
        self.cumsum: list[float] = [0.0]

    def add(self, step: int, value: float) -> None:
        self.steps.append(step)
        self.values.append(value)
        self.cumsum.append(self.cumsum[-1] + value)

    def level(self, step: int, window: int) -> float | None:
        """The mean of the last ``window`` values at steps ``<= step`` (None before the first)."""
        i = bisect.bisect_right(self.steps, step)
        if i == 0:
            return None
        j = max(0, i - window)
        return (self.cumsum[i] - self.cumsum[j]) / (i - j)


def _noise(values: list[float]) -> float:
    """A robust estimate of a curve's white noise: the MAD of its second differences."""
    if len(values) < 4:
        return 0.0
    d2 = np.diff(np.asarray(values, dtype=float), n=2)
    return float(np.median(np.abs(d2 - np.median(d2)))) / 0.6745 / math.sqrt(6.0)


class AutoStopper(Stopper):
    """hpcore's model-based early stopping: the probability that a trial ends better than the incumbent.

    Args:
        direction: ``"minimize"`` or ``"maximize"`` (the job's direction).
        threshold: Stop when the probability of ending better than the incumbent is below this.
        min_trials: Trials that must have run to the end before any trial is stopped.
        warmup: No trial is stopped in the first ``warmup`` share of a full run's steps.
        window: Reports averaged into a curve's level (smooths the noise of single values).
        bandwidth: The kernel's width in units of the references' spread (smaller: only the most
            similar references count).
        max_decay: The largest ratio between successive windows' improvements when a trial's own
            curve is continued (a curve that accelerates is continued with this ratio).
        interval_steps: Decide only every this many steps (see :class:`~hpcore.stopping.basic.Stopper`).

    Raises:
        ConfigError: For an option out of its range.

    Example:
        >>> s = AutoStopper(direction="minimize", min_trials=3)
        >>> for t in range(3):  # three trials run to step 10, all ending near 0.2
        ...     for step in range(1, 11):
        ...         _ = s.report(t, step, 0.2 + (1.0 + 0.1 * t) / step)
        ...     s.finish(t, TrialState.COMPLETED, 0.3)
        >>> [s.report(3, step, 3.0 - 0.1 * step) for step in (1, 2)]  # far behind, but warming up
        [None, None]
        >>> s.report(3, 3, 2.7).startswith("auto: probability"), s.probability(3, 3) < 0.1
        (True, True)
    """

    name = "auto"

    def __init__(self, direction: str = "minimize", threshold: float = 0.1, min_trials: int = 3,
                 warmup: float = 0.15, window: int = 3, bandwidth: float = 0.5, max_decay: float = 0.9,
                 **options: Any) -> None:
        super().__init__(direction, **options)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
            raise ConfigError(f"auto stopper: threshold={threshold!r}: use a probability between 0 and 1 (0.05: "
                              "stop a trial once it has less than a 5% chance to end better than the best)")
        if isinstance(min_trials, bool) or not isinstance(min_trials, int) or min_trials < 1:
            raise ConfigError(f"auto stopper: min_trials={min_trials!r}: use an integer of at least 1")
        if isinstance(warmup, bool) or not isinstance(warmup, (int, float)) or not 0 <= warmup < 1:
            raise ConfigError(f"auto stopper: warmup={warmup!r}: use a share of a full run's steps, from 0 to 1")
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ConfigError(f"auto stopper: window={window!r}: use an integer of at least 1")
        if isinstance(bandwidth, bool) or not isinstance(bandwidth, (int, float)) or bandwidth <= 0:
            raise ConfigError(f"auto stopper: bandwidth={bandwidth!r}: use a positive number")
        if isinstance(max_decay, bool) or not isinstance(max_decay, (int, float)) or not 0 < max_decay < 1:
            raise ConfigError(f"auto stopper: max_decay={max_decay!r}: use a ratio between 0 and 1")
        self.max_decay = float(max_decay)
        self.threshold, self.min_trials, self.warmup = float(threshold), min_trials, float(warmup)
        self.window, self.bandwidth = window, float(bandwidth)
        self._curves: dict[int, _Curve] = {}
        self._refs: list[int] = []  # completed trials, in the order they ended
        self._noise: list[float] = []
        # What the references say, updated when one is added: the horizon (their median last step),
        # the incumbent (their best final value) and the curves' noise (the median of theirs).
        self._horizon, self._incumbent, self._noise_sd = 0, math.nan, 0.0
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    # -- what the rule knows --------------------------------------------------------------------
    def report(self, trial_id: int, step: int, value: float) -> str | None:
        curve = self._curves.setdefault(trial_id, _Curve())
        if not is_finite(value) or (curve.steps and step <= curve.steps[-1]):
            return None
        curve.add(step, float(value))
        if len(self._refs) < self.min_trials or trial_id in self._refs:
            return None
        horizon = self._horizon
        if step >= horizon or step <= self.warmup * horizon or not self.checks(trial_id, step):
            return None
        p = self.probability(trial_id, step)
        if p is None or p >= self.threshold:
            return None
        return (f"auto: probability {p:.2g} that the trial ends better than the best of {len(self._refs)} "
                f"finished trials ({self._incumbent:.6g}) is below {self.threshold:g} at step {step}")

    def finish(self, trial_id: int, state: TrialState, value: float | None) -> None:
        curve = self._curves.get(trial_id)
        if state is TrialState.COMPLETED and curve is not None and len(curve.steps) >= 2 \
                and trial_id not in self._refs:
            self._refs.append(trial_id)
            self._noise.append(_noise(curve.values))
            self._cache.clear()
            finals = [self._curves[r].values[-1] for r in self._refs]
            self._horizon = int(np.median([self._curves[r].steps[-1] for r in self._refs]))
            self._incumbent = min(finals) if self.direction == "minimize" else max(finals)
            self._noise_sd = float(np.median(self._noise))

    # -- the model ------------------------------------------------------------------------------

    def _features(self, curve: _Curve, step: int) -> tuple[float, float] | None:
        level = curve.level(step, self.window)
        before = curve.level(max(1, step // 2), self.window)
        if level is None or before is None:
            return None
        return level, level - before

    def _references(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The references that went beyond ``step``: their levels and progress at it, and their finals."""
        if step not in self._cache:
            rows = []
            for r in self._refs:
                c = self._curves[r]
                f = self._features(c, step) if c.steps[-1] > step else None
                if f is not None:
                    rows.append((f[0], f[1], c.values[-1]))
            a = np.asarray(rows, dtype=float).reshape(-1, 3)
            self._cache[step] = (a[:, 0], a[:, 1], a[:, 2])
        return self._cache[step]

    def probability(self, trial_id: int, step: int) -> float | None:
        """The probability that ``trial_id``'s curve ends better than the incumbent, seen at ``step``.

        None when too few references went beyond ``step`` or the trial has no level there.
        """
        feats = self._features(self._curves[trial_id], step)
        level_r, slope_r, final_r = self._references(step)
        if feats is None or len(final_r) < self.min_trials:
            return None
        level, slope = feats
        noise = self._noise_sd
        spread_l = max(float(np.std(level_r)), noise, 1e-12)
        spread_s = max(float(np.std(slope_r)), noise, 1e-12)
        d2 = ((level - level_r) / spread_l) ** 2 + ((slope - slope_r) / spread_s) ** 2
        w = np.exp(-0.5 * (d2 - d2.min()) / self.bandwidth**2)
        predicted = level + (final_r - level_r)
        sd = max(noise * math.sqrt(1.0 + 2.0 / self.window), 1e-9 * max(1.0, abs(self._incumbent)))
        z = (self._incumbent - predicted) / sd
        if self.direction == "maximize":
            z = -z
        from_refs = float(np.sum(w * ndtr(z)) / np.sum(w))
        return max(from_refs, self._own(self._curves[trial_id], step, noise))

    def _own(self, curve: _Curve, step: int, noise: float) -> float:
        """The probability from the trial's own curve: its recent improvement, continued and decaying.

        Two equal windows before ``step`` give the improvements ``a`` then ``b``; the curve is taken to
        go on improving by ``b * r, b * r**2 ...`` per window (``r = b / a``, at most ``max_decay``,
        or ``max_decay`` when it accelerates), up to the horizon, with half that improvement as its uncertainty.
        """
        horizon = self._horizon
        span = max(1, step // 3)
        window = min(self.window, span)  # windows that do not overlap
        lv = [curve.level(step - k * span, window) for k in (2, 1, 0)]
        if any(v is None for v in lv) or step - 2 * span < 1:
            return 1.0
        sign = 1.0 if self.direction == "minimize" else -1.0
        a, b = sign * (lv[0] - lv[1]), sign * (lv[1] - lv[2])  # improvements: positive is better
        if b <= 0:
            gain = 0.0
        else:
            # The ratio as fast as the noise allows: each improvement is known to one noise sd of the
            # difference of two window means (a noisy slow learner is not read as levelling off).
            d = noise * math.sqrt(2.0 / window)
            r = self.max_decay if a - d <= 0 else min(self.max_decay, (b + d) / (a - d))
            n = (horizon - step) / span
            gain = b * r * (1.0 - r**n) / (1.0 - r)
        predicted = lv[2] - sign * gain
        sd = math.hypot(noise * math.sqrt(1.0 + 2.0 / window), 0.5 * gain) or 1e-12
        return float(ndtr(sign * (self._incumbent - predicted) / sd))


@hookimpl
def hpcore_add_stoppers() -> dict[str, Any]:
    return {"auto": AutoStopper}
