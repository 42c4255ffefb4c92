"""The Lightning callback: reports the monitored metric after each validation, stops via ``should_stop``,
keeps the trial's model and checkpoints (:mod:`hpcore_lightning.keep`)."""

from __future__ import annotations

import atexit
import importlib
import os
import sys
import weakref
from datetime import timedelta
from typing import Any

from hpcore_adapters import DEFAULT_BUDGET, CheckpointSchedule, LinkedCallback, TrialLink, numeric_metrics

import hpcore
from hpcore_lightning._relay import RelayClient, RelayServer
from hpcore_lightning.keep import CKPT_FILE, Keeper, follow, infer_mode

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
    """Reports ``monitor`` to the running hpcore trial after each validation, stops the fit when told,
    and keeps the trial's model and checkpoints.

    The instance is a ``Callback`` of ``lightning.pytorch`` or ``pytorch_lightning``, whichever is
    imported (both when both are), so either Trainer accepts it. It skips the sanity check and
    ``validate``/``test`` runs, resets per fit, and numbers steps with a validation counter that
    continues from the trial's last step, so ``val_check_interval < 1`` and several fits per trial
    never collide. Under DDP only global rank 0 reports (from a spawned process through a local
    relay) and writes files; its decisions are broadcast, so every rank stops at the same validation.

    The model (``save_model``) is kept as the trial's ``model/model.ckpt``, a weights-only Lightning
    checkpoint that ``result.best.load_model()`` rebuilds with ``MyModule.load_from_checkpoint``:
    the module must call ``self.save_hyperparameters()`` in its ``__init__``, and its class must be
    importable where the model is loaded (else pass ``load_model(model_class=MyModule)``). The best
    state is copied to CPU memory at each improvement and written when training ends and at
    checkpoints, not at every improvement.

    Every ``checkpoint_every`` reports of a fit (less often when they come so fast that checkpoints
    would take more than ``checkpoint_budget`` of the time), a full Lightning checkpoint (``last.ckpt``) is saved
    as the trial's checkpoint at the reported step. A run of the trial that starts again (``max_retries``,
    ``crash_retries``, a resumed job) continues from it with one more argument::

        trainer.fit(model, dm, ckpt_path=cb.ckpt_path)   # None on a first run: starts from scratch

    Lightning restores the epoch, the global step, the optimizer and this callback's best value; the
    reported steps continue after the checkpoint's step (one step per validation, as before).

    Args:
        monitor: A key of ``trainer.callback_metrics`` (what ``self.log`` logged).
        report_as: Also report the monitored value under this name (the job's ``objective``).
        save_model: ``True`` or ``"best"``: keep the state with the best monitored value;
            ``"last"``: the state when training ends; ``False``: no model.
        checkpoint_every: Save a checkpoint after at least this many reports of a fit; 0 or None: none.
        mode: ``"min"`` when a smaller monitored value is better, ``"max"`` when a larger one is.
            By default the job's direction if the reporter exposes it, else ``"min"`` for names
            containing loss, error, (r)mse or mae and ``"max"`` for the others (``val_acc``, ``val_auc``).
        checkpoint_budget: The largest share of the training time checkpoints may take (very short
            validations space them out further, see :class:`hpcore_adapters.CheckpointSchedule`);
            None: exactly every ``checkpoint_every`` reports.

    Attributes:
        stop_reason: Why the fit was stopped, or None.
        best: The best monitored value of the last fit (``save_model="best"``), or None.

    Example:
        >>> import hpcore
        >>> from hpcore_lightning import TuningCallback
        >>> cb = TuningCallback(monitor="val_auc", checkpoint_every=2)
        >>> cb.monitor, cb.stop_reason, cb.mode, cb.ckpt_path
        ('val_auc', None, 'max', None)
    """

    _packages: tuple[str, ...] = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> TuningCallback:
        if cls is TuningCallback:
            cls = _concrete(_packages_in_use())
        return object.__new__(cls)

    def __init__(self, monitor: str = "val_loss", report_as: str | None = None, save_model: bool | str = True,
                 checkpoint_every: int | None = 5, mode: str | None = None,
                 checkpoint_budget: float | None = DEFAULT_BUDGET) -> None:
        self._link = TrialLink(monitor, "Lightning", report_as=report_as)
        self._keep = Keeper(save_model, checkpoint_every, mode)
        self._schedule = CheckpointSchedule(self._keep.every, checkpoint_budget)
        self._pid = os.getpid()
        self._relay: tuple[tuple[str, int], bytes] | None = None
        self._client: RelayClient | None = None
        reporter = hpcore.current_reporter()
        if reporter is not None:
            # Opened now because a forked rank copies the object without pickling it.
            server = RelayServer(reporter)
            self._relay = (server.address, server.authkey)
            weakref.finalize(self, server.close)
            if self._keep.enabled:
                self._keep.attach(reporter)
            self._keep.mode = self._keep.mode or infer_mode(monitor, report_as, reporter)

    def __reduce__(self) -> tuple[Any, ...]:
        # The concrete class is built at run time, so pickle (ddp_spawn) rebuilds it from its packages.
        state = dict(self.__dict__)
        state["_client"] = None
        return (_rebuild, (type(self)._packages, state))

    @property
    def mode(self) -> str:
        """``"min"`` or ``"max"``: which monitored values count as better (see the class docstring)."""
        return self._keep.mode or infer_mode(self._link.monitor, self._link.report_as, hpcore.current_reporter())

    @property
    def best(self) -> float | None:
        return self._keep.best

    @property
    def ckpt_path(self) -> str | None:
        """The trial's last checkpoint (``.ckpt``) to resume from: ``trainer.fit(..., ckpt_path=cb.ckpt_path)``.

        None on a first run, outside a trial, or when the checkpoint holds no Lightning file. Reading
        it makes the trial's steps continue after the checkpoint's step (``reporter.load_checkpoint``);
        read it in the trial's own process, before ``fit``.
        """
        reporter = hpcore.current_reporter()
        if reporter is None:
            return None
        ckpt = reporter.load_checkpoint()
        if ckpt is None:
            return None
        path = os.path.join(ckpt.path, CKPT_FILE)
        return path if os.path.exists(path) else None

    def state_dict(self) -> dict[str, Any]:
        """The best monitored value so far, saved in Lightning checkpoints."""
        return self._keep.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores the best value when a fit resumes from a checkpoint."""
        self._keep.load_state_dict(state_dict)

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
        self._keep.begin()
        self._schedule.begin()
        if os.getpid() != self._pid and trainer.world_size > 1:  # a rank that ddp_spawn started
            _leave_together_at_exit()
        if trainer.is_global_zero:
            self._link.begin(self._sink())
            self._keep.mode = self.mode
        else:  # other ranks only follow rank 0's broadcast decision
            self._link.begin(_Silent())

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking or getattr(trainer.state, "fn", "fit") != "fit":
            return
        metrics = numeric_metrics(trainer.callback_metrics)
        value = self._link.value(metrics)  # every rank raises alike when the metric is missing (no hang)
        stop = model = checkpoint = False
        target = None
        if trainer.is_global_zero:
            stop = self._link.report(metrics)
            keeps = self._keep.enabled and self._link.active and hasattr(pl_module, "state_dict")
            target = self._keep.target() if keeps else None
            if target is not None:
                self._keep.observe(value, self._link.last_step or 0, pl_module)
                checkpoint = self._schedule.due() and not stop
                model = checkpoint and self._keep.pending
        else:
            self._link.count += 1
        if not self._keep.enabled:
            stop = bool(trainer.strategy.broadcast(stop, src=0))
        else:
            decision = trainer.strategy.broadcast((stop, model, checkpoint), src=0)
            stop, model, checkpoint = decision if isinstance(decision, tuple) else (bool(decision), False, False)
        if model:  # the model first: a checkpoint always has the best state up to it on disk
            self._write_model(trainer, pl_module, target)
        if checkpoint:
            if target is not None:
                step = self._link.last_step or 0
                self._schedule.timed(lambda: self._keep.write_checkpoint(trainer, target, step))
            else:
                follow(trainer, weights_only=False)
        if stop:
            self._link.mark_stopped("hpcore stopped the trial (decided on rank 0)")
            trainer.should_stop = True

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        if self._keep.what is None:
            return
        target = self._keep.target() if trainer.is_global_zero and self._link.active else None
        pending = target is not None and self._keep.pending
        if bool(trainer.strategy.broadcast(pending, src=0)):
            self._write_model(trainer, pl_module, target)

    def _write_model(self, trainer: Any, pl_module: Any, target: Any) -> None:
        if target is not None:
            self._keep.write_model(trainer, pl_module, target, self._link.monitor)
        else:
            follow(trainer, weights_only=True)

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        self._keep.restored = False
        if self._client is not None:
            self._client.close()
            self._client = None


_exit_registered = False


def _leave_together_at_exit() -> None:
    """Registers (once per process) :func:`_leave_together` for a spawned rank's exit."""
    global _exit_registered
    if not _exit_registered:
        _exit_registered = True
        atexit.register(_leave_together)


def _leave_together() -> None:
    """A spawned rank's exit: the ranks wait for each other, then close their process group.

    Lightning closes a ``gloo`` group nowhere, and the process of rank 0 holds the group's store, so
    a rank whose peer exited first could abort while it tears its connections down (SIGABRT, which
    turns the trial into a failure). Waiting for each other (30 s at most) makes them leave together.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    try:
        if dist.get_backend() == "gloo":
            dist.monitored_barrier(timeout=timedelta(seconds=30))
        dist.destroy_process_group()
    except Exception:  # noqa: BLE001 - a peer that is gone already: nothing left to wait for
        pass


class _Silent:
    """The sink of non-zero ranks: they never report, so their counters start at zero."""

    last_step = 0

    def report(self, step: int | None = None, **metrics: float) -> bool:
        return False
