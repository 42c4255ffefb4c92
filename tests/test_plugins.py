"""The plugin system: built-ins and third-party plugins registered alike, through real metadata."""

import os
import subprocess
import sys
import textwrap

import pytest

import hpcore
from hpcore import plugins
from hpcore.strategies.random import RandomStrategy


def make_site(tmp_path):
    """A folder holding real distribution metadata with entry points in the hpcore group."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "good_plugin.py").write_text(textwrap.dedent('''
        import hpcore
        from hpcore.strategies.random import RandomStrategy

        class Sobolish(RandomStrategy):
            name = "sobolish"

        @hpcore.hookimpl
        def hpcore_add_strategies():
            return {"sobolish": Sobolish}
    '''))
    (site / "broken_plugin.py").write_text("raise ImportError('needs a library that is not installed')\n")
    (site / "typo_plugin.py").write_text(textwrap.dedent('''
        import hpcore

        @hpcore.hookimpl
        def hpcore_add_strategie():
            return {}
    '''))
    dist = site / "hpcore_testplugins-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hpcore-testplugins\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[hpcore]\ngood = good_plugin\nbroken = broken_plugin\ntypo = typo_plugin\n")
    return site


def run_cli(args, site, **env):
    full = dict(os.environ, PYTHONPATH=str(site), **env)
    return subprocess.run([sys.executable, "-m", "hpcore.cli", *args], capture_output=True, text=True, env=full,
                          timeout=60)


def test_entry_point_plugins_load_and_broken_ones_are_named_not_fatal(tmp_path):
    site = make_site(tmp_path)
    out = run_cli(["plugins"], site)
    assert out.returncode == 0, out.stderr
    assert "sobolish" in out.stdout and "from good" in out.stdout
    assert "entry point good_plugin of hpcore-testplugins 0.1" in out.stdout
    assert "random" in out.stdout and "from hpcore.strategies.random" in out.stdout
    failed = out.stdout.split("failed to load:")[1]
    assert "broken (broken_plugin)" in failed and "needs a library that is not installed" in failed
    assert "typo (typo_plugin)" in failed and "hpcore_add_strategie" in failed


def test_a_plugin_strategy_runs_a_job_like_a_built_in(tmp_path):
    site = make_site(tmp_path)
    code = ("import hpcore; s = hpcore.SearchSpace({'x': hpcore.Float(0, 1)});"
            "r = hpcore.TuningJob(lambda p: p['x'], s, strategy='sobolish', max_trials=3, progress=False).run();"
            "print(len(r.trials), r.best.value <= 1)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(site)), timeout=60)
    assert out.stdout.strip() == "3 True", out.stderr


def test_autoload_can_be_switched_off(tmp_path):
    site = make_site(tmp_path)
    out = run_cli(["plugins"], site, HPCORE_DISABLE_PLUGIN_AUTOLOAD="1")
    assert out.returncode == 0
    assert "sobolish" not in out.stdout and "failed to load" not in out.stdout


class Duplicate:
    @hpcore.hookimpl
    def hpcore_add_strategies(self):
        return {"random": RandomStrategy}


def test_a_duplicate_name_is_an_error_naming_both_plugins():
    name = plugins.register(Duplicate(), name="dup-plugin")
    try:
        with pytest.raises(hpcore.PluginError) as err:
            plugins.registry("strategies")
        msg = str(err.value)
        assert "'random' is registered twice" in msg
        assert "hpcore.strategies.random" in msg and "dup-plugin" in msg
    finally:
        plugins.unregister(name)
    assert "random" in plugins.registry("strategies")


def test_registering_a_misspelled_hook_fails_loudly():
    class Typo:
        @hpcore.hookimpl
        def hpcore_add_stopper(self):
            return {}

    with pytest.raises(hpcore.PluginError, match="unknown hook.*hpcore_add_stopper"):
        plugins.register(Typo())


def test_unknown_names_list_what_is_registered():
    with pytest.raises(hpcore.PluginError, match="unknown stopper 'patience'; registered stoppers: .*none"):
        hpcore.create_stopper("patience")
    with pytest.raises(hpcore.PluginError, match="unknown executor 'slurm'; registered executors: .*inprocess"):
        hpcore.TuningJob(lambda p: 0.0, {"x": {"type": "float", "min": 0, "max": 1}}, executor="slurm")
