"""The autopilot's saved model: a fitted scikit-learn pipeline, with a JSON card describing it.

``model.joblib`` holds the winning ``sklearn.pipeline.Pipeline`` (its ``ColumnTransformer`` and
estimator), or scikit-learn's ``VotingClassifier``/``VotingRegressor`` of such pipelines when the
ensemble wins, refit on all rows: ``joblib.load`` gives back an estimator with ``predict`` (the target's
own labels or values) and, for classification, ``predict_proba`` (columns in ``classes_`` order). It
needs scikit-learn and the estimator's own package (xgboost, or :mod:`hpcore.estimators` for the
networks), nothing else of the autopilot. ``model.json`` next to it is the model card: the target,
the problem type, the classes, the identifier columns to copy into predictions, the feature columns
and the candidate with its hyperparameters and validation score. joblib files are pickles: loading
one runs code it names, so load only files you made.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hpcore.autopilot.data import AutopilotError, load_table, prepare_features

__all__ = ["ModelCard", "load_card", "load_model", "predict_file", "save_model"]


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as JSON numbers and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@dataclass
class ModelCard:
    """What a saved model is and how it was chosen (``model.json``).

    Attributes:
        target: The column it predicts.
        problem_type: ``binary``, ``multiclass`` or ``regression``.
        classes: The class labels, in the order of ``predict_proba``'s columns.
        id_columns: Identifier columns of the training table, copied into predictions.
        numeric: The numeric feature columns it reads; ``categorical`` the categorical ones.
        candidate: The winning candidate; ``params`` its hyperparameters; ``metric``/``score`` its
            validation score and ``validation`` how it was validated.
        versions: The packages the model was made with.
        members: When ``candidate`` is ``ensemble``: each member's candidate, weight and
            hyperparameters (``params`` then holds the weights alone).

    Example:
        >>> card = ModelCard("y", "binary", ["no", "yes"], ["id"], ["x"], [], "xgboost/ordinal", {"eta": 0.1},
        ...                  "auc", 0.93)
        >>> ModelCard.from_json(card.to_json()) == card
        True
    """

    target: str
    problem_type: str
    classes: list[Any] = field(default_factory=list)
    id_columns: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    candidate: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    metric: str = ""
    score: float = float("nan")
    validation: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    members: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, default=_plain)

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        return cls(**json.loads(text))


def card_path(model_path: str) -> str:
    """``model.json`` beside ``model.joblib``."""
    return os.path.splitext(model_path)[0] + ".json"


def save_model(model: Any, card: ModelCard, path: str) -> tuple[str, str]:
    """Writes the fitted pipeline (joblib) to ``path`` and its card beside it; returns both paths."""
    import joblib

    joblib.dump(model, path)
    with open(card_path(path), "w", encoding="utf-8") as fh:
        fh.write(card.to_json() + "\n")
    return path, card_path(path)


def load_model(path: str) -> Any:
    """The fitted scikit-learn pipeline in ``path``. A joblib file is a pickle: load only your own."""
    import joblib

    try:
        model = joblib.load(path)  # documented: only your own model files
    except FileNotFoundError:
        raise AutopilotError(f"{path}: no such model file") from None
    except Exception as exc:  # joblib raises many types for a file that is not one of its pickles
        raise AutopilotError(f"{path} is not a saved model ({type(exc).__name__}: {exc})") from None
    if not hasattr(model, "predict"):
        raise AutopilotError(f"{path} holds a {type(model).__name__}, not a model with predict()")
    return model


def load_card(model_path: str) -> ModelCard | None:
    """The card beside ``model_path``, or None for a model saved without one."""
    try:
        with open(card_path(model_path), encoding="utf-8") as fh:
            return ModelCard.from_json(fh.read())
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        raise AutopilotError(f"{card_path(model_path)} is not a model card: {exc}") from None


def predict_file(model_path: str, data_path: str, output: str | None = None) -> Any:
    """Predicts every row of ``data_path`` with a saved model; writes a CSV with a header when ``output``.

    The predictions carry the table's identifier columns (those the card names) first, so they can
    be joined back, then ``predicted_<target>`` and, for classification, ``proba_<class>`` columns.

    Returns:
        The predictions as a DataFrame.
    """
    import pandas as pd

    model = load_model(model_path)
    card = load_card(model_path)
    df = load_table(data_path)
    target = card.target if card else "target"
    if card:
        missing = [c for c in card.numeric + card.categorical if c not in df.columns]
        if missing:
            raise AutopilotError(f"the data lacks the column(s) the model needs: {', '.join(missing)}")
        x = prepare_features(df, card.numeric, card.categorical)
    else:
        x = df
    out = pd.DataFrame(index=df.index)
    for col in (card.id_columns if card else []):
        if col in df.columns:
            out[col] = df[col]
    out[f"predicted_{target}"] = model.predict(x)
    if hasattr(model, "predict_proba") and (card is None or card.problem_type != "regression"):
        proba = model.predict_proba(x)
        for k, c in enumerate(model.classes_):
            out[f"proba_{c}"] = proba[:, k]
    if output:
        out.to_csv(output, index=False)
    return out
