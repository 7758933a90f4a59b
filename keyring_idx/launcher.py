"""The fast ``keyring`` launcher: uv's and pip's lookups answered by the agent, all else by keyring.

``idx-auth setup fast-keyring`` writes a small ``keyring`` script, first on PATH, that runs
Python without the site machinery (``-S``) and calls :func:`main`. It answers exactly the
command lines uv and pip send:

- ``keyring get SERVICE USERNAME`` (uv, username known),
- ``keyring get SERVICE --mode creds`` (uv, ``authenticate = "always"``),
- ``keyring --mode=creds --output=json get URL [USERNAME]`` (pip),

and their spellings with the options anywhere (``--mode creds``, ``--output json``, ...), from
the agent, printing what ``keyring`` prints. Every other command line, every lookup the agent
does not answer with a credential (not running, locked, not found, ambiguous), and every run
where keyring would not ask our backend first (``PYTHON_KEYRING_BACKEND`` or keyringrc.cfg
naming another backend) is handed to the real ``keyring`` by ``exec``: same output, same exit
code, because it *is* keyring.

Standard library only, and little of it (json's C accelerator through :mod:`store.leanjson`,
``_socket``, ``os``, ``struct``): keyring's floor is its own imports, which the launcher skips.
Never raises: a failure is a hand-over.
"""

from __future__ import annotations

import os
import sys

from store import leanjson
from store.agent import transport, wire

TYPE_CHECKING = False  # typing and collections.abc would double this module's import time
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import NoReturn

#: The backend class keyring must choose for the launcher's answer to be keyring's answer.
BACKEND = "keyring_idx.backend.IdxKeyring"
# What `idx-auth setup keyring` names in keyringrc.cfg: our backend wherever keyring-idx is
# installed, as here (keyring_idx.clients.keyringrc.SELECTOR; a test keeps the two equal).
SELECTOR = "idx_auth_keyring.Selected"
#: The first lines of every launcher file; `setup fast-keyring` replaces or removes only these.
MARKER = "# idx-auth fast-keyring launcher"
#: As long as the keyring backend waits for the agent.
AGENT_TIMEOUT = 2.0
#: Exit status when the real keyring cannot be run (a shell's "command not found").
EXIT_NO_KEYRING = 127

_OPTIONS = {"--mode": ("password", "creds"), "--output": ("plain", "json")}


class Lookup:
    """A ``keyring get`` command line the launcher can answer.

    A slotted class, not a dataclass: importing dataclasses (and inspect) would cost more
    than the launcher's whole run.
    """

    __slots__ = ("mode", "output", "service", "username")

    def __init__(
        self, service: str, username: str | None, mode: str = "password", output: str = "plain"
    ) -> None:
        self.service = service
        self.username = username
        self.mode = mode  # or "creds"
        self.output = output  # or "json"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Lookup):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Lookup{self._key()!r}"

    def _key(self) -> tuple[str, str | None, str, str]:
        return (self.service, self.username, self.mode, self.output)


def parse(argv: Sequence[str]) -> Lookup | None:
    """The lookup ``argv`` asks for, or None for any command line keyring itself must see.

    Only the exact option spellings (no abbreviations, no repeats) and ``get`` with a
    non-empty service and username that do not look like options; ``--mode password`` (the
    default) needs a username, as keyring requires. Pure.
    """
    options: dict[str, str] = {}
    positional: list[str] = []
    items = iter(argv)
    for arg in items:
        if arg.startswith("-"):
            name, eq, value = arg.partition("=")
            if name not in _OPTIONS or name in options:
                return None
            if not eq:
                value = next(items, "")
            if value not in _OPTIONS[name]:
                return None
            options[name] = value
        elif not arg:
            return None  # pdm's "no username" (""), and empty services: keyring's call
        else:
            positional.append(arg)
    if len(positional) not in (2, 3) or positional[0] != "get":
        return None
    mode = options.get("--mode", "password")
    username = positional[2] if len(positional) == 3 else None
    if username is None and mode == "password":
        return None  # keyring's usage error
    return Lookup(positional[1], username, mode, options.get("--output", "plain"))


