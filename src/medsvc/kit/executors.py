"""The two small thread pools each process runs blocking work on, reads and writes apart, and
the hand-off to them from the event loop."""

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from starlette.requests import Request

T = TypeVar("T")
Kind = Literal["read", "write"]


def make_executors(reads: int, writes: int) -> dict[str, ThreadPoolExecutor]:
    # Reads and writes have pools of their own, so a queued write never holds a reader's
    # thread; a few threads each, since Python threads share one interpreter lock.
    return {
        "read": ThreadPoolExecutor(reads, "medsvc-read"),
        "write": ThreadPoolExecutor(writes, "medsvc-write"),
    }


async def in_thread(request: Request, kind: Kind, work: Callable[..., T], *args: Any) -> T:
    """Runs blocking work on the app's read or write threads. asyncio's executor hands work
    over at a fraction of anyio's cost, and the copied context carries the request id into
    the thread's log lines."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    executor = request.app.state.executors[kind]
    return await loop.run_in_executor(executor, context.run, work, *args)


async def small_read(request: Request, work: Callable[..., T], *args: Any) -> T:
    """Runs a read of a few rows found by an index. On the embedded SQLite database it runs on
    the event loop: a local file that no writer blocks (WAL) answers it in less time than the
    hand-off to a thread takes, as the API's reads by id (fhir/routes.py). Elsewhere the
    database is across a network, and the read goes to the read threads."""
    if request.app.state.settings.is_sqlite:
        return work(*args)
    return await in_thread(request, "read", work, *args)
