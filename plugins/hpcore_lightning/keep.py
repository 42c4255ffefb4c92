"""What :class:`~hpcore_lightning.TuningCallback` keeps of a trial: its model and its checkpoints.

The model is a Lightning ``.ckpt`` (weights and hyperparameters, ``weights_only``) at the trial's
``model/model.ckpt``, described for ``result.best.load_model()`` (format ``lightning``, the module's
class as ``module:qualname``). By default it is the state with the best monitored value; each
improvement copies the weights to CPU memory and the file is written when training ends and at
each checkpoint (when the best changed since the last write), so a fit costs one model write, not
one per improvement, and a trial continued from a checkpoint still has the best state up to it.

Checkpoints are full Lightning checkpoints (``last.ckpt``: weights, optimizer, loops, callbacks)
that ``trainer.fit(..., ckpt_path=cb.ckpt_path)`` resumes from. Under DDP every rank calls
``trainer.save_checkpoint`` (it holds a barrier) and only global rank 0 writes, into the trial's
folder (a rank in a spawned or forked process writes through a copy of the trial's
:class:`~hpcore.trialfiles.TrialFiles`). Sharded strategies (FSDP, DeepSpeed), which write files on
every rank, are not supported.
"""

from __future__ import annotations

import inspect
import math
import os
import warnings
from typing import Any

import hpcore

__all__ = ["CKPT_FILE", "MIN_HINTS", "MODEL_FILE", "Keeper", "cpu_copy", "follow", "infer_mode"]

MODEL_FILE = "model.ckpt"
CKPT_FILE = "last.ckpt"
MIN_HINTS = ("loss", "error", "mse", "mae")  # "mse" also matches "rmse"
_DIRECTIONS = {"min": "min", "max": "max", "minimize": "min", "maximize": "max"}


def infer_mode(monitor: str, report_as: str | None = None, reporter: Any = None) -> str:
    """Whether a smaller (``"min"``) or a larger (``"max"``) monitored value is better.

    The job's direction when the reporter exposes one (``reporter.direction``, for its objective
    ``reporter.objective`` when that is the monitored metric or ``report_as``); otherwise ``"min"``
    for names containing loss, error, (r)mse or mae and ``"max"`` for the others.

    Example:
        >>> infer_mode("val_loss"), infer_mode("val_rmse"), infer_mode("val_auc")
        ('min', 'min', 'max')
    """
    direction = getattr(reporter, "direction", None)
    objective = getattr(reporter, "objective", None)
    if isinstance(direction, str) and direction.lower() in _DIRECTIONS and (
            objective is None or objective in (monitor, report_as)):
        return _DIRECTIONS[direction.lower()]
    name = monitor.lower()
    return "min" if any(hint in name for hint in MIN_HINTS) else "max"


def cpu_copy(state: dict[str, Any]) -> dict[str, Any]:
    """A copy of a ``state_dict`` on CPU (tensors detached and copied, other values as they are)."""
    return {k: v.detach().to("cpu", copy=True) if hasattr(v, "detach") else v for k, v in state.items()}


def _check(save_model: Any, checkpoint_every: Any, mode: Any) -> tuple[str | None, int, str | None]:
    what = {True: "best", False: None, None: None, "best": "best", "last": "last"}.get(save_model, "?")
    if what == "?" or (isinstance(save_model, int) and not isinstance(save_model, bool)):
        raise ValueError(f"save_model={save_model!r}: use True or 'best' (the monitored-best state), 'last' "
                         "(the state when training ends) or False")
    every = 0 if checkpoint_every is None else checkpoint_every
    if isinstance(every, bool) or not isinstance(every, int) or every < 0:
        raise ValueError(f"checkpoint_every={checkpoint_every!r}: give a number of reports (0 or None: no checkpoints)")
    if mode is not None and mode not in ("min", "max"):
        raise ValueError(f"mode={mode!r}: use 'min' (smaller is better), 'max' or None (inferred)")
    return what, every, mode


