"""docs/job-files.md documents every job key, and its first example runs."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from hpcore.jobfile import JOB_KEYS, load_job_file

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "job-files.md")


def test_every_job_key_has_a_row_with_an_example():
    text = Path(DOC).read_text(encoding="utf-8")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z_]+)` \|.*\| `([^|]+)` \|$", text, re.M)}
    assert sorted(set(JOB_KEYS) - set(rows)) == [], "keys without a row in docs/job-files.md"
    assert sorted(set(rows) - set(JOB_KEYS)) == [], "rows for keys a job file does not take"
    for key, example in rows.items():  # each example is a YAML line of its own key
        assert key in yaml.safe_load(example), f"{key}: {example}"


def test_the_first_example_runs(tmp_path):
    text = Path(DOC).read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    (tmp_path / "job.yaml").write_text(example)
    job = load_job_file(str(tmp_path / "job.yaml"), max_trials=3, progress=False)
    result = job.run()
    assert len(result.trials) == 3 and not [t for t in result.trials if t.state == "failed"]
    assert result.trials[1].params["learning_rate"] == 0.01
    assert result.trials[0].params == job.space.defaults()
    assert os.path.exists(tmp_path / "tuning.db")
