"""Verdicts per configured index: will uv know a username to ask keyring with, what a live
request says, and whether a dependency is exposed to dependency confusion. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from keyring_idx.doctor.model import (
    Check,
    Collision,
    IndexFacts,
    ProbeFacts,
    StoredCredential,
    Verdict,
)
from keyring_idx.resolver.config import Strategy, env_name

_ALWAYS = 'authenticate = "always"'


def _with_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"{user}@{parts.netloc}", parts.path, parts.query, ""))


def _who(found: Sequence[StoredCredential]) -> str:
    return ", ".join(c.who for c in found)


def _username_fix(f: IndexFacts, user: str, *, or_always: bool = True) -> str:
    """How to tell uv the username ``user`` for this index."""
    if f.index.name is not None:
        export = f"export UV_INDEX_{env_name(f.index.name)}_USERNAME={user}"
        return f"{export}, or {_ALWAYS} in its [[tool.uv.index]] entry" if or_always else export
    return (
        f"put the username in the index URL ({_with_user(f.index.display_url, user)}), or give "
        "the index a name and set UV_INDEX_<NAME>_USERNAME"
    )


def known_username(f: IndexFacts) -> tuple[str | None, str | None, bool]:
    """(username, where from, whether a password came with it) as uv attaches them eagerly:
    ``UV_INDEX_<NAME>_*`` when either is set, else the URL's userinfo."""
    if f.index.name is not None and (f.env_username is not None or f.env_password):
        stem = f"UV_INDEX_{env_name(f.index.name)}_"
        return f.env_username, f"{stem}USERNAME", f.env_password
    if f.url_username is not None or f.url_password:
        return f.url_username, "the index URL", f.url_password
    return None, None, False


def check_username(f: IndexFacts) -> Check:
    """Will uv reach our store for this index: through keyring, which uv asks only when it
    knows a username (or the index says ``authenticate = "always"``)."""
    name = f"username[{f.label}]"
    url = f.index.display_url
    login = f"idx-auth login {url} -u USERNAME"
    if f.index.url.startswith("file:"):
        return Check(name, "ok", "a local directory: no credentials involved")
    if f.authenticate == "never":
        if f.store:
            return Check(
                name,
                "warn",
                f'authenticate = "never": uv sends no credentials, though the store has '
                f"{_who(f.store)}",
                'remove authenticate = "never" from the index if it needs them',
            )
        return Check(name, "ok", 'authenticate = "never": uv sends no credentials')
    user, source, has_password = known_username(f)
    if has_password:
        if source == "the index URL":
            return Check(
                name,
                "warn",
                "uv takes the username and password from the index URL: a secret in plain "
                "text in the configuration",
                f"store it (idx-auth login {url} -u {user or 'USERNAME'}) and keep only "
                "the username in the URL",
            )
        return Check(
            name, "ok", f"uv has a username and password from {source}; it does not ask keyring"
        )
    if f.store_error is not None:
        fix = "use an https:// URL for the index" if "HTTPS" in f.store_error else login
        return Check(name, "warn", f"the store cannot be searched for {url}: {f.store_error}", fix)
    if f.netrc_login is not None and (user is None or user == f.netrc_login):
        if f.store:
            return Check(
                name,
                "warn",
                f"netrc has user {f.netrc_login} for this host and uv asks netrc before keyring, "
                f"so the store's {_who(f.store)} is not used",
                "remove the host's entry from netrc, or the store's",
            )
        return Check(name, "ok", f"uv uses the netrc entry for this host (user {f.netrc_login})")
    basic = [c for c in f.store if c.scheme == "basic"]
    bearer = [c for c in f.store if c.scheme == "bearer"]
    if user is not None:
        mine = [c for c in basic if c.username == user]
        if mine:
            return Check(
                name, "ok", f"uv knows user {user} ({source}) and asks keyring; store: {_who(mine)}"
            )
        if basic:
            other = basic[0].username or ""
            fix = (
                f"export {source}={other}"
                if source and source.startswith("UV_INDEX_")
                else f"use {other}@ in the index URL"
            )
            return Check(
                name,
                "fail",
                f"uv asks keyring for user {user} ({source}), but the store holds {_who(basic)}",
                f"{fix}, or idx-auth login {url} -u {user}",
            )
        if bearer:
            return Check(
                name,
                "fail",
                f"the store holds a bearer token ({_who(bearer)}); through keyring uv can "
                f"only send user {user} with a password",
                f"idx-auth login {url} -u {user} (the token as the password)",
            )
        return Check(
            name,
            "warn",
            f"uv knows user {user} ({source}) but the store has no credential for {url}",
            f"idx-auth login {url} -u {user}",
        )
    if f.authenticate == "always":
        if not f.store:
            return Check(
                name,
                "fail",
                f'{_ALWAYS} but the store has nothing for {url}: uv stops with "Missing '
                'credentials"',
                login,
            )
        if f.store_ambiguous:
            users = ", ".join(c.username or "(token)" for c in f.store)
            return Check(
                name,
                "fail",
                f"uv asks keyring without a username and the store has several ({users})",
                _username_fix(f, f.store[0].username or "USERNAME", or_always=False),
            )
        if not basic:
            return Check(
                name,
                "warn",
                f"{_ALWAYS}, but the store has a bearer token ({_who(bearer)}): keyring hands "
                "it to uv as a password with an empty username",
                f"idx-auth login {url} -u USERNAME (the username the index expects)",
            )
        return Check(
            name,
            "ok",
            f"{_ALWAYS}: uv asks keyring for username and password; store: {_who(basic)}",
        )
    if not f.store:
        if f.is_pypi:
            return Check(name, "ok", "PyPI: no credentials needed")
        return Check(
            name,
            "ok",
            "no credential in the store, environment, netrc or URL: uv asks anonymously "
            "(fine for a public index)",
        )
    if not basic:
        return Check(
            name,
            "fail",
            f"the store has a bearer token ({_who(bearer)}), but uv knows no username for this "
            "index, so it never asks keyring",
            f"idx-auth login {url} -u USERNAME (the token as the password), then "
            + _username_fix(f, "USERNAME"),
        )
    return Check(
        name,
        "fail",
        f"uv knows no username for this index, so it never asks keyring and gets no "
        f"credential (the store has {_who(basic)})",
        _username_fix(f, basic[0].username or "USERNAME"),
    )


