"""Shared test setup: one thread per library (the suite runs on small shared machines), and under
``CI=true`` no test of a real framework or of the browser may pass by being skipped.

A test that needs Lightning, Keras, XGBoost, Dask (or torch, or matplotlib for the report) calls
``pytest.importorskip`` on it; a test that needs a headless Chromium is marked ``browser``. On a
developer's machine without them these tests are skipped. Under ``CI=true`` (which ``.ci/run`` and
CI services set) such a skip is reported as a failure instead, naming what was missing: a CI run
that installed everything cannot pass by quietly not running them. Other skips stay skips.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import pytest

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("KERAS_BACKEND", "torch")

# Training functions used by process-executor tests live in tests/ and must be importable by workers.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Top-level packages whose absence may not skip a test under CI=true: the frameworks hpcore adapts
# and runs on (installed by the "all" extra), and matplotlib, which the report's browser test needs.
CI_REQUIRED_MODULES = frozenset({
    "lightning", "pytorch_lightning", "keras", "xgboost", "dask", "distributed", "torch", "matplotlib",
})
# pytest.importorskip's skip messages: "could not import 'x.y': ..." and "module 'x' has __version__ ...".
_IMPORT_SKIP = re.compile(r"^(?:Skipped: )?(?:could not import|module) '([\w.]+)'")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: opens a page in headless Chromium; under CI=true a skip fails")


def in_ci() -> bool:
    """Whether this run is a CI run (``CI=true``, as CI services and ``.ci/run`` set it)."""
    return os.environ.get("CI", "").strip().lower() == "true"


def _skip_message(longrepr: Any) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, "Skipped: reason")
        return str(longrepr[2])
    return str(longrepr)


def required_skip(message: str, browser: bool) -> str | None:
    """Why a skip with this message must fail under CI, or None if it may stay a skip.

    Args:
        message: The skip's reason as pytest reports it.
        browser: Whether the skipped test is marked ``browser``.

    Returns:
        A sentence naming the missing framework or the browser, or None.
    """
    match = _IMPORT_SKIP.match(message)
    if match and match.group(1).split(".")[0] in CI_REQUIRED_MODULES:
        return f"{match.group(1)} is required under CI=true, but it could not be imported: {message}"
    if browser:
        return f"the browser test is required under CI=true, but it was skipped: {message}"
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        why = required_skip(_skip_message(report.longrepr), item.get_closest_marker("browser") is not None)
        if why:
            report.outcome = "failed"
            report.longrepr = why
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> pytest.CollectReport:
    report: pytest.CollectReport = yield
    if in_ci() and report.skipped:  # a module-level importorskip skips the whole file
        why = required_skip(_skip_message(report.longrepr), False)
        if why:
            report.outcome = "failed"
            report.longrepr = why
    return report


@pytest.fixture
def controllers(request):
    """Makes the test module's ``Controller`` (a controller subprocess) and cleans each up after the test."""
    made: list = []
    yield lambda *a, **k: made.append(request.module.Controller(*a, **k)) or made[-1]
    for c in made:
        c.cleanup()
