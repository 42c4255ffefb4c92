"""Checks of arguments that several entry points share: seeds, numbers and plugin options.

One checker per concept, so that :class:`~hpcore.TuningJob`, :func:`~hpcore.create_tuner` and
:func:`~hpcore.stopping.create_stopper` refuse a bad value with the same message, before a job
writes anything to its store.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

from hpcore.errors import ConfigError

__all__ = ["accepted_options", "check_number", "check_options", "check_seed"]


def check_seed(seed: Any) -> int | None:
    """Returns ``seed`` as an int (or None), refusing what numpy would only reject at the first draw.

    Raises:
        ConfigError: For a string, a float, a bool or a negative number.

    Example:
        >>> check_seed(7), check_seed(None)
        (7, None)
    """
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ConfigError(f"seed={seed!r}: use a whole number >= 0 (for example seed=0), or None for a "
                          "different sequence on each run")
    return int(seed)


def check_number(label: str, value: Any, *, integer: bool = False, minimum: float | None = None,
                 strict: bool = False, optional: bool = True) -> Any:
    """Returns ``value`` (an int or a float, or None when ``optional``) after checking its type and bound.

    Args:
        label: The argument's name, for the message.
        value: What was given.
        integer: Only whole numbers (not bools).
        minimum: The lowest allowed value.
        strict: ``minimum`` itself is not allowed.
        optional: None is allowed.

    Raises:
        ConfigError: Naming the argument, what it got (a string, for example) and what to give.

    Example:
        >>> check_number("target", 0.5), check_number("patience", 3, integer=True, minimum=1)
        (0.5, 3)
    """
    if value is None and optional:
        return None
    kind = numbers.Integral if integer else numbers.Real
    ok = not isinstance(value, bool) and isinstance(value, kind) and math.isfinite(value)
    if ok and minimum is not None:
        ok = value > minimum if strict else value >= minimum
    if ok:
        return int(value) if integer else float(value)
    want = "a whole number" if integer else "a finite number"
    if minimum is not None:
        want += f" {'>' if strict else '>='} {minimum:g}"
    if optional:
        want += ", or None"
    hint = " (it is a string: give the number itself, without quotes)" if isinstance(value, str) else ""
    raise ConfigError(f"{label}={value!r}: use {want}{hint}")


def accepted_options(factory: Callable[..., Any]) -> list[str] | None:
    """The keyword arguments ``factory`` accepts, or None when it takes any (``**options`` to the end).

    For a class, ``**options`` passed on to a base class's ``__init__`` are followed into it.

    Example:
        >>> class Base:
        ...     def __init__(self, direction="minimize"): ...
        >>> class Rule(Base):
        ...     def __init__(self, direction="minimize", warmup=0, **options): ...
        >>> accepted_options(Rule)
        ['direction', 'warmup']
    """
    if isinstance(factory, type):
        inits = [c.__dict__["__init__"] for c in factory.__mro__ if "__init__" in c.__dict__]
    else:
        inits = [factory]
    names: list[str] = []
    for fn in inits:
        if fn is object.__init__:
            return None
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):  # a builtin without a signature: cannot tell
            return None
        if isinstance(factory, type):
            params = params[1:]  # self
        names += [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                  and p.name not in names]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return names
    return None


def check_options(label: str, name: str, factory: Callable[..., Any], options: Any,
                  fixed: tuple[str, ...] = ()) -> dict[str, Any]:
    """Checks the options given to a registered strategy, stopper or executor before it is built.

    Args:
        label: ``strategy``, ``stopper`` or ``executor``, for the message.
        name: Its registered name.
        factory: Its registered factory.
        options: The options given (a mapping, or None).
        fixed: Arguments the job passes itself (``seed``, ``direction``...), refused as options.

    Raises:
        ConfigError: For a non-mapping, a fixed argument or an unknown option, listing the accepted ones.
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise ConfigError(f"{label} {name!r}: options {options!r} should be a mapping of option names to values")
    taken = [k for k in options if k in fixed]
    if taken:
        raise ConfigError(f"{label} {name!r}: {', '.join(taken)} is an argument of the job itself, not a "
                          f"{label} option; set it on the job (TuningJob({taken[0]}=...))")
    accepted = accepted_options(factory)
    if accepted is not None:
        accepted = [a for a in accepted if a not in fixed]
        unknown = [k for k in options if k not in accepted]
        if unknown:
            takes = f"the options it takes: {', '.join(accepted)}" if accepted else "it takes no options"
            raise ConfigError(f"{label} {name!r}: unknown option(s) {', '.join(unknown)}; {takes}")
    return dict(options)
