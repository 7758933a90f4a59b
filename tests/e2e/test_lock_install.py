"""``idx-auth resolve -o pylock.toml`` against password-protected pypiservers, then the real
installers install that lock, taking credentials through our keyring backend: the installed
versions are the resolved ones, and the lock holds no credential."""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo.localindex import Index, serve, write_htpasswd
from demo.wheels import make_wheel
from tests.e2e.conftest import BIN, run, tool

pytestmark = pytest.mark.timeout(240)

USERS = {"corp": ("alice", "pw-alice-9f2"), "pub": ("bob", "pw-bob-77a")}
WHEELS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "corp": [
        ("corp-app", "1.0", ("corp-util>=1", "six")),
        ("corp-app", "2.0", ("corp-util>=2", "six<1.17")),
        ("corp-util", "1.2", ()),
        ("corp-util", "2.1", ("six>=1.16",)),
    ],
    "pub": [("six", "1.16", ()), ("six", "1.17", ())],
}


@dataclass(frozen=True)
class Servers:
    corp: Index
    pub: Index


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    base = tmp_path_factory.mktemp("indexes")
    for key, wheels in WHEELS.items():
        (base / key).mkdir()
        for name, version, requires in wheels:
            path = base / key / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
            path.write_bytes(make_wheel(name, version, requires=requires))
    corp_pw = write_htpasswd(base / "corp.htpasswd", {USERS["corp"][0]: USERS["corp"][1]})
    pub_pw = write_htpasswd(base / "pub.htpasswd", {USERS["pub"][0]: USERS["pub"][1]})
    with serve(base / "corp", corp_pw) as corp, serve(base / "pub", pub_pw) as pub:
        yield Servers(corp, pub)


