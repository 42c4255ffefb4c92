"""The leaderboard: one row per candidate, best first, as a terminal table, a CSV and an HTML page.

Each score comes with its standard error over the folds (the fold scores' standard deviation over
the square root of their number); a candidate whose score is within one standard error of the
best's is flagged as a tie: on these rows the data cannot tell them apart. With a single holdout
there is no standard error and no tie is flagged.
"""

from __future__ import annotations

import csv
import html
import json
import math
from typing import Any

import numpy as np

from hpcore.autopilot.ensemble import ENSEMBLE, Ensemble
from hpcore.autopilot.metrics import DIRECTIONS
from hpcore.autopilot.search import Standing
from hpcore.trial import TrialState

__all__ = ["leaderboard_rows", "leaderboard_table", "with_ensemble", "write_csv", "write_html"]

COLUMNS = ["rank", "candidate", "score", "se", "tie", "all_folds", "trials", "stopped", "seconds", "rungs", "params"]


def leaderboard_rows(standings: list[Standing], metric: str) -> list[dict[str, Any]]:
    """Candidates ranked by their best cross-validated (or holdout) score; failed ones last.

    Example:
        >>> leaderboard_rows([], "auc")
        []
    """
    direction = DIRECTIONS[metric]
    rows = []
    for st in standings:
        best = st.best(direction)
        records = st.records()
        rows.append({
            "candidate": st.candidate.name, "algorithm": st.candidate.algorithm,
            "preprocessing": st.candidate.preprocessing,
            "score": None if best is None else best.value,
            "std": None if best is None else best.metrics.get("score_std"),
            "se": None if best is None else _standard_error(best.metrics),
            "trials": len(records),
            "stopped": sum(r.state == TrialState.STOPPED for r in records),
            "seconds": round(st.seconds, 1), "rungs": st.rung + 1,
            "params": {} if best is None else best.params, "error": st.error,
            "all_folds": st.complete(), "_key": st.rank_key(direction),
        })
    rows.sort(key=lambda r: r.pop("_key"))  # every fold scored first, then by score
    return _ranked(rows)


def with_ensemble(rows: list[dict[str, Any]], ensemble: Ensemble, metric: str, seconds: float) -> list[dict[str, Any]]:
    """``rows`` with the ensemble (:class:`~hpcore.autopilot.ensemble.Ensemble`) ranked among them by its score.

    Its ``params`` are the members' weights; it scored every fold, as its members did. It goes
    before the rows of an equal score: it was kept for breaking their tie (on the proper score).
    """
    std = float(np.std(ensemble.fold_scores))
    row = {"candidate": ENSEMBLE, "algorithm": ENSEMBLE,
           "preprocessing": ("each member's own; mean of the values" if ensemble.problem_type == "regression"
                             else "each member's own; soft vote"),
           "score": ensemble.score, "std": std,
           "se": _standard_error({"score_std": std, "folds": float(len(ensemble.fold_scores))}),
           "trials": 0, "stopped": 0, "seconds": round(seconds, 1), "rungs": 1, "params": ensemble.weights,
           "error": None, "all_folds": True}
    sign = -1.0 if DIRECTIONS[metric] == "maximize" else 1.0
    at = next((i for i, r in enumerate(rows) if not r["all_folds"] or r["score"] is None
               or sign * r["score"] >= sign * row["score"]), len(rows))
    return _ranked(rows[:at] + [row] + rows[at:])


