"""Trial artifacts: each trial's folder, its files in the store, the saved model, retention, URLs."""

import json
import os
import pickle

import pytest

import hpcore
from hpcore.errors import ConfigError
from hpcore.models import ModelNotFound
from hpcore.store import Store
from hpcore.trialfiles import TrialFiles

from trainfns import keeps_own_file

SPACE = hpcore.SearchSpace({"x": hpcore.Float(0.0, 1.0)})


def writes_files(params, reporter):
    with open(os.path.join(reporter.artifact_dir, "notes.txt"), "w") as f:
        f.write(f"x={params['x']}")
    os.makedirs(os.path.join(reporter.artifact_dir, "plots"), exist_ok=True)
    with open(os.path.join(reporter.artifact_dir, "plots", "curve.csv"), "w") as f:
        f.write("1,2\n")
    reporter.save_model({"weights": [params["x"], 2 * params["x"]]})
    return {"loss": (params["x"] - 0.3) ** 2}


def test_each_trial_has_its_folder_next_to_the_store_and_its_files_are_listed(tmp_path):
    db = str(tmp_path / "tuning.db")
    result = hpcore.TuningJob(writes_files, SPACE, objective="loss", strategy="random", max_trials=3, seed=0,
                              store=db, progress=False).run()
    for t in result.trials:
        assert t.artifact_dir == str(tmp_path / "tuning.artifacts" / "default" / str(t.id))
        assert {a.path for a in t.artifacts} == {"notes.txt", "plots/curve.csv", "hpcore-model.json",
                                                 "model/model.pkl"}
        assert next(a.size for a in t.artifacts if a.path == "notes.txt") == len(f"x={t.params['x']}")
        assert not any(a.deleted for a in t.artifacts)
    best = result.best
    assert best.load_model() == {"weights": [best.params["x"], 2 * best.params["x"]]}
    again = hpcore.TuningResult.from_store(db)  # read back by another reader: the same
    assert [t.artifacts for t in again.trials] == [t.artifacts for t in result.trials]
    assert again.best.load_model() == best.load_model()


def test_keep_artifacts_keeps_exactly_the_best_trials_and_records_the_deleted(tmp_path):
    db = str(tmp_path / "t.db")
    result = hpcore.TuningJob(writes_files, SPACE, objective="loss", strategy="random", max_trials=6, seed=1,
                              store=db, keep_artifacts=2, progress=False).run()
    ranked = sorted(result.trials, key=lambda t: t.value)
    for t in ranked[:2]:
        assert os.path.exists(os.path.join(t.artifact_dir, "notes.txt"))
        assert t.artifacts and not any(a.deleted for a in t.artifacts)
    for t in ranked[2:]:
        assert not os.path.exists(t.artifact_dir)
        assert t.artifacts and all(a.deleted for a in t.artifacts)  # what it had, marked deleted
        with pytest.raises(ModelNotFound, match="keep_artifacts"):
            t.load_model()
    assert result.best.load_model()["weights"][0] == result.best.params["x"]
    none = hpcore.TuningJob(writes_files, SPACE, objective="loss", strategy="random", max_trials=2, seed=1,
                            store=str(tmp_path / "n.db"), keep_artifacts="none", progress=False).run()
    assert all(not os.path.exists(t.artifact_dir) for t in none.trials)


def test_a_running_trial_never_loses_its_files_to_keep_artifacts(tmp_path):
    db = str(tmp_path / "t.db")
    result = hpcore.TuningJob(keeps_own_file, SPACE, objective="loss", strategy="random", max_trials=5,
                              max_parallel=2, store=db, keep_artifacts=1, progress=False).run()
    assert result.counts() == {"completed": 5}  # trial 0 ran while better ones finished, and kept its file
    assert [t.id for t in result.trials if not any(a.deleted for a in t.artifacts)] == [4]
    assert all(t.artifacts for t in result.trials)


