"""Every extension point of hpcore, grouped by phase.

Hooks are called with keyword arguments only; an implementation may accept any subset of a spec's
arguments, so a hook can gain an argument without breaking existing plugins. Names follow
``hpcore_<phase>_<event>``. Registration hooks return ``{name: factory}``: the plugin manager merges
them and a name registered twice is an error naming both plugins. ``make`` hooks are
``firstresult`` factories: the first plugin that returns something other than ``None`` wins.
Lifecycle hooks are plain notifications; progress bars and loggers are plugins on them.

A plugin is any module or object with ``@hpcore.hookimpl`` functions, registered through the
``hpcore`` entry-point group::

    [project.entry-points.hpcore]
    my_plugin = "my_package.hpcore_plugin"
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("hpcore")
hookimpl = pluggy.HookimplMarker("hpcore")

__all__ = ["hookimpl", "hookspec"]

# ----------------------------------------------------------------------------------------------
# Registration: each returns {name: factory}; a duplicate name across plugins is an error.
# ----------------------------------------------------------------------------------------------


@hookspec
def hpcore_add_strategies() -> dict[str, Any]:
    """Adds search strategies.

    Returns:
        ``{name: factory}`` where ``factory(space, direction=..., seed=..., **options)`` returns a
        :class:`hpcore.strategies.Strategy`.
    """


@hookspec
def hpcore_add_stoppers() -> dict[str, Any]:
    """Adds early-stopping rules.

    Returns:
        ``{name: factory}`` where ``factory(direction=..., **options)`` returns a
        :class:`hpcore.stopping.Stopper`.
    """


@hookspec
def hpcore_add_executors() -> dict[str, Any]:
    """Adds executors, the places trials run.

    Returns:
        ``{name: factory}`` where ``factory(max_parallel=..., **options)`` returns a
        :class:`hpcore.executors.Executor`.
    """


@hookspec
def hpcore_add_algorithms() -> dict[str, Any]:
    """Adds named training algorithms with a default search space and objective.

    Returns:
        ``{name: algorithm}`` where each algorithm is a :class:`hpcore.algorithms.Algorithm`.
    """


@hookspec
def hpcore_add_model_formats() -> dict[str, Any]:
    """Adds loaders of saved trial models, by format name (the ``format`` of ``hpcore-model.json``).

    Returns:
        ``{format: load}`` where ``load(path, info, model_class)`` returns the model saved in the
        file ``path``; ``info`` is the saved description, ``model_class`` what the caller of
        ``load_model`` passed (None by default).
    """


# ----------------------------------------------------------------------------------------------
# Materialization of category presets into framework objects (firstresult factories).
# ----------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def hpcore_make_optimizer(framework: str, params: dict[str, Any], model: Any) -> Any:
    """Builds the optimizer that ``params`` (an optimizer preset's values) describe.

    Args:
        framework: ``"torch"``, ``"keras"`` or another framework name.
        params: The trial's hyperparameters (``optimizer``, ``lr``, ``beta1`` ...).
        model: The model whose parameters it optimises (may be ``None`` where the framework does
            not need it).

    Returns:
        The framework's optimizer, or ``None`` when this plugin does not handle ``framework``.
    """


@hookspec(firstresult=True)
def hpcore_make_initializer(framework: str, params: dict[str, Any]) -> Any:
    """Builds the weight initializer that ``params["init"]`` names, or ``None``."""


@hookspec(firstresult=True)
def hpcore_make_augmentation(framework: str, params: dict[str, Any]) -> Any:
    """Builds the data-augmentation transform a data preset's values describe, or ``None``."""


# ----------------------------------------------------------------------------------------------
# Lifecycle notifications, called in the controller process, in this order for one job:
# job_start, then per trial: trial_start, trial_report*, trial_finish; then job_finish.
# ----------------------------------------------------------------------------------------------


@hookspec
def hpcore_job_start(job: Any) -> None:
    """A job starts (or resumes). ``job`` is the :class:`hpcore.TuningJob`."""


@hookspec
def hpcore_trial_start(job: Any, trial: Any) -> None:
    """A trial (a :class:`hpcore.trial.Trial`) is about to run; ``trial.info["attempt"]`` counts retries."""


@hookspec
def hpcore_trial_report(job: Any, trial: Any, step: int, metrics: dict[str, float], stop: bool) -> None:
    """A trial reported intermediate metrics at ``step``; ``stop`` is the decision sent back."""


@hookspec
def hpcore_trial_finish(job: Any, trial: Any, record: Any) -> None:
    """A trial reached a terminal state; ``record`` is its :class:`hpcore.trial.TrialRecord`."""


@hookspec
def hpcore_job_finish(job: Any, result: Any) -> None:
    """A job ended; ``result`` is its :class:`hpcore.TuningResult`."""
