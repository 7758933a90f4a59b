"""``--vault-*`` flags: one per provider setting; what login captures from the environment."""

from __future__ import annotations

from pathlib import Path

from keyring_idx.cli.refresh import VAULT_FLAGS, vault_settings
from store.refresh.providers.vault import ENV_SETTINGS, SETTINGS


def test_one_flag_per_setting() -> None:
    assert [key for key, _m, _h in VAULT_FLAGS] == list(SETTINGS)
    assert set(ENV_SETTINGS) <= set(SETTINGS)


def test_environment_is_captured_and_paths_made_absolute(tmp_path: Path) -> None:
    env = {
        "VAULT_ADDR": "https://vault.example.com",
        "BAO_NAMESPACE": "team-a",
        "VAULT_CACERT": "/etc/ssl/vault-ca.pem",
        "VAULT_TOKEN": "s.never-stored",
    }
    given = {"path": "secret/pypi", "token-file": "tok", "jwt-file": "~/id", "ttl": 600}
    settings = vault_settings(given, env, base=tmp_path)
    assert settings == {
        "addr": "https://vault.example.com",
        "path": "secret/pypi",
        "ttl": "600",
        "namespace": "team-a",
        "ca-cert": "/etc/ssl/vault-ca.pem",
        "token-file": str(tmp_path / "tok"),
        "jwt-file": str(Path("~/id").expanduser()),
    }
    # A flag wins over the environment; the token itself is never among the settings.
    assert vault_settings({"addr": "https://other"}, env)["addr"] == "https://other"
    assert "s.never-stored" not in vault_settings({}, env).values()
