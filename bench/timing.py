"""Interleaved timing: every round runs every contender once, in a fresh shuffled order.

Medians over rounds, so a slow moment of the machine hits one round of everybody rather than
all rounds of one contender. A full collection runs before each timed block, so one contender's
garbage is not collected on the next one's time.
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.contenders import Contender

#: Seed for the round order: the same shuffles on every run.
ORDER_SEED = 8


@dataclass
class Timings:
    """Seconds per request (or per burst), by contender name, one entry per round."""

    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.samples.setdefault(name, []).append(seconds)

    def median(self, name: str) -> float:
        return statistics.median(self.samples[name])


class Counter:
    """Request numbers, unique over the whole run (distinct variables for every request)."""

    def __init__(self) -> None:
        self.value = 0

    def next(self) -> int:
        self.value += 1
        return self.value


async def sequential(
    contenders: Sequence[Contender], rows: int, rounds: int, reps: int, counter: Counter
) -> Timings:
    """Mean seconds per request of ``reps`` back-to-back requests, per round."""
    timings = Timings()
    order = list(contenders)
    shuffle = random.Random(ORDER_SEED + rows)
    for _ in range(rounds):
        shuffle.shuffle(order)
        for contender in order:
            gc.collect()
            started = time.perf_counter()
            for _ in range(reps):
                await contender.fetch(rows, counter.next())
            timings.add(contender.name, (time.perf_counter() - started) / reps)
    return timings


async def burst(
    contender: Contender, rows: int, total: int, in_flight: int, counter: Counter
) -> float:
    """Seconds for ``total`` requests with ``in_flight`` workers pulling from one queue."""
    numbers = iter([counter.next() for _ in range(total)])

    async def worker() -> None:
        for number in numbers:
            await contender.fetch(rows, number)

    gc.collect()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return time.perf_counter() - started


async def concurrent(
    contenders: Sequence[Contender],
    rows: int,
    rounds: int,
    total: int,
    in_flight: int,
    counter: Counter,
) -> Timings:
    """Seconds per burst, per round, interleaved like :func:`sequential`."""
    timings = Timings()
    order = list(contenders)
    shuffle = random.Random(ORDER_SEED)
    for _ in range(rounds):
        shuffle.shuffle(order)
        for contender in order:
            timings.add(contender.name, await burst(contender, rows, total, in_flight, counter))
    return timings