def render(lookup: Lookup, found_username: str, secret: str) -> str:
    """What ``keyring`` prints for this credential: one value a line, or one JSON object. Pure.

    Mirrors keyring's CLI: password mode shows ``{"password"}``; creds mode shows
    ``{"username", "password"}`` with the username asked for, else the one found (``""`` for a
    bearer token), which is what our backend hands keyring.
    """
    values: dict[str, str] = {}
    if lookup.mode == "creds":
        values["username"] = lookup.username if lookup.username is not None else found_username
    values["password"] = secret
    if lookup.output == "json":
        # keyring prints json.dumps(...) with the default separators and ASCII escapes.
        return leanjson.dumps(values, separators=(", ", ": "), ensure_ascii=True) + "\n"
    return "".join(f"{value}\n" for value in values.values())


def backend_selected(env: Mapping[str, str], config_text: str | None) -> bool:
    """Would keyring ask our backend first? ``config_text``: keyringrc.cfg, if it exists. Pure.

    keyring takes ``PYTHON_KEYRING_BACKEND`` first, then ``[backend] default-keyring`` of its
    config file, else the viable backend of highest priority (ours, 9.5, just under the chainer
    that asks it first). Anything else -- another backend, a config file keyring would warn
    about or fail on -- is keyring's to answer.
    """
    chosen = env.get("PYTHON_KEYRING_BACKEND")
    if chosen is not None:
        return chosen.strip() == BACKEND
    if config_text is None:
        return True
    import configparser

    config = configparser.RawConfigParser()
    try:
        config.read_string(config_text)
    except configparser.Error:
        return False
    if not config.has_section("backend"):
        return True
    if not config.has_option("backend", "default-keyring"):
        return False  # keyring logs a warning about this file: let it
    return config.get("backend", "default-keyring").strip() in (BACKEND, SELECTOR)


def keyringrc_path(env: Mapping[str, str]) -> str:
    """keyring's config file on Linux and macOS (``keyring.util.platform_``'s Unix rule)."""
    root = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(root, "python_keyring", "keyringrc.cfg")


def _read_config(env: Mapping[str, str]) -> str | None:
    try:
        with open(keyringrc_path(env), encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def answer(argv: Sequence[str], env: Mapping[str, str]) -> str | None:
    """The text to print for ``argv``, or None when the real keyring must run."""
    lookup = parse(argv)
    if lookup is None or sys.platform == "win32":
        return None
    try:
        if not backend_selected(env, _read_config(env)):
            return None
        reply = transport.ask(
            {"op": "get", "service": lookup.service, "username": lookup.username},
            AGENT_TIMEOUT,
            transport.socket_path(env),
            store=transport.store_file(env),
        )
    except (transport.AgentUnavailable, wire.ProtocolError, OSError, ValueError):
        return None
    found = wire.credential(reply)
    if found is None:
        return None
    return render(lookup, found[1] or "", found[3])


def main(real: str, argv: Sequence[str] | None = None) -> NoReturn:
    """Answer from the agent, or become the real keyring at ``real``."""
    args = list(sys.argv[1:] if argv is None else argv)
    text = answer(args, os.environ)
    if text is not None:
        out = sys.stdout
        try:
            # keyring prints through the same stream; a secret it could not encode there
            # makes keyring fail, so keyring shows that failure itself.
            data = text.encode(out.encoding or "utf-8", out.errors or "strict")
        except (UnicodeEncodeError, LookupError):
            data = None
        if data is not None:
            out.flush()
            out.buffer.write(data)
            out.buffer.flush()
            sys.exit(0)
    _hand_over(real, args)


def _hand_over(real: str, args: list[str]) -> NoReturn:
    launcher = os.path.realpath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if launcher and os.path.realpath(real) == launcher:
        _fail(f"{real} is this launcher, not keyring")
    sys.stdout.flush()
    try:
        os.execv(real, [real, *args])
    except OSError as exc:
        _fail(f"cannot run the real keyring {real}: {exc.strerror or exc}")


def _fail(problem: str) -> NoReturn:
    sys.stderr.write(
        f"keyring (idx-auth launcher): {problem}; "
        "rerun `idx-auth setup fast-keyring`, or remove the launcher with "
        "`idx-auth setup fast-keyring --undo`\n"
    )
    sys.exit(EXIT_NO_KEYRING)
