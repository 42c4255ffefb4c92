"""Training functions for tests; module-level so worker processes can import them."""

from __future__ import annotations

import os
import signal
import time


def quadratic(params, reporter):
    loss = None
    for epoch in range(1, 4):
        loss = (params["x"] - 0.3) ** 2 + 0.1 / epoch
        if reporter.report(epoch, loss=loss):
            break
    return {"loss": loss, "epochs": epoch}


def fails_for_large_x(params, reporter):
    if params["x"] > 0.5:
        raise ValueError(f"x={params['x']} is too large for this model")
    return {"loss": params["x"]}


def returns_accuracy_only(params):
    return {"accuracy": 0.9, "f1": 0.8}


def returns_nan(params):
    return float("nan")


def flaky(params, reporter):
    """Fails on its first attempt (the marker file does not exist yet), then succeeds."""
    marker = os.path.join(os.environ["HPCORE_TEST_DIR"], f"attempt-{reporter.trial_id}")
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("transient failure")
    return params["x"]


def dies_once(params, reporter):
    """Kills its own worker process on its first attempt."""
    marker = os.path.join(os.environ["HPCORE_TEST_DIR"], f"died-{reporter.trial_id}")
    if not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return params["x"]


def sleeps(params, reporter):
    time.sleep(params.get("sleep", 0.5))
    return {"loss": params["x"], "pid": os.getpid(), "threads": os.environ.get("OMP_NUM_THREADS")}


def hangs_when_large(params, reporter):
    if params["x"] > 0.5:
        time.sleep(60)
    return params["x"]


def slow_steps(params, reporter):
    """Reports every 50 ms for 20 steps; the sleep per trial lets a test kill the controller mid-trial."""
    for step in range(1, 21):
        time.sleep(0.05)
        if reporter.report(step, loss=params["x"] + 1.0 / step):
            break
    return {"loss": params["x"] + 1.0 / step}


def two_steps(params, reporter):
    """Reports twice; its values depend only on the parameters (a crash test compares them exactly)."""
    loss = None
    for step in range(1, 3):
        loss = (params["x"] - 0.3) ** 2 + 0.5 / step
        if reporter.report(step, loss=loss):
            break
    return {"loss": loss}


def broken(params, reporter):
    """A training function with a bug: every trial fails with the same error."""
    return {"loss": params["x"] / 0}


def broken_until_fixed(params, reporter):
    """Fails while the file named by HPCORE_TEST_BUG exists (the bug), then trains."""
    if os.path.exists(os.environ["HPCORE_TEST_BUG"]):
        raise FileNotFoundError("data/train.csv")
    return {"loss": params["x"]}


def returns_array_metric(params, reporter):
    import numpy as np

    reporter.report(1, loss=np.float64(params["x"]))
    return {"loss": params["x"], "per_class": np.array([0.9, 0.8]), "model": object()}


def returns_huge(params, reporter):
    return 10 ** 400 if params["x"] > 0.5 else params["x"]


def exits(params, reporter):
    """Ends its trial the ways a script would: sys.exit, argparse, or KeyboardInterrupt of its own."""
    import argparse
    import sys

    how = params["how"]
    if how == "exit0":
        sys.exit(0)
    if how == "exit3":
        sys.exit(3)
    if how == "argparse":
        argparse.ArgumentParser(prog="train").parse_args(["--no-such-option"])
    if how == "interrupt":
        raise KeyboardInterrupt
    return 0.5


def never_reports(params, reporter):
    """Sleeps past any timeout without reporting, and swallows ordinary exceptions."""
    try:
        time.sleep(60)
    except Exception:
        pass
    return params["x"]


def sleeps_in_trial(params, reporter):
    """Marks that its trial started (a file), then trains slowly: a test interrupts it there."""
    with open(os.path.join(os.environ["HPCORE_TEST_DIR"], f"started-{reporter.trial_id}"), "w"):
        pass
    for step in range(1, 200):
        time.sleep(0.05)
        reporter.report(step, loss=params["x"])
    return params["x"]