class Keeper:
    """The callback's model and checkpoint keeping (its decisions are taken on global rank 0).

    Args:
        save_model: ``True``/``"best"``, ``"last"`` or ``False``.
        checkpoint_every: Save a checkpoint every this many reports of a fit (0 or None: never).
        mode: ``"min"``, ``"max"`` or None (resolved by :func:`infer_mode`).

    Example:
        >>> k = Keeper("best", 5, "max")
        >>> [k.better(v) for v in (0.5, 0.4, 0.7)]
        [True, False, True]
    """

    def __init__(self, save_model: Any = True, checkpoint_every: Any = 5, mode: str | None = None) -> None:
        self.what, self.every, self.mode = _check(save_model, checkpoint_every, mode)
        self.best: float | None = None
        self.best_step: int | None = None
        self.files: Any = None  # the trial's TrialFiles, for a rank in another process
        self.pid = os.getpid()
        self.restored = False
        self._state: dict[str, Any] | None = None
        self._dirty = False
        self._warned = False

    @property
    def enabled(self) -> bool:
        """Whether anything is kept."""
        return self.what is not None or self.every > 0

    def attach(self, reporter: Any) -> None:
        """Remembers the trial's folder (the callback was made in the trial's process)."""
        self.files = reporter.files
        if self.files.remote:  # a rank in another process stages its files where this process uploads them
            _ = reporter.artifact_dir

    def target(self) -> Any:
        """Where rank 0 writes: the trial's reporter, or one on a copy of its folder; None outside a trial."""
        reporter = hpcore.current_reporter()
        if reporter is not None and os.getpid() == self.pid:
            return reporter
        if self.files is not None:
            return hpcore.Reporter(0, {}, files=self.files)
        return None

    def begin(self) -> None:
        """A new fit: forgets the best, unless a checkpoint just restored it (resuming)."""
        if not self.restored:
            self.best = self.best_step = None
        self.restored = False
        self._state, self._dirty = None, False

    def better(self, value: float) -> bool:
        """Whether ``value`` beats the best so far (a NaN never does); records it when it does."""
        if math.isnan(value):
            return False
        if self.best is not None and not (value < self.best if self.mode == "min" else value > self.best):
            return False
        self.best = value
        return True

    def observe(self, value: float, step: int, pl_module: Any) -> None:
        """After a report on rank 0: copies the state when it is the one to keep."""
        if self.what == "last":
            self.best_step, self._dirty = step, True
        elif self.what == "best" and self.better(value):
            self.best_step = step
            self._state = cpu_copy(pl_module.state_dict())
            self._dirty = True

    @property
    def pending(self) -> bool:
        """Whether the state to keep changed since it was last written."""
        return self.what is not None and self._dirty

    def write_model(self, trainer: Any, pl_module: Any, target: Any, monitor: str) -> None:
        """Writes the kept state as the trial's model (rank 0; the other ranks call :func:`follow`)."""
        self._warn_without_hparams(pl_module)
        state = self._state if self.what == "best" else None

        def write(path: str) -> None:
            if state is None:
                trainer.save_checkpoint(path, weights_only=True)
                return
            current = cpu_copy(pl_module.state_dict())
            pl_module.load_state_dict(state)
            try:
                trainer.save_checkpoint(path, weights_only=True)
            finally:
                pl_module.load_state_dict(current)

        info: dict[str, Any] = {"monitor": monitor, "mode": self.mode, "kept": self.what, "step": self.best_step}
        if self.what == "best" and self.best is not None and math.isfinite(self.best):
            info["value"] = self.best
        cls = type(pl_module)
        target.save_model(format="lightning", filename=MODEL_FILE, write=write,
                          model_class=f"{cls.__module__}:{cls.__qualname__}", **info)
        self._dirty = False

    def write_checkpoint(self, trainer: Any, target: Any, step: int) -> None:
        """Saves a full Lightning checkpoint at ``step`` (rank 0; the other ranks call :func:`follow`)."""
        target.save_checkpoint(step=step, write=lambda folder: trainer.save_checkpoint(os.path.join(folder, CKPT_FILE)))

    def _warn_without_hparams(self, pl_module: Any) -> None:
        if self._warned or getattr(pl_module, "hparams", None):
            return
        self._warned = True
        required = [p.name for p in list(inspect.signature(type(pl_module).__init__).parameters.values())[1:]
                    if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if required:
            warnings.warn(f"hpcore Lightning TuningCallback: {type(pl_module).__qualname__} saved no hyperparameters, "
                          f"so load_from_checkpoint cannot rebuild it (its __init__ needs {', '.join(required)}): "
                          "call self.save_hyperparameters() in its __init__", stacklevel=3)

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps, for a resumed fit to compare with the best before it."""
        return {"best": self.best, "best_step": self.best_step, "mode": self.mode}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores :meth:`state_dict` (Lightning calls it when a fit resumes from a checkpoint)."""
        self.mode = self.mode or state.get("mode")
        same = state.get("mode") == self.mode  # a best in the other direction is no best
        self.best, self.best_step = (state.get("best"), state.get("best_step")) if same else (None, None)
        self.restored = True


def follow(trainer: Any, weights_only: bool) -> None:
    """A rank other than 0 takes part in a save (``save_checkpoint`` holds a barrier); it writes nothing."""
    trainer.save_checkpoint(os.devnull, weights_only=weights_only)
