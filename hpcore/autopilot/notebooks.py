"""The two notebooks of an autopilot run, as SageMaker Autopilot writes them, executed.

``data_exploration.ipynb`` reloads the table and shows what the analysis found;
``candidate_definition.ipynb`` writes the winning pipeline out as plain scikit-learn code (its
``ColumnTransformer`` and estimator with the best hyperparameters), cross-validates it again on the
run's folds with ``sklearn.metrics`` (reproducing the leaderboard score), refits it on all rows and
checks that its predictions equal those of the saved ``model.joblib``. The data is referenced
relative to the output folder, so the folder can be moved or shared with its data. Both are
executed when written (nbclient and ipykernel), so they open with their outputs.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from typing import Any

from hpcore.autopilot.data import Analysis
from hpcore.autopilot.model import ModelCard, _plain
from hpcore.autopilot.search import FOLDS, HOLDOUT, Candidate

__all__ = ["ensemble_code", "estimator_code", "pipeline_code", "write_notebooks"]

METRIC_CODE = {
    "auc": "roc_auc_score(y_val, fitted.predict_proba(X_val)[:, 1])",
    "auc_multi": "roc_auc_score(y_val, fitted.predict_proba(X_val), multi_class='ovr', labels=fitted.classes_)",
    "accuracy": "accuracy_score(y_val, fitted.predict(X_val))",
    "f1": "f1_score(y_val, fitted.predict(X_val), pos_label=fitted.classes_[1])",
    "f1_multi": "f1_score(y_val, fitted.predict(X_val), average='macro')",
    "logloss": "log_loss(y_val, fitted.predict_proba(X_val), labels=fitted.classes_)",
    "mse": "mean_squared_error(y_val, fitted.predict(X_val))",
    "mae": "mean_absolute_error(y_val, fitted.predict(X_val))",
    "r2": "r2_score(y_val, fitted.predict(X_val))",
}
SKLEARN_METRIC = {"auc": "roc_auc_score", "accuracy": "accuracy_score", "f1": "f1_score", "logloss": "log_loss",
                  "mse": "mean_squared_error", "mae": "mean_absolute_error", "r2": "r2_score"}


def _same(a: Any, b: Any) -> bool:
    try:
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def estimator_code(estimator: Any) -> tuple[str, str]:
    """``(import lines, constructor call)`` of an unfitted estimator: its parameters that differ from the defaults.

    An estimator inside another (``CalibratedClassifierCV(SVC(...))``) is written out the same way,
    and its import joins the lines.

    Example:
        >>> from sklearn.linear_model import LogisticRegression
        >>> estimator_code(LogisticRegression(C=0.5))
        ('from sklearn.linear_model import LogisticRegression', 'LogisticRegression(C=0.5)')
    """
    imports: list[str] = []
    call = _call(estimator, imports)
    return "\n".join(dict.fromkeys(imports)), call


def _call(estimator: Any, imports: list[str]) -> str:
    import importlib

    cls = type(estimator)
    module = cls.__module__
    for candidate in ("hpcore.estimators", module.split(".")[0]):
        try:
            if getattr(importlib.import_module(candidate), cls.__name__, None) is cls:
                module = candidate
                break
        except ImportError:
            continue
    if module.startswith("sklearn."):  # the public module, e.g. sklearn.linear_model
        module = ".".join(module.split(".")[:2]).rstrip("_")
    imports.append(f"from {module} import {cls.__name__}")
    defaults = cls().get_params(deep=False)
    args = []
    for key, value in estimator.get_params(deep=False).items():
        if not _same(value, defaults.get(key)):
            if hasattr(value, "get_params") and not isinstance(value, type):
                args.append(f"{key}={_call(value, imports)}")
                continue
            value = _plain(value) if hasattr(value, "dtype") else value
            args.append(f"{key}={value!r}")
    call = f"{cls.__name__}({', '.join(args)})"
    if len(call) > 88:  # one argument per line, as a formatter would write it
        call = f"{cls.__name__}(\n" + "".join(f"    {a},\n" for a in args) + ")"
    return call


def pipeline_code(candidate: Candidate, analysis: Analysis, params: dict[str, Any], seed: int) -> str:
    """The scikit-learn code that builds the candidate's unfitted pipeline (``pipeline = Pipeline(...)``)."""
    model = candidate.model.estimator(params, analysis.problem_type, seed=seed, threads=1)
    import_line, call = estimator_code(model)
    skewed = [c for c in analysis.numeric if c in set(analysis.skewed)] if candidate.skew and candidate.model.scale \
        else []
    plain = [c for c in analysis.numeric if c not in set(skewed)]
    imputed = ("\n    (\"impute\", SimpleImputer(strategy=\"median\", add_indicator=True, keep_empty_features=True)),"
               "\n    (\"scale\", StandardScaler()),\n")
    lines = ["from sklearn.compose import ColumnTransformer", "from sklearn.impute import SimpleImputer",
             "from sklearn.pipeline import Pipeline",
             "from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, PowerTransformer, StandardScaler",
             import_line, "", f"NUMERIC = {plain!r}", f"SKEWED = {skewed!r}",
             f"CATEGORICAL = {list(analysis.categorical)!r}",
             "", "parts = []"]
    if plain:
        lines.append(f"parts.append((\"numeric\", Pipeline([{imputed}]), NUMERIC))" if candidate.model.scale else
                     "parts.append((\"numeric\", \"passthrough\", NUMERIC))  # trees route missing values (NaN)")
    if skewed:
        power = "\n    (\"power\", PowerTransformer()),"
        lines.append(f"parts.append((\"skewed\", Pipeline([{power}{imputed[:-1]}\n]), SKEWED))")
    if analysis.categorical:
        if candidate.encoding == "onehot":
            lines.append("parts.append((\"categorical\", Pipeline([\n"
                         "    (\"impute\", SimpleImputer(strategy=\"constant\", fill_value=\"<missing>\", "
                         "keep_empty_features=True)),\n"
                         "    (\"onehot\", OneHotEncoder(handle_unknown=\"infrequent_if_exist\", max_categories=21, "
                         "sparse_output=False)),\n]), CATEGORICAL))")
        else:
            lines.append("parts.append((\"categorical\", OrdinalEncoder(handle_unknown=\"use_encoded_value\", "
                         "unknown_value=np.nan, encoded_missing_value=np.nan), CATEGORICAL))")
    lines += ["preprocess = ColumnTransformer(parts, remainder=\"drop\", sparse_threshold=0.0)",
              f"model = {call}", "pipeline = Pipeline([(\"preprocess\", preprocess), (\"model\", model)])", "pipeline"]
    return "\n".join(lines)


