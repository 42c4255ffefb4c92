"""Built-in algorithms, and third-party algorithm plugins installed for real with pip.

The plugin packages are installed with ``pip install --target`` into a temporary folder put on
``PYTHONPATH`` of the subprocesses: a real install (wheel built, entry points written to
``*.dist-info``), which leaves the shared environment untouched even if the test is interrupted,
and goes away with the folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hpcore
from hpcore import plugins
from hpcore.algorithms import Algorithm
from hpcore.algorithms.xgboost import XGBoostTrainer, xgboost_space
from hpcore.reporter import Reporter
from hpcore.trial import TrialState

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "algorithm_plugin"
HPCORE = [sys.executable, "-c", "import sys; from hpcore.cli import main; sys.exit(main())"]


def test_builtin_algorithms_are_registered_with_sagemaker_ranges():
    ll = plugins.lookup("algorithms", "linear-learner")
    xgb = plugins.lookup("algorithms", "xgboost")
    assert isinstance(ll, Algorithm) and isinstance(xgb, Algorithm)
    assert (ll.objective, ll.direction) == ("validation_auc", "maximize")
    assert set(ll.space) == {"learning_rate", "beta_1", "beta_2", "epochs"}
    assert (ll.space["learning_rate"].min, ll.space["learning_rate"].max) == (1e-5, 1.0)
    assert {"eta", "alpha", "min_child_weight", "subsample", "num_round"} <= set(xgb.space)
    assert plugins.registry("algorithms")["linear-learner"].plugin == "hpcore.algorithms"


def test_svm_algorithm_tunes_and_its_tabular_model_suits_small_classification_tables():
    pytest.importorskip("sklearn")
    from hpcore.algorithms.svm import SVMTrainer

    svm = plugins.lookup("algorithms", "svm")
    assert set(svm.space) == {"C", "gamma"} and svm.space["C"].scale == "log"
    seen = []
    out = SVMTrainer(rows=3000)(svm.space.defaults(), Reporter(0, {}, send=lambda s, m: seen.append((s, m))))
    assert seen == [(1, out)] and 0.5 < out["validation_auc"] <= 1.0
    tab = svm.tabular
    assert tab.suits("binary", 10_000) and tab.suits("multiclass", 50)
    assert not tab.suits("binary", 10_001) and not tab.suits("regression", 100)
    with pytest.raises(ValueError, match="classifies"):
        tab.estimator(tab.space("regression").defaults(), "regression")
    assert plugins.lookup("algorithms", "xgboost").tabular.suits("regression", 10**7)


def test_xgboost_missing_gives_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "xgboost", None)  # makes `import xgboost` fail
    with pytest.raises(ImportError, match=r"pip install 'hpcore\[xgboost\]'"):
        XGBoostTrainer(rows=2000)(xgboost_space().defaults(), Reporter(0, {}))


def test_xgboost_algorithm_reports_and_tunes():
    pytest.importorskip("xgboost")
    seen = []
    params = dict(xgboost_space().defaults(), num_round=20)
    out = XGBoostTrainer(rows=3000, report_every=5)(params, Reporter(0, params, send=lambda s, m: seen.append(s)))
    assert seen == [5, 10, 15, 20] and 0.6 < out["validation_auc"] <= 1.0


def _install(target: Path, *packages: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                           "--no-index", "--quiet", "--target", str(target), *map(str, packages)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr


def _broken_package(where: Path) -> Path:
    pkg = where / "broken_plugin"
    (pkg / "hpcore_broken_plugin").mkdir(parents=True)
    (pkg / "hpcore_broken_plugin" / "__init__.py").write_text("")
    (pkg / "hpcore_broken_plugin" / "plugin.py").write_text("import a_module_that_does_not_exist\n")
    (pkg / "pyproject.toml").write_text(textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=69"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "hpcore-broken-plugin"
        version = "0.0.1"
        [project.entry-points.hpcore]
        broken = "hpcore_broken_plugin.plugin"
        [tool.setuptools]
        packages = ["hpcore_broken_plugin"]
    """))
    return pkg


@pytest.mark.slow
def test_installed_plugin_is_tuned_like_a_builtin_and_a_broken_one_is_named(tmp_path):
    target = tmp_path / "site"
    _install(target, PLUGIN, _broken_package(tmp_path))
    assert list(target.glob("hpcore_example_svm-*.dist-info/entry_points.txt"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "HPCORE_DISABLE_PLUGIN_AUTOLOAD": ""}
    listing = subprocess.run([*HPCORE, "plugins"], capture_output=True, text=True, env=env, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "example-svm" in listing.stdout and "linear-learner" in listing.stdout
    assert "broken" in listing.stdout + listing.stderr
    assert "a_module_that_does_not_exist" in listing.stdout + listing.stderr
    store = tmp_path / "svm.db"
    tune = subprocess.run([*HPCORE, "tune", "--algorithm", "example-svm", "--max-trials", "3", "--strategy",
                           "random", "--seed", "0", "--store", str(store), "--no-progress"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert tune.returncode == 0, tune.stderr
    assert "val_accuracy" in tune.stdout and store.exists()
    # The Python API: the plugin's algorithm supplies train, space, objective and direction.
    code = textwrap.dedent(f"""
        import hpcore
        algo = hpcore.plugins.lookup("algorithms", "example-svm")
        result = hpcore.TuningJob(**algo.job_args(), strategy="random", max_trials=3, seed=1,
                                  store={str(tmp_path / 'api.db')!r}, progress=False).run()
        print(len(result.trials), round(result.best.value, 3), sorted(n for n, _ in hpcore.plugins.failed_plugins()))
    """)
    api = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert api.returncode == 0, api.stderr
    n, best, failed = api.stdout.split(" ", 2)
    assert n == "3" and float(best) > 0.6 and "broken" in failed


def test_runtime_registered_algorithm_runs_through_tuning_job():
    class Plugin:
        @hpcore.hookimpl
        def hpcore_add_algorithms(self):
            space = hpcore.SearchSpace({"x": hpcore.Float(-1.0, 1.0)})
            return {"toy-quadratic": Algorithm("toy-quadratic", lambda p, r: {"loss": p["x"] ** 2}, space,
                                               "loss", "minimize")}

    name = plugins.register(Plugin(), name="test-toy-algorithm")
    try:
        algo = plugins.lookup("algorithms", "toy-quadratic")
        result = hpcore.TuningJob(**algo.job_args(), strategy="random", max_trials=4, seed=0, progress=False).run()
        assert all(t.state is TrialState.COMPLETED for t in result.trials)
        assert result.best.value == min(t.params["x"] ** 2 for t in result.trials)
    finally:
        plugins.unregister(name)
