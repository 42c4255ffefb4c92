"""``hpcore dashboard``: its JSON API on a real store, the command, and the page in a real headless
Chromium while a job writes the store (new trials appear without a reload)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from cdp import CHROMIUM, Browser

import hpcore
from hpcore.dashboard import Dashboard

TESTS = os.path.dirname(os.path.abspath(__file__))
ENV = dict(os.environ, PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))


def two_jobs(db: str) -> None:
    space = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)})
    hpcore.TuningJob(lambda p: (p["x"] - 0.5) ** 2, space, strategy="random", max_trials=5, store=db, seed=0,
                     progress=False, name="first").run()
    hpcore.TuningJob(lambda p: 1 / 0 if p["x"] > 0.5 else p["x"], space, strategy="random", max_trials=6, store=db,
                     seed=1, progress=False, name="second", fail_fast=None).run()


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.headers, r.read()


def test_the_api_lists_the_jobs_and_gives_each_with_its_trials(tmp_path):
    db = str(tmp_path / "t.db")
    two_jobs(db)
    with Dashboard(db, port=0) as board:
        assert board.url.startswith("http://127.0.0.1:")
        headers, page = get(board.url)
        assert b"<title>hpcore dashboard</title>" in page and "default-src 'self'" in headers["Content-Security-Policy"]
        jobs = json.loads(get(board.url + "api/jobs")[1])
        assert [j["name"] for j in jobs] == ["first", "second"]
        assert jobs[0]["counts"] == {"completed": 5} and jobs[0]["status"] == "completed"
        second = json.loads(get(board.url + "api/job?name=second")[1])
        failed = [t for t in second["trials"] if t["state"] == "failed"]
        assert failed and all(t["error"] == "ZeroDivisionError: division by zero" for t in failed)
        assert "Traceback" in failed[0]["traceback"]
        assert second["strategy"] == "random" and second["seed"] == 1 and second["hpcore"] == hpcore.__version__
        best = min((t for t in second["trials"] if t["state"] == "completed"), key=lambda t: t["value"])
        assert second["best"] == best["id"] and second["params"] == ["x"]
        with pytest.raises(urllib.error.HTTPError) as info:
            get(board.url + "api/job?name=third")
        assert info.value.code == 404 and "no job 'third'; jobs: first, second" in info.value.read().decode()


def test_the_command_serves_and_refuses_a_missing_store(tmp_path):
    db = str(tmp_path / "t.db")
    two_jobs(db)
    bad = subprocess.run([sys.executable, "-m", "hpcore.cli", "dashboard", str(tmp_path / "nope.db")],
                         capture_output=True, text=True, env=ENV, timeout=60)
    assert bad.returncode == 2 and "does not exist" in bad.stderr
    proc = subprocess.Popen([sys.executable, "-m", "hpcore.cli", "dashboard", db, "--port", "0"], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("dashboard: http://127.0.0.1:") and "Ctrl-C" in line, proc.stderr.read()
        url = line.split()[1]
        assert json.loads(get(url + "api/jobs")[1])[1]["name"] == "second"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's chromium)")
def test_the_page_follows_a_running_job_in_a_real_browser(tmp_path):
    db = str(tmp_path / "live.db")
    job = browser = None
    try:
        # The page is open before the job starts: it waits for the store, then follows every trial.
        with Dashboard(db, port=0) as board:
            browser = Browser(str(tmp_path / "profile"))
            browser.open(board.url + "?interval=0.25")
            browser.wait_for("document.body.dataset.ready === '1'")
            browser.js("window.loadedOnce = true")  # a reload would drop it
            assert "does not exist" in browser.js("document.getElementById('message').textContent") or \
                "no job" in browser.js("document.getElementById('message').textContent")
            job = subprocess.Popen([sys.executable, os.path.join(TESTS, "slowjob.py"), db, "0.12", "14"], env=ENV,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            browser.wait_for("+document.body.dataset.trials >= 1", timeout=120)
            seen = {int(browser.js("document.body.dataset.trials"))}
            while job.poll() is None:
                seen.add(int(browser.js("document.body.dataset.trials")))
                time.sleep(0.1)
            assert job.returncode == 0, job.stderr.read()
            browser.wait_for("document.querySelectorAll('#trials tbody tr').length === 14 && "
                             "!document.querySelector('#trials tbody tr[data-s=running]')")
            assert browser.js("window.loadedOnce") is True
            assert len(seen) >= 4, f"the page showed only these trial counts while the job ran: {sorted(seen)}"
            assert browser.js("performance.getEntriesByType('navigation').length") == 1

            # The table sorts by a column, filters by state and opens a trial's details.
            browser.js("document.querySelector('th[data-key=value]').click()")
            values = browser.js("Array.from(document.querySelectorAll('#trials tbody tr')).map(r => r.dataset.id)")
            result = hpcore.TuningResult.from_store(db)
            ranked = sorted((t for t in result.trials if t.value is not None), key=lambda t: t.value)
            assert [int(v) for v in values[:len(ranked)]] == [t.id for t in ranked]
            failed = sum(t.state == "failed" for t in result.trials)
            assert failed >= 1  # the job's x > 0.85 trials
            browser.js("const f = document.getElementById('filter'); f.value = 'failed';"
                       "f.dispatchEvent(new Event('change'))")
            states = browser.js("Array.from(document.querySelectorAll('#trials tbody tr')).map(r => r.dataset.s)")
            assert states == ["failed"] * failed
            browser.js("document.querySelector('#trials tbody tr').click()")
            details = browser.wait_for("!document.getElementById('details').hidden && "
                                       "document.getElementById('details').innerText")
            assert "ValueError: x=" in details and "diverged" in details and "Parameters" in details
            browser.js("const g = document.getElementById('filter'); g.value = '';"
                       "g.dispatchEvent(new Event('change'))")
            assert browser.js("document.querySelectorAll('#history circle').length") == \
                sum(t.state in ("completed", "stopped") for t in result.trials)
            assert browser.js("document.querySelectorAll('#curves polyline').length") >= 5
            assert browser.js("document.querySelectorAll('#importance rect').length") == 3
            shot = tmp_path / "dashboard.png"
            browser.screenshot(str(shot))
            assert shot.stat().st_size > 20_000
            if os.environ.get("HPCORE_SCREENSHOTS"):  # refresh docs/img/dashboard.png
                shutil.copy(shot, os.path.join(os.environ["HPCORE_SCREENSHOTS"], "dashboard.png"))
        local = [u for u in browser.requests if not u.startswith(board.url) and not u.startswith("data:")]
        assert local == [], f"the page asked for other addresses: {local}"
        assert any("api/job?name=default" in u for u in browser.requests)
    finally:
        if browser is not None:
            browser.close()
        if job is not None and job.poll() is None:
            job.kill()
