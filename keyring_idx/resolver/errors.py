"""The resolver's exception tree; ``exit_code`` is what ``idx-auth`` exits with. Pure."""

from __future__ import annotations


class ResolverError(Exception):
    """Base of every error the resolver raises."""

    exit_code = 2


class ConfigError(ResolverError):
    """uv settings that cannot be read or make no sense (bad TOML, unknown index name)."""


class IndexRequestError(ResolverError):
    """An index answered in a way uv treats as fatal (a 5xx, a broken page, no connection)."""

    exit_code = 1


class MissingCredentialsError(ResolverError):
    """``authenticate = "always"`` and no credential source had anything for the index."""

    exit_code = 1


class MetadataError(ResolverError):
    """A distribution's metadata could not be had: a broken file, a hash mismatch, a failed
    build, or a dynamic sdist with building switched off (``--no-build``)."""

    exit_code = 1
