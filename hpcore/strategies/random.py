"""Random search: every configuration drawn uniformly in the encoded scales."""

from __future__ import annotations

from typing import Any

import numpy as np

from hpcore.hookspec import hookimpl
from hpcore.strategies.base import Strategy

__all__ = ["RandomStrategy"]


class RandomStrategy(Strategy):
    """Draws each trial independently and uniformly in the unit cube of the space.

    Log-scaled ranges are sampled uniformly in the logarithm, ``reverse_log`` uniformly in
    ``log(1 - x)``, integers with equal chance per value. Results are ignored: random search is the
    baseline every model-based strategy must beat, and the right choice for very many parallel
    workers or a very small budget.

    Example:
        >>> from hpcore import Int, SearchSpace
        >>> s = RandomStrategy(SearchSpace({"n": Int(1, 3)}), seed=1)
        >>> s.ask().params["n"] in (1, 2, 3)
        True
    """

    name = "random"

    def suggest(self, trial_id: int, rng: np.random.Generator) -> dict[str, Any]:
        return self.space.sample(rng)


@hookimpl
def hpcore_add_strategies() -> dict[str, type[Strategy]]:
    return {"random": RandomStrategy}
