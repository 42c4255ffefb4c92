"""The ``hpcore`` command line: tune, status, best, advise, report, plugins, example."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from typing import Any

from hpcore import __version__, plugins
from hpcore.cli_views import best_text, export_best, safe_text, status_text, trial_text
from hpcore.errors import HpcoreError
from hpcore.results import TuningResult
from hpcore.store import Store
from hpcore.trial import TrialState

__all__ = ["main"]

EXAMPLES = ("quickstart", "fraud")

DESCRIPTION = """\
Automatic hyperparameter tuning inside the trainers you already use.

  hpcore example fraud             tune the bundled fraud-detection example
  hpcore tune job.yaml             run (or resume) the tuning job a YAML file declares
  hpcore status tuning.db          the trials of a job, live with --watch
  hpcore best tuning.db            the best trial's hyperparameters (JSON with --json)
  hpcore advise tuning.db          advice on the ranges for a next job (widen, narrow, log, fix)
  hpcore report tuning.db          one HTML file: summary, best trial, plots, advice, all trials
  hpcore dashboard tuning.db       a live web page of the store's jobs (http://127.0.0.1:8765/)
  hpcore plugins                   strategies, stoppers, executors and algorithms, and their plugins
  hpcore autopilot data.csv --target y   analyse a table, tune candidate pipelines, save the best
  hpcore predict autopilot/model.joblib new.csv -o predictions.csv   predict with a saved autopilot model