def waits_silently(params, reporter):
    """Notes its worker's pid (a file), then computes forever without ever reporting."""
    path = os.path.join(os.environ["HPCORE_TEST_DIR"], f"worker-{os.getpid()}")
    with open(path + ".tmp", "w") as fh:
        fh.write(str(os.getpid()))
    os.replace(path + ".tmp", path)
    while True:
        time.sleep(0.1)


class Silent:
    """A trial that never reports: notes (files in ``folder``) that it started and how it ended.

    ``how="compute"`` loops in Python (an interruption is raised at once); ``how="sleep"`` blocks in
    one long native call. Either returns once the file ``release`` appears in ``folder`` (checked
    between its waits), so that a test can always end it.
    """

    def __init__(self, folder, how="compute"):
        self.folder, self.how = folder, how

    def _note(self, what):
        with open(os.path.join(self.folder, what), "w") as fh:
            fh.write(str(os.getpid()))

    def __call__(self, params, reporter):
        self._note(f"started-{reporter.trial_id}")
        try:
            while not os.path.exists(os.path.join(self.folder, "release")):
                time.sleep(3600 if self.how == "sleep" else 0.05)
        finally:
            self._note(f"ended-{reporter.trial_id}")
        return params["x"]


def meets_its_partner(params, reporter):
    """Notes its start (a file), then waits up to 60 s for its partner trial (ids 0-1, 2-3...) to start:
    only trials running side by side meet, however slow the machine."""
    folder = os.environ["HPCORE_TEST_DIR"]
    open(os.path.join(folder, f"running-{reporter.trial_id}"), "w").close()
    partner = os.path.join(folder, f"running-{reporter.trial_id ^ 1}")
    deadline = time.monotonic() + 60
    while not os.path.exists(partner) and time.monotonic() < deadline:
        time.sleep(0.02)
    return {"loss": params["x"], "pid": os.getpid(), "threads": os.environ.get("OMP_NUM_THREADS"),
            "met": os.path.exists(partner)}


def checkpointed(params, reporter):
    """20 steps of a running sum, checkpointed every 4 steps and continued from the last checkpoint.

    Each step it runs is appended to ``ran.log`` in its artifact folder (so a test counts the steps
    really run over every attempt); ``HPCORE_DIE_AT`` (``"trial:step"``) SIGKILLs its own process
    once, after that step, on the trial's first run; ``HPCORE_STEP_SLEEP`` slows each step.
    """
    ckpt = reporter.load_checkpoint()
    total, start = (ckpt.state["total"], ckpt.step + 1) if ckpt is not None else (0.0, 1)
    die = os.environ.get("HPCORE_DIE_AT", "")
    log = os.path.join(reporter.artifact_dir, "ran.log")
    for step in range(start, 21):
        time.sleep(float(os.environ.get("HPCORE_STEP_SLEEP", "0")))
        total += params["x"] / step
        with open(log, "a") as f:
            f.write(f"{step}\n")
        if reporter.report(step, loss=total):
            break
        if step % 4 == 0:
            reporter.save_checkpoint({"total": total})
        if die == f"{reporter.trial_id}:{step}" and ckpt is None:
            os.kill(os.getpid(), signal.SIGKILL)
    return {"loss": total, "first_step": start}


def steps_run(folder):
    """The steps a :func:`checkpointed` trial ran, over all its runs, from its ``ran.log``."""
    with open(os.path.join(folder, "ran.log")) as f:
        return [int(line) for line in f]


def keeps_own_file(params, reporter):
    """Writes a file; trial 0 then waits while later, better trials finish, and fails if it lost it."""
    path = os.path.join(reporter.artifact_dir, "mine.txt")
    with open(path, "w") as f:
        f.write("x")
    if reporter.trial_id == 0:
        time.sleep(2.0)
    if not os.path.exists(path):
        raise RuntimeError("the running trial's file was deleted")
    return {"loss": 1.0 - reporter.trial_id / 10}


def quadratic_presets(params, reporter):
    """A loss over a preset space: the learning rate's distance from 1e-2 on a log scale, and x."""
    import math

    return {"loss": (math.log10(params["lr"]) + 2) ** 2 + (params.get("x", 0.3) - 0.3) ** 2}
