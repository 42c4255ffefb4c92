"""The fraud example through the Python API: what ``hpcore example fraud`` does, in a few lines.

Run: ``python examples/fraud_auc/tune.py`` (needs torch: ``pip install 'hpcore[torch]'``).
"""

import hpcore
from hpcore._examples.fraud import choose_methods
from hpcore.algorithms.linear_learner import LinearLearner, linear_learner_space

if __name__ == "__main__":
    # A picklable training function: generates the data once per process, reports validation_auc
    # after every epoch (so median early stopping can end poor trials).
    train = LinearLearner(rows=100_000, seed=0)  # or LinearLearner(data="creditcard.csv", target="Class")
    space = linear_learner_space()  # learning_rate, beta_1, beta_2, epochs
    strategy, stopper = choose_methods("bayesian", "median")
    job = hpcore.TuningJob(train, space, objective="validation_auc", direction="maximize", strategy=strategy,
                           early_stopping=stopper, max_trials=25, seed=0, store="hpcore-runs/fraud-api.db",
                           name="fraud-api")
    result = job.run()
    print(result.summary())
    default, tuned = train.final_model(space.defaults()), train.final_model(result.best.params)
    print(f"validation AUC: default {default['validation_auc']:.4f} -> tuned {tuned['validation_auc']:.4f}; "
          f"test AUC of the tuned model {tuned['test_auc']:.4f}")
