"""What the ``ckpt_<adapter>.py`` timings share: three fits compared, and a timer around checkpoints.

Each adapter's ``run`` fits the same model three times inside a trial's reporter: without checkpoints,
with one exactly every ``every`` reports (``checkpoint_budget=None``) and with the callback's
defaults (a checkpoint after at least ``every`` reports, spaced so that checkpoints take at most
1% of the time). The order of the three rotates with the seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hpcore_adapters import DEFAULT_BUDGET

__all__ = ["compare", "time_checkpoints"]

Fit = Callable[[int, "float | None", list], float]  # fit(every, budget, spent) -> seconds


def time_checkpoints(reporter: Any, spent: list[float]) -> None:
    """Wraps ``reporter.save_checkpoint`` so that each call's seconds are appended to ``spent``."""
    save = reporter.save_checkpoint

    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        out = save(*args, **kwargs)
        spent.append(time.perf_counter() - t)
        return out

    reporter.save_checkpoint = timed


def compare(fit: Fit, units: int, every: int, seed: int) -> dict[str, Any]:
    """Runs the three fits and returns their figures.

    Returns:
        ``epoch_s`` (mean epoch or round seconds without checkpoints), ``checkpoint_s`` (mean seconds
        of one checkpoint, exactly every ``every``), ``share`` (one checkpoint over the ``every``
        epochs it covers), ``ckpt_overhead`` (end-to-end difference, exactly every ``every``),
        ``default_share`` (the checkpoints' seconds with the defaults over the fit without any),
        ``exact_checkpoints`` and ``default_checkpoints`` (how many each wrote).
    """
    runs = [("none", 0, None), ("exact", every, None), ("default", every, DEFAULT_BUDGET)]
    k = seed % len(runs)
    times: dict[str, float] = {}
    spent: dict[str, list[float]] = {}
    for name, ck, budget in runs[k:] + runs[:k]:
        spent[name] = []
        times[name] = fit(ck, budget, spent[name])
    exact = spent["exact"]
    checkpoint_s = sum(exact) / max(1, len(exact))
    epoch_s = times["none"] / units
    return {"epoch_s": epoch_s, "checkpoint_s": checkpoint_s, "share": checkpoint_s / (every * epoch_s),
            "ckpt_overhead": (times["exact"] - times["none"]) / times["none"],
            "default_share": sum(spent["default"]) / times["none"], "exact_checkpoints": len(exact),
            "default_checkpoints": len(spent["default"])}