def ensemble_code(members: list[dict[str, Any]], candidates: dict[str, Candidate], analysis: Analysis,
                  seed: int) -> str:
    """The scikit-learn code of an ensemble's unfitted ``VotingClassifier`` (or ``VotingRegressor``).

    Each member's pipeline is built by a function holding its :func:`pipeline_code`; ``members`` are
    the model card's (candidate, weight, params).
    """
    from hpcore.autopilot.ensemble import member_key

    lines, parts = [], []
    for i, m in enumerate(members, start=1):
        candidate = candidates[m["candidate"]]
        body = pipeline_code(candidate, analysis, m["params"], seed).splitlines()[:-1] + ["return pipeline"]
        lines += [f"def member_{i}():", f"    \"\"\"{m['candidate']}: {candidate.preprocessing}.\"\"\""]
        lines += [f"    {line}" if line else "" for line in body] + ["", ""]
        parts.append(f"    ({member_key(m['candidate'])!r}, member_{i}()),")
    weights = [m["weight"] for m in members]
    if analysis.problem_type == "regression":
        lines += ["from sklearn.ensemble import VotingRegressor", "",
                  "pipeline = VotingRegressor([", *parts, f"], weights={weights!r})"]
    else:
        lines += ["from sklearn.ensemble import VotingClassifier", "",
                  "pipeline = VotingClassifier([", *parts, f"], voting=\"soft\", weights={weights!r})"]
    return "\n".join(lines + ["pipeline"])


def _load_code(data_path: str, card: ModelCard, na_values: list[str] | None) -> str:
    reader = ("pd.read_parquet(DATA)" if data_path.lower().endswith((".parquet", ".pq"))
              else f"pd.read_csv(DATA, na_values={na_values!r}, skipinitialspace=True)")
    return (f"import numpy as np\nimport pandas as pd\n\n"
            f"DATA = {data_path!r}  # relative to this notebook's folder\nTARGET = {card.target!r}\n"
            f"df = {reader}\ndf.columns = df.columns.map(str)\nprint(df.shape)")


