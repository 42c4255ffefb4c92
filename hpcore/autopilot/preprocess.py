"""The preprocessing of a candidate pipeline: a scikit-learn ``ColumnTransformer``.

Numeric columns get median imputation with a missing indicator and standardisation (networks and
linear models) or pass through with their missing values (trees: xgboost routes NaN itself); the
candidates with a power transform apply scikit-learn's Yeo-Johnson ``PowerTransformer`` to the
columns the analysis found skewed. Categorical columns get one-hot codes (the 20 most frequent
categories, the rarer and unseen ones sharing one "infrequent" column, missing values their own)
or ordinal codes (trees; unseen and missing values are NaN). Columns the analysis dropped
(identifiers, constants, leaks) are dropped by the transformer, so the fitted pipeline takes the raw
table. The autopilot fits one per cross-validation fold, on that fold's training rows only, so no
statistic of a validation row reaches the model that is scored on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["MAX_ONEHOT", "make_preprocessor"]

MAX_ONEHOT = 20  # categories kept as one-hot columns; rarer ones share an "infrequent" column
MISSING = "<missing>"


def make_preprocessor(numeric: Sequence[str], categorical: Sequence[str], encoding: str = "onehot",
                      scale: bool = True, power: Sequence[str] = ()) -> Any:
    """An unfitted ``ColumnTransformer`` for these columns; see the module docstring.

    Args:
        numeric: Numeric feature columns.
        categorical: Categorical feature columns (text; missing values as NaN).
        encoding: ``onehot`` or ``ordinal``.
        scale: Impute and standardise numeric columns (for networks and linear models); False
            passes them through with NaN (for trees).
        power: Numeric columns to give a Yeo-Johnson power transform first (``scale`` only).

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"x": [1.0, 2.0, None, 5.0], "c": ["a", "b", "a", None], "id": [1, 2, 3, 4]})
        >>> pre = make_preprocessor(["x"], ["c"]).fit(df)
        >>> pre.transform(df).shape  # x, its missing indicator, and c = a, b, <missing>
        (4, 5)
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, PowerTransformer, StandardScaler

    if encoding not in ("onehot", "ordinal"):
        raise ValueError(f"encoding {encoding!r}: use 'onehot' or 'ordinal'")
    parts: list[tuple[str, Any, list[str]]] = []
    skewed = [c for c in numeric if c in set(power)] if scale else []
    plain = [c for c in numeric if c not in set(skewed)]

    def imputed() -> list[tuple[str, Any]]:
        return [("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                ("scale", StandardScaler())]

    if plain:
        parts.append(("numeric", Pipeline(imputed()) if scale else "passthrough", plain))
    if skewed:
        parts.append(("skewed", Pipeline([("power", PowerTransformer())] + imputed()), skewed))
    if categorical:
        if encoding == "onehot":
            steps = [("impute", SimpleImputer(strategy="constant", fill_value=MISSING, keep_empty_features=True)),
                     ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=MAX_ONEHOT + 1,
                                              sparse_output=False))]
            parts.append(("categorical", Pipeline(steps), list(categorical)))
        else:
            parts.append(("categorical", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                                        encoded_missing_value=np.nan), list(categorical)))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)
