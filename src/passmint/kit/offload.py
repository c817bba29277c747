"""CPU-heavy work (image decoding and resizing) off the event loop, a few at a time.

One pool per process, with as many threads as the process may use cores: the event loop
keeps answering other requests while images are decoded (Pillow releases the GIL while
it decodes, resamples and compresses), and however many requests bring images at once,
no more than that many are worked on together; the others wait their turn in the queue
without holding a thread or memory for pixels.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


WORKERS: Final = _cores()
"""How many CPU-heavy calls run at once in this process."""

_POOL: Final = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="passmint-cpu")


async def run(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` on the pool; its exceptions are raised here."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_POOL, functools.partial(fn, *args, **kwargs))