"""


def _add_tune(sub: Any) -> None:
    p = sub.add_parser("tune", help="run or resume the tuning job a YAML file declares",
                       description="Run the job a YAML (or JSON) file declares; run it again on the same "
                                   "store to resume. Options given here override the file.")
    p.add_argument("job_file", nargs="?", help="the job file (optional with --algorithm)")
    p.add_argument("--algorithm", help="a registered algorithm to tune (see `hpcore plugins`)")
    p.add_argument("--store", help="SQLite file that keeps the job (resumes when it holds it)")
    p.add_argument("--name", help="the job's name inside the store")
    p.add_argument("--strategy", help="search strategy (bayesian, random, grid, hyperband, ...)")
    p.add_argument("--objective", nargs="+", help="metric(s) to optimise; several give a Pareto front")
    p.add_argument("--direction", nargs="+", choices=("minimize", "maximize"), help="one per objective")
    p.add_argument("--constraint", dest="constraints", action="append",
                   help="'METRIC OP NUMBER', for example 'latency_ms <= 5' (repeat for several)")
    p.add_argument("--early-stopping", dest="early_stopping", help="stopper (none, auto, median, asha, ...)")
    p.add_argument("--max-trials", dest="max_trials", type=int, help="the trials in all (a resumed job: up to this)")
    p.add_argument("--more", type=int, metavar="N", help="run N trials beyond those the store holds (extends a job)")
    p.add_argument("--max-parallel", dest="max_parallel", type=int)
    p.add_argument("--max-runtime", dest="max_runtime", type=float, help="seconds")
    p.add_argument("--executor", help="inprocess, process, dask, ...")
    p.add_argument("--seed", type=int)
    p.add_argument("--resume", choices=("auto", "continue", "never"),
                   help="when the store holds the job: auto resumes it if made the same way (default), "
                        "continue also after a change of training function, strategy or seed, never refuses")
    p.add_argument("--durability", choices=("normal", "full"),
                   help="normal survives a crash of the process (default); full also an OS crash or power cut")
    p.add_argument("--artifacts", help="where trials keep their files, models and checkpoints: a folder or an "
                                       "fsspec URL (default: next to the store)")
    p.add_argument("--keep-artifacts", dest="keep_artifacts", type=_keep, metavar="N|all|none",
                   help="only the best N trials keep their files (default all)")
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None)


def _keep(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _add_autopilot(sub: Any) -> None:
    p = sub.add_parser("autopilot", help="analyse a table, tune candidate pipelines, save the best model",
                       description="Analyse DATA (CSV, or Parquet with pyarrow), generate candidate pipelines "
                                   "from the registered algorithms, tune them under one shared time budget and "
                                   "write a leaderboard, the best model and two notebooks (docs/autopilot.md).")
    p.add_argument("data", help="the table: a CSV file (or .parquet)")
    p.add_argument("--target", required=True, help="the column to predict")
    p.add_argument("--problem-type", dest="problem_type", choices=("binary", "multiclass", "regression"),
                   help="inferred from the target when absent")
    p.add_argument("--objective", choices=("auc", "f1", "accuracy", "logloss", "mse", "mae", "r2"),
                   help="default: auc (binary), accuracy (multiclass), mse (regression)")
    p.add_argument("--max-candidates", dest="max_candidates", type=int, help="at most this many pipelines")
    p.add_argument("--max-runtime", dest="max_runtime", type=float, default=300.0,
                   help="seconds for the whole run, shared by the candidates (default 300)")
    p.add_argument("--max-parallel", dest="max_parallel", type=int, default=1, help="trials at once")
    p.add_argument("--executor", help="inprocess, process, dask, ...")
    p.add_argument("-o", "--output", default="autopilot", help="output folder (default ./autopilot)")
    p.add_argument("--na-values", dest="na_values", nargs="*", help="extra strings meaning missing in the CSV")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-notebooks", dest="notebooks", action="store_false", help="skip the two notebooks")
    p.add_argument("--no-ensemble", dest="ensemble", action="store_false",
                   help="do not try a soft-voting ensemble of the best candidates")
    pr = sub.add_parser("predict", help="predict with a model saved by hpcore autopilot",
                        description="Predict every row of DATA with MODEL (a joblib file, a pickle, written by hpcore "
                                    "autopilot: load only model files you made yourself).")
    pr.add_argument("model", help="the model file (autopilot/model.joblib)")
    pr.add_argument("data", help="the rows to predict: CSV (or .parquet)")
    pr.add_argument("-o", "--output", help="write the predictions to this CSV (default: print them)")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="hpcore", description=DESCRIPTION,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"hpcore {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    _add_tune(sub)
    _add_autopilot(sub)
    dash = sub.add_parser("dashboard", help="serve a live web page of a store's jobs",
                          description="Serve a page that follows the store's jobs while they run: summary, "
                                      "trials (sortable, filtered by state), history, learning curves, importance "
                                      "and each trial's details. Read-only; Ctrl-C stops it.")
    dash.add_argument("store", help="the jobs' SQLite file")
    dash.add_argument("--host", default="127.0.0.1", help="the interface to bind (default: this machine only)")
    dash.add_argument("--port", type=int, default=8765, help="the port (default 8765; 0: any free one)")
    for name, text in (("status", "the trials of a job, as a table"), ("best", "the best trial of a job")):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("store", help="the job's SQLite file")
        p.add_argument("--name", default=None, help="the job's name (default: the only or the first job)")
        p.add_argument("--json", action="store_true", help="print JSON")
        if name == "best":
            p.add_argument("--export", metavar="DIR", help="copy the best trial's files (its model) and params.json "
                                                          "into DIR")
        if name == "status":
            p.add_argument("--state", help=f"only trials in this state ({', '.join(s.value for s in TrialState)})")
            p.add_argument("--sort", help="sort by this column (value: best first; trial, duration ...)")
            p.add_argument("--reverse", action="store_true", help="reverse the --sort order (descending)")
            p.add_argument("--csv", help="also write the table to this CSV file")
            p.add_argument("--trial", type=int, help="show one trial in full: values, metrics, error, files")
            p.add_argument("--watch", type=float, nargs="?", const=2.0, default=None, metavar="SECONDS",
                           help="refresh every SECONDS (2 by default) until the job ends; Ctrl-C to leave")
    adv = sub.add_parser("advise", help="advice on the ranges for a next job",
                         description="Suggest widening, narrowing, a log scale or fixing a parameter, with "
                                     "the evidence from the job's trials (see docs/results.md).")
    rep = sub.add_parser("report", help="write a self-contained HTML report of a job",
                         description="Write one HTML file (no network needed to open it) with the summary, the "
                                     "best trial, the plots, the range advice and the table of trials.")
    for p in (adv, rep):
        p.add_argument("store", help="the job's SQLite file")
        p.add_argument("--name", default=None, help="the job's name (default: the only or the first job)")
    adv.add_argument("--json", action="store_true", help="print JSON")
    rep.add_argument("-o", "--output", default="report.html",
                     help="the HTML file to write, or a folder to write report.html in (default report.html)")
    sub.add_parser("plugins", help="what is registered, and by which plugin",
                   description="List strategies, stoppers, executors and algorithms with the plugin that "
                               "registered each, and plugins that failed to load.")
    ex = sub.add_parser("example", help="run a bundled example",
                        description=f"Run a bundled example: {', '.join(EXAMPLES)}. "
                                    "Arguments after the name go to the example (try --help).")
    ex.add_argument("example", choices=EXAMPLES)
    ex.add_argument("args", nargs=argparse.REMAINDER)
    return ap


def _job_name(store: Store, name: str | None) -> str:
    jobs = [j["name"] for j in store.jobs()]
    if not jobs:
        raise HpcoreError(f"store {store.path!r} holds no job yet")
    if name is None:
        return jobs[0]
    if name not in jobs:
        raise HpcoreError(f"store {store.path!r} has no job {name!r}; jobs: {', '.join(jobs)}")
    return name


def _load(path: str, name: str | None) -> tuple[TuningResult, dict[str, Any]]:
    store = Store(path, read_only=True)
    try:
        job = _job_name(store, name)
        info = store.load_job(job) or {}
    finally:
        store.close()
    return TuningResult.from_store(path, job, curves=False), info


def _cmd_status(args: argparse.Namespace) -> int:
    while True:
        try:
            result, info = _load(args.store, args.name)
        except (HpcoreError, sqlite3.OperationalError) as exc:
            # Watching a job that is only starting: its file exists but holds no table or job yet.
            starting = isinstance(exc, sqlite3.OperationalError) or "holds no job yet" in str(exc)
            if not (args.watch and starting and os.path.exists(args.store)):
                raise
            print(f"\033[2J\033[Hwaiting for a job to start in {args.store} ...", flush=True)
            time.sleep(args.watch)
            continue
        if args.trial is not None:
            print(trial_text(result, args.trial))
        elif args.json:
            print(json.dumps(result.rows(args.state), default=str, indent=1))
        else:
            text = status_text(result, info, args)
            if args.watch:
                print("\033[2J\033[H" + text, flush=True)
            else:
                print(text)
        if args.csv:
            result.to_csv(args.csv, args.state)
        if not args.watch or info.get("status") != "running":
            return 0
        time.sleep(args.watch)


def _cmd_best(args: argparse.Namespace) -> int:
    result, _ = _load(args.store, args.name)
    text, code = best_text(result, args.json)
    print(text, file=sys.stdout if code == 0 else sys.stderr)
    if code == 0 and args.export:
        print(export_best(result, args.export), file=sys.stderr if args.json else sys.stdout)
    return code


def _cmd_advise(args: argparse.Namespace) -> int:
    result = TuningResult.from_store(args.store, args.name, curves=False)
    items = result.advice()
    if args.json:
        print(json.dumps([a.to_dict() for a in items], default=str, indent=1))
        return 0
    if not items:
        from hpcore.advice import MIN_TRIALS

        done = result.counts().get("completed", 0)
        print(f"no advice for job {result.name!r}: " + (f"{done} completed trials; advice needs {MIN_TRIALS}"
              if done < MIN_TRIALS else "the ranges look right for the trials so far"))
    for a in items:
        print(f"- [{a.kind}] {a.message}")
    return 0


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from hpcore.dashboard import Dashboard

    if not os.path.exists(args.store):
        raise HpcoreError(f"store {args.store!r} does not exist: give the SQLite file a job writes (store=...)")
    try:
        board = Dashboard(args.store, host=args.host, port=args.port)
    except OSError as exc:
        raise HpcoreError(f"--port {args.port}: cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); "
                          "give another --port (0 picks a free one)") from None
    print(f"dashboard: {board.url} (Ctrl-C stops it)", flush=True)
    try:
        board.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    try:
        from hpcore.report import write_report

        path = write_report(TuningResult.from_store(args.store, args.name), args.output)
    except ModuleNotFoundError as exc:
        if exc.name != "matplotlib":
            raise
        raise HpcoreError("the report draws its plots with matplotlib: pip install 'hpcore[report]'") from None
    except OSError as exc:  # a read-only folder, a path through a file...
        raise HpcoreError(f"-o {args.output!r}: cannot write the report there ({exc.strerror or exc}); "
                          "give a writable file or folder") from None
    print(f"report: {os.path.abspath(path)}")
    return 0


def _cmd_plugins(args: argparse.Namespace) -> int:
    print("plugins:")
    for name, source in plugins.loaded_plugins():
        print(f"  {name:<30} {source}")
    for kind in plugins.KINDS:
        reg = plugins.registry(kind)
        print(f"{kind}:")
        for name in sorted(reg):
            print(f"  {name:<18} from {reg[name].plugin}")
    failures = plugins.failed_plugins()
    if failures:
        print("failed to load:")
        for name, why in failures:
            print(f"  {name}: {why}")
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    from hpcore.jobfile import job_from_dict, load_job_file

    overrides = {k: getattr(args, k) for k in ("store", "name", "strategy", "early_stopping", "max_trials",
                                                 "max_parallel", "max_runtime", "executor", "seed", "resume",
                                                 "durability", "progress", "artifacts", "keep_artifacts")}
    for key in ("objective", "direction"):  # one value: one objective; several: a list
        value = getattr(args, key)
        overrides[key] = value[0] if value and len(value) == 1 else value
    overrides["constraints"] = args.constraints
    if args.algorithm:
        overrides["algorithm"] = args.algorithm
    if args.job_file:
        job = load_job_file(args.job_file, **overrides)
    elif args.algorithm:
        job = job_from_dict({}, **overrides)
    else:
        raise HpcoreError("hpcore tune needs a job file or --algorithm NAME (see hpcore tune --help)")
    result = job.run(more=args.more)
    print(result.summary())
    if job.store_path:
        print(f"store: {job.store_path} (hpcore status {job.store_path})")
    return 0


def _cmd_autopilot(args: argparse.Namespace) -> int:
    from hpcore.autopilot import run

    run(args.data, args.target, problem_type=args.problem_type, objective=args.objective,
        max_candidates=args.max_candidates, max_runtime=args.max_runtime, output=args.output,
        max_parallel=args.max_parallel, executor=args.executor, seed=args.seed, notebooks=args.notebooks,
        na_values=args.na_values, ensemble=args.ensemble)
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from hpcore.autopilot import predict_file

    out = predict_file(args.model, args.data, args.output)
    if args.output:
        print(f"predictions: {os.path.abspath(args.output)} ({len(out)} rows)")
    else:
        print(out.to_csv(index=False), end="")
    return 0


def _cmd_example(args: argparse.Namespace) -> int:
    module = importlib.import_module(f"hpcore._examples.{args.example}")
    return int(module.main(list(args.args)) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hpcore`` command."""
    ap = _parser()
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help()
        return 0
    handler = {"tune": _cmd_tune, "status": _cmd_status, "best": _cmd_best, "plugins": _cmd_plugins,
               "example": _cmd_example, "advise": _cmd_advise, "report": _cmd_report, "dashboard": _cmd_dashboard,
               "autopilot": _cmd_autopilot, "predict": _cmd_predict}[args.command]
    try:
        return handler(args)
    except HpcoreError as exc:
        print(safe_text(f"hpcore {args.command}: error: {exc}", sys.stderr, keep="\n"), file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:  # not an hpcore store, or not SQLite at all
        print(f"hpcore {args.command}: error: cannot read {getattr(args, 'store', 'the store')!r} as an hpcore "
              f"store: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head or similar
        return 0
    except KeyboardInterrupt:
        print(f"hpcore {args.command}: interrupted (run the same command again to resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
