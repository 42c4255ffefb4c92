"""Reading the table and analysing it: the autopilot's ``AnalyzingData`` stage.

Every finding is shown to the user and acted on: identifier-like, constant, entirely missing and
leaking columns are dropped, high-cardinality categories get frequency-limited encodings, skewed
columns a power transform (in the candidates that use one), missing values an imputer and a missing
indicator, and an imbalanced target stratified folds. Input that cannot be used raises
:class:`AutopilotError` with one line saying what to change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpcore.autopilot.metrics import PROBLEM_TYPES
from hpcore.datasets.fraud import auc
from hpcore.errors import HpcoreError

__all__ = ["MIN_ROWS", "Analysis", "AutopilotError", "analyse", "features_frame", "load_table", "prepare_features"]

MIN_ROWS = 20  # below this, neither a 5-fold split nor a holdout leaves a meaningful validation set
MAX_CLASSES = 20  # an integer target with more distinct values than this is a regression target
HIGH_CARDINALITY = 50


class AutopilotError(HpcoreError):
    """Input the autopilot cannot use; the message says what to change."""


def load_table(path: str, na_values: list[str] | None = None) -> Any:
    """Reads a CSV or Parquet file into a pandas DataFrame.

    Raises:
        AutopilotError: When the file is missing, empty, unreadable, or Parquet without pyarrow.
    """
    import pandas as pd

    if not os.path.exists(path):
        raise AutopilotError(f"{path}: no such file")
    if os.path.getsize(path) == 0:
        raise AutopilotError(f"{path} is empty: give a CSV with a header row and data rows")
    if path.lower().endswith((".parquet", ".pq")):
        try:
            import pyarrow  # noqa: F401  (pandas reads Parquet through it)
        except ImportError:
            raise AutopilotError("reading Parquet needs pyarrow: pip install pyarrow "
                                 "(or save the table as CSV)") from None
        df = pd.read_parquet(path)
    else:
        try:
            df = pd.read_csv(path, na_values=na_values, skipinitialspace=True)
        except pd.errors.EmptyDataError:
            raise AutopilotError(f"{path} is empty: give a CSV with a header row and data rows") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise AutopilotError(f"{path} is not a readable CSV: {str(exc).splitlines()[0]}") from None
    if len(df) == 0:
        raise AutopilotError(f"{path} has a header but no data rows")
    return df


@dataclass
class Analysis:
    """What the data analysis found and decided.

    Attributes:
        target: The target column.
        problem_type: ``binary``, ``multiclass`` or ``regression``.
        problem_reason: Why (given, or how it was inferred).
        classes: The class labels (classification), as strings, in code order.
        numeric: Numeric feature columns kept.
        categorical: Categorical feature columns kept.
        dropped: Dropped columns and why.
        findings: One line per finding, in the order shown.
        rows: Rows used (rows with a missing target are dropped).
        class_counts: Rows per class (classification).
    """

    target: str
    problem_type: str
    problem_reason: str
    classes: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    rows: int = 0
    class_counts: dict[str, int] = field(default_factory=dict)
    high_cardinality: list[str] = field(default_factory=list)
    skewed: list[str] = field(default_factory=list)
    missing: dict[str, float] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical

    @property
    def id_columns(self) -> list[str]:
        """The dropped identifier-like columns: predictions carry them, to be joined back."""
        return [c for c, why in self.dropped.items() if why.startswith("identifier-like")]

    def text(self) -> str:
        """The findings as the terminal shows them."""
        head = [f"data: {self.rows} rows, {len(self.numeric)} numeric and {len(self.categorical)} categorical "
                f"feature columns kept, {len(self.dropped)} dropped",
                f"problem type: {self.problem_type} ({self.problem_reason})"]
        return "\n".join(head + [f"  - {f}" for f in self.findings])

    def encode_target(self, values: Any) -> np.ndarray:
        """Labels as codes ``0..k-1`` (classification) or floats (regression)."""
        if self.problem_type == "regression":
            return np.asarray(values, dtype=np.float64)
        lookup = {c: i for i, c in enumerate(self.classes)}
        return np.array([lookup[str(v)] for v in values], dtype=np.int64)


def _infer_problem(y: Any) -> tuple[str, str]:
    import pandas as pd

    n_unique = int(y.nunique())
    if n_unique == 2:
        return "binary", "inferred: the target has 2 distinct values"
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return "multiclass", f"inferred: the target is non-numeric with {n_unique} distinct values"
    integral = bool(np.all(np.mod(y.to_numpy(dtype=np.float64), 1) == 0))
    if integral and n_unique <= MAX_CLASSES:
        return "multiclass", f"inferred: the target holds {n_unique} distinct whole numbers (<= {MAX_CLASSES})"
    return "regression", f"inferred: the target is numeric with {n_unique} distinct values"


def _as_numbers(col: Any) -> tuple[Any, float]:
    """The column as floats and the share of its non-missing values that are numbers."""
    import pandas as pd

    nums = pd.to_numeric(col, errors="coerce")
    present = col.notna().sum()
    return nums, (float(nums.notna().sum()) / present if present else 0.0)


def _leaks(x: Any, y: np.ndarray, problem: str, numeric: bool) -> str | None:
    """Why ``x`` looks like a copy or a function of the target, or None."""
    ok = x.notna().to_numpy()
    if ok.sum() < 10:
        return None
    if numeric:
        xv = x.to_numpy(dtype=np.float64)[ok]
        yv = y[ok]
        if problem == "regression":
            if np.std(xv) > 0 and abs(np.corrcoef(xv, yv)[0, 1]) > 0.99:
                return "correlates with the target above 0.99"
            return None
        if problem == "binary" and len(np.unique(yv)) == 2:
            a = auc(yv, xv)
            if max(a, 1 - a) > 0.999:
                return f"separates the classes alone (AUC {max(a, 1 - a):.4f})"
            return None
    if problem == "regression":
        return None
    # A categorical (or multiclass-numeric) column whose every value maps to one class, with values
    # repeated (not an identifier), predicts the target perfectly.
    codes = x.astype(str).to_numpy()[ok]
    yv = y[ok]
    values = np.unique(codes)
    if len(values) >= len(codes) / 2:
        return None
    pure = all(len(np.unique(yv[codes == v])) == 1 for v in values)
    return "predicts the target perfectly (each value belongs to one class)" if pure else None


def analyse(df: Any, target: str, problem_type: str | None = None) -> Analysis:
    """Analyses ``df`` for predicting ``target``; see the module docstring for what is done.

    Raises:
        AutopilotError: For a missing target, a target with one class, mixed-type columns, too few
            rows or no usable feature.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"id": range(40), "x": [i % 7 for i in range(40)], "y": [i % 2 for i in range(40)]})
        >>> a = analyse(df, "y")
        >>> a.problem_type, a.numeric, sorted(a.dropped)
        ('binary', ['x'], ['id'])
    """
    import pandas as pd

    if target not in df.columns:
        raise AutopilotError(f"no target column {target!r}; the columns are: {', '.join(map(str, df.columns))}")
    if problem_type is not None and problem_type not in PROBLEM_TYPES:
        raise AutopilotError(f"problem type {problem_type!r}: use one of {', '.join(PROBLEM_TYPES)}")
    findings: list[str] = []
    missing_target = int(df[target].isna().sum())
    if missing_target:
        df = df[df[target].notna()]
        findings.append(f"{missing_target} rows without a target value: dropped")
    y_raw = df[target]
    if y_raw.nunique() < 2:
        only = y_raw.iloc[0] if len(y_raw) else "nothing"
        raise AutopilotError(f"target {target!r} has a single value ({only!r}) in {len(y_raw)} rows: "
                             "there is nothing to predict; it needs at least two classes or values")
    if problem_type is None:
        problem_type, reason = _infer_problem(y_raw)
    else:
        reason = "given"
    out = Analysis(target, problem_type, reason, findings=findings, rows=len(df))
    if problem_type == "regression":
        nums, share = _as_numbers(y_raw)
        if share < 1.0:
            raise AutopilotError(f"target {target!r} is not numeric, so it cannot be a regression target; "
                                 "use --problem-type binary or multiclass")
        y = nums.to_numpy(dtype=np.float64)
    else:
        labels = y_raw.astype(str)
        counts = labels.value_counts()
        if problem_type == "binary" and len(counts) != 2:
            raise AutopilotError(f"--problem-type binary, but target {target!r} has {len(counts)} classes; "
                                 "use multiclass")
        out.classes = sorted(counts.index, key=lambda c: (pd.to_numeric(c, errors="coerce"), c)) \
            if pd.api.types.is_numeric_dtype(y_raw) else sorted(counts.index)
        out.class_counts = {c: int(counts[c]) for c in out.classes}
        if int(counts.min()) < 2:
            rare = counts.idxmin()
            raise AutopilotError(f"class {rare!r} of {target!r} has a single row: every class needs at least "
                                 "2 rows to appear in both training and validation folds")
        y = out.encode_target(y_raw)
        shares = ", ".join(f"{c}: {n / len(df):.1%}" for c, n in out.class_counts.items())
        minority = counts.min() / len(df)
        note = " - imbalanced: folds are stratified" if minority < 0.1 else " - folds are stratified"
        findings.append(f"class balance {shares}{note}")
    if len(df) < MIN_ROWS:
        raise AutopilotError(f"{len(df)} rows with a target value: the autopilot needs at least {MIN_ROWS} to "
                             "split them into training and validation folds")
    for col in df.columns:
        if col == target:
            continue
        name = str(col)
        x = df[col]
        miss = float(x.isna().mean())
        if miss == 1.0:
            out.dropped[name] = "entirely missing"
            continue
        if x.nunique() <= 1:
            out.dropped[name] = "constant"
            continue
        numeric = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
        if not numeric:
            nums, share = _as_numbers(x)
            if 0.5 <= share < 1.0:
                bad = x[x.notna() & nums.isna()]
                raise AutopilotError(
                    f"column {name!r} mixes numbers and text ({len(bad)} of {int(x.notna().sum())} values are "
                    f"not numbers, e.g. {bad.iloc[0]!r} at row {bad.index[0]}): fix them, or pass "
                    f"--na-values {bad.iloc[0]} if they mean missing")
            if share == 1.0:
                x, numeric = nums, True
        n_unique = int(x.nunique())
        integral = numeric and bool(np.all(np.mod(x.dropna().to_numpy(dtype=np.float64), 1) == 0))
        id_name = name.lower() in ("id", "index", "key", "uuid") or name.lower().endswith(("_id", "id"))
        if n_unique >= 0.95 * len(df) and (not numeric or (integral and (id_name or x.is_monotonic_increasing))):
            out.dropped[name] = f"identifier-like ({n_unique} distinct values in {len(df)} rows)"
            continue
        why = _leaks(x, y, problem_type, numeric)
        if why:
            out.dropped[name] = f"possible target leakage: {why}"
            continue
        if miss > 0:
            out.missing[name] = miss
        if numeric:
            out.numeric.append(name)
            values = x.to_numpy(dtype=np.float64)
            values = values[np.isfinite(values)]
            sd = values.std()
            if sd > 0 and abs(np.mean(((values - values.mean()) / sd) ** 3)) > 2:
                out.skewed.append(name)
        else:
            out.categorical.append(name)
            if n_unique > HIGH_CARDINALITY:
                out.high_cardinality.append(name)
    for name, why in out.dropped.items():
        findings.append(f"column {name!r} {why}: dropped")
    if out.missing:
        worst = sorted(out.missing.items(), key=lambda kv: -kv[1])[:5]
        findings.append("missing values in " + ", ".join(f"{c} ({m:.0%})" for c, m in worst)
                        + (" ..." if len(out.missing) > 5 else "") + ": median/indicator imputation")
    if out.high_cardinality:
        findings.append(f"high-cardinality categorical {', '.join(out.high_cardinality)}: one-hot keeps the 20 "
                        "most frequent categories, ordinal codes all")
    if out.skewed:
        findings.append(f"skewed numeric {', '.join(out.skewed[:8])}{' ...' if len(out.skewed) > 8 else ''}: "
                        "candidates with a Yeo-Johnson power transform")
    if out.categorical:
        findings.append(f"categorical {', '.join(out.categorical[:8])}{' ...' if len(out.categorical) > 8 else ''}"
                        ": one-hot for linear/MLP, ordinal for xgboost")
    if not out.features:
        raise AutopilotError(f"no usable feature column: {', '.join(f'{c} ({w})' for c, w in out.dropped.items())}")
    return out


def prepare_features(df: Any, numeric: list[str], categorical: list[str]) -> Any:
    """The feature columns as a model reads them: numbers as floats (text that does not parse and
    +-inf as NaN), categories as text (missing as NaN).

    Example:
        >>> import pandas as pd
        >>> prepare_features(pd.DataFrame({"x": ["1", "n/a"], "c": [3, None]}), ["x"], ["c"]).values.tolist()
        [[1.0, '3.0'], [nan, nan]]
    """
    import pandas as pd

    out = pd.DataFrame(index=df.index)
    for col in numeric:
        x = pd.to_numeric(df[col], errors="coerce").astype(np.float64)
        out[col] = x.where(np.isfinite(x), np.nan)
    for col in categorical:
        out[col] = df[col].astype(str).where(df[col].notna(), np.nan).astype(object)
    return out


def features_frame(df: Any, analysis: Analysis) -> Any:
    """The kept feature columns of ``df`` (see :func:`prepare_features`)."""
    return prepare_features(df, analysis.numeric, analysis.categorical)
