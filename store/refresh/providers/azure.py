"""``azure``: Microsoft Entra tokens through azure-identity (extra ``azure``), for Azure
Artifacts.

With a ``client-secret`` (plus ``tenant-id`` and ``client-id``) it signs in as that service
principal; without, it uses ``DefaultAzureCredential`` (environment, workload or managed
identity, the Azure CLI's login, ...). The default scope is Azure DevOps'; Azure Artifacts
accepts any username with the token as password, ``VssSessionToken`` by convention.
"""

from __future__ import annotations

import re
from typing import Any

from store.refresh.errors import ProviderConfigError, ProviderUnavailableError, TokenFetchError
from store.refresh.providers.base import (
    DEFAULT_TIMEOUT,
    FetchContext,
    seconds_setting,
)
from store.refresh.spec import ProviderSpec
from store.refresh.token import Token

NAME = "azure"
USERNAME = "VssSessionToken"
DEVOPS_SCOPE = "499b84ac-1321-427f-aa17-267ca6975798/.default"


class AzureProvider:
    name = NAME
    default_username: str | None = USERNAME

    def check(self, spec: ProviderSpec) -> None:
        if spec.secret("client-secret"):
            for key in ("tenant-id", "client-id"):
                if not spec.get(key):
                    raise ProviderConfigError(
                        NAME, f"a client secret needs the setting {key!r} too (--{key})"
                    )
        authority = spec.get("authority")
        if authority and authority.startswith("http://"):
            raise ProviderConfigError(NAME, "the authority must be an https URL or a host name")
        seconds_setting(spec, "timeout", DEFAULT_TIMEOUT, low=0.1, high=600)

    def fetch(self, spec: ProviderSpec, ctx: FetchContext) -> Token:
        try:
            import azure.core.exceptions
            import azure.identity
        except ImportError:
            raise ProviderUnavailableError(NAME, "azure", "azure-identity") from None
        import logging

        # azure-identity logs each failure as a warning; without a handler of the caller's,
        # Python's last-resort handler would print it beside our own message.
        logging.getLogger("azure.identity").addHandler(logging.NullHandler())
        timeout = seconds_setting(spec, "timeout", DEFAULT_TIMEOUT, low=0.1, high=600)
        scope = spec.get("scope") or DEVOPS_SCOPE
        errors = azure.core.exceptions
        # Our scheduler retries; azure-core's own three retries would only delay the report.
        options: dict[str, Any] = {
            "connection_timeout": timeout,
            "read_timeout": timeout,
            "retry_total": 1,
        }
        authority = spec.get("authority")
        if authority:
            # A private or test authority: Microsoft's instance discovery cannot vouch for it.
            options.update(authority=authority, disable_instance_discovery=True)
        secret = spec.secret("client-secret")
        try:
            credential: Any
            if secret:
                credential = azure.identity.ClientSecretCredential(
                    spec.require("tenant-id"), spec.require("client-id"), secret, **options
                )
            else:
                credential = azure.identity.DefaultAzureCredential(**options)
            with credential:
                answer = credential.get_token(scope)
        except errors.ClientAuthenticationError as exc:
            raise TokenFetchError(
                NAME,
                f"no token for {scope} from Microsoft Entra ({_said(exc)}); check the tenant, "
                "client id and secret (or run 'az login') and that the authority is reachable",
            ) from None
        except errors.ServiceRequestError as exc:
            raise TokenFetchError(
                NAME, f"cannot reach Microsoft Entra ({_said(exc)}); check the network"
            ) from None
        except errors.AzureError as exc:
            raise TokenFetchError(NAME, f"azure-identity failed: {_said(exc)}") from None
        except ValueError as exc:
            # azure-identity validates its arguments (authority, tenant id) with ValueError.
            raise ProviderConfigError(NAME, _said(exc)) from None
        if not answer.token:
            raise TokenFetchError(NAME, "azure-identity returned an empty token")
        from datetime import UTC, datetime

        return Token(answer.token, datetime.fromtimestamp(answer.expires_on, UTC), ctx.now)


def _said(exc: BaseException) -> str:
    # Microsoft Entra's answer is its own text; only its AADSTS error codes are kept.
    codes = sorted(set(re.findall(r"\bAADSTS[0-9]{1,8}\b", str(exc))))
    return f"{type(exc).__name__}, {', '.join(codes[:3])}" if codes else type(exc).__name__


PROVIDER = AzureProvider()
