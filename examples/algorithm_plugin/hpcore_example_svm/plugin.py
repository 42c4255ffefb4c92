"""The hpcore plugin module the ``hpcore`` entry point names: it registers the algorithm ``example-svm``."""

from hpcore import hookimpl
from hpcore.algorithms import Algorithm
from hpcore_example_svm.svm import SvmTrainer, svm_space


@hookimpl
def hpcore_add_algorithms() -> dict[str, Algorithm]:
    return {
        "example-svm": Algorithm(
            name="example-svm", train=SvmTrainer(), space=svm_space(), objective="val_accuracy",
            direction="maximize", description="linear SVM (numpy, hinge loss) on two generated blobs"),
    }
