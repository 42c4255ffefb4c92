"""Conditional ranges (when=): their declaration, its plain forms, and every refusal.

Through the Python API, a YAML job file (hpcore.jobfile) and the ``hpcore tune`` command (a real
subprocess); each refusal must name the parameter and the fix.
"""

import os
import subprocess
import sys
import textwrap

import pytest
import yaml

import hpcore
from hpcore import Categorical, Float, Int, SearchSpace
from hpcore.errors import SearchSpaceError
from hpcore.jobfile import job_from_dict, load_job_file

TESTS = os.path.dirname(os.path.abspath(__file__))


def optimizer_space():
    return SearchSpace({
        "optimizer": Categorical(["adam", "adamw", "sgd"], category="optimizer"),
        "lr": Float(1e-5, 1e-1, scale="log", category="optimizer"),
        "momentum": Float(0.0, 0.99, category="optimizer", when={"optimizer": "sgd"}),
        "nesterov": Categorical([False, True], category="optimizer", when={"optimizer": "sgd"}),
        "beta2": Float(0.8, 0.999, scale="reverse_log", category="optimizer",
                       when={"optimizer": ["adam", "adamw"]}),
        "n_layers": Int(1, 4),
        "width3": Int(8, 64, step=8, when={"n_layers": [3, 4]}),
        "width4": Int(8, 64, step=8, when={"n_layers": 4}),
        "kernel": Categorical([(3, 3), (5, 5)]),
    })


def test_declaration_in_python_active_sets_and_plain_forms_round_trip():
    space = optimizer_space()
    assert space.conditional == ["momentum", "nesterov", "beta2", "width3", "width4"]
    assert space.active({"optimizer": "adamw", "n_layers": 3}) == ["optimizer", "lr", "beta2", "n_layers",
                                                                   "width3", "kernel"]
    assert space.active({"optimizer": "sgd", "n_layers": 1}) == ["optimizer", "lr", "momentum", "nesterov",
                                                                 "n_layers", "kernel"]
    assert space["beta2"].when == {"optimizer": ("adam", "adamw")}
    for text, back in ((space.to_json(), SearchSpace.from_json), (space.to_yaml(), SearchSpace.from_yaml)):
        again = back(text)
        assert again == space and again.to_dict() == space.to_dict()
        assert again["width3"].when == {"n_layers": (3, 4)} and again["kernel"].values == [(3, 3), (5, 5)]
    assert space.fingerprint() == SearchSpace.from_json(space.to_json()).fingerprint()
    assert "when optimizer in ['adam', 'adamw']" in space.summary()
    assert "optimizer (5, 3 conditional)" in space.summary()


def test_nested_conditions_need_every_ancestor():
    space = SearchSpace({
        "optimizer": Categorical(["adam", "sgd"]),
        "use_momentum": Categorical([False, True], when={"optimizer": "sgd"}),
        "momentum": Float(0.0, 0.99, when={"use_momentum": True}),
        "nesterov": Categorical([False, True], when={"use_momentum": True, "optimizer": "sgd"}),
    })
    assert space.active({"optimizer": "sgd", "use_momentum": True}) == ["optimizer", "use_momentum",
                                                                        "momentum", "nesterov"]
    assert space.active({"optimizer": "sgd", "use_momentum": False}) == ["optimizer", "use_momentum"]
    # use_momentum is inactive under adam, so its leftover value activates nothing below it.
    assert space.active({"optimizer": "adam", "use_momentum": True}) == ["optimizer"]
    for seed in range(40):
        params = space.sample(seed)
        assert list(params) == space.active(params)
        assert space.validate(params) == params
    with pytest.raises(SearchSpaceError, match="momentum is inactive here .*use_momentum=True.*leave it out"):
        space.validate({"optimizer": "adam", "momentum": 0.5})
    with pytest.raises(SearchSpaceError, match="missing momentum, nesterov"):
        space.validate({"optimizer": "sgd", "use_momentum": True})


def test_int_parent_and_list_of_values():
    space = SearchSpace({"n_layers": Int(1, 9, step=2), "w": Int(8, 64, when={"n_layers": [5, 7, 9]})})
    assert space.conditions.allowed["w"] == {"n_layers": frozenset({2, 3, 4})}
    assert space.active({"n_layers": 3}) == ["n_layers"]
    assert space.active({"n_layers": 7}) == ["n_layers", "w"]
    with pytest.raises(SearchSpaceError, match=r"'n_layers' can never be 4.*range\(1, 10, 2\)"):
        SearchSpace({"n_layers": Int(1, 9, step=2), "w": Int(8, 64, when={"n_layers": 4})})


REFUSALS = [
    # (space, what the message must say)
    ({"momentum": Float(0, 0.9, when={"optimiser": "sgd"}), "optimizer": Categorical(["adam", "sgd"])},
     r"parameter 'momentum': when=\{'optimiser'.*no parameter 'optimiser'.*declare 'optimiser' or correct"),
    ({"optimizer": Categorical(["adam", "sgd"]), "momentum": Float(0, 0.9, when={"optimizer": "sdg"})},
     r"parameter 'momentum'.*'optimizer' can never be 'sdg'.*one of \['adam', 'sgd'\]"),
    ({"a": Categorical([1, 2], when={"b": 1}), "b": Categorical([1, 2], when={"a": 1})},
     r"cycle \(a -> b -> a.*remove one of these when= conditions"),
    ({"a": Categorical([1, 2], when={"a": 1})}, r"parameter 'a'.*cannot depend on itself"),
    ({"lr": Float(0.1, 1.0), "m": Float(0, 1, when={"lr": 0.5})},
     r"parameter 'm'.*'lr' is a Float range.*declare 'lr' as a Categorical.*or an Int range"),
]


