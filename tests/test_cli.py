"""The hpcore command line, run as a real subprocess."""

import json
import os
import subprocess
import sys
import textwrap

TESTS = os.path.dirname(os.path.abspath(__file__))


def hp(*args, cwd=None, timeout=120):
    env = dict(os.environ, PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "hpcore.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)


JOB = textwrap.dedent("""
    train: trainfns:quadratic
    objective: loss
    direction: minimize
    strategy: random
    max_trials: 5
    seed: 3
    store: runs/tune.db
    progress: false
    space:
      x: {type: float, min: 0.0, max: 1.0, category: optimizer}
""")


def test_help_reads_well():
    out = hp("--help")
    assert out.returncode == 0
    for word in ("hpcore example fraud", "hpcore tune job.yaml", "status", "best", "plugins"):
        assert word in out.stdout
    assert "--max-trials" in hp("tune", "--help").stdout


def test_tune_status_best_and_resume(tmp_path):
    (tmp_path / "job.yaml").write_text(JOB)
    out = hp("tune", "job.yaml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "5 trials (5 completed)" in out.stdout
    db = tmp_path / "runs" / "tune.db"
    assert db.exists()
    status = hp("status", str(db), "--sort", "value", "--csv", str(tmp_path / "t.csv"))
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert "loss (minimize)" in lines[0] and "5 completed" in lines[0]
    table = [ln for ln in lines if ln.split() and ln.split()[0].isdigit()]
    values = [float(ln.split()[2]) for ln in table]
    assert len(table) == 5 and values == sorted(values)
    assert (tmp_path / "t.csv").read_text().count("\n") == 6
    best = json.loads(hp("best", str(db), "--json").stdout)
    assert best["value"] == min(values) or abs(best["value"] - min(values)) < 1e-4
    more = hp("tune", "job.yaml", "--max-trials", "7", cwd=tmp_path)
    assert "7 trials (7 completed)" in more.stdout
    rows = json.loads(hp("status", str(db), "--json").stdout)
    assert [r["trial"] for r in rows] == list(range(7))
    more = hp("tune", "job.yaml", "--more", "3", cwd=tmp_path)  # 3 beyond the 7 the store holds
    assert more.returncode == 0, more.stderr
    assert "10 trials (10 completed)" in more.stdout
    assert hp("tune", "job.yaml", "--more", "0", cwd=tmp_path).returncode == 2


def test_unknown_job_keys_are_named_with_the_valid_ones(tmp_path):
    (tmp_path / "job.yaml").write_text(JOB + "max_trails: 3\n")
    out = hp("tune", "job.yaml", cwd=tmp_path)
    assert out.returncode == 2
    assert "unknown job key(s): 'max_trails'" in out.stderr
    assert "'max_trails' (did you mean 'max_trials'?)" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_input_gives_one_clear_line(tmp_path):
    (tmp_path / "job.yaml").write_text(JOB.replace("min: 0.0, max: 1.0", "min: 2.0, max: 1.0"))
    out = hp("tune", "job.yaml", cwd=tmp_path)
    assert out.returncode == 2 and "parameter 'x'" in out.stderr and "min must be less than max" in out.stderr
    (tmp_path / "job2.yaml").write_text(JOB.replace("strategy: random", "strategy: tpe"))
    out = hp("tune", "job2.yaml", cwd=tmp_path)
    assert out.returncode == 2 and "unknown strategy 'tpe'; registered strategies:" in out.stderr
    out = hp("status", str(tmp_path / "missing.db"))
    assert out.returncode == 2 and "does not exist" in out.stderr


def test_status_reads_a_store_while_a_job_writes_it(tmp_path):
    job = JOB.replace("trainfns:quadratic", "trainfns:slow_steps").replace("max_trials: 5", "max_trials: 3")
    (tmp_path / "job.yaml").write_text(job)
    env = dict(os.environ, PYTHONPATH=TESTS)
    proc = subprocess.Popen([sys.executable, "-m", "hpcore.cli", "tune", "job.yaml"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = tmp_path / "runs" / "tune.db"
    seen_running = False
    try:
        for _ in range(200):
            if db.exists():
                out = hp("status", str(db))
                if out.returncode == 0 and "(running)" in out.stdout:
                    seen_running = True
                    break
            proc.poll()
            if proc.returncode is not None:
                break
            import time

            time.sleep(0.05)
    finally:
        proc.wait(60)
    assert seen_running and proc.returncode == 0
    assert "(completed)" in hp("status", str(db)).stdout


def test_quickstart_example_runs_end_to_end(tmp_path):
    out = hp("example", "quickstart", "--trials", "6", "--strategy", "random", "--store", "q.db", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "6 trials (6 completed)" in out.stdout and (tmp_path / "q.db").exists()


def test_a_command_job_file_runs_from_any_folder(tmp_path):
    import shutil

    example = os.path.join(os.path.dirname(TESTS), "examples", "script_tuning")
    shutil.copytree(example, tmp_path / "job")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = hp("tune", str(tmp_path / "job" / "job.yaml"), "--max-trials", "2", "--strategy", "random",
             "--no-progress", cwd=elsewhere)
    assert out.returncode == 0, out.stderr
    assert "2 trials (2 completed)" in out.stdout
    assert (tmp_path / "job" / "hpcore-runs" / "script.db").exists()
    assert (tmp_path / "job" / "hpcore-runs" / "script-trials" / "trial-0" / "stdout.log").exists()
    assert not os.listdir(elsewhere)
