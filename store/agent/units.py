"""The systemd user units, rendered for a given ``ExecStart`` command: the agent (socket and
service) and, for people who do not run the agent, a timer running ``idx-auth refresh --due``.

The repository's ``systemd/`` folder holds these rendered for ``%h/.local/bin/idx-auth``
(a test keeps them in step); ``idx-auth setup systemd`` renders them for the running install.
"""

from __future__ import annotations

SOCKET_UNIT = "idx-auth-agent.socket"
SERVICE_UNIT = "idx-auth-agent.service"
REFRESH_SERVICE_UNIT = "idx-auth-refresh.service"
REFRESH_TIMER_UNIT = "idx-auth-refresh.timer"
DEFAULT_EXEC = "%h/.local/bin/idx-auth"

# Both services handle unlocked secrets: no core dumps, no privilege gain, private files only;
# AF_UNIX for the agent's socket, AF_INET/AF_INET6 for token refresh over HTTPS. Every option
# here is valid in a user unit (a test runs systemd-analyze --user verify).
HARDENING = """\
LimitCORE=0
UMask=0077
NoNewPrivileges=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
KeyringMode=private
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native
"""

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
{hardening}SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM

[Install]
Also=idx-auth-agent.socket
"""


REFRESH_SERVICE = """\
[Unit]
Description=idx-auth: refresh short-lived index tokens that are due
Documentation=https://pypi.org/project/keyring-idx/
# For people who do not run the agent. Harmless beside it: refreshes take the store lock,
# and an entry the agent already refreshed is no longer due.

[Service]
Type=oneshot
ExecStart={exec_start} refresh --due
# 1: no entry has a token provider -- nothing to do is not a failure.
SuccessExitStatus=1
TimeoutStartSec=5min
{hardening}"""

REFRESH_TIMER = """\
[Unit]
Description=idx-auth: refresh due index tokens every five minutes
Documentation=https://pypi.org/project/keyring-idx/

[Timer]
OnCalendar=*:0/5
# Catch up after suspend or a stopped user manager; spread machines that share a token service.
Persistent=yes
RandomizedDelaySec=60
AccuracySec=30s

[Install]
WantedBy=timers.target
"""


def render(exec_start: str = DEFAULT_EXEC) -> dict[str, str]:
    """Unit file name -> text. ``exec_start`` is the idx-auth command, quoted if it has spaces."""
    command = f'"{exec_start}"' if any(c.isspace() for c in exec_start) else exec_start
    return {
        SOCKET_UNIT: SOCKET,
        SERVICE_UNIT: SERVICE.format(exec_start=command, hardening=HARDENING),
        REFRESH_SERVICE_UNIT: REFRESH_SERVICE.format(exec_start=command, hardening=HARDENING),
        REFRESH_TIMER_UNIT: REFRESH_TIMER,
    }
