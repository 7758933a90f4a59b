"""``command``: run a program and read the token it prints.

The command line is split like a POSIX shell would (``shlex``) but run without a shell. Its
stdout is either the token alone on one line (lifetime ``ttl`` seconds, default 3600) or a JSON
object with the token and its expiry, as ``aws``, ``gcloud`` and ``az`` can print them.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from store.refresh.errors import ProviderConfigError, TokenFetchError
from store.refresh.providers.base import FetchContext, last_line, seconds_setting, token_after
from store.refresh.spec import ProviderSpec
from store.refresh.state import parse_time
from store.refresh.token import Token

NAME = "command"
DEFAULT_TTL = 3600.0
DEFAULT_TIMEOUT = 60.0
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
        argv_of(spec)
        seconds_setting(spec, "ttl", DEFAULT_TTL, low=1, high=366 * 86400)
        seconds_setting(spec, "timeout", DEFAULT_TIMEOUT, low=0.1, high=3600)

    def fetch(self, spec: ProviderSpec, ctx: FetchContext) -> Token:
        argv = argv_of(spec)
        ttl = seconds_setting(spec, "ttl", DEFAULT_TTL, low=1, high=366 * 86400)
        timeout = seconds_setting(spec, "timeout", DEFAULT_TIMEOUT, low=0.1, high=3600)
        program = argv[0]
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            raise TokenFetchError(
                NAME, f"program {program!r} not found; install it or give its full path"
            ) from None
        except PermissionError:
            raise TokenFetchError(
                NAME, f"program {program!r} is not executable; check its permissions"
            ) from None
        except subprocess.TimeoutExpired:
            raise TokenFetchError(
                NAME,
                f"{program!r} did not finish within {timeout:g} s; check that it runs without "
                "prompting, or raise the timeout",
            ) from None
        except OSError as exc:
            raise TokenFetchError(NAME, f"cannot run {program!r}: {exc.strerror}") from None
        if done.returncode != 0:
            said = last_line(done.stderr.decode("utf-8", "replace"))
            detail = f": {said}" if said else ""
            raise TokenFetchError(NAME, f"{program!r} exited with status {done.returncode}{detail}")
        return parse_output(done.stdout.decode("utf-8", "replace"), ctx.now, ttl)


PROVIDER = CommandProvider()
