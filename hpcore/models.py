"""Loading a trial's saved model back: the formats and their loaders.

A trial's model is described by ``hpcore-model.json`` in its folder (``format``, ``path`` and what
the loader needs, see :mod:`hpcore.trialfiles`). Each format has a loader registered through the
``hpcore_add_model_formats`` hook: ``pickle`` here, ``lightning``, ``keras`` and ``xgboost`` by the
adapters' plugins, so reading a model never imports a framework until that format is asked for.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
from typing import Any

from hpcore.artifacts import MODEL_INFO, is_url, join, local_copy
from hpcore.errors import HpcoreError
from hpcore.hookspec import hookimpl

__all__ = ["ModelNotFound", "import_object", "load_model", "model_info"]


class ModelNotFound(HpcoreError):
    """A trial has no saved model (none was saved, or its files were deleted)."""


def import_object(ref: str) -> Any:
    """The object named ``module:qualname``.

    Example:
        >>> import_object("os.path:join") is os.path.join
        True
    """
    module, _, qualname = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def model_info(location: str) -> dict[str, Any] | None:
    """The description of the model saved in the trial folder ``location``, or None."""
    where = join(location, MODEL_INFO)
    if is_url(location):
        from hpcore.artifacts import _fs

        fs, path = _fs(where)
        if not fs.exists(path):
            return None
        with fs.open(path, "r") as f:
            return json.load(f)
    if not os.path.exists(where):
        return None
    with open(where) as f:
        return json.load(f)


def load_model(location: str, model_class: Any = None, trial: str = "the trial") -> Any:
    """The model saved in the trial folder ``location``, as its framework's object.

    Args:
        location: The trial's folder or URL.
        model_class: For formats that rebuild an object of the user's class (a ``LightningModule``):
            the class, when the one recorded at saving cannot be imported here.
        trial: How messages name the trial.

    Raises:
        ModelNotFound: When no model was saved there, or its files are gone.
    """
    from hpcore import plugins

    info = model_info(location)
    if info is None:
        raise ModelNotFound(f"{trial} saved no model (no {MODEL_INFO} in {location}): save one with "
                            "reporter.save_model(...) or a framework callback with save_model=True, and keep "
                            "its files with keep_artifacts")
    folder = local_copy(location)
    path = os.path.join(folder, *str(info["path"]).split("/"))
    if not os.path.exists(path):
        raise ModelNotFound(f"{trial}'s model file {info['path']} is missing from {location}")
    loader = plugins.lookup("model_formats", str(info["format"]))
    return loader(path, info, model_class)


def _load_pickle(path: str, info: dict[str, Any], model_class: Any = None) -> Any:
    with open(path, "rb") as f:
        return pickle.load(f)


@hookimpl
def hpcore_add_model_formats() -> dict[str, Any]:
    return {"pickle": _load_pickle}
