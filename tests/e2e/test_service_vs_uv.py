"""Differential tests: store.service against the real uv 0.13.9 binary.

``uv auth login`` shows which key uv stores for an input; ``uv auth token -u USER`` and
``uv auth helper --protocol bazel get`` (no username) show which stored entry uv picks for a
request URL. Each uv run gets its own ``UV_CREDENTIALS_DIR`` under tmp_path; runs go through a
small thread pool because each is a separate short process.
"""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from store.errors import InvalidServiceError
from store.model import Ambiguous
from store.service import covers, parse_login_service, parse_service, parse_stored, select

UV = Path(sys.executable).parent / "uv"

pytestmark = pytest.mark.skipif(not UV.exists(), reason="uv is not installed in the venv")

# Inputs whose stored key we compare with uv's. Secrets in userinfo are fake.
LOGIN_INPUTS = [
    "example.com",
    "Example.COM/Simple",
    "example.com/simple/",
    "https://h/simple",
    "https://h/simple/",
    "https://h:8443/api/pypi/simple/",
    "HTTPS://H:443/A/B/",
    "https://h/a/+simple",
    "https://h/a/+SIMPLE/",
    "https://h/a/SiMpLe",
    "https://h/a/simple/simple",
    "https://h/simple//",
    "https://h/a//",
    "https://h/%73imple",
    "https://h/simple%2F",
    "https://h/a?x=1",
    "https://h/a/simple?x=1",
    "https://h/simple?x#y",
    "https://h/a#frag",
    "https://h/a?",
    "https://h/a#",
    "https://h?q",
    "https://h#f",
    "https://h/a?x='y z\"<>#f`g'",
    "http://localhost:8080/simple",
    "http://LOCALHOST/",
    "http://127.0.0.1/",
    "http://[::1]:80/x",
    "http://[0:0::1]/",
    "http://0x7f.0.0.1/",
    "http://2130706433:8080/",
    "http://127.1/",
    "http://0177.0.0.1/",
    "http://example.com",
    "http://localhost.",
    "http://127.0.0.2/",
    "http://[::2]/",
    "example.com:8080",
    "localhost:8080",
    "h:abc",
    "ftp://h/",
    "file:///tmp/x",
    "1.2.3.4:8080",
    "[::1]:8080/x",
    "https://bücher.de/x",
    "https://BÜCHER.de/",
    "https://faß.de/",
    "https://\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com/",  # fullwidth EXAMPLE
    "https://xn--bcher-kva.de/",
    "https://XN--BCHER-KVA.de/",
    "https://xn--a.de/",
    "https://xn--abc-.com/",
    "https://xn--/",
    "https://xn--ls8h.com/",
    "https://a\u200db/",
    "https://\u0627\u0031/",
    "https://\u0661\u0031.com/",
    "https://\u0300a.com/",
    "https://a\u0300/",
    "https://\u2603.com/",
    "https://\U0001f600.com/",
    "https://\u2167.com/",
    "https://\u01c5.com/",
    "https://\u3164.com/",
    "https://a\u00adb.com/",
    "https://\u00ad/",
    "https://%C2%AD/",
    "https://a\u3002b/",
    "https://-a-.com/",
    "https://ab--cd.com/",
    "https://h_x.com/",
    "https://a..b/",
    "https://a b/",
    "https://%68%45llo/",
    "https://h%2Fx/",
    "https://exa%mple.com/",
    "https://1.2.3.4./",
    "https://1.2.3/",
    "https://256.1.1.1/",
    "https://1.2.3.4.5/",
    "https://0x/",
    "https://09.1.1.1/",
    "https://a.09/",
    "https://a.0x1/",
    "https://[::ffff:1.2.3.4]/",
    "https://[2001:DB8:0:0:1:0:0:1]/",
    "https://[::1",
    "https://[fe80::1%25eth0]/",
    "https://h:0/",
    "https://h:08443/",
    "https://h:0443/",
    "https://h:65535/",
    "https://h:65536/",
    "https://h:443x/",
    "https://h:/x",
    "https://h./",
    "https://h./simple",
    "https://h/a/./b/../c",
    "https://h/%2e/a/%2E%2e/b",
    "https://h/a/..",
    "https://h/a/.",
    "https://h/a/simple/..",
    "https://h/simple/.",
    "https://h/a%2e%2E/",
    "https://h/.%2e/x",
    "https://h/a\\b\\c",
    "https:\\\\h\\x",
    "https:h/noslash",
    "https:/h",
    "//h/path",
    "h/path",
    "https://h/a\tb\nc",
    "  https://h/lead ",
    " example.com",
    "example.com/x ",
    "\texample.com",
    "https://h/a b",
    "https://h/ x",
    "https://h/ü/€",
    "https://h/a%zz/%2F/%41",
    "https://h/%7Efoo",
    'https://h/a^b{c}`d"e<f>g|h~!$&()*+,;=',
    "https://h/a:b@c",
    "https://h/x#a:b@c",
    "https://h/x?a:b@c",
    "https://h#a:b@",
    "https://h#@x:@",
    "https://h#http://l#@",
    "https://h/x://y@z",
    "https://h/x:a//y@z",
    "https://h/x://y@z:p@q",
    "https://h/x://y:p@z",
    "https://h/a:b@c#x://@",
    "https://",
    "",
    "https://@h/e",
    "https://u@h/x/simple",
    "https://us%40er:p%3Aw@h/ui/simple",
    "https://user/name:pw@h/a",
    "https://u:@h/x",
]


