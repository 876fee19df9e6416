"""Run a coroutine to completion on an event loop of its own thread.

pytest-xdist workers run the browser tests too, and Playwright's sync API keeps its event loop
running on the worker's main thread for the session, where `asyncio.run` refuses to start
another. The media tests' scenarios run here instead.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - raised again on the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
