"""Talk to a running agent: one connect, one request, one reply.

Standard library (and the pure records of :mod:`store.model`) only, and cheap to import: every
``keyring`` lookup with an agent running imports it. Never imports cryptography, httpx, tomllib
or platformdirs.

:func:`get` is :func:`store.access.get_credential`'s call; it never raises. :func:`request` is
for the CLI and raises :class:`AgentUnavailable` when no agent answers.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from store.agent import wire
from store.agent.transport import (
    PEER_CREDENTIALS,
    AgentUnavailable,
    ask,
    exchange,
    peer_uid,
    socket_path,
)
from store.credential import Ambiguous, Credential

if TYPE_CHECKING:
    from store.agent import protocol as p

DEFAULT_TIMEOUT = 1.0

__all__ = [
    "LOCKED",
    "NOT_RUNNING",
    "PEER_CREDENTIALS",
    "Agent",
    "AgentUnavailable",
    "OtherStore",
    "get",
    "peer_uid",
    "request",
    "socket_path",
]


class Agent(enum.Enum):
    """Why :func:`get` has no answer from an agent (as opposed to the agent saying 'none')."""

    NOT_RUNNING = "not running"
    LOCKED = "locked"


NOT_RUNNING = Agent.NOT_RUNNING
LOCKED = Agent.LOCKED


class OtherStore(AgentUnavailable):
    """The agent on the socket serves another store file (``store``) than the caller's."""

    def __init__(self, address: str, store: str) -> None:
        self.store = store
        super().__init__(f"the agent on {address} serves another store ({store})")


def request(
    message: p.Request,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    path: str | None = None,
    store: str | None = None,
) -> p.Reply:
    """Send one request and return the agent's reply; AgentUnavailable when nobody answers,
    or when the agent serves another store than ``store`` (the caller's store file)."""
    from store.agent import protocol as p

    address = path or socket_path()
    try:
        reply = p.decode_reply(exchange(p.encode_request(message, store=store), timeout, address))
    except wire.ProtocolError as exc:
        raise AgentUnavailable(f"no agent answered on {address}: {exc}") from None
    if reply.status == wire.OTHER_STORE:
        raise OtherStore(address, reply.message)
    return reply


def get(
    service: str,
    username: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    path: str | None = None,
    store: str | None = None,
) -> Credential | Ambiguous | Agent | None:
    """The agent's answer to a lookup: the :class:`~store.model.Credential`; the
    :class:`~store.model.Ambiguous` value when only a username could tell; None when the agent
    found nothing (or failed: the agent logs why); :data:`LOCKED` when its store is locked;
    :data:`NOT_RUNNING` when no agent answered, or when it serves another store than ``store``
    (the caller's store file): read the file. Never raises.

    This is the one place a ``get`` reply becomes a value; the agent makes the reply from the
    same values in :mod:`store.agent.core`.
    """
    # Framing only, no message classes: this runs on every `keyring` lookup.
    try:
        reply = ask(
            {"op": "get", "service": service, "username": username},
            timeout,
            path or socket_path(),
            store=store,
        )
    except (AgentUnavailable, wire.ProtocolError, ValueError):  # ValueError: unencodable text
        return NOT_RUNNING
    status, data = reply.get("status"), reply.get("data")
    if not isinstance(data, dict):
        data = {}
    if status in (wire.UNSUPPORTED, wire.OTHER_STORE):
        # An agent of another protocol version, or of another store: read the file.
        return NOT_RUNNING
    if status == wire.LOCKED:
        return LOCKED
    if status == wire.AMBIGUOUS:
        names = data.get("usernames")
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            return Ambiguous(str(data.get("service") or service), tuple(names))
        return None
    found = wire.credential(reply)
    if found is None:
        return None
    service_found, user, scheme, secret = found
    return Credential(service_found, user, "bearer" if scheme == "bearer" else "basic", secret)
