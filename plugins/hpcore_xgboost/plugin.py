"""hpcore plugin (entry point ``xgboost``): materialises optimizer presets as booster parameters.

Trees have no optimizer object; the optimizer category's values map onto the booster's own
parameters: ``lr`` → ``learning_rate`` (eta), ``weight_decay`` → ``reg_lambda`` (L2 on leaf
weights). ``hpcore_make_optimizer(framework="xgboost", params=..., model=None)`` returns that dict,
ready for ``xgb.train(params, ...)`` or ``XGBClassifier(**params)``. xgboost itself is not imported.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from hpcore.hookspec import hookimpl

__all__ = ["hpcore_make_optimizer"]

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