_CREDENTIAL = {
    "store": "the store's credential",
    "env": "the UV_INDEX_* credential",
    "url": "the index URL's credential",
    "netrc": "the netrc credential",
    "none": "no credential",
}
_TLS_FIX = (
    "trust the index's CA: export SSL_CERT_FILE=/path/to/ca-bundle.pem, or use the system "
    "store with --system-certs / UV_SYSTEM_CERTS=1 (system-certs = true); uv needs the same"
)


def check_probe(p: ProbeFacts, *, uv_sends_store: bool = True) -> Check:
    """What one live request says. ``uv_sends_store`` False: the username check found that uv
    will not hand the store's credential over, so a success here is ours, not uv's."""
    name = f"probe[{p.label}]"
    # The index, not the page asked: a login there covers every page and file below it.
    login = f"idx-auth login {p.index_url or p.url} -u USERNAME"
    if p.error == "tls":
        return Check(name, "fail", f"{p.url}: {p.message}", _TLS_FIX)
    if p.error == "connect":
        return Check(
            name,
            "fail",
            f"{p.url}: {p.message}",
            "check the URL, DNS and proxy settings (HTTPS_PROXY, NO_PROXY)",
        )
    if p.error == "missing-credentials":
        return Check(name, "fail", f"{_ALWAYS} and no credential for {p.url}", login)
    if p.error is not None or p.status is None:
        return Check(
            name,
            "fail",
            p.message or f"{p.url}: no answer",
            "fix the network settings named in the message",
        )
    cred = _CREDENTIAL.get(p.credential, p.credential)
    sent = p.credential != "none"
    status = p.status
    if 200 <= status < 300:
        how = f"with {cred}" if sent else "anonymously"
        if p.credential == "store" and not uv_sends_store:
            return Check(
                name,
                "warn",
                f"{status} from {p.url} {how}, but uv itself will not send it (see the "
                "username check)",
                "follow the username check's fix",
            )
        return Check(name, "ok", f"{status} from {p.url} {how}")
    if status in (401, 403) and not sent and len(p.stored_usernames) > 1:
        return Check(
            name,
            "fail",
            f"{status} from {p.url}: the store holds several usernames for this index "
            f"({', '.join(p.stored_usernames)}) and nothing says which one to send",
            "tell uv the username (see the username check's fix); nothing to log in again",
        )
    if status == 401:
        if p.credential == "store":
            return Check(
                name,
                "fail",
                f"401 from {p.url} with the store's credential: the secret is wrong or expired",
                f"{login} (or idx-auth refresh, if it has a token provider)",
            )
        if sent:
            return Check(
                name, "fail", f"401 from {p.url} with {cred}: it is wrong or expired", "correct it"
            )
        return Check(
            name,
            "fail",
            f"401 from {p.url}: it needs credentials and the store, netrc, environment and URL "
            "have none",
            login,
        )
    if status == 403:
        if sent:
            return Check(
                name,
                "fail",
                f"403 from {p.url} with {cred}: the account lacks read permission on this "
                "repository, or the token's scope is too narrow",
                "grant read access (or make a token with it), then " + login,
            )
        return Check(name, "fail", f"403 from {p.url} without credentials", login)
    if status == 404:
        what = "the index root" if p.target == "root" else p.url
        if p.has_credentials:
            return Check(
                name,
                "warn",
                f"404 for {what} with {cred}: a wrong URL, or an expired token on a server "
                "that answers 404 instead of 401 (CodeArtifact); uv would go on to the next "
                "index",
                "check the index URL; renew the token: idx-auth refresh, or " + login,
            )
        return Check(name, "warn", f"404 for {what}: check the index URL", "check the index URL")
    if status >= 500:
        return Check(
            name,
            "fail",
            f"{status} from {p.url}: a server error; uv stops on it too",
            "retry later, or ask the index's operators",
        )
    return Check(name, "warn", f"{status} from {p.url} with {cred}", "check the index URL")


