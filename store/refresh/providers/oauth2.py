"""``oauth2``: the OAuth 2 client credentials grant (RFC 6749 section 4.4) over httpx.

The client authenticates with HTTP Basic (``client_secret_basic``, the RFC's default) or, with
``auth-method = post``, with the credentials in the form body (``client_secret_post``).
The token endpoint must be https, except on a loopback address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

from store.refresh.errors import ProviderConfigError, TokenFetchError
from store.refresh.providers.base import (
    DEFAULT_TIMEOUT,
    FetchContext,
    error_code,
    seconds_setting,
    shown_url,
    token_after,
)
from store.refresh.spec import ProviderSpec
from store.refresh.token import Token
from store.service import is_loopback_host

if TYPE_CHECKING:
    import httpx

NAME = "oauth2"
DEFAULT_TTL = 3600.0
AUTH_METHODS = ("basic", "post")
MAX_RESPONSE = 64 * 1024


# Query parameters that carry a credential: RFC 6749's and the usual API-key spellings.
SECRET_PARAMS = frozenset(
    {
        "client_secret",
        "client-secret",
        "secret",
        "password",
        "passwd",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "api_key",
        "apikey",
        "api-key",
        "key",
        "assertion",
        "client_assertion",
        "code",
        "sig",
        "signature",
    }
)


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ProviderConfigError(NAME, f"the token URL {shown_url(url)} is not an http(s) URL")
    # The URL is stored in clear beside the entry and shown by status: no secret may ride in it.
    if "@" in parts.netloc:
        raise ProviderConfigError(
            NAME,
            f"the token URL {shown_url(url)} has a user name or password in it; drop it -- "
            "the client id and secret go in --client-id and --client-secret -",
        )
    named = {key.lower() for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    if named & SECRET_PARAMS:
        raise ProviderConfigError(
            NAME,
            f"the token URL {shown_url(url)} carries a secret in its query "
            f"({', '.join(sorted(named & SECRET_PARAMS))}); drop it -- the client secret goes "
            "in --client-secret -",
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ProviderConfigError(
            NAME,
            f"the token URL {shown_url(url)} is plain http; the client secret would cross the "
            "network unencrypted -- use its https URL",
        )


class OAuth2Provider:
    name = NAME
    default_username: str | None = None

    def check(self, spec: ProviderSpec) -> None:
        _check_url(spec.require("token-url"))
        spec.require("client-id")
        if not spec.secret("client-secret"):
            raise ProviderConfigError(NAME, "the client secret is missing; give --client-secret -")
        method = spec.get("auth-method", "basic")
        if method not in AUTH_METHODS:
            raise ProviderConfigError(
                NAME, f"auth-method must be one of {', '.join(AUTH_METHODS)}, not {method!r}"
            )
        seconds_setting(spec, "timeout", DEFAULT_TIMEOUT, low=0.1, high=600)
        seconds_setting(spec, "ttl", DEFAULT_TTL, low=1, high=366 * 86400)

    def fetch(self, spec: ProviderSpec, ctx: FetchContext) -> Token:

        url = spec.require("token-url")
        timeout = seconds_setting(spec, "timeout", DEFAULT_TIMEOUT, low=0.1, high=600)
        client = ctx.http_client
        own = client is None
        if client is None:
            # The one client factory: company CAs, client certificates and proxies apply to
            # token endpoints exactly as to indexes.
            from store.http import NetworkSettings, make_client

            client = make_client(
                NetworkSettings.from_env(),
                tls=url.lower().startswith("https:"),
                timeout=timeout,
                max_connections=2,
            )
        try:
            response = _post(client, spec, url, timeout)
        finally:
            if own:
                client.close()
        return _parse(response, spec, url, ctx)


def _post(client: httpx.Client, spec: ProviderSpec, url: str, timeout: float) -> httpx.Response:
    import httpx

    import store.http  # noqa: F401  (its filter keeps full URLs out of httpx's request log)

    client_id = spec.require("client-id")
    secret = spec.secret("client-secret") or ""
    form = {"grant_type": "client_credentials"}
    for key in ("scope", "audience", "resource"):
        value = spec.get(key)
        if value:
            form[key] = value
    extra: dict[str, Any] = {}
    if spec.get("auth-method", "basic") == "post":
        form["client_id"] = client_id
        form["client_secret"] = secret
    else:
        # RFC 6749 2.3.1: id and secret are form-encoded before Basic encoding.
        extra["auth"] = httpx.BasicAuth(quote_plus(client_id), quote_plus(secret))
    shown = shown_url(url)
    try:
        request = client.build_request(
            "POST", url, data=form, headers={"Accept": "application/json"}, timeout=timeout
        )
        response = client.send(request, stream=True, **extra)
        try:
            # Read at most MAX_RESPONSE: a token answer is small, and a huge one would sit in
            # memory (and then in the store) for nothing.
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_RESPONSE:
                    raise TokenFetchError(
                        NAME,
                        f"the token endpoint {shown} answered more than "
                        f"{MAX_RESPONSE // 1024} KiB; check the token URL",
                    )
        finally:
            response.close()
        # The body is decoded already: of the headers only its media type still applies.
        kind = {"content-type": response.headers.get("content-type", "application/json")}
        return httpx.Response(response.status_code, headers=kind, content=bytes(body))
    except httpx.TimeoutException:
        raise TokenFetchError(
            NAME, f"the token endpoint {shown} did not answer within {timeout:g} s"
        ) from None
    except httpx.HTTPError as exc:
        # The type only: httpx's text can quote the request URL.
        raise TokenFetchError(
            NAME, f"cannot reach the token endpoint {shown} ({type(exc).__name__})"
        ) from None


def _parse(response: httpx.Response, spec: ProviderSpec, url: str, ctx: FetchContext) -> Token:
    shown = shown_url(url)
    data = _json(response)
    status = response.status_code
    if status in (400, 401):
        # RFC 6749 5.2: only the error code is kept. error_description is the endpoint's own
        # text, and a hostile or echoing one puts the client secret there.
        why = error_code(data.get("error") if data is not None else None)
        raise TokenFetchError(
            NAME,
            f"the token endpoint {shown} refused the request (HTTP {status}, {why}); check the "
            "client id, client secret and scope",
        )
    if status >= 500:
        raise TokenFetchError(
            NAME,
            f"the token endpoint {shown} failed with HTTP {status}; it may recover, "
            "the refresh is retried",
        )
    if status != 200:
        raise TokenFetchError(
            NAME, f"the token endpoint {shown} answered HTTP {status}; check the token URL"
        )
    if data is None:
        raise TokenFetchError(
            NAME,
            f"the token endpoint {shown} answered with something that is not JSON; "
            "check the token URL",
        )
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenFetchError(
            NAME, f"the token endpoint {shown} answered JSON without an 'access_token'"
        )
    lifetime = data.get("expires_in")
    if isinstance(lifetime, str) and lifetime.isdigit():
        lifetime = int(lifetime)
    if lifetime is None:
        lifetime = seconds_setting(spec, "ttl", DEFAULT_TTL, low=1, high=366 * 86400)
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
        raise TokenFetchError(NAME, f"the token endpoint {shown} answered an invalid 'expires_in'")
    return token_after(token, ctx.now, float(lifetime))


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


PROVIDER = OAuth2Provider()
