"""A :class:`~keyring_idx.resolver.connections.Transport` that answers from a function, for unit
tests of the client's credential and redirect rules. The function has httpx.MockTransport's
shape (an ``httpx.Request`` in, an ``httpx.Response`` out); the real transport has its own tests
against servers on 127.0.0.1 (test_connections.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import httpx

from keyring_idx.resolver.connections import MAX_BODY, Reply

Handler = Callable[[httpx.Request], httpx.Response]


class HandlerTransport:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def get(self, url: str, headers: Mapping[str, str], *, max_bytes: int = MAX_BODY) -> Reply:
        response = self.handler(httpx.Request("GET", url, headers=dict(headers)))
        response.read()
        return Reply(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.content,
        )

    def close(self) -> None:
        pass
