"""The autopilot: from a table and a target column to a tuned, documented model, in one call.

As SageMaker Autopilot, it analyses the data (:mod:`~hpcore.autopilot.data`), generates candidate
scikit-learn pipelines from the registered algorithms (:mod:`~hpcore.autopilot.search`), tunes them
under one shared time budget, tries a soft-voting ensemble of the best (:mod:`~hpcore.autopilot.ensemble`)
and writes a leaderboard, the winner refit on all rows (a fitted scikit-learn ``Pipeline``, or a
``VotingClassifier``/``VotingRegressor`` of them, saved with joblib, :mod:`~hpcore.autopilot.model`)
and two executed notebooks that rebuild and evaluate it with plain scikit-learn code.
``hpcore autopilot DATA.csv --target COLUMN`` is the command-line form. Nothing here is imported by ``import hpcore``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpcore.autopilot.data import Analysis, AutopilotError, analyse, features_frame, load_table
from hpcore.autopilot.ensemble import ENSEMBLE, build_ensemble
from hpcore.autopilot.leaderboard import leaderboard_rows, leaderboard_table, with_ensemble, write_csv, write_html
from hpcore.autopilot.metrics import DEFAULT_OBJECTIVE, DIRECTIONS, METRICS
from hpcore.autopilot.model import ModelCard, load_card, load_model, predict_file, save_model
from hpcore.autopilot.search import CandidateTrainer, make_candidates, make_splits, successive_halving

__all__ = ["MIN_RUNTIME", "AutopilotError", "AutopilotResult", "ModelCard", "load_card", "load_model", "predict_file",
           "run"]

MIN_RUNTIME = 5.0  # seconds: the default configuration of one candidate on a small table, cross-validated
REFIT_SHARE = 0.1  # of the budget kept for refitting the winner on all rows
# Budget per candidate at least, below which fewer candidates run, each with a real chance: 10 s, plus 5 s
# per 100,000 cells (rows x feature columns) of the table, as every trial fits the model once per fold.
SECONDS_PER_CANDIDATE = 10.0
SECONDS_PER_100K_CELLS = 5.0


@dataclass
class AutopilotResult:
    """What :func:`run` produced.

    Attributes:
        analysis: The data analysis.
        metric: The objective metric.
        leaderboard: One dict per candidate, best first.
        model: The best candidate's fitted scikit-learn ``Pipeline``, refit on all rows (or, when
            the ensemble wins, a ``VotingClassifier``/``VotingRegressor`` of the members' pipelines):
            it takes the raw table and predicts the target's labels (or values).
        card: What ``model`` is and how it was chosen (saved as ``model.json``).
        output: The output folder, and ``files`` the files written there.
    """

    analysis: Analysis
    metric: str
    leaderboard: list[dict[str, Any]]
    model: Any
    card: ModelCard
    output: str | None = None
    files: dict[str, str] = field(default_factory=dict)

    def table(self) -> str:
        return leaderboard_table(self.leaderboard, self.metric, with_params=True)


def _winner_report(standings: list[Any], name: str, metric: str, problem_type: str, output: str,
                   say: Callable[[str], Any]) -> str | None:
    """The winner's trials as an ``hpcore report`` page (plots need matplotlib: skipped without it)."""
    try:
        from hpcore.report import write_report
    except ModuleNotFoundError as exc:  # the report module, or matplotlib under it, is not installed
        say(f"(no tuning report of the winner: {exc})")
        return None
    winner = next(st for st in standings if st.candidate.name == name)
    try:
        return write_report(winner.merged(metric, problem_type), os.path.join(output, "best_candidate_report.html"))
    except ModuleNotFoundError as exc:
        say(f"(no tuning report of the winner: {exc})")
        return None


