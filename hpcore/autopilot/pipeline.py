"""The winning pipeline: preprocessing and model refit on all training rows, saved as a pickle.

Model files are Python pickles: loading one runs code it names, so load only files you made.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpcore.autopilot.data import AutopilotError, load_table
from hpcore.autopilot.preprocess import Preprocessor

__all__ = ["Pipeline", "load_pipeline", "predict_file"]


@dataclass
class Pipeline:
    """A fitted preprocessing + model that predicts the target from raw rows.

    Attributes:
        target: The target column it predicts.
        problem_type: ``binary``, ``multiclass`` or ``regression``.
        classes: Class labels (as strings), in the order of :meth:`predict_proba`'s columns.
        preprocessor: The fitted :class:`~hpcore.autopilot.preprocess.Preprocessor`.
        model: The fitted model (``predict(matrix)``).
        candidate: The candidate's name, ``params`` its hyperparameters, ``metric``/``score`` its
            validation score.

    Example:
        >>> import numpy as np, pandas as pd
        >>> class Mean:
        ...     def predict(self, x): return np.full(len(x), 2.0)
        >>> pre = Preprocessor(["x"], []).fit(pd.DataFrame({"x": [1.0, 3.0]}))
        >>> Pipeline("y", "regression", [], pre, Mean()).predict(pd.DataFrame({"x": [0.0]})).tolist()
        [2.0]
    """

    target: str
    problem_type: str
    classes: list[str]
    preprocessor: Preprocessor
    model: Any
    candidate: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    metric: str = ""
    score: float = float("nan")

    @property
    def columns(self) -> list[str]:
        return self.preprocessor.numeric + self.preprocessor.categorical

    def _matrix(self, df: Any) -> np.ndarray:
        import pandas as pd

        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise AutopilotError(f"the data lacks the column(s) the model needs: {', '.join(missing)}")
        frame = pd.DataFrame(index=df.index)
        for col in self.preprocessor.numeric:
            frame[col] = pd.to_numeric(df[col], errors="coerce").astype(np.float64)
        for col in self.preprocessor.categorical:
            frame[col] = df[col].astype(object).where(df[col].notna(), None)
        return self.preprocessor.transform(frame)

    def predict_proba(self, df: Any) -> np.ndarray:
        """Class probabilities ``(n, k)`` (classification only)."""
        if self.problem_type == "regression":
            raise AutopilotError("predict_proba: this pipeline is a regression")
        return np.asarray(self.model.predict(self._matrix(df)))

    def predict(self, df: Any) -> np.ndarray:
        """Predicted labels (as the target's values, strings) or values (regression)."""
        out = np.asarray(self.model.predict(self._matrix(df)))
        if self.problem_type == "regression":
            return out.astype(np.float64)
        return np.asarray(self.classes, dtype=object)[out.argmax(axis=1)]

    def save(self, path: str) -> str:
        """Pickles the pipeline to ``path``."""
        with open(path, "wb") as fh:
            pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return path


def load_pipeline(path: str) -> Pipeline:
    """Unpickles a pipeline. Pickles run code when loaded: load only files you made yourself."""
    try:
        with open(path, "rb") as fh:
            obj = pickle.load(fh)  # noqa: S301 - documented: only your own model files
    except FileNotFoundError:
        raise AutopilotError(f"{path}: no such model file") from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ModuleNotFoundError) as exc:
        raise AutopilotError(f"{path} is not an autopilot model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, Pipeline):
        raise AutopilotError(f"{path} holds a {type(obj).__name__}, not an autopilot model")
    return obj


def predict_file(model_path: str, data_path: str, output: str | None = None) -> Any:
    """Predicts every row of ``data_path``; writes a CSV (one column, plus probabilities) when ``output``.

    Returns:
        The predictions as a DataFrame.
    """
    import pandas as pd

    pipe = load_pipeline(model_path)
    df = load_table(data_path)
    out = pd.DataFrame({f"predicted_{pipe.target}": pipe.predict(df)}, index=df.index)
    if pipe.problem_type != "regression":
        proba = pipe.predict_proba(df)
        for k, c in enumerate(pipe.classes):
            out[f"proba_{c}"] = proba[:, k]
    if output:
        out.to_csv(output, index=False)
    return out
