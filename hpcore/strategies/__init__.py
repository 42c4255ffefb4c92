"""Search strategies: ``random``, ``grid`` and ``bayesian`` (the default), plus any plugin's."""

from __future__ import annotations

from typing import Any

from hpcore.checks import check_options
from hpcore.plugins import lookup
from hpcore.space import SearchSpace
from hpcore.strategies.base import Observation, Strategy

__all__ = ["Observation", "Strategy", "create_tuner"]


def create_tuner(name: str, space: SearchSpace | dict[str, Any], direction: str = "minimize",
                 seed: int | None = None, **options: Any) -> Strategy:
    """Creates a registered strategy for an ask/tell loop of your own.

    Args:
        name: A registered strategy (``random``, ``grid``, ``bayesian`` or a plugin's).
        space: The search space (or its plain-dict form).
        direction: ``"minimize"`` or ``"maximize"``.
        seed: Makes the suggestions reproducible.
        **options: Options of that strategy (for example ``resolution`` for ``grid``).

    Raises:
        PluginError: For an unknown strategy name, listing the registered ones.
        ConfigError: For an option the strategy does not take (listing those it takes) or a bad seed.

    Example:
        >>> import hpcore
        >>> space = hpcore.SearchSpace({"x": hpcore.Float(-2, 2)})
        >>> tuner = hpcore.create_tuner("random", space, direction="minimize", seed=0)
        >>> for _ in range(5):
        ...     t = tuner.ask()
        ...     tuner.tell(t, t.params["x"] ** 2)
        >>> tuner.best().loss < 1
        True
    """
    factory = lookup("strategies", name)
    options = check_options("strategy", name, factory, options, fixed=("space", "direction", "seed"))
    if not isinstance(space, SearchSpace):
        space = SearchSpace(space)
    return factory(space, direction=direction, seed=seed, **options)
