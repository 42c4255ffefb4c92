"""Checkpoints: what they cost per report, and what they save when a job's controller is killed.

    python benchmarks/bench_checkpoint.py                 # both parts, a few minutes on 2 cores
    python benchmarks/bench_checkpoint.py --part cost     # or --part kill

**Cost** (``--part cost``): for each adapter (Lightning, Keras, XGBoost) and the built-in linear
learner, one realistic small fit (an MLP on 5,000 generated rows; a booster on 20,000 rows; the
fraud linear learner on the example's 100,000 rows), one thread, timed with a checkpoint every 5
reports and with none, over ``--repeats`` rounds. Reported (medians over rounds): the epoch
(round) time, the time of one checkpoint, their share (one checkpoint over the 5 epochs it
covers: the figure the goal is set on) and the end-to-end difference of the two runs (noisier).
The adapters also run with their defaults (``checkpoint_budget=0.01``: after at least 5 reports,
spaced so that checkpoints take at most about 1% of the time): their checkpoints' share of the
fit's time and how many they wrote.
The adapters' own timings live in ``benchmarks/ckpt_<adapter>.py``.

**Kill** (``--part kill``): the fraud linear learner (100,000 rows, 30 epochs, a checkpoint every
5) in a job of 8 trials run in a subprocess whose controller is SIGKILLed three times, at 29%, 56%
and 82% of the steps an uninterrupted job runs (mid-trial, not at a trial's end), and resumed each
time; every step each trial runs is counted (over all its runs). The same kills without
checkpoints (``checkpoint_every=0``: an interrupted trial starts again at step 1) give the
restart-from-scratch figure. Reported per seed: steps run with checkpoints and without, against
the uninterrupted job's, the share of the lost steps that checkpoints saved, and whether each
job's trials and curves came out whole (steps 1..n once each). No setting is chosen here: the
seeds reported are all the seeds run (``--seeds``, default 0 1 2).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

JOB = textwrap.dedent('''
    import os, sys
    sys.path.insert(0, {root!r})
    import hpcore
    from hpcore.algorithms.linear_learner import LinearLearner, fit, linear_learner_space

    class Counted(LinearLearner):
        """The linear learner; every epoch it runs is appended to ran.log in its trial's folder."""

        def __call__(self, params, reporter):
            log = os.path.join(reporter.artifact_dir, "ran.log")
            report = reporter.report

            def counted(step=None, **metrics):
                with open(log, "a") as f:
                    f.write(f"{{step}}\\n")
                return report(step, **metrics)

            reporter.report = counted
            data = self.dataset()
            _, _, value = fit(dict(params, epochs=30), data, reporter, seed=self.seed, batch_size=self.batch_size,
                              checkpoint_every=int(os.environ["CKPT_EVERY"]))
            return {{"validation_auc": value}}

    if __name__ == "__main__":
        space = linear_learner_space()
        space = hpcore.SearchSpace({{n: space[n] for n in ("learning_rate", "beta_1", "beta_2")}})
        job = hpcore.TuningJob(Counted(rows=100000, seed=int(sys.argv[2])), space, objective="validation_auc",
                               direction="maximize", strategy="random", max_trials=8, seed=int(sys.argv[2]),
                               store=sys.argv[1], progress=False)
        job.run()
