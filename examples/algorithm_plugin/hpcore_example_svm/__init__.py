"""An example hpcore algorithm plugin: a linear SVM in numpy, tuned like a built-in algorithm."""

from hpcore_example_svm.svm import SvmTrainer, svm_space

__all__ = ["SvmTrainer", "svm_space"]