def _features_code(card: ModelCard, numeric: list[str], categorical: list[str]) -> str:
    return ("df = df[df[TARGET].notna()].reset_index(drop=True)\n"
            f"NUMBERS, TEXT = {numeric!r}, {categorical!r}\n"
            "X = df[NUMBERS + TEXT].copy()\n"
            "for col in NUMBERS:  # numbers written as text are numbers; +-inf is missing\n"
            "    X[col] = pd.to_numeric(X[col], errors='coerce').replace([np.inf, -np.inf], np.nan)\n"
            "for col in TEXT:\n"
            "    X[col] = X[col].astype(str).where(X[col].notna(), np.nan).astype(object)\n"
            + ("y = df[TARGET].astype(float)" if card.problem_type == "regression" else "y = df[TARGET]")
            + "\nX.shape, y.shape")


def _split_code(card: ModelCard, seed: int, folds: int) -> str:
    if folds == 1:
        strat = "None" if card.problem_type == "regression" else "y"
        return ("from sklearn.model_selection import train_test_split\n\n"
                f"splits = [train_test_split(np.arange(len(y)), test_size={HOLDOUT}, random_state={seed}, "
                f"stratify={strat})]\nsplits = [(np.sort(t), np.sort(v)) for t, v in splits]")
    cls = "KFold" if card.problem_type == "regression" else "StratifiedKFold"
    return (f"from sklearn.model_selection import {cls}\n\n"
            f"splits = list({cls}(n_splits={FOLDS}, shuffle=True, random_state={seed}).split(X, y))")