@dataclass(frozen=True)
class Run:
    rc: int
    stdout: str
    stderr: str


def _uv(args: Sequence[str], creds: Path, stdin: str = "") -> Run:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(creds)),
        "UV_CREDENTIALS_DIR": str(creds),
        "UV_NO_CONFIG": "1",
    }
    proc = subprocess.run(
        [str(UV), *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _parallel(jobs: Iterable[tuple[Sequence[str], Path, str]]) -> list[Run]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda job: _uv(*job), jobs))


def _userinfo(raw: str) -> tuple[str, str]:
    """Rough userinfo split, only to know which flags uv still needs."""
    parts = raw.split("/")
    authority = parts[2] if len(parts) > 2 else ""
    if "@" not in authority:
        return "", ""
    user, _, password = authority.rpartition("@")[0].partition(":")
    return user, password


def _uv_login_key(run: Run, creds: Path) -> tuple[str, str | None] | None:
    if run.rc != 0:
        return None
    data = tomllib.loads((creds / "credentials.toml").read_text())
    [entry] = data["credential"]
    return entry["service"], entry.get("username")


def test_login_keys_match_uv(tmp_path: Path) -> None:
    jobs = []
    for index, raw in enumerate(LOGIN_INPUTS):
        creds = tmp_path / f"c{index}"
        args = ["auth", "login", raw]
        user, password = _userinfo(raw)
        if not user:
            args += ["--username", "user"]
        if not password:
            args += ["--password", "pw"]
        jobs.append((args, creds, ""))
    runs = _parallel(jobs)

    mismatches = []
    for index, (raw, run) in enumerate(zip(LOGIN_INPUTS, runs, strict=True)):
        uv_key = _uv_login_key(run, tmp_path / f"c{index}")
        try:
            ours = parse_login_service(raw)
        except InvalidServiceError as exc:
            if uv_key is not None:
                mismatches.append(f"{raw!r}: uv stored {uv_key}, we raised {exc}")
            continue
        if uv_key is None:
            mismatches.append(f"{raw!r}: uv failed ({run.stderr.strip()}), we gave {ours.service}")
            continue
        # uv keeps userinfo in its key (a defect we do not copy): compare without it.
        uv_service = parse_service(uv_key[0]).without_userinfo().service
        if ours.service != uv_service:
            mismatches.append(f"{raw!r}: uv {uv_service!r}, ours {ours.service!r}")
        if ours.username is not None and ours.username != uv_key[1]:
            mismatches.append(f"{raw!r}: uv username {uv_key[1]!r}, ours {ours.username!r}")
    assert not mismatches, "\n".join(mismatches)


def test_uv_keys_are_fixed_points(tmp_path: Path) -> None:
    """A key uv wrote parses back to itself (what the store relies on when reading uv files)."""
    key = parse_login_service("HTTPS://Bücher.DE:443/A/./b/simple/").service
    assert parse_service(key).service == key == "https://xn--bcher-kva.de/A/b"


