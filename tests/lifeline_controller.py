"""The controller the lifeline tests start and end: one job of one trial, set up by a JSON argument.

``program``: a script run by :class:`~hpcore.script.CommandTrainer` (else a Python trial: ``Silent``
when ``how`` is given, ``waits_silently`` otherwise); ``executor`` and ``executor_options`` as for
:class:`~hpcore.TuningJob`. Ctrl-C or SIGTERM ends it with exit code 130.
"""

import json
import sys

import hpcore
from hpcore.script import CommandTrainer

if __name__ == "__main__":
    cfg = json.loads(sys.argv[1])
    if cfg["program"]:
        train = CommandTrainer([sys.executable, cfg["program"]], [{"name": "loss", "regex": "loss=([0-9.]+)"}],
                               workdir=cfg["workdir"], grace_period=cfg.get("grace", 5),
                               env={"MARKS": cfg["marks"]})
    elif "how" in cfg:
        from trainfns import Silent

        train = Silent(cfg["marks"], cfg["how"])
    else:
        from trainfns import waits_silently as train
    job = hpcore.TuningJob(train, {"x": hpcore.Float(0.0, 1.0)}, objective="loss", strategy="random",
                           max_trials=1, seed=0, store=cfg["store"], progress=False, executor=cfg["executor"],
                           executor_options=cfg.get("executor_options"))
    try:
        print(job.run().summary())
    except KeyboardInterrupt:
        print("interrupted")
        sys.exit(130)
