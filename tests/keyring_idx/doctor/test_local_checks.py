"""Verdicts on the store, the agent, the keyring command and uv's keyring-provider."""

from __future__ import annotations

from keyring_idx.doctor.local_checks import (
    check_agent,
    check_keyring,
    check_provider,
    check_store,
)
from keyring_idx.doctor.model import (
    OURS,
    AgentFacts,
    Backend,
    KeyringFacts,
    ProviderFacts,
    StoreFacts,
)

DOWN = AgentFacts(socket="/run/a.sock", running=False)
UP = AgentFacts(socket="/run/a.sock", running=True, locked=False, pid=42)
LOCKED = AgentFacts(socket="/run/a.sock", running=True, locked=True, pid=42)
FILE_STORE = StoreFacts("/d/credentials.toml", True, key_source="file", entries=2)
PASS_STORE = StoreFacts("/d/credentials.toml", True, "passphrase", entries=1, locked=True)


def test_store_verdicts() -> None:
    assert check_store(FILE_STORE, DOWN).verdict == "ok"
    assert "all decrypt" in check_store(FILE_STORE, DOWN).detail
    empty = check_store(StoreFacts("/d/credentials.toml", False), DOWN)
    assert (empty.verdict, empty.fix) == ("warn", "idx-auth login INDEX-URL -u USERNAME")
    broken = check_store(StoreFacts("/d/c.toml", True, error="key file missing"), UP)
    assert broken.verdict == "fail" and "key file missing" in broken.detail and broken.fix
    tampered = check_store(StoreFacts("/d/c", True, "file", 2, unreadable_secrets=("a@h",)), DOWN)
    assert tampered.verdict == "fail" and "a@h" in tampered.detail


def test_passphrase_store_is_judged_with_the_agent_and_never_prompted() -> None:
    assert check_store(PASS_STORE, UP).verdict == "ok"
    assert "unlocked in the agent (pid 42)" in check_store(PASS_STORE, UP).detail
    locked = check_store(PASS_STORE, LOCKED)
    assert (locked.verdict, locked.fix) == ("fail", "idx-auth unlock")
    alone = check_store(PASS_STORE, DOWN)
    assert alone.verdict == "fail" and "locked" in alone.detail
    assert "idx-auth unlock" in alone.fix and "IDX_AUTH_PASSPHRASE_FILE" in alone.fix


def test_agent_verdicts() -> None:
    assert check_agent(DOWN, FILE_STORE).verdict == "ok"
    assert check_agent(DOWN, PASS_STORE).verdict == "warn"
    assert check_agent(UP, FILE_STORE).verdict == "ok"
    assert check_agent(LOCKED, FILE_STORE).fix == "idx-auth unlock"
    assert check_agent(LOCKED, FILE_STORE).verdict == "fail"
    assert check_agent(LOCKED, PASS_STORE).verdict == "fail"
    with_file = StoreFacts("/d/credentials.toml", True, "passphrase", entries=1)
    assert check_agent(LOCKED, with_file).verdict == "warn"  # IDX_AUTH_PASSPHRASE_FILE
    failing = AgentFacts("/s", True, locked=False, pid=1, last_error="refresh of h failed")
    assert check_agent(failing, FILE_STORE).verdict == "warn"
    foreign = AgentFacts("/s", False, problem="the agent socket /s belongs to uid 0, not to you")
    assert "uid 0" in check_agent(foreign, FILE_STORE).detail


def facts(selected: str, **more: object) -> KeyringFacts:
    return KeyringFacts(command="/v/bin/keyring", python="/v/bin/python", selected=selected, **more)  # type: ignore[arg-type]


def test_keyring_is_ours_by_value() -> None:
    plain = "keyrings.alt.file.PlaintextKeyring"
    assert check_keyring(facts(plain), ours=plain).verdict == "ok"
    assert check_keyring(facts(OURS)).verdict == "ok"
    null = check_keyring(facts("keyring.backends.null.Keyring"), ours=plain)
    assert null.verdict == "warn" and "not idx-auth's backend" in null.detail
    assert null.fix == "idx-auth setup keyring"
    by_env = check_keyring(facts("keyring.backends.null.Keyring", env_backend="x.Y"))
    assert "PYTHON_KEYRING_BACKEND" in by_env.fix and "set by PYTHON_KEYRING_BACKEND" in (
        by_env.detail
    )
    by_rc = check_keyring(
        facts("a.B", config_backend="a.B", config_file="/c/keyringrc.cfg"), ours=plain
    )
    assert by_rc.fix.startswith("idx-auth setup keyring --force") and "/c/keyringrc.cfg" in (
        by_rc.fix
    )
    cannot = check_keyring(facts("a.B", imports_ours=False), this_install="/me/bin/keyring")
    assert "install keyring-idx into the environment of /v/bin/python" in cannot.fix
    assert "/me/bin/keyring" in cannot.fix