''')


def _reports(db: str) -> int:
    try:
        with sqlite3.connect(db) as con:
            return con.execute("SELECT COUNT(*) FROM reports").fetchone()[0]
    except sqlite3.Error:
        return 0


def _steps_run(root: str) -> int:
    total = 0
    for folder, _, files in os.walk(root):
        if "ran.log" in files:
            with open(os.path.join(folder, "ran.log")) as f:
                total += sum(1 for _ in f)
    return total


def _whole(db: str) -> bool:
    """Every trial completed, each with the steps 1..n reported once."""
    with sqlite3.connect(db) as con:
        states = [s for (s,) in con.execute("SELECT state FROM trials")]
        ok = len(states) == 8 and all(s == "completed" for s in states)
        for (trial,) in con.execute("SELECT DISTINCT trial FROM reports"):
            steps = [s for (s,) in con.execute("SELECT step FROM reports WHERE trial = ? ORDER BY rowid", (trial,))]
            ok = ok and steps == list(range(1, len(steps) + 1))
    return ok


def run_job(folder: str, seed: int, every: int, kills: list[int]) -> dict[str, Any]:
    """Runs the job, SIGKILLing its controller once the store holds each count of ``kills`` reports."""
    script = os.path.join(folder, "job.py")
    with open(script, "w") as f:
        f.write(JOB.format(root=os.path.dirname(HERE)))
    db = os.path.join(folder, "t.db")
    env = dict(os.environ, CKPT_EVERY=str(every), OMP_NUM_THREADS="1")
    done_kills = 0
    t0 = time.perf_counter()
    while True:
        proc = subprocess.Popen([sys.executable, script, db, str(seed)], env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        target = kills[done_kills] if done_kills < len(kills) else None
        while proc.poll() is None:
            if target is not None and _reports(db) >= target:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                done_kills += 1
                break
            time.sleep(0.01)
        else:
            err = proc.stderr.read().decode() if proc.stderr else ""
            if proc.returncode != 0:
                raise RuntimeError(f"the job failed: {err[-2000:]}")
            break
    return {"steps": _steps_run(os.path.join(folder, "t.artifacts")), "kills": done_kills,
            "seconds": time.perf_counter() - t0, "whole": _whole(db)}


def kill_part(seeds: list[int]) -> list[dict[str, Any]]:
    rows = []
    for seed in seeds:
        with tempfile.TemporaryDirectory(dir=".") as clean:
            base = run_job(clean, seed, 5, [])
        kills = [int(base["steps"] * q) for q in (0.29, 0.56, 0.82)]
        row: dict[str, Any] = {"seed": seed, "uninterrupted": base["steps"]}
        for label, every in (("checkpoints", 5), ("restart", 0)):
            with tempfile.TemporaryDirectory(dir=".") as folder:
                out = run_job(folder, seed, every, kills)
            row[label], row[f"{label}_whole"], row[f"{label}_kills"] = out["steps"], out["whole"], out["kills"]
        row["saved"] = 1 - (row["checkpoints"] - base["steps"]) / max(1, row["restart"] - base["steps"])
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def cost_part(repeats: int) -> dict[str, dict[str, float]]:
    import ckpt_fraud
    out: dict[str, dict[str, float]] = {}
    for name in ("lightning", "keras", "xgboost", "fraud"):
        try:
            module = ckpt_fraud if name == "fraud" else __import__(f"ckpt_{name}")
        except ModuleNotFoundError as exc:
            print(f"{name}: skipped ({exc})", flush=True)
            continue
        runs = [module.run(every=5, seed=r) for r in range(repeats)]
        out[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        # The share: one checkpoint's time over the 5 epochs it covers (the end-to-end difference,
        # ckpt_overhead, is within the noise of a shared machine for the small ones).
        out[name]["share"] = out[name]["checkpoint_s"] / (5 * out[name]["epoch_s"])
        print(name, json.dumps(out[name]), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("cost", "kill", "both"), default="both")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()
    figures: dict[str, Any] = {}
    if args.part in ("cost", "both"):
        figures["cost"] = cost_part(args.repeats)
    if args.part in ("kill", "both"):
        figures["kill"] = kill_part(args.seeds)
    if figures.get("cost"):
        print("\n| adapter | epoch (round) | one checkpoint | share, one every 5 reports | end-to-end "
              "| share, defaults | checkpoints, every 5 / defaults |")
        print("|---|---|---|---|---|---|---|")
        for name, f in figures["cost"].items():
            default = "(no budget) | "
            if "default_share" in f:
                default = (f"{100 * f['default_share']:.2f}% | "
                           f"{f['exact_checkpoints']:.0f} / {f['default_checkpoints']:.0f}")
            print(f"| {name} | {f['epoch_s'] * 1000:.1f} ms | {f['checkpoint_s'] * 1000:.1f} ms | "
                  f"{100 * f['share']:.2f}% | {100 * f['ckpt_overhead']:+.1f}% | {default} |")
    if figures.get("kill"):
        print("\n| seed | uninterrupted | killed 3x, checkpoints | killed 3x, restart | extra steps saved | whole |")
        print("|---|---|---|---|---|---|")
        for r in figures["kill"]:
            print(f"| {r['seed']} | {r['uninterrupted']} | {r['checkpoints']} | {r['restart']} | "
                  f"{100 * r['saved']:.0f}% | {r['checkpoints_whole'] and r['restart_whole']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()
