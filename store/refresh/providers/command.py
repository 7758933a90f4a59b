"""``command``: run a program and read the token it prints.

The command line is split like a POSIX shell would (``shlex``) but run without a shell. Its
stdout is either the token alone on one line (lifetime ``ttl`` seconds, default 3600) or a JSON
object with the token and its expiry, as ``aws``, ``gcloud`` and ``az`` can print them.

It runs isolated from whoever asks: from ``/``, never found through a relative path or a
relative PATH entry (nothing from the current directory runs), in its own process group that is
killed whole on time-out, with stdin closed, stdout capped and stderr dropped (its text is the
provider's, not ours to store or show).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from store.refresh.errors import ProviderConfigError, TokenFetchError
from store.refresh.providers.base import FetchContext, seconds_setting, token_after
from store.refresh.spec import ProviderSpec
from store.refresh.state import parse_time
from store.refresh.token import Token

NAME = "command"
DEFAULT_TTL = 3600.0
DEFAULT_TIMEOUT = 60.0
# A token, even a JWT or JSON around one, is a few KiB; more is a misconfigured command, and
# reading it all would slow every later lookup of the entry.
MAX_OUTPUT = 64 * 1024
# Token fields, in order of preference: ours, OAuth 2's, `az`'s, CodeArtifact's.
TOKEN_KEYS = ("token", "access_token", "accessToken", "authorizationToken")


def argv_of(spec: ProviderSpec) -> list[str]:
    line = spec.require("command")
    try:
        argv = shlex.split(line)
    except ValueError as exc:
        raise ProviderConfigError(
            NAME, f"cannot split the command line ({exc}); check its quotes"
        ) from None
    if not argv:
        raise ProviderConfigError(NAME, "the command line is empty")
    return argv


def parse_output(text: str, now: datetime, ttl: float) -> Token:
    """The token in a command's stdout (pure)."""
    body = text.strip()
    if not body:
        raise TokenFetchError(NAME, "the command printed nothing; it must print the token")
    if body.startswith("{"):
        return _parse_json(body, now, ttl)
    lines = body.splitlines()
    if len(lines) != 1:
        raise TokenFetchError(
            NAME,
            f"the command printed {len(lines)} lines; it must print the token alone on one "
            "line, or one JSON object with 'token' and 'expires_in' or 'expires_at'",
        )
    if any(ch.isspace() for ch in body):
        raise TokenFetchError(
            NAME, "the command's output contains spaces; it must print the token alone"
        )
    return token_after(body, now, ttl)


def _parse_json(body: str, now: datetime, ttl: float) -> Token:
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        raise TokenFetchError(
            NAME, "the command printed something that is not valid JSON"
        ) from None
    if not isinstance(data, dict):
        raise TokenFetchError(NAME, "the command printed JSON that is not an object")
    secret = next((data[k] for k in TOKEN_KEYS if isinstance(data.get(k), str) and data[k]), None)
    if secret is None:
        raise TokenFetchError(
            NAME, f"the command's JSON has no token; expected one of: {', '.join(TOKEN_KEYS)}"
        )
    expires_at = _expiry(data, now)
    if expires_at is None:
        return token_after(secret, now, ttl)
    return Token(secret, expires_at, issued_at=now)


def _expiry(data: Mapping[str, Any], now: datetime) -> datetime | None:
    if "expires_in" in data:
        seconds = _number(data["expires_in"])
        if seconds is None or seconds <= 0:
            raise TokenFetchError(NAME, "'expires_in' must be a positive number of seconds")
        return token_after("-", now, seconds).expires_at
    # expires_at: ours (RFC 3339 or epoch); expires_on: `az` (epoch); expiration: `aws` JSON.
    for key in ("expires_at", "expires_on", "expiration"):
        if key in data:
            moment = _moment(data[key])
            if moment is None:
                raise TokenFetchError(
                    NAME,
                    f"{key!r} must be an RFC 3339 date-time with a time zone, or epoch seconds",
                )
            return moment
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _moment(value: object) -> datetime | None:
    seconds = _number(value)
    if seconds is not None:
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_time(value) if isinstance(value, str) else None