@pytest.mark.parametrize("params, message", REFUSALS)
def test_refusals_name_the_parameter_and_the_fix(params, message):
    with pytest.raises(SearchSpaceError, match=message):
        SearchSpace(params)
    # The same space written as plain dicts (JSON, YAML) is refused alike.
    plain = {n: p.to_dict() for n, p in params.items()}
    with pytest.raises(SearchSpaceError, match=message):
        SearchSpace.from_yaml(yaml.safe_dump(plain))


def test_the_issue_example_of_a_dict_choice_is_refused_with_the_fix():
    with pytest.raises(SearchSpaceError, match=r"is a dict.*declare each one as a range with a condition.*"
                                               r"when=\{'optimizer': 'sgd'\}"):
        hpcore.Categorical(["adam", {"sgd": {"momentum": hpcore.Float(0, 1)}}])
    with pytest.raises(SearchSpaceError, match=r"is a list; use the tuple \(3, 3\)"):
        Categorical(["a", [3, 3]])
    with pytest.raises(SearchSpaceError, match=r"\(object\) is not a scalar.*use a name for it"):
        Categorical([object()])
    assert Categorical([(3, 3), (5, 5)]).values == [(3, 3), (5, 5)]  # tuples are choices


@pytest.mark.parametrize("when, message", [
    ({}, "must be a non-empty mapping"), ("sgd", "must be a non-empty mapping"),
    ({"optimizer": []}, "lists no value"), ({"optimizer": [{"x": 1}]}, "is not a value a parent can have"),
])
def test_malformed_when(when, message):
    with pytest.raises(SearchSpaceError, match=message):
        Float(0, 1, when=when)


JOB = textwrap.dedent("""\
    train: condtrain:train
    objective: loss
    strategy: random
    max_trials: 12
    seed: 3
    store: runs/cond.db
    progress: false
    space:
      optimizer: {type: categorical, values: [adam, sgd], category: optimizer}
      lr: {type: float, min: 1.0e-4, max: 1.0e-1, scale: log, category: optimizer}
      momentum: {type: float, min: 0.0, max: 0.99, category: optimizer, when: {optimizer: sgd}}
      beta2: {type: float, min: 0.8, max: 0.999, scale: reverse_log, when: {optimizer: [adam]}}
      n_layers: {type: int, min: 1, max: 3}
      width3: {type: int, min: 8, max: 64, when: {n_layers: 3}}
    """)

TRAIN = textwrap.dedent("""\
    SEEN = []

    def train(params):
        assert ("momentum" in params) == (params["optimizer"] == "sgd"), params
        assert ("beta2" in params) == (params["optimizer"] == "adam"), params
        assert ("width3" in params) == (params["n_layers"] == 3), params
        return params["lr"] + params.get("momentum", 0.5)
    """)


def test_job_file_with_when_runs_and_trials_hold_only_their_active_parameters(tmp_path):
    (tmp_path / "job.yaml").write_text(JOB)
    (tmp_path / "condtrain.py").write_text(TRAIN)
    job = load_job_file(str(tmp_path / "job.yaml"))
    assert job.space["beta2"].when == {"optimizer": ("adam",)}
    result = job.run()
    assert result.counts() == {"completed": 12}
    for r in result.trials:
        assert list(r.params) == job.space.active(r.params)
    assert {r.params["optimizer"] for r in result.trials} == {"adam", "sgd"}


@pytest.mark.parametrize("space, message", [
    ({"momentum": {"type": "float", "min": 0, "max": 1, "when": {"optimizer": "sgd"}}},
     "no parameter 'optimizer'"),
    ({"optimizer": {"values": ["adam", {"sgd": {"momentum": 0.9}}]}}, "is a dict"),
])
def test_job_dict_refusals(space, message):
    with pytest.raises(SearchSpaceError, match=message):
        job_from_dict({"train": "math:hypot", "space": space})


def hp(*args, cwd):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(cwd), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "hpcore.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env=env)


def test_cli_tune_refuses_a_bad_condition_and_runs_a_good_one(tmp_path):
    (tmp_path / "condtrain.py").write_text(TRAIN)
    (tmp_path / "bad.yaml").write_text(JOB.replace("when: {optimizer: sgd}", "when: {optimizer: sdg}"))
    out = hp("tune", "bad.yaml", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "parameter 'momentum'" in out.stderr and "'optimizer' can never be 'sdg'" in out.stderr
    (tmp_path / "self.yaml").write_text(JOB.replace("when: {n_layers: 3}", "when: {width3: 8}"))
    out = hp("tune", "self.yaml", cwd=tmp_path)
    assert out.returncode == 2 and "depend on itself" in out.stderr
    (tmp_path / "job.yaml").write_text(JOB)
    out = hp("tune", "job.yaml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "12 trials (12 completed)" in out.stdout
