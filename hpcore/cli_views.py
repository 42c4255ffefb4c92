"""What ``hpcore status`` and ``hpcore best`` print: tables and texts made safe for a terminal."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from typing import Any

from hpcore.artifacts import MODEL_INFO
from hpcore.errors import HpcoreError
from hpcore.results import TuningResult
from hpcore.store import Store
from hpcore.trial import TrialRecord

__all__ = ["artifact_lines", "best_text", "export_best", "format_table", "safe_text", "status_text", "trial_text"]

# C0 and C1 controls (ANSI escapes start with ESC, \x1b) and the bidirectional overrides.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe_text(text: str, stream: Any = None, keep: str = "") -> str:
    r"""``text`` read from a store (names, values, errors) made harmless for ``stream``: an ANSI escape or
    carriage return printed raw could recolour, hide or rewrite what a terminal shows. Control
    characters are shown escaped (``\x1b[31m``) on a terminal and dropped elsewhere; ``keep`` stays.

    Example:
        >>> safe_text("red\x1b[31m\r!")
        'red[31m!'
    """
    stream = sys.stdout if stream is None else stream
    tty = bool(getattr(stream, "isatty", lambda: False)())

    def swap(m: re.Match[str]) -> str:
        c = m.group()
        return c if c in keep else c.encode("unicode_escape").decode("ascii") if tty else ""

    return _CONTROL.sub(swap, text)


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.5g}"
    return safe_text(str(v))


def format_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Formats rows as an aligned text table."""
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    heads = [safe_text(str(c)) for c in columns]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(heads)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(heads, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _live_steps(result: TuningResult) -> dict[int, int]:
    """The last reported step of each running trial (the store records a step only at the end)."""
    running = [r.id for r in result.trials if str(r.state) == "running"]
    if not running or not result.store:
        return {}
    store = Store(result.store, read_only=True)
    try:
        return {t: max(s for _, _, s, _ in reps) for t in running if (reps := store.reports(result.name, t))}
    finally:
        store.close()


def status_text(result: TuningResult, info: dict[str, Any], args: Any) -> str:
    """The table ``hpcore status`` prints: a header with the best trial (or the front), then the trials."""
    rows = result.rows(args.state)
    steps, now = _live_steps(result), time.time()
    for row in rows:
        if row["state"] == "running":
            # Running trials have no end yet: show how long they have run and how far they got.
            row["duration"] = now - row["started"] if row["started"] else None
            row["step"] = steps.get(row["trial"], row["step"])
    for row in rows:
        row["started"] = time.strftime("%H:%M:%S", time.localtime(row["started"])) if row["started"] else None
    if args.sort:
        if rows and args.sort not in rows[0]:
            raise HpcoreError(f"--sort {args.sort!r}: no such column; columns: {', '.join(rows[0])}")
        key = args.sort
        present = sorted((r for r in rows if r.get(key) is not None), key=lambda r: r[key],
                         reverse=(key == "value" and result.direction == "maximize") != args.reverse)
        rows = present + [r for r in rows if r.get(key) is None]
    params = result.param_names()  # every parameter; "-" where a conditional one was inactive
    goal = result.objectives
    values = [f"value_{n}" for n in goal.names] + ["pareto"] if goal.several else ["value"]
    values += ["feasible"] if goal.constraints else []
    columns = ["trial", "state"] + values + ["step", "retries", "started", "duration"] + params + ["reason"]
    aims = ", ".join(f"{n} ({d})" for n, d in zip(goal.names, goal.directions, strict=True))
    head = (f"job {result.name!r} ({info.get('status', '?')}) in {result.store}: {aims}; "
            + ", ".join(f"{n} {s}" for s, n in sorted(result.counts().items())))
    if goal.constraints:
        usable = [r for r in result.trials if r.value is not None]
        head += (f"\nconstraints {'; '.join(str(c) for c in goal.constraints)}: "
                 f"{sum(result.feasible(r) for r in usable)} of {len(usable)} trials feasible")
    if goal.several:
        head += f"\nPareto front: {len(result.pareto_front())} trials"
    elif (best := result.best_or_none) is not None:
        head += f"\nbest: trial {best.id}, {result.objective} = {best.value:.6g}"
    return safe_text(head, keep="\n") + "\n\n" + format_table(rows, columns)


def best_text(result: TuningResult, as_json: bool = False) -> tuple[str, int]:
    """What ``hpcore best`` prints and its exit code: the best trial, or with several objectives
    the Pareto front (one line per trial, then its parameters).

    Example:
        >>> from hpcore.trial import TrialRecord, TrialState
        >>> r = TuningResult([TrialRecord(0, {"x": 1}, TrialState.COMPLETED, 0.5, {"loss": 0.5})], "loss", "minimize")
        >>> print(best_text(r)[0])
        best trial 0: loss = 0.5 (minimize)
          x = 1
    """
    goal = result.objectives
    if goal.several:
        front = result.pareto_front()
        if not front:
            return f"no feasible trial of job {result.name!r} produced every objective yet", 1
        if as_json:
            return json.dumps([{"trial": r.id, "values": {n: r.metrics.get(n) for n in goal.names},
                                "params": r.params} for r in front], default=str), 0
        aims = ", ".join(f"{n} ({d})" for n, d in zip(goal.names, goal.directions, strict=True))
        lines = [f"Pareto front of job {result.name!r}: {len(front)} trials; {aims}"]
        for r in front:
            lines.append(f"trial {r.id}: " + ", ".join(f"{n} = {_fmt(r.metrics.get(n))}" for n in goal.names))
            lines += [f"  {k} = {_fmt(v)}" for k, v in r.params.items()]
        return safe_text("\n".join(lines), keep="\n"), 0
    best = result.best_or_none
    if best is None:
        why = "is feasible" if goal.constraints and any(r.value is not None for r in result.trials) else \
            "produced an objective"
        return f"no trial of job {result.name!r} {why} yet", 1
    if as_json:
        return json.dumps({"trial": best.id, "value": best.value, "params": best.params}, default=str), 0
    lines = [f"best trial {best.id}: {result.objective} = {best.value:.6g} ({result.direction})"]
    lines += [f"  {safe_text(k)} = {_fmt(v)}" for k, v in best.params.items()]
    lines += artifact_lines(best)
    return safe_text("\n".join(lines), keep="\n"), 0


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


def artifact_lines(record: TrialRecord) -> list[str]:
    """Lines naming a trial's files (deleted ones marked), its folder and whether it kept a model.

    Example:
        >>> from hpcore.artifacts import Artifact
        >>> from hpcore.trial import TrialRecord, TrialState
        >>> r = TrialRecord(0, {}, TrialState.COMPLETED, artifacts=[Artifact("model/model.pkl", 2048)],
        ...                 artifact_dir="/runs/t.artifacts/default/0")
        >>> print("\\n".join(artifact_lines(r)))
        files in /runs/t.artifacts/default/0:
          model/model.pkl  2.0 kB
    """
    if not record.artifacts:
        return []
    gone = all(a.deleted for a in record.artifacts)
    head = (f"files (deleted by keep_artifacts) of {record.artifact_dir}:" if gone
            else f"files in {record.artifact_dir}:")
    width = max(len(a.path) for a in record.artifacts)
    return [head] + [f"  {a.path.ljust(width)}  {_size(a.size)}{'  (deleted)' if a.deleted and not gone else ''}"
                     for a in record.artifacts if a.path != MODEL_INFO]


def trial_text(result: TuningResult, trial_id: int) -> str:
    """What ``hpcore status STORE --trial N`` prints: one trial's state, values, parameters, metrics,
    error, and its files."""
    found = [r for r in result.trials if r.id == trial_id]
    if not found:
        raise HpcoreError(f"--trial {trial_id}: job {result.name!r} has no such trial; trials: "
                          f"{', '.join(str(r.id) for r in result.trials) or 'none yet'}")
    r = found[0]
    lines = [f"trial {r.id} of job {result.name!r}: {r.state}" + (f" ({r.reason})" if r.reason else ""),
             f"  value = {_fmt(r.value)}, last step = {_fmt(r.step)}, retries = {r.attempt}, "
             f"duration = {_fmt(r.duration)} s", "parameters:"]
    lines += [f"  {safe_text(k)} = {_fmt(v)}" for k, v in r.params.items()]
    if r.metrics:
        lines += ["metrics:"] + [f"  {safe_text(k)} = {_fmt(v)}" for k, v in r.metrics.items()]
    if r.error:
        lines += ["error:"] + ["  " + line for line in r.error.strip().splitlines()]
    lines += artifact_lines(r)
    return safe_text("\n".join(lines), keep="\n")


def export_best(result: TuningResult, dest: str) -> str:
    """Copies the best trial's files into ``dest`` with ``params.json`` (its parameters, value and
    metrics); returns a line saying what was written.

    Raises:
        HpcoreError: When the job has no best trial (or several objectives), or it kept no files.
    """
    from hpcore.artifacts import export_files

    best = result.best_or_none
    if best is None:
        raise HpcoreError(f"--export: no trial of job {result.name!r} produced an objective yet")
    if not best.artifact_dir or not best.artifacts or all(a.deleted for a in best.artifacts):
        raise HpcoreError(f"--export: the best trial {best.id} kept no files (it saved none, or keep_artifacts "
                          "deleted them)")
    os.makedirs(dest, exist_ok=True)
    written = export_files(best.artifact_dir, dest)
    with open(os.path.join(dest, "params.json"), "w") as f:
        json.dump({"trial": best.id, "value": best.value, "params": best.params, "metrics": best.metrics}, f,
                  indent=1, default=str)
    return f"exported trial {best.id}: {len(written)} files and params.json to {dest}"