@pytest.fixture
def env(isolated_home: Path, servers: Servers) -> dict[str, str]:
    import os

    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e["UV_PYTHON_DOWNLOADS"] = "never"
    e["UV_NO_PROGRESS"] = "1"
    e["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    for key, ix in (("corp", servers.corp), ("pub", servers.pub)):
        user, password = USERS[key]
        r = run(
            [tool("idx-auth"), "login", ix.simple, "-u", user, "--password", "-"],
            stdin=password,
            env=e,
        )
        assert r.returncode == 0, r.stderr
    r = run([tool("idx-auth"), "setup", "keyring"], env=e)
    assert r.returncode == 0, r.stderr
    return e


def resolve(servers: Servers, env: dict[str, str], lock: Path, *extra: str) -> dict[str, str]:
    r = run(
        [
            tool("idx-auth"),
            "resolve",
            "corp-app",
            # as uv needs it to reach our store: keyring, and a username it knows
            "--keyring-provider",
            "subprocess",
            "--index",
            f"corp=http://{USERS['corp'][0]}@127.0.0.1:{servers.corp.port}/simple/",
            "--default-index",
            f"http://{USERS['pub'][0]}@127.0.0.1:{servers.pub.port}/simple/",
            "-o",
            str(lock),
            "--json",
            *extra,
        ],
        env=env,
    )
    assert r.returncode == 0, r.stderr
    return {p["name"]: p["version"] for p in json.loads(r.stdout)["packages"]}


def assert_no_credentials(lock: Path) -> None:
    text = lock.read_text()
    for user, password in USERS.values():
        assert password not in text
        assert f"{user}@" not in text and f"{user}:" not in text
    assert "Authorization" not in text


def installed(site: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for info in site.glob("*.dist-info"):
        meta = (info / "METADATA").read_text()
        fields = dict(
            line.split(": ", 1) for line in meta.splitlines() if line.startswith(("Name:", "Vers"))
        )
        out[fields["Name"]] = fields["Version"]
    return out


def test_uv_pip_install_installs_the_lock_through_our_keyring(
    servers: Servers, env: dict[str, str], tmp_path: Path
) -> None:
    lock = tmp_path / "pylock.toml"
    resolved = resolve(servers, env, lock)
    assert resolved == {"corp-app": "2.0", "corp-util": "2.1", "six": "1.16"}
    assert_no_credentials(lock)
    doc = tomllib.loads(lock.read_text())
    assert doc["lock-version"] == "1.0"
    pylock = pytest.importorskip("packaging.pylock")
    pylock.Pylock.from_dict(doc)  # the standard's own validator accepts it
    venv = tmp_path / "venv"
    r = run([tool("uv"), "venv", str(venv), "--python", sys.executable], env=env)
    assert r.returncode == 0, r.stderr
    (corp_user, _), (pub_user, _) = USERS["corp"], USERS["pub"]
    argv = [
        tool("uv"),
        "pip",
        "install",
        "-r",
        str(lock),
        "--python",
        str(venv / "bin" / "python"),
        "--keyring-provider",
        "subprocess",
        # uv asks keyring only for a username it knows: the index URLs say which
        "--index",
        f"corp=http://{corp_user}@127.0.0.1:{servers.corp.port}/simple/",
        "--default-index",
        f"http://{pub_user}@127.0.0.1:{servers.pub.port}/simple/",
        "--no-cache",
    ]
    r = run(argv, env=env)
    assert r.returncode == 0, r.stderr
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert installed(site) == resolved


def test_uv_without_keyring_cannot_install_the_lock(
    servers: Servers, env: dict[str, str], tmp_path: Path
) -> None:
    """The control: the files really are behind the passwords."""
    lock = tmp_path / "pylock.toml"
    resolve(servers, env, lock)
    venv = tmp_path / "venv"
    run([tool("uv"), "venv", str(venv), "--python", sys.executable], env=env)
    argv = [tool("uv"), "pip", "install", "-r", str(lock), "--python", str(venv / "bin/python")]
    r = run([*argv, "--no-cache", "--keyring-provider", "disabled"], env=env)
    assert r.returncode != 0 and "401" in r.stderr


def test_pip_installs_the_lock_through_our_keyring(
    servers: Servers, env: dict[str, str], tmp_path: Path
) -> None:
    lock = tmp_path / "pylock.toml"
    resolved = resolve(servers, env, lock)
    target = tmp_path / "target"
    argv = [str(BIN / "pip"), "install", "--target", str(target), "-r", str(lock)]
    r = run([*argv, "--keyring-provider", "import", "--no-cache-dir"], env=env)
    assert r.returncode == 0, r.stderr
    assert installed(target) == resolved


def test_credentials_in_index_urls_never_reach_the_lock(
    servers: Servers, env: dict[str, str], tmp_path: Path
) -> None:
    lock = tmp_path / "pylock.toml"
    (user, password), (pub_user, pub_password) = USERS["corp"], USERS["pub"]
    r = run(
        [
            tool("idx-auth"),
            "resolve",
            "corp-app<2",
            "--index",
            f"corp=http://{user}:{password}@127.0.0.1:{servers.corp.port}/simple/",
            "--default-index",
            f"http://{pub_user}:{pub_password}@127.0.0.1:{servers.pub.port}/simple/",
            "-o",
            str(lock),
        ],
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert password not in r.stdout + r.stderr
    assert_no_credentials(lock)
    assert 'version = "1.0"' in lock.read_text()


def test_a_failed_resolution_leaves_an_existing_lock_alone(
    servers: Servers, env: dict[str, str], tmp_path: Path
) -> None:
    lock = tmp_path / "pylock.toml"
    lock.write_text("# the old lock\n")
    r = run(
        [
            *(tool("idx-auth"), "resolve", "corp-app>=9", "--index", f"corp={servers.corp.simple}"),
            *("--default-index", servers.pub.simple, "-o", str(lock)),
        ],
        env=env,
    )
    assert r.returncode == 1
    assert "not written" in r.stderr
    assert lock.read_text() == "# the old lock\n"


def test_no_deps_with_output_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    r = run(
        [tool("idx-auth"), "resolve", "x", "--no-deps", "-o", str(tmp_path / "l.toml")], env=env
    )
    assert r.returncode == 2 and "--no-deps" in r.stderr
