"""The Lightning callback: reports the monitored metric after each validation, stops via ``should_stop``."""

from __future__ import annotations

import importlib
import os
import sys
import weakref
from typing import Any

from hpcore_adapters import LinkedCallback, TrialLink, numeric_metrics

import hpcore
from hpcore_lightning._relay import RelayClient, RelayServer

__all__ = ["TuningCallback"]

# Both distributions ship a ``Callback`` class and each Trainer only accepts its own ("Expected a
# parent"); the concrete callback class inherits from the ones in use, built on first need.
_PACKAGES = ("lightning.pytorch", "pytorch_lightning")
_classes: dict[tuple[str, ...], type] = {}


def _packages_in_use() -> tuple[str, ...]:
    used = tuple(name for name in _PACKAGES if name in sys.modules)
    if used:
        return used
    for name in _PACKAGES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        return (name,)
    raise ModuleNotFoundError("hpcore_lightning.TuningCallback needs Lightning: pip install 'hpcore[lightning]'")


def _concrete(packages: tuple[str, ...]) -> type:
    if packages not in _classes:
        bases = tuple(importlib.import_module(name).Callback for name in packages)
        _classes[packages] = type("TuningCallback", (TuningCallback, *bases),
                                  {"__module__": __name__, "__qualname__": "TuningCallback",
                                   "_packages": packages})
    return _classes[packages]


def _rebuild(packages: tuple[str, ...], state: dict[str, Any]) -> TuningCallback:
    obj: TuningCallback = object.__new__(_concrete(packages))
    obj.__dict__.update(state)
    return obj


class TuningCallback(LinkedCallback):
    """Reports ``monitor`` to the running hpcore trial after each validation and stops the fit when told.

    The instance is a ``Callback`` of ``lightning.pytorch`` or ``pytorch_lightning``, whichever is
    imported (both when both are), so either Trainer accepts it. It skips the sanity check and
    ``validate``/``test`` runs, resets per fit, and numbers steps with a validation counter that
    continues from the trial's last step, so ``val_check_interval < 1`` and several fits per trial
    never collide. Under DDP only global rank 0 reports (from a spawned process through a local
    relay) and its decision is broadcast, so every rank stops at the same validation.

    Args:
        monitor: A key of ``trainer.callback_metrics`` (what ``self.log`` logged).
        report_as: Also report the monitored value under this name (the job's ``objective``).

    Attributes:
        stop_reason: Why the fit was stopped, or None.

    Example:
        >>> import hpcore
        >>> from hpcore_lightning import TuningCallback
        >>> cb = TuningCallback(monitor="val_auc")
        >>> cb.monitor, cb.stop_reason
        ('val_auc', None)
    """

    _packages: tuple[str, ...] = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> TuningCallback:
        if cls is TuningCallback:
            cls = _concrete(_packages_in_use())
        return object.__new__(cls)

    def __init__(self, monitor: str = "val_loss", report_as: str | None = None) -> None:
        self._link = TrialLink(monitor, "Lightning", report_as=report_as)
        self._pid = os.getpid()
        self._relay: tuple[tuple[str, int], bytes] | None = None
        self._client: RelayClient | None = None
        reporter = hpcore.current_reporter()
        if reporter is not None:
            # Opened now because a forked rank copies the object without pickling it.
            server = RelayServer(reporter)
            self._relay = (server.address, server.authkey)
            weakref.finalize(self, server.close)

    def __reduce__(self) -> tuple[Any, ...]:
        # The concrete class is built at run time, so pickle (ddp_spawn) rebuilds it from its packages.
        state = dict(self.__dict__)
        state["_client"] = None
        return (_rebuild, (type(self)._packages, state))


    def _sink(self) -> Any:
        reporter = hpcore.current_reporter()
        if reporter is not None and os.getpid() == self._pid:
            return reporter
        if self._relay is not None:
            if self._client is None:
                self._client = RelayClient(*self._relay)
            return self._client
        return None

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        if trainer.is_global_zero:
            self._link.begin(self._sink())
        else:  # other ranks only follow rank 0's broadcast decision
            self._link.begin(_Silent())

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking or getattr(trainer.state, "fn", "fit") != "fit":
            return
        metrics = numeric_metrics(trainer.callback_metrics)
        self._link.value(metrics)  # every rank raises alike when the metric is missing (no hang)
        stop = False
        if trainer.is_global_zero:
            stop = self._link.report(metrics)
        else:
            self._link.count += 1
        stop = bool(trainer.strategy.broadcast(stop, src=0))
        if stop:
            self._link.mark_stopped("hpcore stopped the trial (decided on rank 0)")
            trainer.should_stop = True

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class _Silent:
    """The sink of non-zero ranks: they never report, so their counters start at zero."""

    last_step = 0

    def report(self, step: int | None = None, **metrics: float) -> bool:
        return False
