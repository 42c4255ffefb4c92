"""xgboost's scikit-learn classifier with the target's own labels.

``xgboost.XGBClassifier`` accepts only class codes ``0..k-1`` and predicts codes.
:class:`XGBLabelClassifier` takes any labels (text such as ``"fraud"``, or numbers), keeps them in
``classes_`` and predicts them, so a pipeline that ends with it can be used like any scikit-learn
classifier. Everything else (parameters, ``predict_proba``, callbacks, saving) is xgboost's own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xgboost import XGBClassifier

__all__ = ["XGBLabelClassifier"]


class XGBLabelClassifier(XGBClassifier):
    """``xgboost.XGBClassifier`` that learns and predicts the labels of ``y``, not their codes.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(200, 2))
        >>> y = np.where(x[:, 0] > 0, "fraud", "ok")
        >>> clf = XGBLabelClassifier(n_estimators=10, n_jobs=1).fit(x, y)
        >>> clf.classes_.tolist(), list(clf.predict(x[:3])) == list(y[:3])
        (['fraud', 'ok'], True)
    """

    @property
    def classes_(self) -> np.ndarray:
        labels = self.__dict__.get("labels_")
        return np.arange(self.n_classes_) if labels is None else labels

    def fit(self, X: Any, y: Any, **kwargs: Any) -> XGBLabelClassifier:
        """Encodes ``y`` as codes, fits xgboost's classifier on them and keeps the labels.

        Keyword arguments go to ``XGBClassifier.fit``.
        """
        labels, codes = np.unique(np.asarray(y).ravel(), return_inverse=True)
        self.labels_ = None  # xgboost's fit checks ``classes_`` against the codes
        super().fit(X, codes, **kwargs)
        self.labels_ = labels
        return self

    def predict(self, X: Any, **kwargs: Any) -> np.ndarray:
        """The most probable label of each row."""
        codes = np.asarray(super().predict(X, **kwargs), dtype=np.int64)
        return self.classes_[codes]
