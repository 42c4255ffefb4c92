"""``hpcore report``: one self-contained HTML file with a job's summary, best trial, plots, advice and trials.

The file has no external reference: the plots are PNG images embedded as base64 ``data:`` URIs, the
style and the few lines of script (sorting and filtering the table) are inline, and the trial table
is also embedded as a downloadable CSV. It opens from disk, offline, in any browser.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import os
import time
from typing import Any

from hpcore.results import TuningResult, job_status
from hpcore.space import Categorical

__all__ = ["render", "write_report"]

CAPTIONS = {
    "history": "Objective of every trial in the order they ran; the line is the best value so far. Hollow: "
               "early-stopped (value at the step they were stopped), crosses: failed.",
    "importance": "Share of the objective's variance explained by each parameter alone: a functional ANOVA of a "
                  "random forest fit to the completed trials. Colours are the parameter categories.",
    "slices": "Objective against each parameter on its search scale (log axes for log ranges), coloured by trial "
              "order: where the search converged.",
    "parallel_coordinates": "One line per completed trial across every parameter's range and the objective; "
                            "the best trials are yellow and on top.",
    "categories": "The same, one panel per hyperparameter category (model, optimizer, data), with the category's "
                  "summed importance.",
    "intermediate": "Learning curves from the intermediate reports; early-stopped trials end in a cross.",
    "pareto_front": "Each pair of objectives over the completed trials: red, the Pareto front (no other feasible "
                    "trial is as good on every objective and better on one), with trial ids; grey crosses break "
                    "a constraint.",
    "hypervolume": "Hypervolume of the feasible front after each trial, from the worst feasible value of each "
                   "objective plus a tenth of its range: how much of the trade-off the search had covered.",
}
TITLES = {"history": "Optimisation history", "importance": "Parameter importance", "slices": "Slice plots",
          "parallel_coordinates": "Parallel coordinates", "categories": "By hyperparameter category",
          "intermediate": "Intermediate values", "pareto_front": "Pareto front", "hypervolume": "Hypervolume"}

CSS = """
:root{--fg:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f5f7fa;--accent:#3b5b92}
*{box-sizing:border-box}body{margin:0;font:14px/1.5 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:var(--fg);background:var(--bg)}main{max-width:1180px;margin:0 auto;padding:28px 24px 60px}
header h1{font-size:24px;margin:0 0 4px}header p{margin:0;color:var(--muted)}
h2{font-size:17px;margin:34px 0 12px;padding-bottom:6px;border-bottom:2px solid var(--line)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(168px,1fr));gap:12px;margin-top:20px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.card .k{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.card .k,.card .v{overflow-wrap:anywhere}
.card .v{font-size:21px;font-weight:600;margin-top:2px}.card .v.best{color:var(--accent)}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{background:#eef1f5;position:sticky;top:0}#trials th{cursor:pointer;user-select:none}
#trials th:hover{background:#e2e7ee}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr:nth-child(even) td{background:#fafbfc}
tr.best td{background:#eaf1fb!important;font-weight:600}
.scroll{max-height:640px;overflow:auto;border:1px solid var(--line);border-radius:8px}
.kv{max-width:760px;border:1px solid var(--line);border-radius:8px;overflow:hidden}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.completed{background:#4c72b0}.stopped{background:#e1a33a}.failed{background:#c44e52}.timed_out{background:#8c6d8c}
.running{background:#7b8794}.widen{background:#c44e52}.narrow{background:#4c72b0}.log_scale{background:#8c6d8c}
.fix{background:#55a868}.cat-model{color:#4c72b0}.cat-optimizer{color:#dd8452}.cat-data{color:#55a868}
ul.advice{list-style:none;padding:0;margin:0}ul.advice li{background:#fff;border:1px solid var(--line);
border-radius:8px;padding:10px 14px;margin-bottom:8px}ul.advice .badge{margin-right:8px}
figure{background:#fff;border:1px solid var(--line);border-radius:8px;margin:0 0 16px;padding:14px}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{color:var(--muted);font-size:13px;margin-top:8px}figcaption b{color:var(--fg)}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}@media(max-width:900px){.grid2{grid-template-columns:1fr}}
.tools{margin:0 0 10px}.tools button{border:1px solid var(--line);background:#fff;border-radius:6px;
padding:3px 10px;margin-right:6px;cursor:pointer}.tools button.on{background:var(--accent);color:#fff}
.tools a{float:right;color:var(--accent)}footer{margin-top:40px;color:var(--muted);font-size:12px}
"""

SCRIPT = """
document.querySelectorAll('#trials th').forEach(function(th,i){th.addEventListener('click',function(){
var tb=th.closest('table').tBodies[0],rows=Array.from(tb.rows),asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';
rows.sort(function(a,b){var x=a.cells[i].dataset.v,y=b.cells[i].dataset.v,p=parseFloat(x),q=parseFloat(y);
if(x===''&&y!=='')return 1;if(y===''&&x!=='')return -1;
var c=(!isNaN(p)&&!isNaN(q))?p-q:x.localeCompare(y);return asc?c:-c;});
rows.forEach(function(r){tb.appendChild(r);});});});
document.querySelectorAll('.tools button').forEach(function(b){b.addEventListener('click',function(){
document.querySelectorAll('.tools button').forEach(function(o){o.classList.toggle('on',o===b);});
document.querySelectorAll('#trials tbody tr').forEach(function(r){
r.style.display=(b.dataset.s==='all'||r.dataset.s===b.dataset.s)?'':'none';});});});
window.addEventListener('load',function(){var ok=Array.from(document.images).filter(function(i){
return i.complete&&i.naturalWidth>0;}).length;document.body.dataset.imagesLoaded=ok;});
document.body.dataset.ready='1';
"""


def _e(v: Any) -> str:
    return html.escape(str(v))


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    # No metadata: the default "Software" chunk names a web address, and the file must reference none.
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _setup_line(result: TuningResult) -> str:
    """``strategy bayesian · early stopping auto · seed 0 · hpcore 0.1.0`` (what the store recorded)."""
    from hpcore import __version__

    st = result.setup
    seed = st.get("seed")
    return " · ".join([f"strategy {st.get('strategy') or 'unknown'}",
                       f"early stopping {st.get('early_stopping') or 'not recorded'}",
                       f"seed {seed if seed is not None else 'none'}",
                       f"hpcore {st.get('hpcore') or 'unknown'}" + (f" (report: {__version__})"
                                                                      if st.get("hpcore") not in (None, __version__)
                                                                      else "")])


def _summary(result: TuningResult, status: str) -> str:
    counts = result.counts()
    started = [r.started for r in result.trials if r.started]
    ended = [r.finished for r in result.trials if r.finished]
    wall = (max(ended) - min(started)) if started and ended else None
    goal = result.objectives
    cards = [("Trials", len(result.trials)), ("Completed", counts.get("completed", 0)),
             ("Early-stopped", counts.get("stopped", 0)),
             ("Failed", counts.get("failed", 0) + counts.get("timed_out", 0)), ("Running", counts.get("running", 0)),
             ("Wall time", f"{wall / 60:.1f} min" if wall is not None else "-"), ("Job status", status)]
    if goal.several:
        out = [f'<div class="card"><div class="k">Pareto front</div><div class="v best">'
               f'{len(result.pareto_front())} trials</div></div>']
    else:
        best = result.best_or_none
        out = [f'<div class="card"><div class="k">Best {_e(result.objective)}</div><div class="v best">'
               f'{_e(_fmt(best.value) if best else "-")}</div></div>']
    if goal.constraints:
        usable = [r for r in result.trials if r.value is not None]
        cards.insert(1, ("Feasible", f"{sum(result.feasible(r) for r in usable)} of {len(usable)}"))
    out += [f'<div class="card"><div class="k">{k}</div><div class="v">{_e(v)}</div></div>' for k, v in cards]
    return '<div class="cards">' + "".join(out) + "</div>"


def _front(result: TuningResult) -> str:
    goal = result.objectives
    front = result.pareto_front()
    if not front:
        return "<p>No feasible trial produced every objective yet.</p>"
    names = goal.names + [n for n in result.param_names() if n not in goal.names]
    heads = "".join(f"<th>{_e(n)}</th>" for n in ["trial"] + names)
    rows = "".join("<tr>" + f'<td class="n">{r.id}</td>' + "".join(
        f'<td class="n">{_e(_fmt(r.metrics.get(n) if n in goal.names else r.params.get(n)))}</td>' for n in names)
        + "</tr>" for r in front)
    aims = ", ".join(f"{n} ({d})" for n, d in zip(goal.names, goal.directions, strict=True))
    return (f"<p>{len(front)} trials no other feasible trial beats on every objective: {_e(aims)}. Choose "
            "among them by the trade-off you need.</p>"
            f'<div class="kv"><table><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table></div>')


def _best(result: TuningResult, space: Any) -> str:
    if result.objectives.several:
        return _front(result)
    best = result.best_or_none
    if best is None:
        why = "is feasible" if result.constraints and any(r.value is not None for r in result.trials) else \
            "produced an objective"
        return f"<p>No trial {why} yet.</p>"
    rows = []
    for name, value in best.params.items():
        p = space[name] if space is not None and name in space else None
        cat = getattr(p, "category", "")
        if p is None:
            rng = ""
        elif isinstance(p, Categorical):
            rng = "{" + ", ".join(map(str, p.values)) + "}"
        else:
            rng = f"[{_fmt(p.min)}, {_fmt(p.max)}] {p.scale}"
        rows.append(f'<tr><td><b>{_e(name)}</b></td><td class="n">{_e(_fmt(value))}</td>'
                    f'<td class="cat-{_e(cat)}">{_e(cat)}</td><td>{_e(rng)}</td></tr>')
    dur = f", {best.duration:.1f} s" if best.duration is not None else ""
    head = (f"<p>Trial <b>{best.id}</b> ({_e(best.state)}{dur}, step {_e(_fmt(best.step) or '-')}): "
            f"{_e(result.objective)} = <b>{_e(_fmt(best.value))}</b> ({_e(result.direction)}).</p>")
    return (head + '<div class="kv"><table><thead><tr><th>parameter</th><th>value</th><th>category</th>'
            "<th>range</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>" + _files(best))


def _files(record: Any) -> str:
    """The best trial's files: where they are and how to get its model back."""
    kept = [a for a in record.artifacts if not a.deleted and a.path != "hpcore-model.json"]
    if not kept:
        return ""
    items = "".join(f'<tr><td>{_e(a.path)}</td><td class="n">{a.size:,} B</td></tr>' for a in kept)
    model = any(a.path.startswith("model/") for a in kept)
    how = (" Its model: <code>TuningResult.from_store(STORE).best.load_model()</code>, or "
           "<code>hpcore best STORE --export DIR</code>." if model else "")
    return (f'<p>Its files, in <code>{_e(record.artifact_dir)}</code>.{how}</p><div class="kv"><table><thead>'
            f"<tr><th>file</th><th>size</th></tr></thead><tbody>{items}</tbody></table></div>")


def _advice(items: list[Any], n_done: int) -> str:
    if not items:
        from hpcore.advice import MIN_TRIALS

        why = (f"only {n_done} completed trials; advice needs {MIN_TRIALS}" if n_done < MIN_TRIALS
               else "no parameter's best trials sit at an edge, crowd into a small part of its range, suggest a "
                    "log scale or show no influence")
        return f"<p>No advice: {_e(why)}.</p>"
    return '<ul class="advice">' + "".join(
        f'<li><span class="badge {_e(a.kind)}">{_e(a.kind.replace("_", " "))}</span>{_e(a.message)}</li>'
        for a in items) + "</ul>"


def _table(result: TuningResult) -> str:
    rows = result.rows()
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    marked = {r.id for r in result.pareto_front()} if result.objectives.several else \
        ({result.best_or_none.id} if result.best_or_none is not None else set())
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    csv_uri = "data:text/csv;base64," + base64.b64encode(buf.getvalue().encode()).decode("ascii")
    body = []
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c)
            if c == "state":
                cells.append(f'<td data-v="{_e(v)}"><span class="badge {_e(v)}">{_e(v)}</span></td>')
            elif c == "started" and v:
                cells.append(f'<td data-v="{v}">{time.strftime("%H:%M:%S", time.localtime(v))}</td>')
            else:
                num = isinstance(v, (int, float)) and not isinstance(v, bool)
                cells.append(f'<td{" class=n" if num else ""} data-v="{_e(_fmt(v))}">{_e(_fmt(v))}</td>')
        cls = ' class="best"' if row["trial"] in marked else ""
        body.append(f'<tr{cls} data-s="{_e(row["state"])}">' + "".join(cells) + "</tr>")
    states = ["all"] + sorted(result.counts())
    tools = "".join(f'<button data-s="{s}"{" class=on" if s == "all" else ""}>{s}</button>' for s in states)
    return (f'<div class="tools">{tools}<a download="{_e(result.name)}-trials.csv" href="{csv_uri}">Download CSV</a>'
            '</div><div class="scroll"><table id="trials"><thead><tr>'
            + "".join(f"<th>{_e(c)}</th>" for c in columns) + "</tr></thead><tbody>" + "".join(body)
            + "</tbody></table></div><p style='color:var(--muted);font-size:12px'>Click a column to sort.</p>")


def render(result: TuningResult) -> str:
    """The report of a result as one HTML string (see the module doc).

    Args:
        result: A result with its store (``TuningResult.from_store``) for the space, curves and job status.
    """
    import hpcore.plot as plot
    from hpcore.advice import advise
    from hpcore.plots._data import bootstrap, declared_space, effects_of, scored

    one = result.first_objective()  # importance and advice: the first objective
    eff = effects_of(one)
    runs = bootstrap(one)  # once, for the importance's intervals and the advice's support
    advice = _advice(advise(one, effects=eff, resamples=runs), len(scored(one)))
    figures = plot.all_figures(result, effects=eff, resamples=runs)
    images = {}
    for key, fig in figures.items():
        images[key] = _png(fig)
    fig_html = []
    layout = [("history",), ("importance", "intermediate"), ("slices",), ("parallel_coordinates",), ("categories",)]
    if "pareto_front" in figures:
        layout[:0] = [("pareto_front",), ("hypervolume",)]
    for keys in layout:
        parts = [f'<figure><img alt="{_e(TITLES[k])}" src="{images[k]}"><figcaption><b>{_e(TITLES[k])}.</b> '
                 f"{_e(CAPTIONS[k])}</figcaption></figure>" for k in keys]
        fig_html.append(f'<div class="grid2">{"".join(parts)}</div>' if len(parts) > 1 else parts[0])
    status = job_status(result)
    goal = result.objectives
    aims = ", ".join(f"{n} ({d})" for n, d in zip(goal.names, goal.directions, strict=True))
    aims += "; subject to " + ", ".join(str(c) for c in goal.constraints) if goal.constraints else ""
    heading = "Pareto front" if goal.several else "Best trial"
    where = f" · store {_e(os.path.basename(result.store))}" if result.store else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>hpcore report: {_e(result.name)}</title><style>{CSS}</style></head><body><main>
<header><h1>Tuning report: {_e(result.name)}</h1>
<p class="setup">{_e(_setup_line(result))}</p>
<p>{_e(aims)}{where} · generated {time.strftime("%Y-%m-%d %H:%M")}
{" · " + _e(result.end_reason) if result.end_reason else ""}</p></header>
<section id="summary">{_summary(result, status)}</section>
<section id="best"><h2>{heading}</h2>{_best(result, declared_space(result))}</section>
<section id="advice"><h2>Range advice</h2>{advice}</section>
<section id="plots"><h2>Plots</h2>{"".join(fig_html)}</section>
<section id="table"><h2>All trials</h2>{_table(result)}</section>
<footer>Made by hpcore report. Importance and advice are estimates from {len(scored(result))} completed
trials.</footer></main><script>{SCRIPT}</script></body></html>
"""


def write_report(result: TuningResult | str, path: str = "report.html", name: str | None = None) -> str:
    """Writes the HTML report of a result (or of the job in a store file) to ``path``; returns the path.

    Args:
        result: A result, or the path of a job's store.
        path: The HTML file to write, or a folder (an existing one, or a path ending in ``/``) to write
            ``report.html`` in.
        name: The job's name when ``result`` is a store path (default: its only or first job).

    Example:
        >>> import hpcore, os, tempfile
        >>> job = hpcore.TuningJob(lambda p: p["x"] ** 2, hpcore.SearchSpace({"x": hpcore.Float(-1.0, 1.0)}),
        ...                        strategy="random", max_trials=6, seed=0, progress=False)
        >>> out = write_report(job.run(), os.path.join(tempfile.mkdtemp(), "r.html"))
        >>> open(out).read().startswith("<!DOCTYPE html>")
        True
    """
    if isinstance(result, str):
        result = TuningResult.from_store(result, name)
    text = render(result)
    if os.path.isdir(path) or path.endswith((os.sep, "/")):
        path = os.path.join(path, "report.html")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
