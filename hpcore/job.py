"""Tuning jobs (being written)."""


class TuningJob:  # placeholder until the job loop lands
    pass


class TuningResult:
    pass
