"""Seed lists for the benchmarks' ``--seeds`` option: ``100-129``, ``0,3,7`` or a count ``10`` (0..9).

Every benchmark separates the seeds its settings were chosen on (design seeds) from the seeds its
headline is reported on (held-out seeds); the held-out seeds of this repository start at 100.
"""

from __future__ import annotations

import argparse

DESIGN = list(range(10))  # the seeds settings were chosen and tuned on
HELD_OUT = list(range(100, 130))  # seeds no setting was chosen on: the headlines are reported here


def parse_seeds(text: str) -> list[int]:
    """``"100-129"`` -> 100..129, ``"0,3,7"`` -> [0, 3, 7], ``"10"`` -> 0..9.

    Example:
        >>> parse_seeds("100-102,7")
        [100, 101, 102, 7]
        >>> parse_seeds("3")
        [0, 1, 2]
    """
    if text.isdigit():
        if int(text) == 0:
            raise argparse.ArgumentTypeError(f"--seeds {text!r} is a count of no seeds; write 0-0 for seed 0 alone")
        return list(range(int(text)))
    seeds: list[int] = []
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise argparse.ArgumentTypeError(f"--seeds {text!r}: use a count (10), a range (100-129) or a list (0,3,7)")
        seeds.extend(range(int(lo), int(hi) + 1) if sep else [int(lo)])
    return seeds


def seed_text(seeds: list[int]) -> str:
    """The seeds as ``--seeds`` takes them, for a table's caption.

    Example:
        >>> seed_text([100, 101, 102, 7])
        '100-102,7'
    """
    parts: list[str] = []
    for s in seeds:
        if parts and "-" in parts[-1] and int(parts[-1].split("-")[1]) == s - 1:
            parts[-1] = f"{parts[-1].split('-')[0]}-{s}"
        elif parts and parts[-1].isdigit() and int(parts[-1]) == s - 1:
            parts[-1] = f"{parts[-1]}-{s}"
        else:
            parts.append(str(s))
    return ",".join(parts)
