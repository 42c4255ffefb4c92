"""Known-good configurations a job runs first: ``enqueue=[...]``, ``job.enqueue(params)``, ``try_defaults``.

An enqueued configuration may be partial: the strategy proposes the parameters it leaves out. It is
a trial like any other (it counts toward ``max_trials`` and the strategy learns from its result),
and it runs once: a resumed job skips the enqueued configurations that a trial of the job already
has (each trial stands for one of them, so the same configuration enqueued twice runs twice).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hpcore.errors import ConfigError
from hpcore.space import SearchSpace

__all__ = ["check_enqueue", "still_to_run"]


def check_enqueue(space: SearchSpace, configs: Any) -> list[dict[str, Any]]:
    """The configurations of ``enqueue=``, checked against the space (names and values).

    Raises:
        ConfigError: For anything but a list of parameter mappings.
        SearchSpaceError: For an unknown parameter (naming the closest one) or a value out of range.
    """
    if configs is None:
        return []
    if isinstance(configs, Mapping) or not isinstance(configs, (list, tuple)):
        raise ConfigError(f"enqueue={configs!r}: give a list of configurations, such as [{{'lr': 0.01}}]")
    out = []
    for i, c in enumerate(configs):
        if not isinstance(c, Mapping):
            raise ConfigError(f"enqueue[{i}]={c!r}: give a mapping of parameter names to values")
        out.append(space.check_partial(c))
    return out


def still_to_run(configs: list[dict[str, Any]], ran: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The configurations no trial of ``ran`` stands for yet, in their order.

    Example:
        >>> still_to_run([{"lr": 0.1}, {"lr": 0.1}, {"lr": 0.01, "depth": 3}], [{"lr": 0.1, "depth": 5}])
        [{'lr': 0.1}, {'lr': 0.01, 'depth': 3}]
    """
    free = [dict(p) for p in ran]
    left = []
    for c in configs:
        hit = next((i for i, p in enumerate(free) if all(k in p and p[k] == v for k, v in c.items())), None)
        if hit is None:
            left.append(c)
        else:
            free.pop(hit)
    return left