def test_an_in_memory_job_keeps_files_in_a_temporary_folder_and_says_so():
    with pytest.warns(UserWarning, match="temporary folder"):
        result = hpcore.TuningJob(writes_files, SPACE, objective="loss", strategy="random", max_trials=2, seed=0,
                                  progress=False).run()
    assert result.best.load_model()["weights"][0] == result.best.params["x"]


@pytest.mark.parametrize("scheme", ["memory", "local", "file"])
def test_artifacts_on_an_fsspec_url(tmp_path, scheme):
    url = f"memory://hpcore-test-{os.getpid()}" if scheme == "memory" else f"{scheme}://{tmp_path}/shared"
    db = str(tmp_path / "t.db")
    result = hpcore.TuningJob(writes_files, SPACE, objective="loss", strategy="random", max_trials=2, seed=0,
                              store=db, artifacts=url, progress=False).run()
    best = result.best
    assert best.artifact_dir.startswith(str(tmp_path / "shared") if scheme == "file" else url)
    assert {a.path for a in best.artifacts} >= {"notes.txt", "plots/curve.csv", "model/model.pkl"}
    assert best.load_model() == {"weights": [best.params["x"], 2 * best.params["x"]]}
    out = tmp_path / "export"
    hpcore.artifacts.ArtifactRoot(url).export("default", best.id, str(out))
    assert (out / "notes.txt").read_text() == f"x={best.params['x']}"


def test_bad_artifact_settings_are_refused_with_the_fix():
    with pytest.raises(ConfigError, match="keep_artifacts=-1"):
        hpcore.TuningJob(writes_files, SPACE, objective="loss", keep_artifacts=-1)
    with pytest.raises(ConfigError, match="keep_artifacts='best'"):
        hpcore.TuningJob(writes_files, SPACE, objective="loss", keep_artifacts="best")
    with pytest.raises(ConfigError, match="crash_retries"):
        hpcore.TuningJob(writes_files, SPACE, objective="loss", crash_retries=-2)


def test_a_checkpoint_written_halfway_is_never_loaded(tmp_path):
    files = TrialFiles(str(tmp_path / "trial"))
    files.save_checkpoint({"epoch": 4}, step=4)

    def killed_while_writing(folder):
        with open(os.path.join(folder, "weights.bin"), "wb") as f:
            f.write(b"half")
        raise KeyboardInterrupt  # the writer dies before the checkpoint is complete

    with pytest.raises(KeyboardInterrupt):
        files.save_checkpoint({"epoch": 8}, step=8, write=killed_while_writing)
    # A folder left by a killed writer (no rename, no checkpoint.json) is ignored too.
    os.makedirs(tmp_path / "trial" / "checkpoints" / "step-00000012")
    (tmp_path / "trial" / "checkpoints" / "step-00000012" / "state.pkl").write_bytes(pickle.dumps({"epoch": 12}))
    ckpt = TrialFiles(str(tmp_path / "trial")).load_checkpoint()
    assert (ckpt.step, ckpt.state) == (4, {"epoch": 4})


def test_only_the_newest_checkpoint_is_kept_and_a_finished_trial_has_none(tmp_path):
    db = str(tmp_path / "t.db")
    folders = []

    def train(params, reporter):
        for step in range(1, 10):
            reporter.report(step, loss=1.0 / step)
            reporter.save_checkpoint({"step": step})
            folders.append(sorted(os.listdir(os.path.join(reporter.artifact_dir, "checkpoints"))))
        return {"loss": 0.1}

    result = hpcore.TuningJob(train, SPACE, objective="loss", max_trials=1, store=db, progress=False).run()
    assert all(len(f) == 1 for f in folders) and folders[-1] == ["step-00000009"]
    assert not os.path.exists(os.path.join(result.trials[0].artifact_dir, "checkpoints"))
    assert result.trials[0].artifacts == []


def test_a_trial_that_saved_no_model_says_how_to_save_one(tmp_path):
    result = hpcore.TuningJob(lambda p: {"loss": p["x"]}, SPACE, objective="loss", max_trials=1,
                              store=str(tmp_path / "t.db"), progress=False).run()
    with pytest.raises(ModelNotFound, match="save_model"):
        result.best.load_model()


