"""Event-loop iterations and tasks per 1-row request: the floor, the main table's seed method
(no rate budget) and turnmeter's default client (rate budget, single-flight, retries on).

Runs in a fresh process with an event loop that counts its iterations and a task factory that
counts tasks; prints one JSON object.

    python -m bench.hops URL
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from bench.contenders import FAST, Contender, Turnmeter, TurnmeterDefault, floor

REQUESTS = 200


class CountingLoop(asyncio.SelectorEventLoop):
    """asyncio's loop, counting the iterations it runs."""

    iterations = 0

    def _run_once(self) -> None:
        CountingLoop.iterations += 1
        super()._run_once()  # type: ignore[misc]


async def _count(contender: Contender, url: str) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    tasks = 0

    def factory(loop: asyncio.AbstractEventLoop, coro: Any) -> asyncio.Task[Any]:
        nonlocal tasks
        tasks += 1
        return asyncio.Task(coro, loop=loop)

    await contender.setup(url)
    try:
        for i in range(20):  # warm up: the connection, compiled decoders
            await contender.fetch(1, i)
        loop.set_task_factory(factory)
        first = CountingLoop.iterations
        for i in range(REQUESTS):
            await contender.fetch(1, 1000 + i)
        loop.set_task_factory(None)
        spent = CountingLoop.iterations - first
    finally:
        await contender.close()
    return {"iterations": spent / REQUESTS, "tasks": tasks / REQUESTS}


def main(url: str) -> dict[str, dict[str, float]]:
    found = {}
    for contender in (floor(), Turnmeter(FAST, "fast"), TurnmeterDefault()):
        with asyncio.Runner(loop_factory=CountingLoop) as runner:
            found[contender.name] = runner.run(_count(contender, url))
    return found


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