class CommandProvider:
    name = NAME
    default_username: str | None = None

    def check(self, spec: ProviderSpec) -> None:
        _program_of(argv_of(spec))
        seconds_setting(spec, "ttl", DEFAULT_TTL, low=1, high=366 * 86400)
        seconds_setting(spec, "timeout", DEFAULT_TIMEOUT, low=0.1, high=3600)

    def fetch(self, spec: ProviderSpec, ctx: FetchContext) -> Token:
        argv = argv_of(spec)
        _program_of(argv)
        ttl = seconds_setting(spec, "ttl", DEFAULT_TTL, low=1, high=366 * 86400)
        timeout = seconds_setting(spec, "timeout", DEFAULT_TIMEOUT, low=0.1, high=3600)
        program = argv[0]
        found = _find(program)
        if found is None:
            raise TokenFetchError(
                NAME, f"program {program!r} not found; install it or give its full path"
            )
        status, out = run_bounded([found, *argv[1:]], timeout=timeout, program=program)
        if status != 0:
            # Its stderr is not kept: it is the provider's text, which may quote a secret.
            raise TokenFetchError(
                NAME,
                f"{program!r} exited with status {status}; run it by hand to see why",
            )
        return parse_output(out.decode("utf-8", "replace"), ctx.now, ttl)


def _program_of(argv: list[str]) -> str:
    """The program, which must be a bare name (looked up on PATH) or an absolute path: a
    relative one would run whatever that name is in the directory of the process asking."""
    program = argv[0]
    if "/" in program and not os.path.isabs(program):
        raise ProviderConfigError(
            NAME,
            f"the program {program!r} is a relative path; give its absolute path, or a name "
            "found on PATH",
        )
    return program


def _find(program: str) -> str | None:
    if os.path.isabs(program):
        return program
    search = os.environ.get("PATH", os.defpath).split(os.pathsep)
    # Relative PATH entries ("", ".") would find the program in the current directory.
    return shutil.which(program, path=os.pathsep.join(p for p in search if os.path.isabs(p)))


def run_bounded(argv: list[str], *, timeout: float, program: str) -> tuple[int, bytes]:
    """Run ``argv`` in its own process group, from ``/``, with stdin closed and stderr
    dropped; its exit status and stdout. More than MAX_OUTPUT bytes, or still running after
    ``timeout`` seconds: the whole group is killed (no orphaned children) and TokenFetchError."""
    try:
        child = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd="/",
            start_new_session=True,
        )
    except PermissionError:
        raise TokenFetchError(
            NAME, f"program {program!r} is not executable; check its permissions"
        ) from None
    except FileNotFoundError:
        raise TokenFetchError(
            NAME, f"program {program!r} not found; install it or give its full path"
        ) from None
    except OSError as exc:
        raise TokenFetchError(NAME, f"cannot run {program!r}: {exc.strerror}") from None
    assert child.stdout is not None
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    problem: str | None = None
    with child.stdout, selectors.DefaultSelector() as sel:
        sel.register(child.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                problem = (
                    f"{program!r} did not finish within {timeout:g} s; check that it runs "
                    "without prompting, or raise the timeout"
                )
                break
            if not sel.select(left):
                continue
            chunk = os.read(child.stdout.fileno(), 65536)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_OUTPUT:
                problem = (
                    f"{program!r} printed more than {MAX_OUTPUT // 1024} KiB; a token is far "
                    "smaller -- check the command"
                )
                break
            chunks.append(chunk)
    if problem is None:
        try:
            status = child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            problem = (
                f"{program!r} did not finish within {timeout:g} s; check that it runs "
                "without prompting, or raise the timeout"
            )
    if problem is not None:
        _kill_group(child)
        raise TokenFetchError(NAME, problem)
    return status, b"".join(chunks)


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    # The child leads its own session, so its pid is the group of everything it started.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


PROVIDER = CommandProvider()
