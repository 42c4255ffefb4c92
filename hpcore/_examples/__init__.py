"""Bundled examples, run with ``hpcore example NAME``."""