def check_strategy(strategy: Strategy) -> Check:
    if strategy == "first-index":
        return Check(
            "index-strategy",
            "ok",
            "first-index: each package comes from the first index that has it",
        )
    return Check(
        "index-strategy",
        "warn",
        f"{strategy}: uv asks every index for every package, so a public package with the "
        "name of a private one can be installed (dependency confusion)",
        "drop the unsafe strategy; pin private packages to their index with tool.uv.sources "
        "and mark that index explicit = true",
    )


def check_confusion(
    collisions: Sequence[Collision], checked: int, pinned: int, strategy: Strategy
) -> list[Check]:
    """One check per exposed dependency, or one saying none is."""
    if not collisions and checked + pinned == 0:
        return [Check("dependency-confusion", "ok", "no [project] dependencies to check")]
    if not collisions:
        return [
            Check(
                "dependency-confusion",
                "ok",
                f"{checked} unpinned dependencies checked ({pinned} pinned): none served by one "
                "index exists on a later one",
            )
        ]
    verdict: Verdict = "warn" if strategy == "first-index" else "fail"
    out: list[Check] = []
    for c in collisions:
        later = ", ".join(c.also_on)
        risk = (
            f"if {c.served_by} ever answers 404 for it (expired token, removed package) uv "
            f"takes it from {later}"
            if strategy == "first-index"
            else f"with {strategy} uv may take it from {later}"
        )
        index = c.served_by_name
        pin = (
            f'[tool.uv.sources] {c.package} = {{ index = "{index}" }} and explicit = true on '
            "that index"
            if index
            else "give the index a name, then pin it in [tool.uv.sources] "
            f'({c.package} = {{ index = "NAME" }})'
        )
        out.append(
            Check(
                f"dependency-confusion[{c.package}]",
                verdict,
                f"{c.package} comes from {c.served_by} and also exists on {later}: {risk}",
                f"pin it: {pin}",
            )
        )
    return out