def run(data: Any, target: str, *, problem_type: str | None = None, objective: str | None = None,
        max_candidates: int | None = None, max_runtime: float = 300.0, output: str | None = "autopilot",
        max_parallel: int = 1, executor: str | None = None, executor_options: dict[str, Any] | None = None,
        seed: int = 0, notebooks: bool = True, na_values: list[str] | None = None, ensemble: bool = True,
        log: Callable[[str], Any] | None = print) -> AutopilotResult:
    """Analyses ``data``, tunes candidate pipelines for ``target`` within ``max_runtime`` and saves the best.

    Args:
        data: A CSV or Parquet path, or a pandas DataFrame.
        target: The column to predict.
        problem_type: ``binary``, ``multiclass`` or ``regression``; inferred (and said) when None.
        objective: ``auc``, ``f1``, ``accuracy``, ``logloss`` (classification), ``mse``, ``mae``,
            ``r2`` (regression); by default auc (binary), accuracy (multiclass), mse (regression).
        max_candidates: At most this many candidate pipelines (default: all that apply).
        max_runtime: Seconds for the whole run, shared by all candidates.
        output: The folder for the leaderboard, model and notebooks; None writes nothing.
        max_parallel: Trials running at once inside a candidate's tuning job.
        executor: The tuning jobs' executor (``inprocess``, ``process``, ``dask``...).
        executor_options: Options of that executor.
        seed: Seeds the folds, the models and the search.
        notebooks: Write the data-exploration and candidate-definition notebooks (needs nbformat),
            executed with their outputs when nbclient and ipykernel are installed.
        na_values: Extra strings that mean "missing" in a CSV.
        ensemble: Also try a weighted soft-voting ensemble of the best candidates
            (:mod:`~hpcore.autopilot.ensemble`); it wins only when its cross-validated score is better.
        log: Receives the progress lines (None: silent).

    Raises:
        AutopilotError: For unusable input, with one line saying what to change.

    Example:
        >>> import numpy as np, pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame({"x": rng.normal(size=200)})
        >>> df["y"] = (df["x"] + rng.normal(size=200) > 0).astype(int)
        >>> result = run(df, "y", max_runtime=10, output=None, log=None)  # doctest: +SKIP
        >>> result.leaderboard[0]["score"] > 0.7, result.model.predict(df[["x"]]).shape  # doctest: +SKIP
        (True, (200,))
    """
    say = log or (lambda _msg: None)
    start = time.monotonic()
    if not (isinstance(max_runtime, (int, float)) and max_runtime >= MIN_RUNTIME):
        raise AutopilotError(f"--max-runtime {max_runtime} is too small for one candidate: give at least "
                             f"{MIN_RUNTIME:g} seconds (more is better: {MIN_RUNTIME:g} s only scores defaults)")
    if max_candidates is not None and max_candidates < 1:
        raise AutopilotError(f"--max-candidates {max_candidates}: use 1 or more")
    df = load_table(data, na_values) if isinstance(data, (str, os.PathLike)) else data
    df = df.rename(columns=str)  # Parquet and DataFrames may name columns by numbers
    analysis = analyse(df, str(target), problem_type)
    target = str(target)
    metric = objective or DEFAULT_OBJECTIVE[analysis.problem_type]
    if metric not in METRICS[analysis.problem_type]:
        raise AutopilotError(f"objective {metric!r} does not apply to a {analysis.problem_type} problem; use "
                             f"one of {', '.join(METRICS[analysis.problem_type])}")
    say(analysis.text())
    df = df[df[target].notna()]
    x = features_frame(df, analysis).reset_index(drop=True)
    y = analysis.encode_target(df[target])
    splits = make_splits(y, analysis.problem_type, seed)
    how = (f"{len(splits)}-fold cross-validation" if len(splits) > 1 else "a 20% holdout")
    candidates = make_candidates(analysis, max_candidates)
    if not candidates:
        raise AutopilotError("no algorithm with a tabular model is registered (see hpcore plugins)")
    budget = max_runtime - (time.monotonic() - start)
    per_candidate = max(SECONDS_PER_CANDIDATE, SECONDS_PER_100K_CELLS * len(x) * max(1, x.shape[1]) / 1e5)
    affordable = max(1, int(budget // per_candidate))
    if len(candidates) > affordable:
        say(f"budget {budget:.0f} s: the first {affordable} of {len(candidates)} candidates "
            f"({per_candidate:.0f} s each at least on this table; a larger --max-runtime tries them all)")
        candidates = candidates[:affordable]
    say(f"objective: {metric} ({DIRECTIONS[metric]}), validated by {how}; {len(candidates)} candidates, "
        f"{budget:.0f} s shared by successive halving")
    trainers = [CandidateTrainer(c, analysis, x, y, splits, metric, seed) for c in candidates]
    deadline = time.monotonic() + budget * (1 - REFIT_SHARE)
    standings = successive_halving(trainers, metric, deadline, max_parallel=max_parallel, executor=executor,
                                   executor_options=executor_options, seed=seed,
                                   refit_reserve=budget * REFIT_SHARE, log=say)
    rows = leaderboard_rows(standings, metric)
    if rows[0]["score"] is None or (isinstance(rows[0]["score"], float) and math.isnan(rows[0]["score"])):
        errors = "; ".join(f"{r['candidate']}: {r['error']}" for r in rows if r["error"])
        raise AutopilotError(f"no candidate finished within the budget ({errors or 'give a larger --max-runtime'})")
    chosen = None
    if ensemble:
        began = time.monotonic()
        chosen = build_ensemble(trainers, standings, rows, metric, start + max_runtime - began, say)
        if chosen is not None:
            rows = with_ensemble(rows, chosen, metric, time.monotonic() - began)
    labels = df[target].to_numpy() if analysis.problem_type != "regression" else y
    if rows[0]["candidate"] != ENSEMBLE:
        chosen = None
    members = chosen.members_card() if chosen else []
    top = next(t for t in trainers if t.candidate.name == (members[0]["candidate"] if chosen else rows[0]["candidate"]))
    model = chosen.estimator(analysis, seed=seed).fit(x, labels) if chosen else \
        top.fit_fold(rows[0]["params"], np.arange(len(y)), y=labels)
    packages = [m.candidate.model.package for m in chosen.members] if chosen else [top.candidate.model.package]
    card = ModelCard(target, analysis.problem_type, list(getattr(model, "classes_", [])), analysis.id_columns,
                     list(analysis.numeric), list(analysis.categorical), rows[0]["candidate"],
                     dict(rows[0]["params"]), metric, float(rows[0]["score"]), how, _versions(packages), members)
    result = AutopilotResult(analysis, metric, rows, model, card)
    say("leaderboard:\n" + result.table())
    if output:
        os.makedirs(output, exist_ok=True)
        result.output = output
        files = result.files
        files["model"], files["model_card"] = save_model(model, card, os.path.join(output, "model.joblib"))
        files["leaderboard_csv"] = write_csv(rows, os.path.join(output, "leaderboard.csv"))
        notes = [f"problem type: {analysis.problem_type} ({analysis.problem_reason})",
                 f"objective: {metric}, validated by {how}"] + analysis.findings
        report = _winner_report(standings, top.candidate.name, metric, analysis.problem_type, output, say)
        if report:
            files["report"] = report
        files["leaderboard_html"] = write_html(rows, os.path.join(output, "leaderboard.html"), metric,
                                               f"hpcore autopilot: {target}", notes,
                                               os.path.basename(report) if report else None)
        if notebooks:
            from hpcore.autopilot.notebooks import write_notebooks

            if isinstance(data, (str, os.PathLike)):
                data_path = os.path.relpath(os.path.abspath(str(data)), os.path.abspath(output))
            else:
                data_path = "training_data.csv"
                df.to_csv(os.path.join(output, data_path), index=False)
            candidates = {t.candidate.name: t.candidate for t in trainers}
            files.update(write_notebooks(output, data_path, analysis, card, candidates, na_values, seed,
                                         all_folds=bool(rows[0]["all_folds"]), log=say))
        say("outputs: " + ", ".join(f"{k}={v}" for k, v in files.items()))
    say(f"done in {time.monotonic() - start:.0f} s")
    return result


def _versions(packages: list[str | None]) -> dict[str, str]:
    """The versions a saved model was made with (hpcore, scikit-learn and its estimators' ``packages``)."""
    from importlib import metadata

    out = {}
    for dist in dict.fromkeys(["hpcore", "scikit-learn", *(p for p in packages if p)]):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            if dist == "xgboost-cpu":
                import xgboost

                out["xgboost"] = xgboost.__version__
    return out
