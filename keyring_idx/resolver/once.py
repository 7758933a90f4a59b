"""A value per key computed once, by whichever thread asks first, for the resolver's caches of
pages, offers and metadata: threads looking ahead and the resolver ask for the same things."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


class Once:
    """Compute each key's value once, whichever thread asks first; the others wait for it."""

    def __init__(self) -> None:
        self._futures: dict[object, Future[object]] = {}
        self._lock = threading.Lock()

    def get(self, key: object, compute: Callable[[], T]) -> T:
        with self._lock:
            future = self._futures.get(key)
            owner = future is None
            if future is None:
                future = self._futures[key] = Future()
        if owner:
            try:
                future.set_result(compute())
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()  # type: ignore[return-value]

    def started(self, key: object) -> bool:
        with self._lock:
            return key in self._futures
