"""The systemd user units for the agent, rendered for a given ``ExecStart`` command.

The repository's ``systemd/`` folder holds these rendered for ``%h/.local/bin/idx-auth``
(a test keeps them in step); ``idx-auth setup systemd`` renders them for the running install.
"""

from __future__ import annotations

SOCKET_UNIT = "idx-auth-agent.socket"
SERVICE_UNIT = "idx-auth-agent.service"
DEFAULT_EXEC = "%h/.local/bin/idx-auth"

SOCKET = """\
[Unit]
Description=idx-auth credential agent socket
Documentation=https://pypi.org/project/keyring-idx/

[Socket]
ListenStream=%t/idx-auth/agent.sock
SocketMode=0600
DirectoryMode=0700
RemoveOnStop=yes

[Install]
WantedBy=sockets.target
"""

SERVICE = """\
[Unit]
Description=idx-auth credential agent (private package index credentials)
Documentation=https://pypi.org/project/keyring-idx/
Requires=idx-auth-agent.socket
After=idx-auth-agent.socket

[Service]
Type=notify
NotifyAccess=main
ExecStart={exec_start} agent
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2s
TimeoutStopSec=10s
# The agent holds an unlocked key: no core dumps, no privilege gain, private files only.
LimitCORE=0
UMask=0077
NoNewPrivileges=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
KeyringMode=private
# AF_UNIX for the socket; AF_INET/AF_INET6 for token refresh over HTTPS.
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM

[Install]
Also=idx-auth-agent.socket
"""


def render(exec_start: str = DEFAULT_EXEC) -> dict[str, str]:
    """Unit file name -> text. ``exec_start`` is the idx-auth command, quoted if it has spaces."""
    command = f'"{exec_start}"' if any(c.isspace() for c in exec_start) else exec_start
    return {SOCKET_UNIT: SOCKET, SERVICE_UNIT: SERVICE.format(exec_start=command)}
