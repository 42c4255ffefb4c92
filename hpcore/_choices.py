"""Checks of the values a space holds: categorical choices and the form of ``when=`` conditions.

Choices are looked up by equality (a value read back from a store or a YAML file finds its choice),
so they must be scalars (or tuples of scalars), distinct from each other in Python's sense.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpcore.errors import SearchSpaceError

__all__ = ["SCALARS", "check_choices", "check_scalar_choice", "normalise_when"]

SCALARS = (str, int, float, bool, type(None), np.integer, np.floating, np.bool_)


def check_scalar_choice(value: Any, where: str) -> None:
    """Refuses a choice that is not a scalar or a tuple of scalars (a dict, list, set, object)."""
    if isinstance(value, SCALARS) or (isinstance(value, tuple) and all(isinstance(v, SCALARS) for v in value)):
        return
    if isinstance(value, Mapping):
        branch = next(iter(value), "sgd")
        raise SearchSpaceError(
            f"{where}: the choice {value!r} is a dict; choices are strings, numbers, booleans, None or "
            f"tuples of them. To give the choice {branch!r} its own parameters, declare each one as a "
            f"range with a condition, for example 'momentum': Float(0.0, 0.99, when={{'optimizer': "
            f"{branch!r}}}) (see docs/search-space.md, Conditional parameters)")
    if isinstance(value, list) and all(isinstance(v, SCALARS) for v in value):
        raise SearchSpaceError(
            f"{where}: the choice {value!r} is a list; use the tuple {tuple(value)!r} (a list cannot be "
            "compared or stored as one value)")
    raise SearchSpaceError(
        f"{where}: the choice {value!r} ({type(value).__name__}) is not a scalar; choices are strings, "
        "numbers, booleans, None or tuples of them; use a name for it, such as a string, and build the "
        "object from that name in the training function")


def normalise_when(when: Mapping[str, Any] | None, where: str) -> dict[str, tuple[Any, ...]]:
    """The canonical form of a ``when=`` condition: parent name -> the values it may have.

    Only the form is checked here; that the parents exist and can take those values is checked by
    the :class:`~hpcore.space.SearchSpace` that holds the range.
    """
    if when is None:
        return {}
    if not isinstance(when, Mapping) or not when:
        raise SearchSpaceError(
            f"{where}: when={when!r} must be a non-empty mapping from a parent parameter's name to the "
            "value (or list of values) it must have, for example when={'optimizer': 'sgd'}")
    out: dict[str, tuple[Any, ...]] = {}
    for parent, values in when.items():
        if not isinstance(parent, str) or not parent:
            raise SearchSpaceError(f"{where}: when={when!r}: parent names must be non-empty strings")
        vals = tuple(values) if isinstance(values, (list, tuple, set, frozenset)) else (values,)
        if not vals:
            raise SearchSpaceError(f"{where}: when={{{parent!r}: []}} lists no value; give at least one")
        for v in vals:
            if not isinstance(v, SCALARS):
                raise SearchSpaceError(
                    f"{where}: when={{{parent!r}: {values!r}}}: {v!r} is not a value a parent can have; "
                    "give a choice of the parent (a string, number, boolean or None) or a list of them")
        out[parent] = vals
    return out


def check_choices(values: list[Any] | tuple[Any, ...], where: str) -> None:
    """Refuses NaN and choices equal to each other (``1`` and ``True``, ``1`` and ``1.0``).

    Choices are looked up by equality (a value read back from a store or a YAML file finds its
    choice), so two equal choices could not be told apart and NaN, equal to nothing, not found.
    """
    hashed: dict[Any, Any] = {}
    unhashable: list[Any] = []
    for v in values:
        if isinstance(v, (float, np.floating)) and math.isnan(v):
            raise SearchSpaceError(f"{where}: NaN cannot be a choice (it is not equal to itself, so a trial's "
                                   "value would match no choice); use None or the string 'nan'")
        try:
            other = hashed.get(v, hashed)  # 1, 1.0 and True hash alike and are equal
            if other is hashed:
                hashed[v] = v
        except TypeError:  # an unhashable choice (a list): compare with the others of its kind
            other = next((u for u in unhashable if u == v), hashed)
            unhashable.append(v)
        if other is hashed:
            continue
        if type(other) is type(v):
            raise SearchSpaceError(f"{where}: duplicated value {v!r}; list each choice once")
        raise SearchSpaceError(
            f"{where}: the choices {other!r} and {v!r} are equal in Python ({other!r} == {v!r}), so they "
            "cannot be told apart; keep one of them, or use strings such as "
            f"{str(other)!r} and {str(v)!r}")


