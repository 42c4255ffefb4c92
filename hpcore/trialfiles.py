"""The running trial's side of its artifact folder: files, the saved model and checkpoints.

A :class:`TrialFiles` lives in the process that runs the training function (the controller's, a
worker process, a Dask worker) and is reached through the trial's :class:`~hpcore.Reporter`. Every
write that another process may read is atomic: a checkpoint is written into a folder of its own
and becomes visible by a rename (locally) or by its ``checkpoint.json`` uploaded last (URL), so a
checkpoint whose writer was killed halfway is never loaded; the model's description
(``hpcore-model.json``) is replaced in one step after the model's file is complete.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hpcore.artifacts import (
    CHECKPOINT_INFO,
    CHECKPOINT_NAME,
    CHECKPOINTS,
    MODEL_INFO,
    _fs,
    is_url,
    join,
    latest_checkpoint,
    local_copy,
    remove_tree,
)

__all__ = ["Checkpoint", "TrialFiles"]

STATE_FILE = "state.pkl"


@dataclass
class Checkpoint:
    """A trial's last checkpoint.

    Attributes:
        state: What was passed to ``save_checkpoint`` (None when only files were written).
        step: The step it was saved at: the trial continues with step ``step + 1``.
        path: A local folder with the files written by ``save_checkpoint(write=...)``.
    """

    state: Any
    step: int
    path: str


class TrialFiles:
    """One trial's folder as the training code sees it.

    Args:
        location: The trial's folder or URL; None gives a temporary folder (a reporter made by
            hand, outside a job).

    Example:
        >>> files = TrialFiles(None)
        >>> _ = files.save_checkpoint({"epoch": 2}, step=2)
        >>> ckpt = files.load_checkpoint()
        >>> ckpt.state, ckpt.step
        ({'epoch': 2}, 2)
    """

    def __init__(self, location: str | None) -> None:
        self.location = location if location is not None else tempfile.mkdtemp(prefix="hpcore-trial-")
        self.remote = is_url(self.location)
        self._dir: str | None = None

    @property
    def dir(self) -> str:
        """The local folder to write the trial's files into, created on first use."""
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="hpcore-staging-") if self.remote else self.location
            os.makedirs(self._dir, exist_ok=True)
        return self._dir

    @property
    def used(self) -> bool:
        """Whether anything asked for the folder (so there may be files to upload)."""
        return self._dir is not None

    def sync(self) -> None:
        """Uploads the staged files to the URL (nothing to do for a local folder)."""
        if not self.remote or self._dir is None:
            return
        fs, base = _fs(self.location)
        for folder, dirs, names in os.walk(self._dir):
            if os.path.relpath(folder, self._dir) == ".":
                dirs[:] = [d for d in dirs if d != CHECKPOINTS]
            for name in names:
                full = os.path.join(folder, name)
                rel = os.path.relpath(full, self._dir).replace(os.sep, "/")
                if rel == MODEL_INFO:
                    continue
                fs.makedirs(base.rstrip("/") + "/" + os.path.dirname(rel), exist_ok=True)
                fs.put_file(full, base.rstrip("/") + "/" + rel)
        info = os.path.join(self._dir, MODEL_INFO)
        if os.path.exists(info):  # last: a model described is a model uploaded
            fs.put_file(info, base.rstrip("/") + "/" + MODEL_INFO)

    # -- checkpoints ----------------------------------------------------------------------------
    def save_checkpoint(self, state: Any = None, step: int = 0,
                        write: Callable[[str], None] | None = None) -> str:
        """Saves ``state`` (pickled) and the files ``write(folder)`` puts in ``folder``, as one checkpoint.

        Returns:
            The checkpoint's location. Older checkpoints of the trial are deleted once it is complete.
        """
        staging = (tempfile.mkdtemp(prefix="hpcore-ckpt-") if self.remote else
                   os.path.join(self.dir, CHECKPOINTS, f".partial-{uuid.uuid4().hex}"))
        os.makedirs(staging, exist_ok=True)
        try:
            if write is not None:
                write(staging)
            if state is not None:
                with open(os.path.join(staging, STATE_FILE), "wb") as f:
                    pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
            with open(os.path.join(staging, CHECKPOINT_INFO), "w") as f:
                json.dump({"step": int(step), "time": time.time(), "state": state is not None}, f)
            name = f"step-{int(step):08d}"
            target = join(self.location, CHECKPOINTS, name)
            if self.remote:
                self._upload_checkpoint(staging, target)
            else:
                if os.path.exists(target):  # the same step saved again: the newer one wins
                    old = target + f".old-{uuid.uuid4().hex}"
                    os.rename(target, old)
                    shutil.rmtree(old, ignore_errors=True)
                os.rename(staging, target)
                staging = ""
        finally:
            if staging:
                shutil.rmtree(staging, ignore_errors=True)
        self._drop_older(name)
        return target

    def _upload_checkpoint(self, staging: str, target: str) -> None:
        fs, base = _fs(target)
        for folder, _, names in os.walk(staging):
            for n in names:
                if n == CHECKPOINT_INFO:
                    continue
                full = os.path.join(folder, n)
                rel = os.path.relpath(full, staging).replace(os.sep, "/")
                fs.makedirs(base + "/" + os.path.dirname(rel), exist_ok=True)
                fs.put_file(full, base + "/" + rel)
        fs.put_file(os.path.join(staging, CHECKPOINT_INFO), base + "/" + CHECKPOINT_INFO)  # last: complete

    def _drop_older(self, keep: str) -> None:
        folder = join(self.location, CHECKPOINTS)
        if self.remote:
            fs, path = _fs(folder)
            names = [e.rstrip("/").rsplit("/", 1)[-1] for e in fs.ls(path, detail=False)]
        else:
            names = os.listdir(folder) if os.path.isdir(folder) else []
        for name in names:
            if name != keep and CHECKPOINT_NAME.match(name):
                remove_tree(join(folder, name))

    def load_checkpoint(self) -> Checkpoint | None:
        """The last complete checkpoint of this trial (from an earlier run of it), or None."""
        found = latest_checkpoint(self.location)
        if found is None:
            return None
        step, where = found
        path = local_copy(where)
        state = None
        state_file = os.path.join(path, STATE_FILE)
        if os.path.exists(state_file):
            with open(state_file, "rb") as f:
                state = pickle.load(f)
        return Checkpoint(state, step, path)

    # -- the model ------------------------------------------------------------------------------
    def save_model(self, fmt: str, filename: str, write: Callable[[str], None], **info: Any) -> str:
        """Writes the trial's model with ``write(path)`` to ``model/filename`` and describes it.

        A model saved again replaces the previous one. ``info`` (JSON values) is kept for the loader.
        """
        folder = os.path.join(self.dir, "model")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, filename)
        write(path)
        for name in os.listdir(folder):  # an earlier model under another file name is not this one
            if name != filename and not os.path.isdir(os.path.join(folder, name)):
                os.remove(os.path.join(folder, name))
        desc = {"format": fmt, "path": f"model/{filename}", "saved": time.time(), **info}
        tmp = os.path.join(self.dir, f".{MODEL_INFO}.{uuid.uuid4().hex}")
        with open(tmp, "w") as f:
            json.dump(desc, f)
        os.replace(tmp, os.path.join(self.dir, MODEL_INFO))
        return path
