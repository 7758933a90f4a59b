"""uv installs from a password-protected pypiserver whose password lives only in OpenBao.

Real parts throughout: ``bao server -dev`` (the session's, or a test's own where the test stops
it), pypiserver with htpasswd, ``idx-auth`` and the agent as processes, ``keyring`` and ``uv``
from this venv. ``keyringrc.cfg`` in the test's config dir selects our backend.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.localindex import Index, serve, write_htpasswd
from demo.wheels import write_wheel
from tests.e2e.conftest import run, tool
from tests.e2e.refreshkit import Setup, wait_for
from tests.store.agent.agentproc import stop
from tests.store.refresh.openbao import OpenBao, running, unique_path

PKG = "idx-vault-pkg"
USER = "ci-bot"
BACKEND = "keyring_idx.backend.IdxKeyring"


class World:
    """A pypiserver, a Vault secret holding its password, an AppRole that may read it."""

    def __init__(self, bao: OpenBao, index: Index, htpasswd: Path, tmp_path: Path) -> None:
        self.bao, self.index, self.htpasswd = bao, index, htpasswd
        self.path = unique_path()
        self.rotate("first-Pa55")
        mount, _, rest = self.path.partition("/")
        self.role = f"runner-{self.path.split('/')[1]}"
        self.role_id, self.secret_id = bao.approle(bao.reader(f"{mount}/data/{rest}"), self.role)
        self.secret_file = tmp_path / "approle-secret-id"
        self.secret_file.write_text(self.secret_id + "\n")
        self.setup = Setup(
            tmp_path,
            PYTHON_KEYRING_BACKEND=BACKEND,
            UV_CACHE_DIR=str(tmp_path / "uv-cache"),
            UV_PYTHON_DOWNLOADS="never",
            UV_NO_CONFIG="1",
            UV_NO_PROGRESS="1",
        )
        rc = Path(self.setup.env["XDG_CONFIG_HOME"]) / "python_keyring" / "keyringrc.cfg"
        # The config dir is also idx-auth's, which must be closed to other users.
        rc.parent.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        rc.parent.mkdir(exist_ok=True)
        rc.write_text(f"[backend]\ndefault-keyring = {BACKEND}\n")

    def rotate(self, password: str) -> None:
        """The operator's rotation: the index and Vault get the new password together."""
        write_htpasswd(self.htpasswd, {USER: password})
        self.bao.put_kv2(self.path, password=password, username=USER)

    def login(self, *extra: str) -> None:
        done = self.setup.idx(
            "login", self.index.simple, "--provider", "vault",
            "--vault-addr", self.bao.addr, "--vault-path", self.path,
            "--vault-username-field", "username",
            "--vault-auth", "approle", "--vault-role-id", self.role_id,
            "--vault-role-secret-id-file", str(self.secret_file), *extra,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"{USER}@{self.index.root}" in done.stderr

    def keyring_get(self) -> str:
        done = run([tool("keyring"), "get", f"{self.index.simple}{PKG}/", USER], env=self.setup.env)
        return done.stdout.strip() if done.returncode == 0 else f"failed: {done.stderr}"

    def uv_install(self, target: Path) -> tuple[int, str]:
        host = self.index.simple.removeprefix("http://")
        done = run(
            [
                tool("uv"),
                "pip",
                "install",
                "--target",
                str(target),
                "--index-url",
                f"http://{USER}@{host}",
                "--keyring-provider",
                "subprocess",
                "--no-cache",
                "--python",
                sys.executable,
                PKG,
            ],
            env=self.setup.env,
        )
        return done.returncode, done.stderr


@pytest.fixture
def index(tmp_path: Path) -> Iterator[tuple[Index, Path]]:
    base = tmp_path / "index"
    write_wheel(base / "packages", PKG, "1.0.0")
    htpasswd = write_htpasswd(base / "htpasswd", {USER: "not-yet"})
    with serve(base / "packages", htpasswd, log=base / "server.log") as ix:
        yield ix, htpasswd


@pytest.fixture
def world(openbao: OpenBao, index: tuple[Index, Path], tmp_path: Path) -> World:
    return World(openbao, index[0], index[1], tmp_path)


def installed(target: Path) -> bool:
    return (target / PKG.replace("-", "_") / "__init__.py").is_file()


def test_uv_installs_with_the_password_only_in_vault(world: World, tmp_path: Path) -> None:
    world.login()
    store = Path(world.setup.env["IDX_AUTH_DATA_DIR"]) / "credentials.toml"
    text = store.read_text()
    # The password is sealed; of the AppRole, only the role id and the file's path are kept.
    assert "first-Pa55" not in text and world.secret_id not in text
    assert str(world.secret_file) in text and world.role_id in text
    code, err = world.uv_install(tmp_path / "target")
    assert code == 0, err
    assert installed(tmp_path / "target")


def test_rotation_in_vault_reaches_uv_within_the_interval(world: World, tmp_path: Path) -> None:
    interval = 2.0
    world.login("--vault-refresh-interval", f"{interval:g}", "--vault-ttl", "600")
    agent = world.setup.start_agent()
    try:
        assert world.keyring_get() == "first-Pa55"
        world.rotate("second-Pa55")
        rotated = time.monotonic()
        # The agent reads Vault again by the interval; lookups follow without any command.
        wait_for(lambda: world.keyring_get() == "second-Pa55", interval + 20, "the new password")
        assert time.monotonic() - rotated < interval + 20
        code, err = world.uv_install(tmp_path / "target")
        assert code == 0, err
        status = world.setup.status()
        assert "second-Pa55" not in json.dumps(status)
    finally:
        assert stop(agent) == 0


def test_a_vault_outage_is_invisible_while_the_secret_is_valid(
    index: tuple[Index, Path], tmp_path: Path
) -> None:
    with running(tmp_path / "own-bao") as bao:
        world = World(bao, index[0], index[1], tmp_path)
        world.login("--vault-refresh-interval", "1", "--vault-ttl", "600")
        agent = world.setup.start_agent()
        try:
            assert world.keyring_get() == "first-Pa55"
            bao.stop()
            # Several refresh intervals without Vault: every lookup still gets the secret.
            deadline = time.monotonic() + 3.5
            while time.monotonic() < deadline:
                assert world.keyring_get() == "first-Pa55"
                time.sleep(0.3)
            code, err = world.uv_install(tmp_path / "target")
            assert code == 0, err
            wait_for(lambda: _last_error(world.setup) is not None, 15, "a failed refresh")
            assert "cannot reach Vault" in (_last_error(world.setup) or "")
        finally:
            assert stop(agent) == 0
        # Without the agent too: the refresh on lookup fails, the valid secret is served.
        done = world.setup.idx("token", world.index.simple, "-u", USER)
        assert (done.returncode, done.stdout) == (0, "first-Pa55\n"), done.stderr


def _last_error(setup: Setup) -> str | None:
    for entry in setup.status().get("entries") or []:
        if isinstance(entry, dict) and entry.get("last_error"):
            return str(entry["last_error"])
    return None


def test_a_revoked_vault_token_leads_to_a_new_login(world: World) -> None:
    world.login()
    agent = world.setup.start_agent()
    try:
        refreshes = [world.setup.idx("refresh", world.index.simple, "-u", USER)]
        logins = world.bao.role_tokens(world.role)
        refreshes.append(world.setup.idx("refresh", world.index.simple, "-u", USER))
        assert all(done.returncode == 0 for done in refreshes), refreshes[-1].stderr
        # The agent kept its login for the second refresh.
        assert world.bao.role_tokens(world.role) == logins
        world.bao.api("PUT", "sys/leases/revoke-prefix/auth/approle/login")
        assert world.bao.role_tokens(world.role) == 0
        world.rotate("after-revoke")
        done = world.setup.idx("refresh", world.index.simple, "-u", USER)
        assert done.returncode == 0 and "refreshed" in done.stderr, done.stderr
        assert world.keyring_get() == "after-revoke"
        assert world.bao.role_tokens(world.role) == 1  # the agent's new login
    finally:
        assert stop(agent) == 0


@pytest.mark.parametrize(
    ("change", "wanted"),
    [
        (("--vault-path", "secret/not-there/pypi"), "permission denied reading secret/data/"),
        (("--vault-field", "token"), "has no field 'token' (its fields: password, username)"),
        (("--vault-role-id", "no-such-role"), "AppRole login (role id no-such-role)"),
        (("--vault-username-field", "user"), "has no field 'user'"),
    ],
)
def test_wrong_settings_are_one_line_errors_and_store_nothing(
    world: World, change: tuple[str, str], wanted: str
) -> None:
    argv = [
        "login", world.index.simple, "--provider", "vault",
        "--vault-addr", world.bao.addr, "--vault-path", world.path,
        "--vault-username-field", "username",
        "--vault-auth", "approle", "--vault-role-id", world.role_id,
        "--vault-role-secret-id-file", str(world.secret_file),
    ]  # fmt: skip
    flag, value = change
    if flag in argv:
        argv[argv.index(flag) + 1] = value
    else:
        argv += [flag, value]
    done = world.setup.idx(*argv)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("idx-auth: error: vault provider: "), lines
    assert wanted in lines[0]
    assert world.secret_id not in done.stderr and "first-Pa55" not in done.stderr
    assert world.setup.idx("list").returncode == 1  # nothing stored


def test_without_the_agent_a_lookup_reads_vault_again_after_the_interval(
    world: World, tmp_path: Path
) -> None:
    world.login("--vault-refresh-interval", "1", "--vault-ttl", "600")
    assert world.keyring_get() == "first-Pa55"
    world.rotate("second-Pa55")
    wait_for(lambda: world.keyring_get() == "second-Pa55", 20, "a lookup to read Vault again")
    code, err = world.uv_install(tmp_path / "target")
    assert code == 0, err


def test_load_on_vault_with_the_agent_is_one_read_per_interval(
    index: tuple[Index, Path], tmp_path: Path
) -> None:
    """What docs/vault.md says about load, measured with OpenBao's audit log: with the agent,
    lookups cost Vault nothing; the agent logs in once and reads once per interval."""
    audit = tmp_path / "audit.log"
    with running(tmp_path / "own-bao", audit=audit) as bao:
        world = World(bao, index[0], index[1], tmp_path)
        interval = 1.0
        world.login("--vault-refresh-interval", f"{interval:g}", "--vault-ttl", "600")
        seen_before = len(_vault_requests(audit))
        agent = world.setup.start_agent()
        started = time.monotonic()
        try:
            lookups = 0
            while time.monotonic() - started < 4.5:
                assert world.keyring_get() == "first-Pa55"
                lookups += 1
        finally:
            assert stop(agent) == 0
        elapsed = time.monotonic() - started
        paths = _vault_requests(audit)[seen_before:]
        logins = paths.count("auth/approle/login")
        reads = paths.count(world.path.replace("secret/", "secret/data/", 1))
        lookups_of_engine = sum(p.startswith("sys/internal/ui/mounts/") for p in paths)
        assert lookups >= 3
        assert logins == 1 and lookups_of_engine == 1, paths
        # Refreshes fall between 0.9 and 1.0 intervals apart; the lookups added none.
        assert 2 <= reads <= elapsed / (0.9 * interval) + 1, paths
        assert set(paths) <= {
            "auth/approle/login",
            world.path.replace("secret/", "secret/data/", 1),
            f"sys/internal/ui/mounts/{world.path}",
        }, paths


def _vault_requests(audit: Path) -> list[str]:
    """The paths of the requests OpenBao answered, in order (from its audit log)."""
    paths = []
    for line in audit.read_text().splitlines():
        record = json.loads(line)
        if record.get("type") == "response":
            paths.append(str(record["request"]["path"]))
    return paths
