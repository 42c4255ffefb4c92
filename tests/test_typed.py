"""hpcore ships ``py.typed``: a user's type checker reads its hints (mypy on a small user script)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

HPCORE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "hpcore")

USER = textwrap.dedent('''
    import hpcore

    space = hpcore.SearchSpace({"lr": hpcore.Float(1e-4, 1e-1, scale="log")})
    job = hpcore.TuningJob(lambda p: {"loss": p["lr"]}, space, objective="loss", max_trials=5)
    best: hpcore.TrialRecord = job.run().best
    value: float | None = best.value
    job.enqueue({"lr": 0.01})
    wrong = hpcore.TuningJob(lambda p: 0.0, space, max_trials="ten")
    name: int = job.run(more=2).best.params
''')


@pytest.mark.slow
def test_mypy_checks_a_users_script_against_hpcores_hints(tmp_path):
    pytest.importorskip("mypy")
    site, user = tmp_path / "site", tmp_path / "user"
    site.mkdir()
    user.mkdir()
    # hpcore as an installed package (a path entry, not the user's sources): mypy reads it only with py.typed.
    os.symlink(HPCORE, site / "hpcore")
    (user / "use.py").write_text(USER)
    env = dict(os.environ, PYTHONPATH=str(site))
    env.pop("MYPYPATH", None)
    out = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), "--no-error-summary",
                          "use.py"], cwd=user, env=env, capture_output=True, text=True, timeout=240)
    errors = out.stdout.splitlines()
    assert not any("py.typed" in e or "import-untyped" in e for e in errors), out.stdout
    assert len(errors) == 2, out.stdout  # the two mistakes, nothing in the correct lines
    assert 'use.py:9: error: Argument "max_trials" to "TuningJob" has incompatible type "str"' in errors[0]
    assert "use.py:10: error: Incompatible types in assignment" in errors[1] and '"dict[str, Any]"' in errors[1]