def test_keyring_behind_a_chainer() -> None:
    chainer = "keyring.backends.chainer.ChainerBackend"
    quiet = (Backend(OURS, 9.5), Backend("keyrings.alt.file.PlaintextKeyring", 0.5))
    assert check_keyring(facts(chainer, chain=quiet)).verdict == "ok"
    risky = (Backend("keyring.backends.SecretService.Keyring", 10), Backend(OURS, 9.5))
    warn = check_keyring(facts(chainer, chain=risky))
    assert warn.verdict == "warn" and "SecretService" in warn.detail
    assert "answer before ours" in warn.detail and "prompt or hang" in warn.detail
    assert warn.fix.startswith("idx-auth setup keyring")
    without = check_keyring(facts(chainer, chain=risky[:1]))
    assert without.verdict == "warn" and "not idx-auth's backend" in without.detail


def test_keyring_missing_hanging_or_broken() -> None:
    missing = check_keyring(KeyringFacts(command=None), this_install="/me/bin/keyring")
    assert missing.verdict == "warn" and "/me/bin/keyring" in missing.fix
    hang = check_keyring(KeyringFacts(command="/k", python="/p", timed_out=True))
    assert hang.verdict == "fail" and f"PYTHON_KEYRING_BACKEND={OURS}" in hang.fix
    broken = check_keyring(KeyringFacts(command="/k", python="/p", error="ModuleNotFoundError"))
    assert broken.verdict == "fail" and "ModuleNotFoundError" in broken.detail


def test_provider_verdicts() -> None:
    assert check_provider(ProviderFacts("subprocess", "UV_KEYRING_PROVIDER")).verdict == "ok"
    pip_only = check_provider(ProviderFacts("subprocess", "[pip] in /u.toml", pip_only=True))
    assert pip_only.verdict == "warn" and "uv lock" in pip_only.detail
    unset = check_provider(ProviderFacts(None, private_indexes=1))
    assert unset.verdict == "warn" and "UV_KEYRING_PROVIDER=subprocess" in unset.fix
    assert check_provider(ProviderFacts(None, private_indexes=0)).verdict == "ok"
    assert check_provider(ProviderFacts("disabled", "/u.toml", private_indexes=2)).verdict == (
        "warn"
    )
    assert check_provider(ProviderFacts("import", "/u.toml")).verdict == "fail"


def test_expired_credentials_are_named() -> None:
    expired = StoreFacts("/d/c", True, "file", 2, expired=("aws@https://h/",))
    check = check_store(expired, DOWN)
    assert check.verdict == "warn" and "aws@https://h/" in check.detail
    assert "idx-auth refresh" in check.fix


def test_provider_unset_fails_when_an_index_depends_on_the_store() -> None:
    check = check_provider(ProviderFacts(None, private_indexes=2, store_indexes=2))
    assert check.verdict == "fail" and "credential for 2 indexes" in check.detail


def test_uv_plaintext_store_verdicts() -> None:
    from keyring_idx.doctor.local_checks import check_uv_plaintext
    from keyring_idx.doctor.model import UvPlaintextFacts

    assert check_uv_plaintext(UvPlaintextFacts("/p/credentials.toml")).verdict == "ok"
    many = check_uv_plaintext(
        UvPlaintextFacts("/p/credentials.toml", ("a@https://h/", "b@https://h/", "https://t/", "x"))
    )
    assert many.verdict == "warn" and "4 credentials" in many.detail and ", ..." in many.detail
    assert "idx-auth import /p/credentials.toml" in many.fix
    broken = check_uv_plaintext(UvPlaintextFacts("/p/credentials.toml", error="not valid TOML"))
    assert broken.verdict == "warn" and "uv ignores it" in broken.detail


def test_a_keyringrc_naming_our_backend_directly_is_flagged() -> None:
    old = check_keyring(facts(OURS, config_backend=OURS, config_file="/c/keyringrc.cfg"))
    assert old.verdict == "warn" and "No module named 'keyring_idx'" in old.detail
    assert old.fix.startswith("idx-auth setup keyring")
    selector = facts(OURS, config_backend="idx_auth_keyring.Selected", config_file="/c/k.cfg")
    assert check_keyring(selector).verdict == "ok"
