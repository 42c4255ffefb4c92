"""The fraud example through the Python API: what ``hpcore example fraud`` does, in a few lines.

Run: ``python examples/fraud_auc/tune.py`` (needs torch: ``pip install 'hpcore[torch]'``), or
``python examples/fraud_auc/tune.py large`` for the larger space (weight decay, L1, positive-class
weight, mini-batch size).
"""

import sys

import hpcore
from hpcore._examples.fraud import choose_methods
from hpcore.algorithms.linear_learner import LinearLearner, linear_learner_space
from hpcore.datasets.fraud import auc

if __name__ == "__main__":
    # A picklable training function: generates the data once per process, reports validation_auc
    # after every epoch (so median early stopping can end poor trials).
    train = LinearLearner(rows=50_000, seed=0)  # or LinearLearner(data="creditcard.csv", target="Class")
    large = sys.argv[1:] == ["large"]
    space = linear_learner_space(large=large)  # learning_rate, beta_1, beta_2, epochs (+ 4 with large)
    strategy, stopper = choose_methods("bayesian", "median")
    job = hpcore.TuningJob(train, space, objective="validation_auc", direction="maximize", strategy=strategy,
                           early_stopping=stopper, max_trials=25, seed=0, store="hpcore-runs/fraud-api.db",
                           name="fraud-api-large" if large else "fraud-api")
    result = job.run()
    print(result.summary())
    model = result.best.load_model()  # the best trial's own model (a LinearModel), kept by the job
    data, default = train.dataset(), train.final_model(space.defaults())
    test_auc = auc(data.y_test, model.decision_function(data.x_test, standardized=True))
    print(f"validation AUC: default {default['validation_auc']:.4f} -> tuned {result.best.value:.4f}; "
          f"test AUC: default {default['test_auc']:.4f} -> tuned {test_auc:.4f}")
