"""``gcp``: Google access tokens through google-auth (extra ``gcp``), for Artifact Registry.

Uses Application Default Credentials (``gcloud auth application-default login``,
``GOOGLE_APPLICATION_CREDENTIALS``, or the metadata server on Google Cloud), or the credentials
file named by the ``credentials-file`` setting. Artifact Registry expects the username
``oauth2accesstoken`` with the access token as password.
"""

from __future__ import annotations

from typing import Any

from store.refresh.errors import ProviderConfigError, ProviderUnavailableError, TokenFetchError
from store.refresh.providers.base import (
    DEFAULT_TIMEOUT,
    FetchContext,
    aware,
    error_code,
    seconds_setting,
    token_after,
)
from store.refresh.spec import ProviderSpec
from store.refresh.token import Token

NAME = "gcp"
USERNAME = "oauth2accesstoken"
DEFAULT_SCOPES = "https://www.googleapis.com/auth/cloud-platform"


def _scopes(spec: ProviderSpec) -> list[str]:
    return (spec.get("scopes") or DEFAULT_SCOPES).replace(",", " ").split()


class GcpProvider:
    name = NAME
    default_username: str | None = USERNAME

    def check(self, spec: ProviderSpec) -> None:
        seconds_setting(spec, "timeout", DEFAULT_TIMEOUT, low=0.1, high=600)

    def fetch(self, spec: ProviderSpec, ctx: FetchContext) -> Token:
        try:
            import google.auth
            import google.auth.exceptions
            import google.auth.transport.requests
        except ImportError as exc:
            missing = exc.name or "google-auth"
            module = "requests" if missing.startswith("requests") else "google-auth"
            raise ProviderUnavailableError(NAME, "gcp", module) from None
        timeout = seconds_setting(spec, "timeout", DEFAULT_TIMEOUT, low=0.1, high=600)
        errors = google.auth.exceptions
        path = spec.get("credentials-file")
        base = google.auth.transport.requests.Request

        class TimedRequest(base):  # type: ignore[misc, valid-type]
            # google-auth's default wait is two minutes; the agent must not hang that long.
            def __call__(self, *args: Any, **kwargs: Any) -> Any:
                kwargs.setdefault("timeout", timeout)
                return super().__call__(*args, **kwargs)

        try:
            if path:
                credentials = _from_file(path, _scopes(spec))
            else:
                credentials, _ = google.auth.default(scopes=_scopes(spec))
            credentials.refresh(TimedRequest())
        except errors.DefaultCredentialsError as exc:
            source = f"the credentials file {path}" if path else "application default credentials"
            raise TokenFetchError(
                NAME,
                f"cannot load {source} ({_said(exc)}); run 'gcloud auth application-default "
                "login' or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file",
            ) from None
        except errors.RefreshError as exc:
            raise TokenFetchError(
                NAME,
                f"Google refused to issue an access token ({_said(exc)}); check the account's "
                "permissions, or log in again with 'gcloud auth application-default login'",
            ) from None
        except errors.TransportError as exc:
            raise TokenFetchError(
                NAME, f"cannot reach Google's token service ({_said(exc)}); check the network"
            ) from None
        except errors.GoogleAuthError as exc:
            raise TokenFetchError(NAME, f"google-auth failed: {type(exc).__name__}") from None
        secret = getattr(credentials, "token", None)
        if not isinstance(secret, str) or not secret:
            raise TokenFetchError(NAME, "google-auth returned no access token")
        expiry = getattr(credentials, "expiry", None)
        if expiry is None:
            return token_after(secret, ctx.now, 3600.0)
        return Token(secret, aware(expiry), issued_at=ctx.now)


def _from_file(path: str, scopes: list[str]) -> Any:
    """Credentials from a key file the user named: a service account key or an authorized
    user file (what `gcloud auth application-default login` writes)."""
    import json

    import google.oauth2.credentials
    import google.oauth2.service_account

    try:
        with open(path, encoding="utf-8") as handle:
            kind = json.load(handle).get("type")
    except (OSError, ValueError, AttributeError) as exc:
        why = getattr(exc, "strerror", None) or "not a JSON object"
        raise TokenFetchError(NAME, f"cannot read the credentials file {path}: {why}") from None
    if kind == "service_account":
        return google.oauth2.service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            path, scopes=scopes
        )
    if kind == "authorized_user":
        return google.oauth2.credentials.Credentials.from_authorized_user_file(  # type: ignore[no-untyped-call]
            path, scopes
        )
    raise ProviderConfigError(
        NAME,
        f"{path} holds {kind!r} credentials; name only service account or authorized user "
        "files here, and use GOOGLE_APPLICATION_CREDENTIALS for other kinds",
    )


def _said(exc: BaseException) -> str:
    # google-auth puts its message first ("invalid_grant: <the server's description>") and the
    # parsed server response second. Only the OAuth error code is kept: the rest is the
    # server's own text, which is not ours to store or show.
    first = str(exc.args[0]) if exc.args else ""
    head = first.split(":", 1)[0].strip() if ":" in first else ""
    code = error_code(head, fallback="")
    return f"{type(exc).__name__}, {code}" if code else type(exc).__name__


PROVIDER = GcpProvider()
