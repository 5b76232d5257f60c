"""The 1-row goals' block, in a fresh interpreter: turnmeter and its floors alone.

Run by ``python -m bench`` (and runnable alone). A process that has also loaded and run the
main table's heavy contenders (gql validating against the schema, the ariadne httpx client)
answers every small request more slowly, and unevenly: there the untyped orjson client itself
measured 0.95x to 1.26x the ``json.loads`` floor between runs. Here only the clients the 1-row
goals compare are loaded, served by their own prepared-answers server, and timed in interleaved
rounds. Prints ``{name: [seconds per request, one per round]}`` as JSON.

    python -m bench.one_row [ROUNDS [REQUESTS_PER_ROUND]]
"""

from __future__ import annotations

import asyncio
import json
import sys

from bench.contenders import (
    DSL,
    FAST,
    GENERATED,
    LIMIT,
    Contender,
    MsgspecStructs,
    Turnmeter,
    TurnmeterDefault,
    floor,
    wide_floor,
)
from bench.timing import Counter, sequential

#: Rounds, and requests per round: about 12 s in all.
PLAN = (41, 40)


def contenders() -> list[Contender]:
    """The floors, the msgspec limit and the turnmeter clients the 1-row goals name."""
    return [
        floor(),
        MsgspecStructs(LIMIT),
        Turnmeter(FAST, "fast"),
        TurnmeterDefault(),
        Turnmeter(GENERATED, "generated"),
        wide_floor(),
        Turnmeter(DSL, "dsl"),
    ]


async def measure(rounds: int, reps: int) -> dict[str, list[float]]:
    from bench.run import start_server

    server, url = start_server()
    clients = contenders()
    try:
        for client in clients:
            await client.setup(url)
        counter = Counter()
        for client in clients:  # warm up: connections, compiled decoders, cached limits
            for _ in range(reps):
                await client.fetch(1, counter.next())
        return (await sequential(clients, 1, rounds, reps, counter)).samples
    finally:
        for client in clients:
            await client.close()
        server.kill()
        server.wait()


def main(argv: list[str]) -> int:
    rounds = int(argv[0]) if argv else PLAN[0]
    reps = int(argv[1]) if len(argv) > 1 else PLAN[1]
    print(json.dumps(asyncio.run(measure(rounds, reps))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
