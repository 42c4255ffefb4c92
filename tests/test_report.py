"""hpcore report: one self-contained HTML file, checked as text and in a real headless browser;
and the live ``hpcore status --watch`` on a job that is running."""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("matplotlib")

import matplotlib.image as mpimg  # noqa: E402
from test_cli import hp  # noqa: E402
from test_plot import N, build_store  # noqa: E402

from hpcore import Float, SearchSpace, TuningJob  # noqa: E402
from hpcore.report import write_report  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WINDOW = (1280, 4200)
# Requests Chromium makes on its own (updates, accounts) despite the flags below; not the page's.
BROWSER_HOSTS = re.compile(r"^https?://([a-z0-9-]+\.)*(google\.com|googleapis\.com|gstatic\.com|gvt1\.com)[/:]")
# Appended to a copy of the report only: records where each plot landed, for cropping the screenshot.
RECT_SCRIPT = """<script>window.addEventListener('load',function(){document.body.dataset.rects=JSON.stringify(
Array.from(document.images).map(function(i){var r=i.getBoundingClientRect();
return [r.left,r.top,r.width,r.height];}));});</script></body>"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    db = build_store(str(folder / "built.db"))
    out = hp("report", db, "-o", str(folder / "out" / "report.html"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"report: {folder / 'out' / 'report.html'}"
    return folder / "out" / "report.html"


def chromium(url: str, *args: str, profile: str) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}", *args, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def page_requests(net_log: str) -> list[str]:
    """URLs the page itself asked for, from a Chromium net log (file:// and data: loads do not count)."""
    with open(net_log) as fh:
        urls = set(re.findall(r'"url":"([^"]+)"', fh.read()))
    return sorted(u for u in urls if re.match(r"^(https?|wss?|ftp)://", u) and not BROWSER_HOSTS.match(u))


def test_report_is_one_self_contained_file(report):
    text = report.read_text()
    assert not re.search(r"(?i)https?://|//[a-z0-9-]+\.[a-z]", text.replace("data:image/png;base64,", ""))
    assert not re.search(r"<(link|iframe)|<script[^>]+src=|url\(", text)
    sources = re.findall(r'<img[^>]+src="([^"]+)"', text)
    assert len(sources) == 6 and all(s.startswith("data:image/png;base64,") for s in sources)
    for title in ("Tuning report: built", "Best trial", "Range advice", "Plots", "All trials"):
        assert title in text
    table = text.split('id="trials"')[1]
    assert table.count("<tr ") + table.count("<tr>") == N + 1  # header and one row per trial
    advice = html.unescape(text.split('id="advice"')[1].split("</section>")[0])
    assert table.count('class="best"') == 1 and "fix 'flip' (for example at" in advice
    csv = base64.b64decode(re.search(r'href="data:text/csv;base64,([^"]+)"', text).group(1)).decode()
    assert csv.count("\n") == N + 1 and csv.startswith("trial,state,value")
    for src in sources:  # every plot has content: not a blank or single-colour image
        img = mpimg.imread(io.BytesIO(base64.b64decode(src.split(",", 1)[1])), format="png")[..., :3]
        assert img.shape[0] > 200 and img.shape[1] > 400
        assert img.std() > 0.05 and (img.max(axis=2) - img.min(axis=2) > 0.25).mean() > 0.002


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's chromium)")
def test_report_in_a_real_headless_browser(report, tmp_path):
    url = report.as_uri()
    net_log = str(tmp_path / "net.json")
    dom = chromium(url, "--enable-logging=stderr", "--v=0", f"--log-net-log={net_log}", "--dump-dom",
                   profile=str(tmp_path / "p1"))
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", dom.stdout).group(1)
    assert 'data-ready="1"' in body  # the inline script ran to its end
    assert 'data-images-loaded="6"' in body  # every plot decoded (a failed image has no natural width)
    console = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln]
    assert not [ln for ln in console if "Uncaught" in ln or "Failed to load" in ln], console
    assert page_requests(net_log) == []
    assert len(re.findall(r'<tr[^>]*data-s="(completed|stopped|failed|running)"', dom.stdout)) == N

    # Where the plots are, from a copy of the page that reports the images' boxes; then the screenshot.
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text().replace("</body>", RECT_SCRIPT))
    rects = json.loads(re.search(r'data-rects="([^"]+)"',
                                 chromium(probe.as_uri(), "--dump-dom", profile=str(tmp_path / "p2")).stdout)
                       .group(1).replace("&quot;", '"'))
    png = tmp_path / "shot.png"
    shot = chromium(url, f"--screenshot={png}", profile=str(tmp_path / "p3"))
    assert png.exists(), shot.stderr[-2000:]
    pixels = mpimg.imread(str(png))[..., :3]
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    visible = [(int(x), int(y), int(w), int(h)) for x, y, w, h in rects if y + h <= WINDOW[1]]
    assert len(visible) >= 5 and all(w > 300 and h > 150 for _, _, w, h in visible)
    for x, y, w, h in visible:
        crop = pixels[y:y + h, x:x + w]
        colourful = (crop.max(axis=2) - crop.min(axis=2) > 0.25).mean()
        assert crop.std() > 0.05 and colourful > 0.004, (x, y, w, h, crop.std(), colourful)
    page = pixels[: visible[0][1]]  # above the first plot: the summary, best trial and advice
    assert page.std() > 0.02


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's chromium)")
def test_the_browser_checks_catch_a_broken_page(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text('<!DOCTYPE html><html><body><img src="missing.png"><img src="http://example.invalid/a.png">'
                      "<script>undefinedFunction();</script></body></html>")
    net_log = str(tmp_path / "net.json")
    dom = chromium(broken.as_uri(), "--enable-logging=stderr", "--v=0", f"--log-net-log={net_log}", "--dump-dom",
                   profile=str(tmp_path / "p"))
    assert page_requests(net_log) == ["http://example.invalid/a.png"]
    assert any("Uncaught" in ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln)


def test_write_report_of_an_in_memory_result(tmp_path):
    job = TuningJob(lambda p: (p["x"] - 0.2) ** 2 + 0.1 * p["y"], SearchSpace({"x": Float(0.0, 1.0),
                    "y": Float(0.0, 1.0)}), strategy="random", max_trials=10, seed=0, progress=False)
    path = write_report(job.run(), str(tmp_path / "r.html"))
    with open(path) as fh:
        text = fh.read()
    assert "Tuning report: default" in text and text.count("data:image/png;base64,") == 6
    assert "no intermediate reports" not in text  # the message is drawn inside the plot, not the page


JOB = textwrap.dedent("""
    train: trainfns:slow_steps
    objective: loss
    strategy: random
    max_trials: 4
    seed: 0
    store: runs/live.db
    progress: false
    space:
      x: {type: float, min: 0.0, max: 1.0}
""")


def test_status_watch_follows_a_running_job_until_it_ends(tmp_path):
    (tmp_path / "job.yaml").write_text(JOB)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.abspath(__file__)) + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    tune = subprocess.Popen([sys.executable, "-m", "hpcore.cli", "tune", "job.yaml"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = tmp_path / "runs" / "live.db"
    try:
        deadline = time.time() + 60
        while not db.exists() and time.time() < deadline:
            time.sleep(0.02)
        # Started as soon as the file exists: the watcher may first see no table or no job, and waits.
        watch = hp("status", str(db), "--watch", "0.2", timeout=90)
    finally:
        out, err = tune.communicate(timeout=90)
    assert tune.returncode == 0, err
    assert watch.returncode == 0, watch.stderr
    frames = [f for f in watch.stdout.split("\033[2J\033[H") if f.strip() and not f.startswith("waiting")]
    assert len(frames) >= 3
    live = [ln.split() for f in frames[:-1] for ln in f.splitlines() if ln.split()[1:2] == ["running"]]
    assert live, frames[0]
    # A running trial shows the last step it reported and how long it has run, read while the job writes.
    assert any(row[3].isdigit() and row[5] != "-" for row in live)
    assert "(running)" in frames[0] and "(completed)" in frames[-1] and "4 completed" in frames[-1]
    assert "4 trials (4 completed)" in out


def test_status_watch_waits_for_a_job_to_start_and_plain_status_fails_clearly(tmp_path):
    empty = tmp_path / "starting.db"
    empty.touch()  # what a reader sees in the instant the job creates its store
    with pytest.raises(subprocess.TimeoutExpired) as waited:
        subprocess.run([sys.executable, "-m", "hpcore.cli", "status", str(empty), "--watch", "0.1"],
                       capture_output=True, text=True, timeout=4)
    assert "waiting for a job to start" in (waited.value.stdout or b"").decode()
    out = hp("status", str(empty))
    assert out.returncode == 2 and "cannot read" in out.stderr and "Traceback" not in out.stderr