def _ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Numbers the rows (already best first) and flags those within one standard error of the best."""
    for i, r in enumerate(rows, start=1):
        r["rank"] = i
    top = rows[0] if rows else None
    for r in rows:
        r["tie"] = bool(top is not None and r is not top and r["all_folds"] and top["se"] and r["score"] is not None
                        and top["score"] is not None and abs(r["score"] - top["score"]) <= top["se"])
    return rows


def _standard_error(metrics: dict[str, float]) -> float | None:
    folds = metrics.get("folds", 1.0)
    std = metrics.get("score_std")
    return None if std is None or folds < 2 else float(std) / math.sqrt(folds)


def _cell(v: Any, column: str = "") -> str:
    """A value as people read it: 4 decimals for scores, 2 significant digits for errors, seconds whole."""
    if v is None:
        return "-"
    if column == "tie":
        return "tie" if v else ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if column == "seconds":
        return f"{v:.0f} s"
    if column == "se" and isinstance(v, float):
        return f"±{v:.2g}"
    if isinstance(v, float):
        return f"{v:.4f}" if 1e-3 <= abs(v) < 1e5 or v == 0 else f"{v:.3g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}={f'{x:.3g}' if isinstance(x, float) else x}" for k, x in v.items())
    return str(v)


def leaderboard_table(rows: list[dict[str, Any]], metric: str, with_params: bool = False) -> str:
    """A plain-text table of the leaderboard (parameters of the winner only, to keep lines short)."""
    cols = [c for c in COLUMNS if c != "params"]
    head = {c: (metric if c == "score" else c) for c in cols}
    cells = [[_cell(r[c], c) for c in cols] for r in rows]
    widths = [max([len(head[c])] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    lines = ["  ".join(head[c].ljust(w) for c, w in zip(cols, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    if with_params and rows and rows[0]["params"]:
        lines.append(f"best parameters: {_cell(rows[0]['params'])}")
    return "\n".join(lines)


def write_csv(rows: list[dict[str, Any]], path: str) -> str:
    """The leaderboard as CSV (parameters as a JSON column)."""
    fields = ["rank", "candidate", "algorithm", "preprocessing", "score", "std", "se", "tie", "all_folds", "trials",
              "stopped", "seconds", "rungs", "params", "error"]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for r in rows:
            writer.writerow({**{k: r.get(k) for k in fields}, "params": json.dumps(r["params"], default=str)})
    return path


def write_html(rows: list[dict[str, Any]], path: str, metric: str, title: str, notes: list[str],
               report: str | None = None) -> str:
    """A self-contained page in the report's style: the findings, then the leaderboard (and a link to ``report``)."""
    from hpcore.report import CSS

    cols = ["rank", "candidate", "preprocessing", "score", "se", "tie", "all_folds", "trials", "stopped", "seconds",
            "rungs", "params"]
    numeric = {"rank", "score", "se", "trials", "stopped", "seconds", "rungs"}
    head = "".join(f"<th>{html.escape(metric if c == 'score' else 'vs best' if c == 'tie' else c)}</th>"
                   for c in cols)

    def cell(r: dict[str, Any], c: str) -> str:
        text = html.escape(_cell(r[c], c))
        if c == "tie" and r[c]:
            text = "<span class='badge narrow' title='within one standard error of the best'>tie</span>"
        elif c == "tie" and r["rank"] == 1:
            text = "<span class='badge fix'>best</span>"
        elif c == "candidate" and r.get("error"):
            text += f"<br><small class='muted'>{html.escape(str(r['error']))}</small>"
        kind = "n" if c in numeric else "wrap" if c in ("params", "preprocessing") else ""
        return f"<td class='{kind}'>{text}</td>" if kind else f"<td>{text}</td>"

    body = "".join("<tr" + (" class='best'" if r["rank"] == 1 else "") + ">" + "".join(cell(r, c) for c in cols)
                   + "</tr>" for r in rows)
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    link = (f"<p>The winner's tuning trials, plots and range advice: <a href='{html.escape(report)}'>"
            f"{html.escape(report)}</a></p>" if report else "")
    best = rows[0] if rows else None
    cards = "" if best is None else (
        "<div class='cards'>"
        f"<div class='card'><div class='k'>best candidate</div><div class='v best'>{html.escape(best['candidate'])}"
        f"</div></div><div class='card'><div class='k'>{html.escape(metric)}</div><div class='v'>"
        f"{html.escape(_cell(best['score']))}</div></div><div class='card'><div class='k'>candidates</div>"
        f"<div class='v'>{len(rows)}</div></div><div class='card'><div class='k'>ties with the best</div>"
        f"<div class='v'>{sum(r['tie'] for r in rows)}</div></div></div>")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)}</title><style>{CSS}small.muted{{color:var(--muted)}}td.wrap{{white-space:normal;min-width:220px}}</style></head><body><main>
<header><h1>{html.escape(title)}</h1><p>Candidates ranked by their validation {html.escape(metric)}; ± is the
standard error over the folds, and a tie is within one standard error of the best.</p></header>{cards}
<h2>Data analysis</h2><ul class="advice">{items}</ul>
<h2>Leaderboard</h2><div class="scroll"><table id="leaderboard"><thead><tr>{head}</tr></thead>
<tbody>{body}</tbody></table></div>{link}
<footer>Made by hpcore autopilot.</footer></main></body></html>
"""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(page)
    return path
