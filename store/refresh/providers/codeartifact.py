"""``codeartifact``: AWS CodeArtifact authorization tokens through botocore (extra ``aws``).

Domain, owner and region come from the index URL at login
(``https://DOMAIN-OWNER.d.codeartifact.REGION.amazonaws.com/pypi/REPO/simple/``); the index
expects the username ``aws``. AWS credentials come from botocore's usual chain (environment,
``~/.aws``, SSO, instance role), optionally a named ``profile``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from store.refresh.errors import ProviderConfigError, ProviderUnavailableError, TokenFetchError
from store.refresh.providers.base import (
    DEFAULT_TIMEOUT,
    FetchContext,
    aware,
    error_code,
    seconds_setting,
    shown_url,
    token_after,
)
from store.refresh.spec import ProviderSpec
from store.refresh.token import Token

NAME = "codeartifact"
USERNAME = "aws"
MIN_DURATION = 900  # the API takes 0 (= the role session's end) or 900..43200 seconds
MAX_DURATION = 43200
DEFAULT_DURATION = MAX_DURATION

_HOST = re.compile(
    r"^(?P<domain>[a-z][a-z0-9-]{0,49})-(?P<owner>\d{12})"
    r"\.d\.codeartifact\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.(?:amazonaws\.com(?:\.cn)?|on\.aws)$"
)
_PATH = re.compile(r"^/(?P<format>[a-z]+)/(?P<repo>[A-Za-z0-9._-]+)(?:/.*)?$")


@dataclass(frozen=True, slots=True)
class Repository:
    """A CodeArtifact repository, read from its endpoint URL."""

    domain: str
    owner: str
    region: str
    repository: str | None


def parse_index_url(url: str) -> Repository:
    """Domain, owner, region (and repository) from a CodeArtifact index URL (pure)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    match = _HOST.match(host)
    if parts.scheme != "https" or match is None:
        raise ProviderConfigError(
            NAME,
            f"{shown_url(url)} is not a CodeArtifact index URL; expected "
            "https://DOMAIN-OWNER.d.codeartifact.REGION.amazonaws.com/pypi/REPO/simple/",
        )
    path = _PATH.match(parts.path or "/")
    return Repository(
        domain=match["domain"],
        owner=match["owner"],
        region=match["region"],
        repository=path["repo"] if path else None,
    )


def spec_for_index(
    url: str,
    *,
    duration: int | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
) -> ProviderSpec:
    """The spec that refreshes tokens for the CodeArtifact index at ``url``."""
    repo = parse_index_url(url)
    spec = ProviderSpec.build(
        NAME,
        {
            "domain": repo.domain,
            "domain-owner": repo.owner,
            "region": repo.region,
            "duration": None if duration is None else str(duration),
            "profile": profile,
            "endpoint-url": endpoint_url,
        },
    )
    PROVIDER.check(spec)
    return spec


def _duration(spec: ProviderSpec) -> int:
    raw = spec.get("duration")
    if raw is None:
        return DEFAULT_DURATION
    if not raw.isdigit() or not (int(raw) == 0 or MIN_DURATION <= int(raw) <= MAX_DURATION):
        raise ProviderConfigError(
            NAME,
            f"duration must be 0 or between {MIN_DURATION} and {MAX_DURATION} seconds "
            f"(15 minutes to 12 hours), not {raw!r}",
        )
    return int(raw)


class CodeArtifactProvider:
    name = NAME
    default_username: str | None = USERNAME

    def check(self, spec: ProviderSpec) -> None:
        for key in ("domain", "domain-owner", "region"):
            spec.require(key)
        _duration(spec)
        seconds_setting(spec, "timeout", DEFAULT_TIMEOUT, low=0.1, high=600)

    def fetch(self, spec: ProviderSpec, ctx: FetchContext) -> Token:
        try:
            import botocore.config
            import botocore.exceptions
            import botocore.session
        except ImportError:
            raise ProviderUnavailableError(NAME, "aws", "botocore") from None
        duration = _duration(spec)
        timeout = seconds_setting(spec, "timeout", DEFAULT_TIMEOUT, low=0.1, high=600)
        domain = spec.require("domain")
        where = f"domain {domain!r} (owner {spec.require('domain-owner')})"
        errors = botocore.exceptions
        try:
            session = botocore.session.Session(profile=spec.get("profile"))
            client = session.create_client(
                "codeartifact",
                region_name=spec.require("region"),
                endpoint_url=spec.get("endpoint-url"),
                config=botocore.config.Config(
                    connect_timeout=timeout,
                    read_timeout=timeout,
                    retries={"max_attempts": 2, "mode": "standard"},
                ),
            )
            answer: dict[str, Any] = client.get_authorization_token(
                domain=domain, domainOwner=spec.require("domain-owner"), durationSeconds=duration
            )
        except errors.NoCredentialsError:
            raise TokenFetchError(
                NAME,
                "no AWS credentials found; run 'aws configure' or 'aws sso login', or set "
                "AWS_PROFILE (or the profile setting)",
            ) from None
        except errors.ProfileNotFound:
            raise TokenFetchError(
                NAME, f"the AWS profile {spec.get('profile')!r} does not exist in ~/.aws/config"
            ) from None
        except errors.ClientError as exc:
            error = exc.response.get("Error", {})
            # AWS's error code and status only: its message is the service's own text.
            code = error_code(error.get("Code"))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status >= 500 or code in ("ThrottlingException", "InternalServerException"):
                raise TokenFetchError(
                    NAME,
                    f"CodeArtifact failed for {where} ({code}, HTTP {status}); it may "
                    "recover, the refresh is retried",
                ) from None
            raise TokenFetchError(
                NAME,
                f"AWS refused a token for {where} ({code}, HTTP {status}); check that your AWS "
                "identity has codeartifact:GetAuthorizationToken and sts:GetServiceBearerToken",
            ) from None
        except (errors.ConnectTimeoutError, errors.ReadTimeoutError):
            raise TokenFetchError(
                NAME, f"CodeArtifact in {spec.get('region')} did not answer within {timeout:g} s"
            ) from None
        except errors.EndpointConnectionError:
            raise TokenFetchError(
                NAME, f"cannot reach CodeArtifact in {spec.get('region')}; check the network"
            ) from None
        except errors.BotoCoreError as exc:
            raise TokenFetchError(NAME, f"botocore failed: {type(exc).__name__}") from None
        secret = answer.get("authorizationToken")
        if not isinstance(secret, str) or not secret:
            raise TokenFetchError(NAME, f"CodeArtifact answered without a token for {where}")
        expiration = answer.get("expiration")
        if expiration is None or not hasattr(expiration, "tzinfo"):
            return token_after(secret, ctx.now, float(duration or 3600))
        return Token(secret, aware(expiration), issued_at=ctx.now)


PROVIDER = CodeArtifactProvider()
