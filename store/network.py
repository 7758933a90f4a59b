"""What decides how every HTTP client connects: trust roots, client certificate, time-out.

Like uv: ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` replace the bundled roots; ``system_certs`` (uv's
``--system-certs`` / ``UV_SYSTEM_CERTS``) uses the platform trust store through the optional
``truststore`` package (extra ``keyring-idx[system-certs]``); ``SSL_CLIENT_CERT`` names a PEM
file with a client certificate and its key. Shared by the httpx clients (:mod:`store.http`) and
the resolver's own connections, and free of httpx, so importing it costs nothing.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

from store.errors import StoreError

DEFAULT_TIMEOUT = 30.0
_TRUE = frozenset({"1", "true", "yes", "on"})


class NetworkConfigError(StoreError):
    """TLS settings that cannot be applied: a missing CA or client-certificate file, no extra."""


@dataclass(frozen=True, slots=True)
class NetworkSettings:
    """What decides how a client connects; built once from flags, settings and environment."""

    system_certs: bool = False
    ca_file: str | None = None
    ca_dir: str | None = None
    client_cert: str | None = None
    # The client certificate's key when it is a file of its own (Vault's VAULT_CLIENT_KEY);
    # None: the key is in ``client_cert``'s PEM file.
    client_key: str | None = None

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, system_certs: bool = False
    ) -> NetworkSettings:
        env = os.environ if env is None else env
        return cls(
            system_certs=system_certs
            or env.get("UV_SYSTEM_CERTS", "").strip().lower() in _TRUE
            or env.get("UV_NATIVE_TLS", "").strip().lower() in _TRUE,
            ca_file=env.get("SSL_CERT_FILE") or None,
            ca_dir=env.get("SSL_CERT_DIR") or None,
            client_cert=env.get("SSL_CLIENT_CERT") or None,
        )


def ssl_context(settings: NetworkSettings) -> ssl.SSLContext:
    """A verifying context with the trust roots and client certificate the settings name."""
    if settings.system_certs:
        try:
            import truststore
        except ImportError:
            raise NetworkConfigError(
                "system certificates were requested (--system-certs, UV_SYSTEM_CERTS or "
                "system-certs = true) but the truststore package is missing; "
                "install it with: pip install 'keyring-idx[system-certs]'"
            ) from None
        ctx: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if settings.ca_file or settings.ca_dir:
            _load_roots(ctx, settings)
    elif settings.ca_file or settings.ca_dir:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        _load_roots(ctx, settings)
    else:
        import certifi

        ctx = ssl.create_default_context(cafile=certifi.where())
    if settings.client_cert:
        try:
            ctx.load_cert_chain(settings.client_cert, settings.client_key)
        except (OSError, ssl.SSLError) as exc:
            if settings.client_key:
                raise NetworkConfigError(
                    f"client certificate {settings.client_cert} with key {settings.client_key}: "
                    f"cannot load them ({_reason(exc)}); both must be PEM files that match"
                ) from None
            raise NetworkConfigError(
                f"SSL_CLIENT_CERT={settings.client_cert}: cannot load a certificate and key "
                f"from it ({_reason(exc)}); it must be one PEM file with both"
            ) from None
    return ctx


def _load_roots(ctx: ssl.SSLContext, settings: NetworkSettings) -> None:
    for label, cafile, capath in (
        ("SSL_CERT_FILE", settings.ca_file, None),
        ("SSL_CERT_DIR", None, settings.ca_dir),
    ):
        if cafile is None and capath is None:
            continue
        try:
            ctx.load_verify_locations(cafile=cafile, capath=capath)
        except (OSError, ssl.SSLError) as exc:
            raise NetworkConfigError(
                f"{label}={cafile or capath}: cannot load CA certificates ({_reason(exc)}); "
                "point it at a PEM bundle or a hashed certificate directory"
            ) from None


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or getattr(exc, "reason", None) or type(exc).__name__
