"""Timing helpers shared by the benchmarks: alternate the contenders, report medians and ratios."""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def time_once(fn: Callable[[], object]) -> float:
    """Wall time of one call, in milliseconds."""
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def alternate(contenders: dict[str, Callable[[], object]], repeats: int = 5,
              runs: dict[str, int] | None = None) -> dict[str, list[float]]:
    """Run the contenders A B C A B C ... `repeats` times after one warm-up call each.

    Returns each one's list of times in ms. Alternating spreads machine noise (other load,
    frequency changes) evenly over all contenders instead of over whichever ran last. `runs`
    gives a contender several timed calls per round, back to back (a fast one beside slow peers:
    more samples for its median at little cost).
    """
    for fn in contenders.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            for _ in range((runs or {}).get(name, 1)):
                times[name].append(time_once(fn))
    return times


def median_ms(times: dict[str, list[float]]) -> dict[str, float]:
    return {name: float(np.median(t)) for name, t in times.items()}


def ratio_table(times: dict[str, list[float]], reference: str, title: str = "") -> str:
    """A text table of median ms per contender and each one's speed relative to `reference`.

    'x ref' above 1 means faster than the reference: reference time / contender time.
    """
    med = median_ms(times)
    width = max(len(n) for n in med)
    lines = [title] if title else []
    lines.append(f"{'':{width}}  {'median ms':>10}  {'x ' + reference:>14}")
    for name, ms in med.items():
        lines.append(f"{name:{width}}  {ms:10.2f}  {med[reference] / ms:14.2f}")
    return "\n".join(lines)


SIZES = {"1080p": (1080, 1920), "uhd": (2160, 3840), "dci4k": (2160, 4096), "8k": (4320, 7680)}
