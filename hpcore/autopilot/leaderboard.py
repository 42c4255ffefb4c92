"""The leaderboard: one row per candidate, best first, as a terminal table, a CSV and an HTML page."""

from __future__ import annotations

import csv
import html
import json
from typing import Any

from hpcore.autopilot.metrics import DIRECTIONS
from hpcore.autopilot.search import Standing
from hpcore.trial import TrialState

__all__ = ["leaderboard_rows", "leaderboard_table", "write_csv", "write_html"]

COLUMNS = ["rank", "candidate", "score", "std", "all_folds", "trials", "stopped", "seconds", "rungs", "params"]


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
            "trials": len(records),
            "stopped": sum(r.state == TrialState.STOPPED for r in records),
            "seconds": round(st.seconds, 1), "rungs": st.rung + 1,
            "params": {} if best is None else best.params, "error": st.error,
            "all_folds": st.complete(), "_key": st.rank_key(direction),
        })
    rows.sort(key=lambda r: r.pop("_key"))  # every fold scored first, then by score
    for i, r in enumerate(rows, start=1):
        r["rank"] = i
    return rows


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4f}"
    if isinstance(v, dict):
        return ", ".join(f"{k}={_cell(x) if isinstance(x, float) and abs(x) >= 1e-3 else x}"
                         for k, x in v.items())
    return str(v)


def leaderboard_table(rows: list[dict[str, Any]], metric: str, with_params: bool = False) -> str:
    """A plain-text table of the leaderboard (parameters of the winner only, to keep lines short)."""
    cols = [c for c in COLUMNS if c != "params"]
    head = {c: (metric if c == "score" else c) for c in cols}
    cells = [[f"{r[c]:.0f}" if c == "seconds" else _cell(r[c]) for c in cols] for r in rows]
    widths = [max([len(head[c])] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    lines = ["  ".join(head[c].ljust(w) for c, w in zip(cols, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    if with_params and rows and rows[0]["params"]:
        lines.append(f"best parameters: {_cell(rows[0]['params'])}")
    return "\n".join(lines)


def write_csv(rows: list[dict[str, Any]], path: str) -> str:
    """The leaderboard as CSV (parameters as a JSON column)."""
    fields = ["rank", "candidate", "algorithm", "preprocessing", "score", "std", "all_folds", "trials", "stopped",
              "seconds", "rungs", "params", "error"]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for r in rows:
            writer.writerow({**{k: r.get(k) for k in fields}, "params": json.dumps(r["params"], default=str)})
    return path


def write_html(rows: list[dict[str, Any]], path: str, metric: str, title: str, notes: list[str],
               report: str | None = None) -> str:
    """A self-contained HTML page: the findings, then the leaderboard table (and a link to ``report``)."""
    cols = ["rank", "candidate", "preprocessing", "score", "std", "all_folds", "trials", "stopped", "seconds",
            "rungs", "params"]
    head = "".join(f"<th>{html.escape(metric if c == 'score' else c)}</th>" for c in cols)
    body = "".join(
        "<tr" + (" class='best'" if r["rank"] == 1 else "") + ">"
        + "".join(f"<td>{html.escape(_cell(r[c]))}</td>" for c in cols) + "</tr>" for r in rows)
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    link = (f"<p>The winner's tuning trials, plots and range advice: <a href='{html.escape(report)}'>"
            f"{html.escape(report)}</a></p>" if report else "")
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:13px}}
tr.best{{background:#e8f5e9;font-weight:bold}}</style></head>
<body><h1>{html.escape(title)}</h1><h2>Data analysis</h2><ul>{items}</ul>
<h2>Leaderboard</h2><table><tr>{head}</tr>{body}</table>{link}</body></html>
"""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(page)
    return path
