"""The preprocessing of a candidate pipeline: imputation, skew transform, scaling and encoding.

A small numpy/pandas implementation rather than scikit-learn's ``ColumnTransformer``: it has no
dependency, pickles in a few kilobytes, and its fitted state (``median_``, ``mean_``, ``scale_``,
``categories_``) is plain data that the tests compare with the training fold's own statistics. The
autopilot fits one per cross-validation fold, on that fold's training rows only, so no statistic of a
validation row leaks into the model that is scored on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Preprocessor"]

MAX_ONEHOT = 20  # categories kept as one-hot columns; rarer ones share an "other" column


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def _skewness(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    sd = x.std()
    return 0.0 if len(x) < 3 or sd == 0 else float(np.mean(((x - x.mean()) / sd) ** 3))


@dataclass
class Preprocessor:
    """Turns a table into a float matrix; :meth:`fit` learns every statistic from the rows it is given.

    Args:
        numeric: Numeric feature columns.
        categorical: Categorical feature columns.
        encoding: ``onehot`` (a 0/1 column per frequent category, for linear models and networks) or
            ``ordinal`` (one integer code per column, by frequency, for trees).
        scale: Standardise numeric columns (mean 0, variance 1).
        impute: Replace missing numbers by the median and add a 0/1 "was missing" column; trees
            (xgboost) leave NaN, which they route on their own.
        skew: Apply ``sign(x) * log1p(|x|)`` to numeric columns whose skewness exceeds 2.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"x": [1.0, 2.0, None, 5.0], "c": ["a", "b", "a", None]})
        >>> pre = Preprocessor(["x"], ["c"]).fit(df)
        >>> pre.feature_names
        ['x', 'x_missing', 'c=a', 'c=b', 'c=<missing>']
        >>> pre.transform(df).shape
        (4, 5)
    """

    numeric: list[str]
    categorical: list[str]
    encoding: str = "onehot"
    scale: bool = True
    impute: bool = True
    skew: bool = False
    median_: dict[str, float] = field(default_factory=dict)
    mean_: dict[str, float] = field(default_factory=dict)
    scale_: dict[str, float] = field(default_factory=dict)
    skewed_: list[str] = field(default_factory=list)
    with_missing_: list[str] = field(default_factory=list)
    categories_: dict[str, list[str]] = field(default_factory=dict)

    def _numbers(self, df: Any, col: str) -> np.ndarray:
        x = np.asarray(df[col], dtype=np.float64)
        x = np.where(np.isfinite(x), x, np.nan)  # +-inf is missing too (xgboost refuses it)
        return _signed_log(x) if col in self.skewed_ else x

    def fit(self, df: Any) -> Preprocessor:
        """Learns medians, means, scales, skewed columns and categories from ``df`` (training rows)."""
        self.skewed_ = []
        if self.skew:
            self.skewed_ = [c for c in self.numeric if abs(_skewness(np.asarray(df[c], dtype=np.float64))) > 2]
        self.median_, self.mean_, self.scale_, self.with_missing_ = {}, {}, {}, []
        for col in self.numeric:
            x = self._numbers(df, col)
            finite = x[np.isfinite(x)]
            self.median_[col] = float(np.median(finite)) if len(finite) else 0.0
            if self.impute and len(finite) < len(x):
                self.with_missing_.append(col)
                x = np.where(np.isfinite(x), x, self.median_[col])
            ok = x[np.isfinite(x)]
            self.mean_[col] = float(ok.mean()) if len(ok) else 0.0
            sd = float(ok.std()) if len(ok) else 0.0
            self.scale_[col] = sd if sd > 0 else 1.0
        self.categories_ = {}
        for col in self.categorical:
            values = df[col].dropna().astype(str)
            counts = values.value_counts(sort=True)
            cats = [str(c) for c in counts.index]
            self.categories_[col] = cats[:MAX_ONEHOT] if self.encoding == "onehot" else cats
        return self

    @property
    def feature_names(self) -> list[str]:
        """The names of the output columns, in order."""
        names = []
        for col in self.numeric:
            names.append(col)
            if col in self.with_missing_:
                names.append(f"{col}_missing")
        for col in self.categorical:
            cats = self.categories_.get(col, [])
            if self.encoding == "onehot":
                names += [f"{col}={c}" for c in cats] + [f"{col}=<missing>"]
                if len(cats) == MAX_ONEHOT:
                    names.append(f"{col}=<other>")
            else:
                names.append(col)
        return names

    def transform(self, df: Any) -> np.ndarray:
        """The float32 matrix of ``df``, with the statistics learnt by :meth:`fit`."""
        blocks: list[np.ndarray] = []
        for col in self.numeric:
            x = self._numbers(df, col)
            missing = ~np.isfinite(x)
            if self.impute:
                x = np.where(missing, self.median_[col], x)
            if self.scale:
                x = (x - self.mean_[col]) / self.scale_[col]
            blocks.append(x)
            if col in self.with_missing_:
                blocks.append(missing.astype(np.float64))
        for col in self.categorical:
            cats = self.categories_.get(col, [])
            raw = df[col]
            isna = raw.isna().to_numpy()
            values = raw.astype(str).to_numpy()
            if self.encoding == "onehot":
                known = np.zeros(len(values), dtype=bool)
                for c in cats:
                    hit = (values == c) & ~isna
                    known |= hit
                    blocks.append(hit.astype(np.float64))
                blocks.append(isna.astype(np.float64))
                if len(cats) == MAX_ONEHOT:
                    blocks.append((~known & ~isna).astype(np.float64))
            else:
                # Codes by frequency; unseen and missing categories are NaN, which xgboost routes itself.
                lookup = {c: float(i) for i, c in enumerate(cats)}
                codes = np.array([lookup.get(v, np.nan) for v in values], dtype=np.float64)
                codes[isna] = np.nan
                blocks.append(codes)
        if not blocks:
            return np.zeros((len(df), 0), dtype=np.float32)
        return np.column_stack(blocks).astype(np.float32)

    def fit_transform(self, df: Any) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same rows."""
        return self.fit(df).transform(df)
