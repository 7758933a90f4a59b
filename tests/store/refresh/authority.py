"""An OAuth 2 token endpoint on 127.0.0.1 that issues short-lived tokens and remembers them.

The same :class:`Authority` answers "is this token valid now?" for the test index server, so a
test can tell for every lookup whether the agent handed out a token the index accepts. Tests
switch :attr:`Authority.mode` to make the endpoint fail (HTTP 500, garbage, hanging) and
recover.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from store.refresh.spec import ProviderSpec
from tests.store.refresh.loopback import Loopback, Reply, Request, serve

CLIENT_ID = "ci-bot"
CLIENT_SECRET = "s3cret client value"
OK, FAIL_500, GARBAGE, HANG = "ok", "500", "garbage", "hang"


@dataclass
class Authority:
    lifetime: float  # seconds each token lives
    mode: str = OK
    issued: dict[str, float] = field(default_factory=dict)  # token -> expiry (time.time())
    failed: int = 0  # requests answered with a failure
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def grant(self, request: Request) -> Reply:
        form = request.form()
        if request.path != "/token" or form.get("grant_type") != "client_credentials":
            return Reply.json({"error": "unsupported_grant_type"}, 400)
        mode = self.mode
        if mode != OK:
            with self._lock:
                self.failed += 1
            if mode == FAIL_500:
                return Reply(500, b"internal error", "text/plain")
            if mode == GARBAGE:
                return Reply(200, b"<html>\x00not json", "text/html")
            return Reply(delay=60)  # HANG: longer than any client waits
        token = "tok-" + secrets.token_urlsafe(12)
        with self._lock:
            self.issued[token] = time.time() + self.lifetime
        return Reply.json(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime}
        )

    def is_valid(self, token: str, at: float | None = None) -> bool:
        with self._lock:
            expiry = self.issued.get(token)
        return expiry is not None and (time.time() if at is None else at) < expiry

    def count(self) -> int:
        with self._lock:
            return len(self.issued)

    def spec(self, timeout: float = 1.0) -> ProviderSpec:
        return ProviderSpec.build(
            "oauth2",
            {"token-url": f"{self.url}/token", "client-id": CLIENT_ID, "timeout": str(timeout)},
            {"client-secret": CLIENT_SECRET},
        )


@contextmanager
def authority(lifetime: float) -> Iterator[tuple[Authority, Loopback]]:
    auth = Authority(lifetime)
    with serve(auth.grant) as server:
        auth.url = server.url
        yield auth, server
