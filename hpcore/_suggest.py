"""Spelling help for names a user typed: ``did you mean 'objective'?``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean"]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices`` to ``name``, or ``""`` when none is close.

    Example:
        >>> did_you_mean("objectve", ["objective", "direction", "strategy"])
        " (did you mean 'objective'?)"
        >>> did_you_mean("zzz", ["objective"])
        ''
    """
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
