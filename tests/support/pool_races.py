"""The race both pool suites run (tests/integration/test_room_pool.py, test_stage_pool.py): many
scheduled Spaces started at the same instant, each start's answer or error kept in order."""
from __future__ import annotations

import threading
from datetime import timedelta

from chalicelib.api.bodies.spaces import create_space as space_request
from chalicelib.domain.errors import DomainError
from chalicelib.services import spaces as space_service


def scheduled_space(deps, host, title: str = "pooled"):
    """A Space of `host` scheduled a day ahead (so starting it is the host's to do)."""
    start = (deps.clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return space_service.create_space(deps, host, space_request({"title": title, "scheduled_start": start}))


def start_all_at_once(deps, spaces) -> list:
    """Start every Space from its own thread, released together by a barrier: the started Spaces
    (or the DomainError a start raised), in the order of `spaces`."""
    barrier = threading.Barrier(len(spaces))
    results: list = [None] * len(spaces)

    def start(i):
        barrier.wait()
        try:
            results[i] = space_service.start_space(deps, spaces[i].creator_id, spaces[i].id)
        except DomainError as exc:
            results[i] = exc

    threads = [threading.Thread(target=start, args=(i,)) for i in range(len(spaces))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results