def write_notebooks(folder: str, data_path: str, analysis: Analysis, card: ModelCard,
                    candidates: dict[str, Candidate], na_values: list[str] | None = None, seed: int = 0,
                    execute: bool = True, all_folds: bool = True,
                    log: Callable[[str], Any] | None = None) -> dict[str, str]:
    """Writes both notebooks into ``folder`` (``data_path`` relative to it) and runs them; returns their paths.

    ``candidates`` are the run's candidates by name: the card's winner (or its ensemble's members)
    among them. ``all_folds`` says whether the winner's score came from every fold: only then does
    the candidate notebook assert that it reproduces it.
    """
    try:
        import nbformat
    except ImportError:
        from hpcore.autopilot.data import AutopilotError

        raise AutopilotError("writing the notebooks needs nbformat: pip install 'hpcore[autopilot]' "
                             "(or pass --no-notebooks)") from None
    v4 = nbformat.v4
    load = _load_code(data_path, card, na_values)
    explore = v4.new_notebook()
    explore.cells = [
        v4.new_markdown_cell(f"# Data exploration: `{os.path.basename(data_path)}`, target `{card.target}`\n\n"
                             "Written by `hpcore autopilot`. It reloads the table, summarises its columns and "
                             "repeats the analysis whose findings decided what the candidates do."),
        v4.new_code_cell(load),
        v4.new_markdown_cell("## Columns: types, missing values, distinct values"),
        v4.new_code_cell("pd.DataFrame({'dtype': df.dtypes.astype(str), 'missing': df.isna().mean().round(3), "
                         "'distinct': df.nunique()})"),
        v4.new_code_cell("df.describe().T"),
        v4.new_markdown_cell("## The target"),
        v4.new_code_cell("df[TARGET].describe()" if card.problem_type == "regression"
                         else "df[TARGET].value_counts(normalize=True)"),
        v4.new_markdown_cell("## The autopilot's analysis\n\nDropped columns, imputation, encodings, skew and "
                             "leakage hints, as the run used them."),
        v4.new_code_cell(f"from hpcore.autopilot.data import analyse\n\n"
                         f"analysis = analyse(df, TARGET, {card.problem_type!r})\nprint(analysis.text())\n"
                         "analysis.dropped"),
    ]
    folds = 1 if card.validation.startswith("a ") else FOLDS
    metric = card.metric + ("_multi" if card.problem_type == "multiclass" and card.metric in ("auc", "f1") else "")
    definition = v4.new_notebook()
    definition.cells = [
        v4.new_markdown_cell(
            f"# Candidate definition: `{card.candidate}`\n\nThe best of the leaderboard: {card.metric} = "
            f"{card.score:.6f} by {card.validation}. This notebook builds it with scikit-learn, validates it "
            "again on the same folds, refits it on all rows and compares it with the saved `model.joblib`."),
        v4.new_code_cell(load),
        v4.new_markdown_cell("## Features and target, as the autopilot read them"),
        v4.new_code_cell(_features_code(card, card.numeric, card.categorical)),
        *_definition_cells(v4, card, candidates, analysis, seed),
        v4.new_markdown_cell("## Validation again, on the run's folds (preprocessing fitted inside each fold)"),
        v4.new_code_cell(
            _split_code(card, seed, folds) + "\n"
            f"from sklearn.base import clone\nfrom sklearn.metrics import {SKLEARN_METRIC[card.metric]}\n\n"
            f"METRIC, EXPECTED = {card.metric!r}, {card.score!r}\nscores = []\n"
            "for train, val in splits:\n"
            "    fitted = clone(pipeline).fit(X.iloc[train], y.iloc[train])\n"
            "    X_val, y_val = X.iloc[val], y.iloc[val]\n"
            f"    scores.append({METRIC_CODE[metric]})\n"
            "print(f'{METRIC} {np.mean(scores):.6f} (leaderboard {EXPECTED:.6f}), folds:', np.round(scores, 4))\n"
            + ("assert abs(np.mean(scores) - EXPECTED) <= 1e-3 * max(1.0, abs(EXPECTED))" if all_folds else "")),
        v4.new_markdown_cell("## Refit on all rows, and compare with the saved model"),
        v4.new_code_cell(
            "import joblib\n\nfinal = clone(pipeline).fit(X, y)\n"
            "saved = joblib.load('model.joblib')  # a pickle: load only your own model files\n"
            + ("same = np.allclose(final.predict(X), saved.predict(X), rtol=1e-5, atol=1e-6)\n"
               if card.problem_type == "regression" else
               "same = np.allclose(final.predict_proba(X), saved.predict_proba(X), atol=1e-6)\n")
            + "print('predictions equal the saved model:', same)\nassert same\n"
            "pd.DataFrame({'prediction': saved.predict(X.head(10))})"),
    ]
    out = {}
    for name, nb in (("notebook_data", explore), ("notebook_candidate", definition)):
        path = os.path.join(folder, "data_exploration.ipynb" if name == "notebook_data"
                            else "candidate_definition.ipynb")
        if execute:
            _execute(nb, folder, log)
        nbformat.write(nb, path)
        out[name] = path
    return out


def _definition_cells(v4: Any, card: ModelCard, candidates: dict[str, Candidate], analysis: Analysis,
                      seed: int) -> list[Any]:
    """The markdown and code cells that build the winner: one pipeline, or the ensemble of its members'."""
    if card.members:
        text = (f"## The ensemble: a weighted {'mean' if card.problem_type == 'regression' else 'soft vote'} of "
                f"{len(card.members)} pipelines, each with its own preprocessing and best hyperparameters\n\n"
                f"```json\n{json.dumps(card.members, indent=2, default=_plain)}\n```")
        return [v4.new_markdown_cell(text), v4.new_code_cell(ensemble_code(card.members, candidates, analysis, seed))]
    candidate = candidates[card.candidate]
    return [v4.new_markdown_cell(f"## The pipeline: preprocessing ({candidate.preprocessing}) and the model with the "
                                 "best hyperparameters\n\n```json\n"
                                 f"{json.dumps(card.params, indent=2, default=_plain)}\n```"),
            v4.new_code_cell(pipeline_code(candidate, analysis, card.params, seed))]


def _execute(nb: Any, folder: str, log: Callable[[str], Any] | None) -> None:
    """Runs ``nb`` in a fresh kernel in ``folder``; without nbclient or ipykernel it stays unexecuted."""
    try:
        import ipykernel  # noqa: F401  (the kernel nbclient starts)
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError as exc:
        if log:
            log(f"(notebooks written without outputs: {exc}; pip install 'hpcore[autopilot]' to execute them)")
        return
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": folder}}).execute()
    except CellExecutionError as exc:
        if log:
            log(f"(a notebook cell failed; its error is in the notebook: {str(exc).splitlines()[-1]})")
