"""Talk to a running agent: one connect, one request, one reply.

Standard library only and cheap to import: the keyring backend imports this at module import
time on every ``keyring`` run. Never imports cryptography, httpx, tomllib or platformdirs.

:func:`get` is the backend's call; it never raises. :func:`request` is for the CLI and raises
:class:`AgentUnavailable` when no agent answers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from store.agent import wire
from store.agent.transport import AgentUnavailable, ask, exchange, socket_path

if TYPE_CHECKING:
    from store.agent import protocol as p

DEFAULT_TIMEOUT = 1.0

__all__ = ["NOT_RUNNING", "Agent", "AgentUnavailable", "Ambiguous", "get", "request", "socket_path"]


class Agent(enum.Enum):
    """Why :func:`get` has no answer from an agent (as opposed to the agent saying 'none')."""

    NOT_RUNNING = "not running"


NOT_RUNNING = Agent.NOT_RUNNING


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """The agent found several usernames for a lookup that named none."""

    service: str
    usernames: tuple[str, ...]


def request(
    message: p.Request, *, timeout: float = DEFAULT_TIMEOUT, path: str | None = None
) -> p.Reply:
    """Send one request and return the agent's reply; AgentUnavailable when nobody answers."""
    from store.agent import protocol as p

    address = path or socket_path()
    try:
        return p.decode_reply(exchange(p.encode_request(message), timeout, address))
    except wire.ProtocolError as exc:
        raise AgentUnavailable(f"no agent answered on {address}: {exc}") from None


def get(
    service: str,
    username: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    path: str | None = None,
) -> tuple[str, str] | Ambiguous | Agent | None:
    """``(username, secret)``; :class:`Ambiguous` when only a username could tell; None when
    the agent found nothing or is locked; :data:`NOT_RUNNING` when no agent answered (fall back
    to the file). Never raises.

    A bearer entry without a username comes back with username ``""``.
    """
    # Framing only, no message classes: this runs on every `keyring` lookup.
    try:
        reply = ask(
            {"op": "get", "service": service, "username": username}, timeout, path or socket_path()
        )
    except (AgentUnavailable, wire.ProtocolError, ValueError):  # ValueError: unencodable text
        return NOT_RUNNING
    status, data = reply.get("status"), reply.get("data")
    if not isinstance(data, dict):
        data = {}
    if status == wire.UNSUPPORTED:  # an agent of another protocol version: read the file
        return NOT_RUNNING
    if status == wire.AMBIGUOUS:
        names = data.get("usernames")
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            return Ambiguous(str(data.get("service") or service), tuple(names))
        return None
    return wire.credential(reply)
