"""Exceptions raised by hpcore, each naming the offending input and how to fix it."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "HpcoreError",
    "MetricError",
    "PluginError",
    "SearchExhausted",
    "SearchSpaceError",
    "StoreError",
    "TrialsFailed",
]


class HpcoreError(Exception):
    """Base of every error hpcore raises on purpose."""


class SearchSpaceError(HpcoreError, ValueError):
    """An invalid range, space or configuration."""


class PluginError(HpcoreError, LookupError):
    """An unknown or duplicated plugin name, or a plugin that failed to load."""


class ConfigError(HpcoreError, ValueError):
    """An invalid job argument or job file entry."""


class StoreError(HpcoreError):
    """The store cannot be opened or written, or does not match the job."""


class MetricError(HpcoreError, KeyError):
    """The objective metric is missing from what a trial returned or reported."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SearchExhausted(HpcoreError):
    """The strategy has no new configuration to propose (for example, a finished grid)."""


class NoBestTrial(HpcoreError, LookupError):
    """``result.best`` was asked of a job where no trial produced a usable (feasible) objective value."""

    def __str__(self) -> str:  # LookupError would quote the message
        return str(self.args[0]) if self.args else ""


class TrialsFailed(HpcoreError):
    """The job stopped because its trials keep failing with the same error (see ``fail_fast``)."""