# --- lookup -------------------------------------------------------------------------------------

Entry = tuple[str, str | None, str]  # service, username (None: bearer), secret


def _write_store(creds: Path, entries: Sequence[Entry]) -> None:
    creds.mkdir(parents=True, exist_ok=True)
    lines = []
    for service, username, secret in entries:
        lines.append("[[credential]]")
        lines.append(f"service = {json.dumps(service)}")
        if username is None:
            lines += ['scheme = "bearer"', f"token = {json.dumps(secret)}"]
        else:
            lines += [f"username = {json.dumps(username)}", 'scheme = "basic"']
            lines.append(f"password = {json.dumps(secret)}")
        lines.append("")
    (creds / "credentials.toml").write_text("\n".join(lines))


def _lookup_job(creds: Path, url: str, username: str | None) -> tuple[Sequence[str], Path, str]:
    if username is not None:
        return (["auth", "token", url, "--username", username], creds, "")
    return (
        ["auth", "helper", "--protocol", "bazel", "get", "--preview-features", "auth-helper"],
        creds,
        json.dumps({"uri": url}),
    )


def _uv_answer(run: Run, username: str | None) -> str:
    """The secret uv returned, or 'AMBIGUOUS' / 'NONE' / 'ERROR'."""
    if run.rc != 0:
        if "Multiple credentials found" in run.stderr:
            return "AMBIGUOUS"
        if "Failed to fetch credentials" in run.stderr:
            return "NONE"
        return "ERROR"
    if username is not None:
        return run.stdout.rstrip("\n")
    headers = json.loads(run.stdout)["headers"]
    if not headers:
        return "NONE"
    [value] = headers["Authorization"]
    kind, _, data = str(value).partition(" ")
    if kind == "Bearer":
        return data
    return base64.b64decode(data).decode().partition(":")[2]


def _our_answer(entries: Sequence[Entry], url: str, username: str | None) -> str:
    try:
        found = select(entries, url, username, key=lambda e: (e[0], e[1]))
    except InvalidServiceError:
        return "ERROR"
    if isinstance(found, Ambiguous):
        return "AMBIGUOUS"
    return "NONE" if found is None else found[2]


def _shorter_tie(entries: Sequence[Entry], url: str, username: str | None) -> bool:
    """uv 0.13.9 reports ambiguity as soon as it meets a tie in hash order, even when a longer
    match comes later; we only report a tie on the longest path. True when that can differ."""
    try:
        request = parse_service(url)
    except InvalidServiceError:
        return False
    lengths: dict[int, set[tuple[str, str | None]]] = {}
    for service, stored_user, _ in entries:
        stored = parse_stored(service)
        if stored is None or not (
            stored.scheme == request.scheme
            and stored.host == request.host
            and stored.port == request.port
        ):
            continue
        if covers(stored, request) and (username is None or stored_user == username):
            lengths.setdefault(len(stored.path), set()).add((stored.service, stored_user))
    if not lengths:
        return False
    longest = max(lengths)
    return any(len(keys) > 1 for length, keys in lengths.items() if length < longest)


FIXED_ENTRIES: list[Entry] = [
    ("https://h/", "root", "s-root"),
    ("https://h/api", "a", "s-api-a"),
    ("https://h/api", "b", "s-api-b"),
    ("https://h/api/v2/", "a", "s-v2-a"),
    ("https://h/foo/", "a", "s-foo-slash"),
    ("https://h/q?x=1", "a", "s-q-query"),
    ("https://h:8443/", "a", "s-8443"),
    ("https://h/t", None, "s-bearer-t"),
    ("https://H:443/Case", "a", "s-case"),
    ("https://h/tok", "__token__", "s-tok"),
    ("http://localhost:8080/idx", "a", "s-local"),
    ("https://u:pw@h/ui", "a", "s-ui"),
    ("https://xn--bcher-kva.de/", "a", "s-idn"),
]

