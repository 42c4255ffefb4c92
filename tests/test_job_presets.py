"""Job files use the presets by name: ``presets: {optimizer: {...}, augmentation: {...}, model: {...}}``."""

from __future__ import annotations

import textwrap

import pytest

from hpcore.errors import ConfigError
from hpcore.jobfile import load_job_file

HEAD = textwrap.dedent("""
    train: trainfns:quadratic_presets
    objective: loss
    strategy: random
    max_trials: 6
    seed: 1
    progress: false
""")


def write(tmp_path, body: str):
    path = tmp_path / "job.yaml"
    path.write_text(HEAD + textwrap.dedent(body))
    return str(path)


def test_presets_with_their_arguments_build_the_space_and_run(tmp_path):
    job = load_job_file(write(tmp_path, """
        presets:
          optimizer: {optimizers: [adam, sgd], lr: [1.0e-4, 1.0e-1], weight_decay: null, init: null}
          augmentation: {}
          model: {kind: mlp, units: [8, 64], dropout: null}
        space:
          x: {type: float, min: 0.0, max: 1.0}
    """))
    names = list(job.space)
    assert names[0] == "x" and {"optimizer", "lr", "beta1", "momentum", "crop", "hflip", "units", "depth"} <= set(names)
    assert "weight_decay" not in names and "init" not in names and "dropout" not in names
    assert job.space["optimizer"].values == ["adam", "sgd"] and job.space["lr"].min == 1e-4
    assert job.space["units"].max == 64
    result = job.run()
    assert len(result.trials) == 6 and all(t.state == "completed" for t in result.trials)
    for t in result.trials:  # the preset's conditions hold in every configuration
        assert ("momentum" in t.params) == (t.params["optimizer"] == "sgd")
        assert ("beta1" in t.params) == (t.params["optimizer"] == "adam")


@pytest.mark.parametrize("body, message", [
    ("presets: {optimiser: {}}", r"unknown preset 'optimiser' \(did you mean 'optimizer'\?\)"),
    ("presets: {optimizer: {learning_rate: [0.1, 1]}}", r"presets.optimizer: unknown argument 'learning_rate'"),
    ("presets: {model: {kind: transformer}}", r"kind='transformer': use one of conv, mlp"),
    ("presets: {optimizer: {}}\nspace: {lr: {type: float, min: 0.1, max: 1.0}}", r"lr: in both space: and presets:"),
    ("presets: {optimizer: {optimizers: [adam, lion]}}", r"presets.optimizer: .*lion"),
])
def test_bad_presets_are_named(tmp_path, body, message):
    with pytest.raises(ConfigError, match=message):
        load_job_file(write(tmp_path, body))
