"""Search strategies: ``random``, ``grid`` and ``bayesian`` (the default), plus any plugin's."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from hpcore.checks import check_options
from hpcore.errors import ConfigError
from hpcore.plugins import lookup
from hpcore.space import SearchSpace
from hpcore.strategies.base import Observation, Strategy

__all__ = ["Observation", "Strategy", "create_tuner"]


def create_tuner(name: str, space: SearchSpace | dict[str, Any], direction: str | Sequence[str] = "minimize",
                 seed: int | None = None, constraints: Sequence[str] | None = None, **options: Any) -> Strategy:
    """Creates a registered strategy for an ask/tell loop of your own.

    Args:
        name: A registered strategy (``random``, ``grid``, ``bayesian`` or a plugin's).
        space: The search space (or its plain-dict form).
        direction: ``"minimize"`` or ``"maximize"``; a list, one per objective, for several
            objectives (then ``tell(trial, [v1, v2])`` and ``pareto_front()``).
        seed: Makes the suggestions reproducible.
        constraints: ``"METRIC OP NUMBER"`` strings, such as ``"latency_ms <= 5"``; each
            ``tell(trial, value, metrics={...})`` then gives those metrics.
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
        >>> two = hpcore.create_tuner("random", space, direction=["minimize", "minimize"],
        ...                           constraints=["size <= 1"], seed=0)
        >>> t = two.ask()
        >>> two.tell(t, [t.params["x"] ** 2, (t.params["x"] - 1) ** 2], metrics={"size": 0.5})
        >>> len(two.pareto_front())
        1
    """
    factory = lookup("strategies", name)
    options = check_options("strategy", name, factory, options, fixed=("space", "direction", "seed", "constraints"))
    if not isinstance(space, SearchSpace):
        space = SearchSpace(space)
    if constraints:
        if "constraints" not in inspect.signature(factory).parameters:
            raise ConfigError(f"strategy {name!r} does not take constraints; use one that does (bayesian, random, "
                              "grid, hyperband) or give its class a constraints= argument passed to Strategy")
        options["constraints"] = constraints
    return factory(space, direction=direction, seed=seed, **options)
