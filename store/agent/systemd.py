"""The two bits of systemd the agent speaks: sd_notify and socket activation (LISTEN_FDS).

Both are tiny wire protocols; implemented here rather than pulling in a binding.
"""

from __future__ import annotations

import os
import socket
from collections.abc import MutableMapping

from store.agent.errors import AgentSetupError

LISTEN_FDS_START = 3  # SD_LISTEN_FDS_START


def notify(state: str, env: MutableMapping[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``) to $NOTIFY_SOCKET; False when not under systemd."""
    env = os.environ if env is None else env
    address = env.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    elif not address.startswith("/"):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError:
        return False
    return True


def listen_sockets(env: MutableMapping[str, str] | None = None) -> list[socket.socket]:
    """Sockets passed by systemd socket activation, or [] when not socket-activated.

    The variables are removed afterwards so that processes we start do not claim our fds.
    """
    env = os.environ if env is None else env
    pid = env.get("LISTEN_PID")
    count = env.get("LISTEN_FDS")
    if pid is None or count is None:
        return []
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        env.pop(name, None)
    try:
        if int(pid) != os.getpid():
            return []
        n = int(count)
    except ValueError:
        raise AgentSetupError(
            f"LISTEN_PID={pid!r} / LISTEN_FDS={count!r} are not numbers; "
            "check the socket unit that started the agent"
        ) from None
    sockets = []
    for fd in range(LISTEN_FDS_START, LISTEN_FDS_START + n):
        os.set_inheritable(fd, False)
        sock = socket.socket(fileno=fd)
        if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
            raise AgentSetupError(
                f"activation fd {fd} is not a Unix stream socket; "
                "the socket unit needs ListenStream= with a path"
            )
        sockets.append(sock)
    return sockets
