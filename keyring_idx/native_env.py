"""Which environment variables hand each tool its index credentials natively. Pure.

uv, poetry, twine, hatch and pdm all read a username and password for an index from the
environment, with no keyring subprocess and no plugin. ``idx-auth run`` and ``idx-auth env``
find the URL each variable pair is for (a :class:`Target`), look the credential up once, and
set the pair (:func:`plan`). Nothing here does I/O: the lookup is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from keyring_idx.resolver.config import env_name, strip_userinfo
from store.credential import Ambiguous, Credential

#: ``(url, username or None)`` -> what the store holds for it (:func:`store.access.get_credential`).
Lookup = Callable[[str, str | None], Credential | Ambiguous | None]


@dataclass(frozen=True, slots=True)
class Target:
    """One variable pair a tool reads, and the URL whose credential fills it."""

    tool: str  # who reads it: "uv", "poetry", "twine", "uv publish", "hatch", "pdm"
    label: str  # the index / source name, or "upload"
    url: str  # without userinfo
    username_var: str
    password_var: str
    username: str | None = None  # fixed by the configuration (URL userinfo)

    def describe(self) -> str:
        return f"{self.tool} {self.label} ({self.url})"


@dataclass(frozen=True, slots=True)
class Plan:
    """The variables to set (values are secrets: never print them) and, per target left
    alone, why."""

    variables: Mapping[str, str] = field(default_factory=dict, repr=False)
    skipped: tuple[tuple[Target, str], ...] = ()

    @property
    def names(self) -> list[str]:
        return list(self.variables)


def uv_stem(index_name: str) -> str:
    """uv's ``UV_INDEX_<NAME>_`` stem."""
    return f"UV_INDEX_{env_name(index_name)}_"


def poetry_stem(source_name: str) -> str:
    """poetry's ``POETRY_HTTP_BASIC_<SOURCE>_`` stem (its config keys as variables)."""
    return "POETRY_HTTP_BASIC_" + source_name.upper().replace("-", "_").replace(".", "_") + "_"


def split_userinfo(url: str) -> tuple[str, str | None]:
    """The URL without userinfo, and the username in it (percent-decoded), if any."""
    user = urlsplit(url).username
    return strip_userinfo(url), unquote(user) if user else None


def uv_targets(indexes: Iterable[tuple[str | None, str, str]]) -> list[Target]:
    """Targets for uv's indexes ``(name, url, authenticate)`` in uv's order; the first index
    of a name wins (uv's rule); indexes without a name or with ``authenticate = "never"``
    get no variables (uv reads ``UV_INDEX_<NAME>_*`` only for named ones)."""
    seen: set[str] = set()
    out: list[Target] = []
    for name, url, authenticate in indexes:
        if name is None or name in seen or authenticate == "never":
            continue
        seen.add(name)
        bare, user = split_userinfo(url)
        stem = uv_stem(name)
        out.append(Target("uv", name, bare, stem + "USERNAME", stem + "PASSWORD", user))
    return out


def poetry_targets(sources: Iterable[tuple[str, str]]) -> list[Target]:
    """Targets for ``[[tool.poetry.source]]`` ``(name, url)`` entries."""
    out: list[Target] = []
    for name, url in sources:
        bare, user = split_userinfo(url)
        stem = poetry_stem(name)
        out.append(Target("poetry", name, bare, stem + "USERNAME", stem + "PASSWORD", user))
    return out


#: Upload tools and the pair each reads: (tool, username variable, password variable).
UPLOADERS = (
    ("twine", "TWINE_USERNAME", "TWINE_PASSWORD"),
    ("uv publish", "UV_PUBLISH_USERNAME", "UV_PUBLISH_PASSWORD"),
    ("hatch", "HATCH_INDEX_USER", "HATCH_INDEX_AUTH"),
    ("pdm", "PDM_PUBLISH_USERNAME", "PDM_PUBLISH_PASSWORD"),
)


def upload_targets(url: str | None) -> list[Target]:
    """Targets for the upload tools, when the upload URL is known."""
    if not url:
        return []
    bare, user = split_userinfo(url)
    return [Target(tool, "upload", bare, u, p, user) for tool, u, p in UPLOADERS]


#: Options that may name the upload URL on an upload tool's command line: twine's
#: ``--repository-url``, uv publish's ``--publish-url``, hatch publish's ``--repo`` and pdm
#: publish's ``-r/--repository`` (the last two take a name too: only URLs count).
_UPLOAD_URL_OPTIONS = ("--repository-url", "--publish-url", "--repo", "--repository", "-r")


def upload_url(command: Sequence[str], env: Mapping[str, str]) -> str | None:
    """The upload URL the command will use, when it can be known: an http(s) URL after one
    of :data:`_UPLOAD_URL_OPTIONS` on its command line, else ``TWINE_REPOSITORY_URL`` /
    ``UV_PUBLISH_URL`` / ``HATCH_INDEX_REPO`` in the environment."""
    items = iter(command)
    for arg in items:
        name, eq, value = arg.partition("=")
        if name in _UPLOAD_URL_OPTIONS:
            candidate = value if eq else next(items, "")
            if candidate.startswith(("http://", "https://")):
                return candidate
    for var in ("TWINE_REPOSITORY_URL", "UV_PUBLISH_URL", "HATCH_INDEX_REPO"):
        value = env.get(var, "")
        if value.startswith(("http://", "https://")):
            return value
    return None


def plan(targets: Iterable[Target], lookup: Lookup, env: Mapping[str, str]) -> Plan:
    """Look each target's credential up (once per URL and username) and set its pair.

    A pair the environment already sets in full is left as it is; a username the
    environment (or the URL) gives selects the credential; a target with no stored
    credential, several usernames to choose from, or only a bearer token (these variables
    carry a username and a password) is skipped with the reason.
    """
    variables: dict[str, str] = {}
    skipped: list[tuple[Target, str]] = []
    cache: dict[tuple[str, str | None], Credential | Ambiguous | None] = {}
    for target in targets:
        given_user = env.get(target.username_var) or None
        if given_user is not None and env.get(target.password_var):
            skipped.append((target, f"{target.password_var} is already set"))
            continue
        username = given_user or target.username
        key = (target.url, username)
        if key not in cache:
            cache[key] = lookup(target.url, username)
        found = cache[key]
        if isinstance(found, Ambiguous):
            names = ", ".join(found.usernames)
            skipped.append(
                (target, f"several usernames are stored ({names}); set {target.username_var}")
            )
            continue
        if found is None or found.secret is None:
            who = f" for {username}" if username else ""
            skipped.append((target, f"no stored credential{who}"))
            continue
        if found.username is None or found.scheme == "bearer":
            skipped.append((target, "only a bearer token is stored; these variables need a user"))
            continue
        variables[target.username_var] = found.username
        variables[target.password_var] = found.secret
    return Plan(variables, tuple(skipped))
