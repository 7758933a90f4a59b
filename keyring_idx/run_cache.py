"""What ``idx-auth run`` found in the project's configuration, remembered between runs.

Reading uv's settings means tomllib, the resolver's settings code and their imports: several
times the cost of everything else ``run`` does, and ``run`` sits in front of every uv command.
After a full run the targets (index names, URLs without userinfo, variable names -- never a
secret) are kept in ``run-targets.json`` in the agent's runtime directory (0700, usually a
tmpfs), keyed by the project directory, the command line and the environment variables that
decide the settings, and valid as long as every configuration file uv could read stats the
same (missing files included). :mod:`keyring_idx.cli.quick` uses them when they are valid;
anything else is a miss and the full command runs (and writes them anew).

Standard library only, and light: :mod:`store.leanjson` (no :mod:`json`, :mod:`re`), no
hashing module (passwords inside URLs are cut out of the key instead: they decide no target).
"""

from __future__ import annotations

import os
import time

from store import leanjson

TYPE_CHECKING = False  # see store.agent.wire: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

FILE = "run-targets.json"
VERSION = 1
MAX_ENTRIES = 32
# A file changed twice within the clock's resolution could keep its stat; the agent trusts a
# stat only for files older than this, and so does the cache.
SETTLE_SECONDS = 2.0
# Variables that decide which settings uv reads (credentials are read live, not cached).
_KEY_PREFIXES = ("UV_", "TWINE_", "HATCH_", "XDG_CONFIG_")
_LIVE_SUFFIXES = ("_USERNAME", "_PASSWORD", "_USER", "_AUTH")

#: One target as stored: tool, label, url, username variable, password variable, username.
Row = tuple[str, str, str, str, str, "str | None"]


def _hide(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` in it removed."""
    out: list[str] = []
    rest = text
    while (start := rest.find("://")) >= 0:
        out.append(rest[: start + 3])
        rest = rest[start + 3 :]
        end = len(rest)
        for stop in "/?#":
            at = rest.find(stop)
            if 0 <= at < end:
                end = at
        netloc, rest = rest[:end], rest[end:]
        userinfo, at_sign, host = netloc.rpartition("@")
        if at_sign:
            netloc = f"{userinfo.partition(':')[0]}:@{host}"
        out.append(netloc)
    out.append(rest)
    return "".join(out)


def key(project_dir: str, command: Sequence[str], env: Mapping[str, str]) -> str:
    """Everything the targets depend on besides files, with any password in a URL removed."""
    settings = sorted(
        (name, _hide(value))
        for name, value in env.items()
        if name.startswith(_KEY_PREFIXES) and not name.endswith(_LIVE_SUFFIXES)
    )
    # repr of strings and tuples: exact and unambiguous, with no encoder to import.
    return repr((project_dir, tuple(_hide(a) for a in command), env.get("HOME", ""), *settings))


def config_paths(project_dir: str, env: Mapping[str, str]) -> list[str]:
    """Every file uv's settings (and poetry's sources) could come from: a superset of what
    :func:`keyring_idx.resolver.config_files.read_layers` and ``read_pyproject`` read."""
    paths: list[str] = []
    directory = project_dir
    while True:
        paths += [os.path.join(directory, "uv.toml"), os.path.join(directory, "pyproject.toml")]
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    home = env.get("HOME") or os.path.expanduser("~")
    config_home = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    paths.append(os.path.join(config_home, "uv", "uv.toml"))
    for base in (env.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":"):
        if base:
            paths.append(os.path.join(base, "uv", "uv.toml"))
    paths.append("/etc/uv/uv.toml")
    if env.get("UV_CONFIG_FILE"):
        paths.append(env["UV_CONFIG_FILE"])
    return paths


def _stat(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino]


def snapshot(paths: Sequence[str]) -> list[list[object]] | None:
    """``[path, stat]`` per path; None when a file is too fresh to trust its stat."""
    settled = time.time_ns() - int(SETTLE_SECONDS * 1e9)
    out: list[list[object]] = []
    for path in paths:
        try:
            st = _stat(path)
        except OSError:
            return None
        if st is not None and st[0] > settled:
            return None
        out.append([path, st])
    return out


def load(runtime_dir: str, cache_key: str, paths: Sequence[str]) -> list[Row] | None:
    """The remembered targets for ``cache_key`` if every file still stats the same."""
    try:
        with open(os.path.join(runtime_dir, FILE), encoding="utf-8") as fh:
            doc = leanjson.loads(fh.read())
    except (OSError, ValueError):
        return None
    entries = doc.get("entries") if isinstance(doc, dict) and doc.get("v") == VERSION else None
    if not isinstance(entries, list):
        return None
    for entry in entries:
        if isinstance(entry, dict) and entry.get("key") == cache_key:
            files = entry.get("files")
            if files != snapshot(paths) or files is None:
                return None
            return _rows(entry.get("targets"))
    return None


#: The variable families ``run`` sets (keyring_idx.native_env); a remembered row naming any
#: other variable is not ours.
_VARIABLE_PREFIXES = (
    "UV_INDEX_",
    "POETRY_HTTP_BASIC_",
    "TWINE_",
    "UV_PUBLISH_",
    "HATCH_INDEX_",
    "PDM_PUBLISH_",
)
_VARIABLE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _variable(name: str) -> bool:
    return name.startswith(_VARIABLE_PREFIXES) and set(name) <= _VARIABLE_CHARS


def _rows(raw: object) -> list[Row] | None:
    if not isinstance(raw, list):
        return None
    rows: list[Row] = []
    for item in raw:
        if not (
            isinstance(item, list)
            and len(item) == 6
            and all(isinstance(v, str) for v in item[:5])
            and (item[5] is None or isinstance(item[5], str))
            and _variable(item[3])
            and _variable(item[4])
        ):
            return None
        rows.append((item[0], item[1], item[2], item[3], item[4], item[5]))
    return rows


def save(runtime_dir: str, cache_key: str, paths: Sequence[str], rows: Sequence[Row]) -> None:
    """Remember ``rows`` (best effort: a cache that cannot be written is no cache)."""
    files = snapshot(paths)
    if files is None or not os.path.isdir(runtime_dir):
        return
    path = os.path.join(runtime_dir, FILE)
    try:
        with open(path, encoding="utf-8") as fh:
            doc = leanjson.loads(fh.read())
        entries = [e for e in doc["entries"] if isinstance(e, dict) and e.get("key") != cache_key]
    except (OSError, ValueError, KeyError, TypeError):
        entries = []
    entries = [{"key": cache_key, "files": files, "targets": [list(r) for r in rows]}, *entries]
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(leanjson.dumps({"v": VERSION, "entries": entries[:MAX_ENTRIES]}))
        os.replace(tmp, path)
    except OSError:
        import contextlib

        with contextlib.suppress(OSError):
            os.unlink(tmp)
