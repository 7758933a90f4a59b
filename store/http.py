"""The one place httpx clients are made, so every request honours the network the user has.

The settings (trust roots, client certificate) are :mod:`store.network`'s; proxies come from
the environment (``HTTPS_PROXY``, ``NO_PROXY``, ...); ``insecure`` turns verification off for
hosts the user allowed. The resolver's page fetches use their own connections
(:mod:`keyring_idx.resolver.connections`) over the same settings.
"""

from __future__ import annotations

import logging
import ssl

import httpx

from store.network import (
    DEFAULT_TIMEOUT,
    NetworkConfigError,
    NetworkSettings,
    ssl_context,
)

__all__ = ["DEFAULT_TIMEOUT", "NetworkConfigError", "NetworkSettings", "make_client", "ssl_context"]


class _RequestLogRedactor(logging.Filter):
    """httpx logs every request with its full URL at INFO ("HTTP Request: POST URL ..."); a
    token endpoint's or an index's URL may carry a secret in its query or userinfo. Its
    records keep only scheme, host, port and path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _bare(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


def _bare(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}{url.path}"


# Installed once, on the logger itself, so every client (ours or one a caller hands in) and
# every handler an application configures see only the redacted form.
if not any(isinstance(f, _RequestLogRedactor) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_RequestLogRedactor())


def make_client(
    settings: NetworkSettings,
    *,
    insecure: bool = False,
    tls: bool = True,
    context: ssl.SSLContext | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_connections: int = 10,
    transport: httpx.BaseTransport | None = None,
    proxy: str | None = None,
) -> httpx.Client:
    """A client for one host (its own connection pool). Redirects are not followed here:
    callers that send credentials must decide per hop what goes along. ``tls=False`` is for a
    client that only ever talks to one plain-http origin. Pass ``context`` (from
    :func:`ssl_context`) to share one across clients; building one reads the CA bundle.
    ``proxy`` replaces the environment's proxies (Vault's own ``VAULT_PROXY_ADDR``)."""
    # No TLS to verify (or the user allowed the host): skip loading the CA bundle, which
    # costs more than a dozen page requests.
    verify = False if insecure or not tls else context or ssl_context(settings)
    return httpx.Client(
        verify=verify,
        trust_env=proxy is None,  # proxies from HTTP(S)_PROXY / ALL_PROXY / NO_PROXY
        proxy=proxy,
        timeout=timeout,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=max_connections),
        transport=transport,  # None: httpx's own, with the settings above
    )
