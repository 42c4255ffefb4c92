"""Early-stopping rules: a stopper sees every intermediate objective and may stop the trial."""

from __future__ import annotations

from typing import Any

from hpcore.checks import check_options
from hpcore.plugins import lookup
from hpcore.stopping.basic import NoStopper, Stopper

__all__ = ["NoStopper", "Stopper", "create_stopper"]


def create_stopper(name: str, direction: str = "minimize", **options: Any) -> Stopper:
    """Creates a registered stopper (``none`` or a plugin's).

    Raises:
        PluginError: For an unknown name, listing the registered stoppers.
        ConfigError: For an option the stopper does not take, listing those it takes.

    Example:
        >>> create_stopper("none").report(0, 1, 0.5) is None
        True
    """
    factory = lookup("stoppers", name)
    return factory(direction=direction, **check_options("stopper", name, factory, options, fixed=("direction",)))
