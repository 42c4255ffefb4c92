"""Trial artifacts: one folder per trial for its files, its saved model and its checkpoints.

A job keeps its trials' files under one *root*: next to a store file ``tuning.db`` the folder
``tuning.artifacts``, or the location given by ``TuningJob(artifacts=...)``: a local folder, or an
`fsspec <https://filesystem-spec.readthedocs.io>`_ URL (``s3://bucket/tuning``, a shared
``file:///mnt/shared/tuning``, ``memory://tuning`` in tests) for trials that run on other hosts.
Trial ``N`` of job ``J`` owns ``ROOT/J/N/``:

* anything the training code writes into ``reporter.artifact_dir``;
* ``model/`` and ``hpcore-model.json``: the model saved by ``reporter.save_model`` (the Lightning,
  Keras and XGBoost callbacks call it), which ``record.load_model()`` reads back;
* ``checkpoints/step-NNNNNNNN/``: the last checkpoint (``reporter.save_checkpoint``), from which a
  trial that runs again continues; deleted when the trial ends.

With an URL the trial writes into a local staging folder that is uploaded when the trial ends (its
checkpoints at once, each as it is saved). The controller lists the files of each finished trial
into the store. Shapes of the locations: a trial's *location* is a local path or an URL string.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

from hpcore.errors import ConfigError

__all__ = ["CHECKPOINTS", "MODEL_INFO", "Artifact", "ArtifactRoot", "default_root", "export_files", "is_url", "join",
           "local_copy", "remove_tree", "trial_location", "walk_files"]

CHECKPOINTS = "checkpoints"  # a trial's checkpoints, under its folder
MODEL_INFO = "hpcore-model.json"  # which file is the trial's model, and how to load it
CHECKPOINT_NAME = re.compile(r"^step-(\d+)$")
CHECKPOINT_INFO = "checkpoint.json"  # written last: a checkpoint folder without it is incomplete


@dataclass(frozen=True)
class Artifact:
    """One file a trial wrote: its path relative to the trial's folder, its size in bytes, and
    whether ``keep_artifacts`` deleted it since.

    Example:
        >>> Artifact("model/model.keras", 2048).path
        'model/model.keras'
    """

    path: str
    size: int
    deleted: bool = False


def is_url(location: str) -> bool:
    """Whether ``location`` is an fsspec URL (other than ``file://``, which is a local path)."""
    return "://" in location and not location.startswith("file://")


def _local(location: str) -> str:
    return location[len("file://"):] if location.startswith("file://") else location


def join(location: str, *parts: str) -> str:
    """``location`` with ``parts`` appended, for paths and URLs alike."""
    if is_url(location):
        return "/".join([location.rstrip("/"), *parts])
    return os.path.join(_local(location), *parts)


def _fs(url: str) -> tuple[Any, str]:
    try:
        from fsspec.core import url_to_fs
    except ModuleNotFoundError:
        raise ConfigError(f"artifacts={url!r} is an URL, which needs fsspec: pip install 'hpcore[fsspec]' "
                          "(and the filesystem's own package, such as s3fs), or give a local folder") from None
    return url_to_fs(url)


def default_root(store_path: str | None) -> tuple[str, bool]:
    """The artifact root of a job whose store is ``store_path``: ``(location, temporary)``.

    Example:
        >>> default_root("runs/tuning.db")[0]
        'runs/tuning.artifacts'
    """
    if store_path is None:
        return tempfile.mkdtemp(prefix="hpcore-artifacts-"), True
    stem, ext = os.path.splitext(store_path)
    return (stem if ext else store_path) + ".artifacts", False


def walk_files(location: str, skip: tuple[str, ...] = ()) -> list[Artifact]:
    """Every file under ``location`` (a folder or URL), sorted, except under the top-level ``skip``."""
    out: list[Artifact] = []
    if is_url(location):
        fs, root = _fs(location)
        if not fs.exists(root):
            return []
        for path, info in fs.find(root, detail=True).items():
            rel = path[len(root.rstrip("/")) + 1:]
            if rel and rel.split("/")[0] not in skip:
                out.append(Artifact(rel, int(info.get("size") or 0)))
        return sorted(out, key=lambda a: a.path)
    root = _local(location)
    for folder, dirs, files in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        if rel_folder == ".":
            dirs[:] = [d for d in dirs if d not in skip]
        for f in files:
            full = os.path.join(folder, f)
            rel = os.path.normpath(os.path.join(rel_folder, f)).replace(os.sep, "/")
            try:
                out.append(Artifact(rel, os.path.getsize(full)))
            except OSError:  # removed while listed
                continue
    return sorted(out, key=lambda a: a.path)


def remove_tree(location: str) -> None:
    """Deletes a folder (or URL prefix) and everything in it; a missing one is not an error."""
    if is_url(location):
        fs, path = _fs(location)
        if fs.exists(path):
            fs.rm(path, recursive=True)
        return
    shutil.rmtree(_local(location), ignore_errors=True)


def local_copy(location: str, cache: str | None = None) -> str:
    """A local folder holding the files at ``location``: the folder itself, or a download of an URL."""
    if not is_url(location):
        return _local(location)
    fs, path = _fs(location)
    target = cache or tempfile.mkdtemp(prefix="hpcore-download-")
    if fs.exists(path):
        fs.get(path.rstrip("/") + "/", target.rstrip("/") + "/", recursive=True)
    return target


def latest_checkpoint(location: str) -> tuple[int, str] | None:
    """``(step, location)`` of the newest complete checkpoint of the trial at ``location``, or None."""
    folder = join(location, CHECKPOINTS)
    found: list[tuple[int, str]] = []
    if is_url(location):
        fs, path = _fs(folder)
        if not fs.exists(path):
            return None
        for entry in fs.ls(path, detail=False):
            name = entry.rstrip("/").rsplit("/", 1)[-1]
            m = CHECKPOINT_NAME.match(name)
            if m and fs.exists(entry.rstrip("/") + "/" + CHECKPOINT_INFO):
                found.append((int(m.group(1)), join(folder, name)))
    else:
        local = _local(folder)
        if not os.path.isdir(local):
            return None
        for name in os.listdir(local):
            m = CHECKPOINT_NAME.match(name)
            if m and os.path.exists(os.path.join(local, name, CHECKPOINT_INFO)):
                found.append((int(m.group(1)), os.path.join(local, name)))
    return max(found) if found else None


class ArtifactRoot:
    """The controller's view of a job's artifact root: where each trial's folder is, and its files.

    Args:
        location: A local folder or an fsspec URL.
        temporary: Whether the folder is a temporary one (a job with an in-memory store).

    Example:
        >>> import tempfile, os
        >>> root = ArtifactRoot(tempfile.mkdtemp())
        >>> path = root.trial_location("demo", 3)
        >>> os.makedirs(path); open(os.path.join(path, "notes.txt"), "w").write("hi")
        2
        >>> root.files("demo", 3)
        [Artifact(path='notes.txt', size=2, deleted=False)]
    """

    def __init__(self, location: str, temporary: bool = False) -> None:
        if not isinstance(location, str) or not location:
            raise ConfigError(f"artifacts={location!r}: give a folder or an fsspec URL (s3://bucket/path)")
        if is_url(location):
            _fs(location)  # fails now, with the fix, when fsspec or the filesystem is missing
        self.location = location if is_url(location) else os.path.abspath(_local(location))
        self.temporary = temporary

    def trial_location(self, job: str, trial_id: int) -> str:
        """The folder (or URL) of one trial."""
        return trial_location(self.location, job, trial_id)

    def files(self, job: str, trial_id: int) -> list[Artifact]:
        """The files a trial left (its checkpoints excepted)."""
        return walk_files(self.trial_location(job, trial_id), skip=(CHECKPOINTS,))

    def checkpoint_step(self, job: str, trial_id: int) -> int | None:
        """The step of the trial's last complete checkpoint, or None."""
        found = latest_checkpoint(self.trial_location(job, trial_id))
        return None if found is None else found[0]

    def drop_checkpoints(self, job: str, trial_id: int) -> None:
        """Deletes a trial's checkpoints (it has ended: they were only there to continue it)."""
        remove_tree(join(self.trial_location(job, trial_id), CHECKPOINTS))

    def remove(self, job: str, trial_id: int) -> None:
        """Deletes everything of one trial."""
        remove_tree(self.trial_location(job, trial_id))

    def export(self, job: str, trial_id: int, dest: str) -> list[str]:
        """Copies a trial's files (not its checkpoints) into the local folder ``dest``; returns their paths."""
        return export_files(self.trial_location(job, trial_id), dest)


def export_files(location: str, dest: str) -> list[str]:
    """Copies the files of the trial folder (or URL) ``location``, checkpoints excepted, into the
    local folder ``dest``, keeping their relative paths; returns the paths written."""
    files = walk_files(location, skip=(CHECKPOINTS,))
    remote = is_url(location)
    if remote:
        fs, base = _fs(location)
    out = []
    for a in files:
        target = os.path.join(dest, *a.path.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if remote:
            fs.get(base.rstrip("/") + "/" + a.path, target)
        else:
            shutil.copy2(os.path.join(_local(location), *a.path.split("/")), target)
        out.append(target)
    return out


def trial_location(root: str, job: str, trial_id: int) -> str:
    """The folder (or URL) of trial ``trial_id`` of job ``job`` under the artifact root ``root``.

    Example:
        >>> trial_location("/runs/tuning.artifacts", "fraud", 7)
        '/runs/tuning.artifacts/fraud/7'
    """
    return join(root, _safe(job), str(int(trial_id)))


def _safe(job: str) -> str:
    """A job name as a folder name: readable where it can be, unique always."""
    clean = re.sub(r"[^A-Za-z0-9._-]", "_", job)
    if clean == job and job not in (".", ".."):
        return job
    return f"{clean}-{hashlib.sha1(job.encode()).hexdigest()[:8]}"
