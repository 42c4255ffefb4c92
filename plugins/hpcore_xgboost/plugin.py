"""hpcore plugin (entry point ``xgboost``): booster parameters from presets, and the ``xgboost`` model format.

Trees have no optimizer object; the optimizer category's values map onto the booster's own
parameters: ``lr`` → ``learning_rate`` (eta), ``weight_decay`` → ``reg_lambda`` (L2 on leaf
weights). ``hpcore_make_optimizer(framework="xgboost", params=..., model=None)`` returns that dict,
ready for ``xgb.train(params, ...)`` or ``XGBClassifier(**params)``.

The ``xgboost`` model format (``hpcore_add_model_formats``) reads back the booster JSON that
``TuningCallback(save_model=True)`` saves at the end of a trial's training: ``record.load_model()``
returns an ``xgb.Booster``; ``record.load_model(model_class=xgb.XGBClassifier)`` (any xgboost
sklearn estimator class) returns that estimator with the booster loaded, ready to ``predict``.
xgboost itself is imported only by the loader, when such a model is loaded.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from hpcore.hookspec import hookimpl

__all__ = ["hpcore_add_model_formats", "hpcore_make_optimizer", "load_xgboost_model"]

AVAILABLE = importlib.util.find_spec("xgboost") is not None
if not AVAILABLE:
    logging.getLogger("hpcore").info("hpcore plugin xgboost: xgboost is not installed, its hooks are inactive "
                                     "(pip install 'hpcore[xgboost]')")

# Preset name → booster parameter; the rest of an optimizer preset (betas, momentum, init) has no
# meaning for boosted trees and is ignored.
BOOSTER_NAMES = {"lr": "learning_rate", "weight_decay": "reg_lambda"}


@hookimpl
def hpcore_make_optimizer(framework: str, params: dict[str, Any], model: Any) -> dict[str, float] | None:
    """Booster parameters for the optimizer preset's values (``{"learning_rate": ..., "reg_lambda": ...}``)."""
    if not AVAILABLE or framework != "xgboost":
        return None
    return {booster: float(params[name]) for name, booster in BOOSTER_NAMES.items() if params.get(name) is not None}


def load_xgboost_model(path: str, info: dict[str, Any], model_class: Any = None) -> Any:
    """The booster saved at ``path`` (a booster JSON), as an ``xgb.Booster`` or an sklearn estimator.

    Args:
        path: The model file (``model/model.json`` of the trial's folder).
        info: The model's description (``rounds``, ``objective``, the ``xgboost`` version that saved it).
        model_class: None or ``xgb.Booster`` for a Booster; an xgboost sklearn estimator class
            (``xgb.XGBClassifier``, ``xgb.XGBRegressor``, ``xgb.XGBRanker``...) for ``model_class()``
            with the booster loaded by its ``load_model``: it predicts like the fitted estimator
            (its hyperparameters other than the booster's own are the class's defaults).

    Raises:
        ImportError: When xgboost is not installed.
        TypeError: When ``model_class`` is neither of those.
    """
    try:
        import xgboost as xgb
    except ImportError as exc:  # pragma: no cover - the test environment has xgboost
        raise ImportError(f"this trial's model was saved by xgboost {info.get('xgboost', '')}; install it to "
                          "load it (pip install 'hpcore[xgboost]')") from exc
    if model_class is None or model_class is xgb.Booster:
        booster = xgb.Booster()
        booster.load_model(path)
        return booster
    if isinstance(model_class, type) and issubclass(model_class, xgb.XGBModel):
        estimator = model_class()
        estimator.load_model(path)
        return estimator
    raise TypeError(f"model_class={model_class!r}: an xgboost model loads as xgb.Booster (model_class=None) or "
                    "as an xgboost sklearn estimator class such as xgb.XGBClassifier or xgb.XGBRegressor")


@hookimpl
def hpcore_add_model_formats() -> dict[str, Any]:
    """The ``xgboost`` format: :func:`load_xgboost_model` (registered even without xgboost, to say so)."""
    return {"xgboost": load_xgboost_model}
