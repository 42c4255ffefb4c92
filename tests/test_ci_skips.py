"""Under ``CI=true`` a test of a real framework or of the browser cannot pass by being skipped.

A real pytest run in a subprocess, with this suite's ``conftest.py``, on generated test files whose
frameworks are made unimportable (``sys.modules[name] = None``): the same files are run with and
without ``CI=true`` and each test's outcome is read from the JUnit XML report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

TESTS = textwrap.dedent("""
    import sys

    import pytest

    sys.modules["lightning"] = None  # as if Lightning were not installed
    sys.modules["keras"] = None


    def test_lightning():
        pytest.importorskip("lightning.pytorch")


    def test_keras_with_a_version():
        pytest.importorskip("keras", minversion="3.0")


    def test_an_optional_helper():
        pytest.importorskip("a_helper_that_is_not_a_framework")


    def test_skipped_for_another_reason():
        pytest.skip("only on Windows")


    @pytest.mark.browser
    @pytest.mark.skipif(True, reason="chromium is not installed")
    def test_in_the_browser():
        pass


    @pytest.mark.skipif(True, reason="chromium is not installed")
    def test_not_marked_browser():
        pass


    @pytest.mark.xfail(reason="a known bug")
    def test_known_bug():
        assert False


    def test_runs():
        assert True
""")
MODULE_SKIP = textwrap.dedent("""
    import sys

    import pytest

    sys.modules["xgboost"] = None
    xgb = pytest.importorskip("xgboost")


    def test_boosting():
        pass
""")


def outcomes(tmp_path: Path, ci: str | None, source: str) -> dict[str, str]:
    """Runs pytest on a generated file; returns each test's (or skipped or failed module's) outcome."""
    work = tmp_path / f"run-{ci}-{len(source)}"
    work.mkdir()
    shutil.copy(HERE / "conftest.py", work / "conftest.py")
    (work / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers\n")
    (work / "test_gen.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    if ci is not None:
        env["CI"] = ci
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=out.xml"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=120)
    found = {}
    for case in ET.parse(work / "out.xml").iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        found[case.get("name")] = kinds[0] if kinds else "passed"
    found["returncode"] = str(proc.returncode)
    found["output"] = proc.stdout
    return found


@pytest.mark.parametrize("ci", [None, "false"])
def test_outside_ci_a_missing_framework_is_a_skip(tmp_path: Path, ci: str | None) -> None:
    got = outcomes(tmp_path, ci, TESTS)
    assert got["returncode"] == "0", got["output"]
    for name in ("test_lightning", "test_keras_with_a_version", "test_an_optional_helper",
                 "test_skipped_for_another_reason", "test_in_the_browser", "test_not_marked_browser",
                 "test_known_bug"):
        assert got[name] == "skipped", (name, got["output"])
    assert got["test_runs"] == "passed"
    module = outcomes(tmp_path, ci, MODULE_SKIP)
    # The whole file skipped: no test ran (pytest's exit code 5), nothing failed.
    assert module["returncode"] == "5" and module["test_gen"] == "skipped", module["output"]


def test_under_ci_a_missing_framework_or_browser_fails_and_other_skips_stay(tmp_path: Path) -> None:
    got = outcomes(tmp_path, "true", TESTS)
    assert got["returncode"] == "1", got["output"]
    assert got["test_lightning"] == got["test_keras_with_a_version"] == "failure"
    assert got["test_in_the_browser"] == "error"  # a skipif mark skips in setup: an error in setup
    for name in ("test_an_optional_helper", "test_skipped_for_another_reason", "test_not_marked_browser",
                 "test_known_bug"):  # not a framework, another reason, not the browser, an expected failure
        assert got[name] == "skipped", (name, got["output"])
    assert got["test_runs"] == "passed"
    assert "lightning.pytorch is required under CI=true, but it could not be imported" in got["output"]
    assert "the browser test is required under CI=true, but it was skipped" in got["output"]
    # A module-level importorskip of xgboost: the file's collection fails, which stops the run.
    module = outcomes(tmp_path, "true", MODULE_SKIP)
    assert module["returncode"] == "2" and module["test_gen"] == "error", module["output"]
    assert "error during collection" in module["output"]
    assert "xgboost is required under CI=true" in module["output"]
