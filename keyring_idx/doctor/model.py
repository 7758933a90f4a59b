"""What ``idx-auth doctor`` knows: the facts it gathered and the verdicts it reaches.

Pure values. Facts are gathered by :mod:`keyring_idx.doctor.gather` and
:mod:`keyring_idx.doctor.network`; the checks in :mod:`keyring_idx.doctor.local_checks` and
:mod:`keyring_idx.doctor.index_checks` turn them into :class:`Check` records. No fact holds a
secret: only whether one exists, and which username goes with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from keyring_idx.resolver.config import PYPI_URL, Authenticate, Index

Verdict = Literal["ok", "warn", "fail"]
VERDICTS: tuple[Verdict, ...] = ("ok", "warn", "fail")

#: The keyring backend class this project installs, as keyring names it.
OURS = "keyring_idx.backend.IdxKeyring"


@dataclass(frozen=True, slots=True)
class Check:
    """One step of the chain: its verdict, what was seen, and (unless ok) how to fix it."""

    name: str
    verdict: Verdict
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "verdict": self.verdict, "detail": self.detail, "fix": self.fix}


# --- the store and the agent ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """A store entry as doctor may show it: where, for whom, which scheme. Never the secret."""

    service: str
    username: str | None
    scheme: str  # "basic" or "bearer"

    @property
    def who(self) -> str:
        return f"{self.username}@{self.service}" if self.username else self.service


@dataclass(frozen=True, slots=True)
class StoreFacts:
    """What doctor found about the credential store file."""

    path: str
    exists: bool
    key_source: str | None = None  # None: no header yet (nothing stored)
    entries: int = 0
    error: str | None = None  # cannot read, parse or unwrap: the store's own message
    locked: bool = False  # a passphrase store that cannot be opened without a prompt
    unreadable_secrets: tuple[str, ...] = ()  # user@service of entries that fail to decrypt
    expired: tuple[str, ...] = ()  # user@service of entries whose expires-at has passed


@dataclass(frozen=True, slots=True)
class FileFacts:
    """Our directories and files held to the private-file rule (owner, mode, no symlink)."""

    checked: int
    problems: tuple[str, ...] = ()  # each names the path, what is wrong and the fix


@dataclass(frozen=True, slots=True)
class UvPlaintextFacts:
    """uv's own plaintext ``credentials.toml`` (``uv auth login``), which uv reads before
    keyring."""

    path: str
    services: tuple[str, ...] = ()  # user@service of its entries; never their secrets
    error: str | None = None  # unreadable or invalid (uv then ignores it for installs)
    differing: tuple[str, ...] = ()  # entries whose secret is not the one our store holds


@dataclass(frozen=True, slots=True)
class AgentFacts:
    """What doctor found about the agent on its socket."""

    socket: str
    running: bool
    locked: bool | None = None
    pid: int | None = None
    last_error: str | None = None
    problem: str | None = None  # the agent answered with an error, or the socket is not ours


# --- keyring --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backend:
    """A keyring backend as keyring lists it."""

    name: str  # module.Class
    priority: float | None = None


@dataclass(frozen=True, slots=True)
class KeyringFacts:
    """The ``keyring`` uv would run and what it selects."""

    command: str | None  # first `keyring` on PATH; None when there is none
    python: str | None = None  # the interpreter its shebang names
    selected: str | None = None  # module.Class of keyring.get_keyring()
    chain: tuple[Backend, ...] = ()  # the chainer's backends, in the order it asks them
    env_backend: str | None = None  # PYTHON_KEYRING_BACKEND as that keyring sees it
    config_file: str | None = None  # keyringrc.cfg path of that keyring
    config_backend: str | None = None  # its [backend] default-keyring
    imports_ours: bool | None = None  # can that python import keyring_idx?
    error: str | None = None  # the probe failed: timeout, no such interpreter, import error
    timed_out: bool = False


# --- uv's settings --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderFacts:
    """uv's ``keyring-provider`` and where it was set."""

    value: str | None
    origin: str | None = None
    pip_only: bool = False  # set only under [pip]: applies to `uv pip`, not to lock/sync
    private_indexes: int = 0  # configured indexes other than PyPI
    store_indexes: int = 0  # indexes whose credential can only come from the store (keyring)


@dataclass(frozen=True, slots=True)
class IndexFacts:
    """One configured index and every credential uv (and our store) could have for it."""

    index: Index
    env_username: str | None = None  # UV_INDEX_<NAME>_USERNAME
    env_password: bool = False  # UV_INDEX_<NAME>_PASSWORD is set
    url_username: str | None = None
    url_password: bool = False
    netrc_login: str | None = None  # a netrc entry for the host (uv asks netrc before keyring)
    # What the store answers for the index URL: per stored username, the credential uv's
    # keyring lookup with that username would get (longest prefix).
    store: tuple[StoredCredential, ...] = ()
    store_ambiguous: bool = False  # a lookup without username finds several, equally long
    store_error: str | None = None

    @property
    def label(self) -> str:
        return self.index.name or self.index.display_url

    @property
    def authenticate(self) -> Authenticate:
        return self.index.authenticate

    @property
    def is_pypi(self) -> bool:
        return self.index.display_url.rstrip("/") == PYPI_URL


# --- the network ----------------------------------------------------------------------------

ProbeError = Literal["tls", "connect", "missing-credentials", "setup", "other"]


@dataclass(frozen=True, slots=True)
class ProbeFacts:
    """One authenticated request to an index, made the way the resolver (and uv) would."""

    label: str
    url: str  # the URL asked, without userinfo
    target: Literal["root", "project"]
    status: int | None = None
    credential: str = "none"  # url, env, netrc, store, none: what went with the last request
    error: ProbeError | None = None
    message: str = ""  # the error, for a person (no secret)
    has_credentials: bool = False  # anything configured or stored for this index
    index_url: str = ""  # the index's URL, without userinfo: what `idx-auth login` takes
    stored_usernames: tuple[str, ...] = ()  # when the store holds several for the index


@dataclass(frozen=True, slots=True)
class Collision:
    """A dependency served by one index whose name also exists on later ones."""

    package: str
    served_by: str  # label of the index uv takes it from
    served_by_name: str | None  # that index's name, for a tool.uv.sources pin
    also_on: tuple[str, ...]  # labels of later indexes that have the name too
