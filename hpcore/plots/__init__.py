"""The implementation of :mod:`hpcore.plot` and :mod:`hpcore.advice`, split by concern.

``_data`` gathers what a plot needs from a result (trials with values, the space, the curves);
``_forest`` is the small numpy random forest behind parameter importance; ``_figures`` draws. Only
``_figures`` touches matplotlib, and only inside its functions, so ``import hpcore`` stays light.
"""
