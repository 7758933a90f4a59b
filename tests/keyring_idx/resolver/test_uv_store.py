from __future__ import annotations

from pathlib import Path

import pytest

from keyring_idx.resolver.errors import IndexRequestError
from keyring_idx.resolver.local import list_directory
from keyring_idx.resolver.uv_store import UvPlaintextStore

STORE = """
[[credential]]
service = "https://h/api/"
username = "u"
scheme = "basic"
password = "p"

[[credential]]
service = "https://h/other/"
scheme = "bearer"
token = "t"
"""


def test_uvs_plaintext_store_by_uvs_rules(tmp_path: Path) -> None:
    (tmp_path / "credentials.toml").write_text(STORE)
    store = UvPlaintextStore({"UV_CREDENTIALS_DIR": str(tmp_path)})
    assert store.lookup("https://h/api/simple/foo/", "u") == ("u", "p")
    assert store.lookup("https://h/api/simple/foo/", None) == ("u", "p")
    assert store.lookup("https://h/api/simple/foo/", "someone") is None
    assert store.lookup("https://h/other/simple/x/", None) == (None, "t")
    assert store.lookup("https://h/apiary/", None) is None


def test_a_store_uv_cannot_read_counts_as_empty(tmp_path: Path) -> None:
    (tmp_path / "credentials.toml").write_text("[[credential]]\nservice = 1\n")
    store = UvPlaintextStore({"UV_CREDENTIALS_DIR": str(tmp_path)})
    assert store.lookup("https://h/api/", None) is None
    assert store.problem is not None and "uv ignores" in store.problem
    missing = UvPlaintextStore({"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "x")})
    assert missing.lookup("https://h/api/", None) is None and missing.problem is None


def test_local_flat_directory(tmp_path: Path) -> None:
    (tmp_path / "foo-1.0-py3-none-any.whl").write_bytes(b"")
    (tmp_path / "foo-1.0.tar.gz").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    files = list_directory(tmp_path.as_uri())
    assert [f.filename for f in files] == ["foo-1.0-py3-none-any.whl", "foo-1.0.tar.gz"]
    assert files[0].url == (tmp_path / "foo-1.0-py3-none-any.whl").as_uri()
    with pytest.raises(IndexRequestError, match="cannot list the local index"):
        list_directory((tmp_path / "nowhere").as_uri())