def test_the_store_lists_artifacts_for_readers(tmp_path):
    db = str(tmp_path / "t.db")
    hpcore.TuningJob(writes_files, SPACE, objective="loss", max_trials=1, store=db, progress=False).run()
    store = Store(db, read_only=True)
    assert store.artifact_root("default") == (str(tmp_path / "t.artifacts"), False)
    assert [p for p, _, _ in store.artifacts("default")[0]] == ["hpcore-model.json", "model/model.pkl",
                                                                 "notes.txt", "plots/curve.csv"]
    store.close()


def test_the_cli_shows_a_trials_files_and_exports_the_best(tmp_path):
    from test_cli import hp

    db = str(tmp_path / "t.db")
    result = hpcore.TuningJob(writes_files, SPACE, objective="loss", strategy="random", max_trials=3, seed=2,
                              store=db, keep_artifacts=1, progress=False).run()
    best, worst = result.best, max(result.trials, key=lambda t: t.value)
    out = hp("best", db, "--export", str(tmp_path / "best"))
    assert out.returncode == 0, out.stderr
    assert "model/model.pkl" in out.stdout and f"exported trial {best.id}" in out.stdout
    assert (tmp_path / "best" / "notes.txt").read_text() == f"x={best.params['x']}"
    with open(tmp_path / "best" / "model" / "model.pkl", "rb") as f:
        assert pickle.load(f) == best.load_model()
    assert json.loads((tmp_path / "best" / "params.json").read_text())["params"] == best.params
    shown = hp("status", db, "--trial", str(worst.id))
    assert shown.returncode == 0 and "deleted by keep_artifacts" in shown.stdout and "notes.txt" in shown.stdout
    missing = hp("status", db, "--trial", "99")
    assert missing.returncode != 0 and "no such trial" in missing.stderr


def test_the_report_lists_the_best_trials_files(tmp_path):
    from hpcore.report import write_report

    db = str(tmp_path / "t.db")
    result = hpcore.TuningJob(writes_files, SPACE, objective="loss", strategy="random", max_trials=2, seed=0,
                              store=db, progress=False).run()
    with open(write_report(hpcore.TuningResult.from_store(db), str(tmp_path / "r.html"))) as f:
        html = f.read()
    assert result.best.artifact_dir in html and "model/model.pkl" in html and "load_model()" in html


def test_a_job_file_and_the_cli_set_the_artifact_root_and_retention(tmp_path):
    from test_cli import hp

    (tmp_path / "job.yaml").write_text(
        "train: test_artifacts:writes_files\nobjective: loss\nstrategy: random\nmax_trials: 3\nseed: 0\n"
        "store: t.db\nartifacts: files\nprogress: false\nspace:\n  x: {type: float, min: 0.0, max: 1.0}\n")
    out = hp("tune", str(tmp_path / "job.yaml"), "--keep-artifacts", "1", cwd="/")
    assert out.returncode == 0, out.stderr
    result = hpcore.TuningResult.from_store(str(tmp_path / "t.db"))
    assert result.best.artifact_dir == str(tmp_path / "files" / "default" / str(result.best.id))
    assert sum(not any(a.deleted for a in t.artifacts) for t in result.trials) == 1
    assert result.best.load_model()["weights"][0] == result.best.params["x"]


def test_worker_processes_write_to_an_url_root(tmp_path):
    url = f"local://{tmp_path}/shared"  # fsspec's local filesystem through an URL: staged, then uploaded
    db = str(tmp_path / "t.db")
    result = hpcore.TuningJob(writes_files, SPACE, objective="loss", strategy="random", max_trials=3, seed=0,
                              max_parallel=2, store=db, artifacts=url, progress=False).run()
    assert result.counts() == {"completed": 3}
    for t in result.trials:
        assert t.load_model() == {"weights": [t.params["x"], 2 * t.params["x"]]}
        assert (tmp_path / "shared" / "default" / str(t.id) / "notes.txt").exists()
