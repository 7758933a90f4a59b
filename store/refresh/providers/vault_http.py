"""Talking to Vault / OpenBao: one request, its answer checked, every failure one line.

Vault's HTTP API is small and stable (``/v1/<path>``, a token header, JSON in and out), so the
provider speaks it over the shared httpx client factory (:mod:`store.http`) instead of through
hvac: the company CA (``VAULT_CACERT`` / ``VAULT_CAPATH``), a client certificate and proxies
then apply exactly as for the indexes, no second HTTP stack (requests) joins the agent, and
foreign errors are translated in one place.

Nothing here keeps a token: callers pass it per request. Vault's own error texts are free
text from a server and are not passed on: a message keeps the HTTP status and, when Vault's
words are ones we know (:data:`KNOWN_ERRORS`), our own short wording of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from store.refresh.errors import ProviderConfigError, TokenFetchError
from store.refresh.providers.base import shown_url

if TYPE_CHECKING:
    import httpx

NAME = "vault"
MAX_BODY = 1 << 20  # a secret or login answer is a few KiB; more is not Vault talking
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True, slots=True)
class Answer:
    """Vault's reply: the status and its JSON object."""

    status: int
    data: Mapping[str, Any] = field(default_factory=dict)  # the JSON object, {} if none

    @property
    def reason(self) -> str:
        """What Vault's ``errors`` say, in our words ('' when they say nothing we know)."""
        raw = self.data.get("errors")
        if not isinstance(raw, list):
            return ""
        said = " ".join(e for e in raw if isinstance(e, str)).lower()
        for phrase, meaning in KNOWN_ERRORS:
            if phrase in said:
                return meaning
        return ""


# Vault's and OpenBao's error texts, recognised by a fragment, told in our words.
KNOWN_ERRORS: tuple[tuple[str, str], ...] = (
    ("permission denied", "permission denied"),
    ("invalid role or secret id", "invalid role id or secret id"),
    ("invalid secret id", "invalid secret id"),
    ("invalid role id", "invalid role id"),
    ("failed to validate secret id", "invalid secret id"),
    ("could not be found", "no such role"),
    ("role not found", "no such role"),
    ("invalid role name", "no such role"),
    ("audience", "the JWT's audience is not one the role accepts"),
    ("claim", "the JWT's claims do not match the role's bound claims"),
    ("expired", "the JWT has expired"),
    ("error validating token", "the JWT was not accepted (signature, issuer or time)"),
    ("sealed", "Vault is sealed"),
    ("standby", "this node is a standby"),
    ("missing client token", "no Vault token was sent"),
    ("unsupported path", "no such path or engine"),
    ("no handler for route", "nothing is mounted at that path"),
)


def check_addr(addr: str) -> str:
    """The Vault address without a trailing slash; https, or http on a loopback address."""
    parts = urlsplit(addr)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ProviderConfigError(
            NAME, f"the Vault address {shown_url(addr)} is not an http(s) URL; give --vault-addr"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ProviderConfigError(
            NAME, "the Vault address must be scheme://host[:port][/prefix], nothing more"
        )
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ProviderConfigError(
            NAME,
            f"the Vault address {shown_url(addr)} is plain http; Vault tokens would cross the "
            "network unencrypted -- use its https address",
        )
    return addr.rstrip("/")


def api_path(path: str) -> str:
    """``path`` with each segment percent-encoded, so a name cannot climb out of its mount."""
    segments = [s for s in path.strip("/").split("/") if s]
    if not segments or any(s in (".", "..") for s in segments):
        raise ProviderConfigError(NAME, f"the Vault path {path!r} is not a usable path")
    return "/".join(quote(s, safe="") for s in segments)


@dataclass(frozen=True, slots=True)
class VaultHttp:
    """One Vault server as seen through one httpx client."""

    client: httpx.Client
    addr: str
    namespace: str | None = None
    timeout: float = 10.0

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Answer:
        import httpx

        headers = {"X-Vault-Request": "true", "Accept": "application/json"}
        if token is not None:
            headers["X-Vault-Token"] = token
        if self.namespace:
            headers["X-Vault-Namespace"] = self.namespace
        url = f"{self.addr}/v1/{path}"
        try:
            response = self.client.request(
                method, url, headers=headers, json=body, timeout=self.timeout
            )
        except httpx.TimeoutException:
            raise TokenFetchError(
                NAME, f"Vault at {shown_url(self.addr)} did not answer within {self.timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            if _tls_failure(exc):
                raise TokenFetchError(
                    NAME,
                    f"the TLS certificate of Vault at {shown_url(self.addr)} is not trusted (or "
                    "a client certificate was refused); give its CA with --vault-ca-cert or "
                    "VAULT_CACERT",
                ) from None
            raise TokenFetchError(
                NAME, f"cannot reach Vault at {shown_url(self.addr)} ({type(exc).__name__})"
            ) from None
        return Answer(response.status_code, _json_object(response.content))

    def failure(self, answer: Answer, doing: str, hint: str) -> TokenFetchError:
        """The error for an answer that is not what ``doing`` needed."""
        said = f" ({answer.reason})" if answer.reason else ""
        where = shown_url(self.addr)
        if answer.status in (500, 502, 503, 504):
            return TokenFetchError(
                NAME,
                f"Vault at {where} failed {doing} with HTTP {answer.status}{said}; it may be "
                "sealed, a standby or overloaded, the refresh is retried",
            )
        if answer.status in (301, 302, 307, 308):
            return TokenFetchError(
                NAME,
                f"Vault at {where} redirected {doing} (HTTP {answer.status}); give the active "
                "node's address, or the load balancer's, as --vault-addr",
            )
        return TokenFetchError(NAME, f"{doing} failed with HTTP {answer.status}{said}; {hint}")


def _tls_failure(exc: BaseException) -> bool:
    import ssl

    seen: BaseException | None = exc
    for _ in range(8):  # httpx wraps httpcore's error, which wraps ssl's
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _json_object(body: bytes) -> Mapping[str, Any]:
    if not body or len(body) > MAX_BODY:
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def number(value: object) -> float | None:
    """A JSON number that is not a bool."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
