"""The two notebooks of an autopilot run, as SageMaker Autopilot writes them.

``data_exploration.ipynb`` reloads the table and shows what the analysis found;
``candidate_definition.ipynb`` rebuilds the winning pipeline from its parts (the candidate's
preprocessing recipe and the registered algorithm with the best hyperparameters), cross-validates it
again with the same folds (reproducing the leaderboard score) and refits it on all rows, checking
that its predictions equal those of the saved model. Both run top to bottom with nbclient or Jupyter.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hpcore.autopilot.data import Analysis
from hpcore.autopilot.pipeline import Pipeline

__all__ = ["write_notebooks"]


def _nbformat() -> Any:
    try:
        import nbformat
    except ImportError:
        from hpcore.autopilot.data import AutopilotError

        raise AutopilotError("writing the notebooks needs nbformat: pip install 'hpcore[autopilot]' "
                             "(or pass --no-notebooks)") from None
    return nbformat


def _load_cells(data_path: str, target: str, problem_type: str, na_values: list[str] | None) -> str:
    return (f"import numpy as np\nimport pandas as pd\n\n"
            f"from hpcore.autopilot.data import analyse, features_frame, load_table\n\n"
            f"DATA = {data_path!r}\nTARGET = {target!r}\nPROBLEM_TYPE = {problem_type!r}\n"
            f"df = load_table(DATA, {na_values!r})\n"
            f"print(df.shape)")


def write_notebooks(folder: str, data_path: str, target: str, analysis: Analysis, pipeline: Pipeline,
                    validation: str, na_values: list[str] | None = None, seed: int = 0) -> dict[str, str]:
    """Writes both notebooks into ``folder``; returns their paths by name."""
    nbf = _nbformat()
    v4 = nbf.v4
    load = _load_cells(data_path, target, analysis.problem_type, na_values)
    explore = v4.new_notebook()
    explore.cells = [
        v4.new_markdown_cell(f"# Data exploration: `{os.path.basename(data_path)}`, target `{target}`\n\n"
                             "Written by `hpcore autopilot`. It reloads the table, summarises its columns and "
                             "repeats the analysis whose findings decided what the candidates do."),
        v4.new_code_cell(load),
        v4.new_markdown_cell("## Columns: types, missing values, distinct values"),
        v4.new_code_cell("summary = pd.DataFrame({\n    'dtype': df.dtypes.astype(str),\n"
                         "    'missing': df.isna().mean().round(3),\n    'distinct': df.nunique(),\n})\nsummary"),
        v4.new_code_cell("df.describe().T"),
        v4.new_markdown_cell("## The target"),
        v4.new_code_cell("df[TARGET].describe() if PROBLEM_TYPE == 'regression' else "
                         "df[TARGET].value_counts(normalize=True)"),
        v4.new_markdown_cell("## The autopilot's analysis\n\nDropped columns, imputation, encodings, skew and "
                             "leakage hints, exactly as the run used them."),
        v4.new_code_cell("analysis = analyse(df, TARGET, PROBLEM_TYPE)\nprint(analysis.text())\n"
                         "analysis.dropped"),
    ]
    model_path = os.path.abspath(os.path.join(folder, "model.pkl"))
    params = json.dumps(pipeline.params, indent=4, default=float)
    algorithm, _, recipe = pipeline.candidate.partition("/")
    encoding, skew = recipe.split("+")[0], recipe.endswith("+log")
    candidate = v4.new_notebook()
    candidate.cells = [
        v4.new_markdown_cell(
            f"# Candidate definition: `{pipeline.candidate}`\n\nThe best of the leaderboard: "
            f"{pipeline.metric} = {pipeline.score:.6f} by {validation}. This notebook rebuilds it from its "
            "parts, validates it again on the same folds and refits it on all rows."),
        v4.new_code_cell(load + "\nanalysis = analyse(df, TARGET, PROBLEM_TYPE)\n"
                         "df = df[df[TARGET].notna()]\nx = features_frame(df, analysis).reset_index(drop=True)\n"
                         "y = analysis.encode_target(df[TARGET])"),
        v4.new_markdown_cell("## The pipeline: preprocessing recipe + registered algorithm + hyperparameters"),
        v4.new_code_cell(
            "from hpcore import plugins\nfrom hpcore.autopilot.search import Candidate, CandidateTrainer, "
            "make_splits\n\n"
            f"model = plugins.lookup('algorithms', {algorithm!r}).tabular\n"
            f"candidate = Candidate({algorithm!r}, model, {encoding!r}, skew={skew!r})\n"
            f"params = {params}\n"
            "print(candidate.name, '-', candidate.preprocessing)\n"
            "print(model.space(PROBLEM_TYPE).summary())"),
        v4.new_markdown_cell("## Validation again, on the run's folds (preprocessing fitted inside each fold)"),
        v4.new_code_cell(
            f"METRIC, EXPECTED = {pipeline.metric!r}, {pipeline.score!r}\n"
            f"trainer = CandidateTrainer(candidate, analysis, x, y, make_splits(y, PROBLEM_TYPE, {seed}), "
            f"METRIC, {seed})\n"
            "metrics = trainer(params)\nprint(metrics)\n"
            "assert abs(metrics[METRIC] - EXPECTED) <= 1e-3 * max(1.0, abs(EXPECTED)), "
            "(metrics[METRIC], EXPECTED)"),
        v4.new_markdown_cell("## Refit on all rows, and compare with the saved model"),
        v4.new_code_cell(
            "from hpcore.autopilot.pipeline import Pipeline, load_pipeline\n\n"
            "pre, fitted = trainer.fit_fold(params, np.arange(len(y)))\n"
            "pipeline = Pipeline(TARGET, PROBLEM_TYPE, list(analysis.classes), pre, fitted, candidate.name, "
            "params, METRIC, metrics[METRIC])\n"
            f"saved = load_pipeline({model_path!r})  # a pickle: load only your own model files\n"
            "same = np.allclose(pipeline.model.predict(pipeline._matrix(df)), "
            "saved.model.predict(saved._matrix(df)), atol=1e-5)\n"
            "print('predictions equal the saved model:', same)\nassert same\n"
            "pd.DataFrame({'prediction': pipeline.predict(df)[:10]})"),
    ]
    out = {}
    for name, nb in (("notebook_data", explore), ("notebook_candidate", candidate)):
        path = os.path.join(folder, "data_exploration.ipynb" if name == "notebook_data"
                            else "candidate_definition.ipynb")
        nbf.write(nb, path)
        out[name] = path
    return out
