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