FIXED_REQUESTS: list[tuple[str, str | None]] = [
    ("https://h/api", "a"),
    ("https://h/api/", "a"),
    ("https://h/api/x", "b"),
    ("https://h/apiary", "a"),
    ("https://h/apiary", "root"),
    ("https://h/api-v2", "root"),
    ("https://h/api/x", "root"),
    ("https://h/api/x", "nobody"),
    ("https://h/api/v2", "a"),
    ("https://h/api/v2/", "a"),
    ("https://h/api/v2/pkg/", "a"),
    ("https://h/foo", "a"),
    ("https://h/foo/", "a"),
    ("https://h/foo/x", "a"),
    ("https://h/foo//x", "a"),
    ("https://h/q", "a"),
    ("https://h/q?y=2", "a"),
    ("https://h/q/z", "a"),
    ("https://h:8443/x", "a"),
    ("https://h:443/api", "a"),
    ("https://H/API", "a"),
    ("https://h/case", "a"),
    ("https://h/Case/x", "a"),
    ("https://h/ui", "a"),
    ("https://h/tok/simple/", "__token__"),
    ("https://h/t/x", "a"),
    ("http://localhost:8080/idx/simple/", "a"),
    ("http://localhost/idx", "a"),
    ("https://localhost:8080/idx", "a"),
    ("http://example.com/api", "a"),
    ("https://bücher.de/simple", "a"),
    ("https://h/api", None),
    ("https://h/api/v2/x", None),
    ("https://h/x", None),
    ("https://h/t", None),
    ("https://h/t/x", None),
    ("https://h/tok", None),
    ("https://h/foo", None),
    ("https://other/", None),
]


def _compare(
    tmp_path: Path, scenarios: Sequence[tuple[Sequence[Entry], Sequence[tuple[str, str | None]]]]
) -> list[str]:
    jobs = []
    cases = []
    for number, (entries, requests) in enumerate(scenarios):
        creds = tmp_path / f"s{number}"
        _write_store(creds, entries)
        for url, username in requests:
            jobs.append(_lookup_job(creds, url, username))
            cases.append((entries, url, username))
    runs = _parallel(jobs)
    problems = []
    for (entries, url, username), run in zip(cases, runs, strict=True):
        theirs = _uv_answer(run, username)
        ours = _our_answer(entries, url, username)
        if theirs == ours:
            continue
        if theirs == "AMBIGUOUS" and _shorter_tie(entries, url, username):
            continue
        problems.append(
            f"{url} -u {username}: uv {theirs} ({run.stderr.strip()[:120]}), ours {ours}"
            f"\n  entries: {entries}"
        )
    return problems


def test_lookup_matches_uv_on_fixed_store(tmp_path: Path) -> None:
    problems = _compare(tmp_path, [(FIXED_ENTRIES, FIXED_REQUESTS)])
    assert not problems, "\n".join(problems)


_SEGMENTS = ["a", "b", "api", "apiary", "simple", "A", ""]
_HOSTS = ["https://h", "https://h:8443", "https://H:443", "http://localhost"]


def _random_path(rng: random.Random, depth: int) -> str:
    return "/" + "/".join(rng.choice(_SEGMENTS) for _ in range(depth))


def _random_scenario(
    rng: random.Random, number: int
) -> tuple[list[Entry], list[tuple[str, str | None]]]:
    entries: list[Entry] = []
    for index in range(rng.randint(1, 7)):
        service = rng.choice(_HOSTS) + _random_path(rng, rng.randint(0, 3))
        username = rng.choice(["x", "y", "__token__", None])
        entries.append((service, username, f"s{number}-{index}"))
    requests: list[tuple[str, str | None]] = []
    for _ in range(5):
        base = rng.choice([e[0] for e in entries]) if rng.random() < 0.7 else rng.choice(_HOSTS)
        url = base.rstrip("/") + _random_path(rng, rng.randint(0, 2))
        usernames = [e[1] for e in entries] + ["x", None]
        requests.append((url, rng.choice(usernames)))
    return entries, requests


def test_lookup_matches_uv_on_random_stores(tmp_path: Path) -> None:
    rng = random.Random(20250101)
    scenarios = [_random_scenario(rng, number) for number in range(40)]
    problems = _compare(tmp_path, scenarios)
    assert not problems, "\n".join(problems)
