"""The PEP 751 document."""

from __future__ import annotations

import tomllib

import pytest
from packaging.utils import canonicalize_name

from keyring_idx.resolver.config import Index
from keyring_idx.resolver.errors import ResolverError
from keyring_idx.resolver.lock import dumps, with_hashes
from keyring_idx.resolver.outcome import Pin
from keyring_idx.resolver.select import make_target
from keyring_idx.resolver.simple import DistFile

TARGET = make_target("3.12", "linux")
INDEX = Index(url="https://user:tok3n@idx.example/simple", name="corp")


def pin(name: str, files: tuple[DistFile, ...]) -> Pin:
    return Pin(
        canonicalize_name(name),
        "1.0",
        INDEX,
        files[0],
        files,
        "store",
        ("(direct)",),
        "",
        (),
        "pep658",
        (),
    )


def test_lock_document_validates_and_holds_no_credential() -> None:
    wheel = DistFile(
        "a-1.0-py3-none-any.whl",
        "https://u:p@idx.example/f/a-1.0-py3-none-any.whl",
        (("sha256", "ab"),),
        requires_python=">=3.8",
    )
    sdist = DistFile("a-1.0.tar.gz", "https://idx.example/f/a-1.0.tar.gz", (("sha256", "cd"),))
    text = dumps([pin("a", (wheel, sdist))], TARGET)
    assert "tok3n" not in text and "u:p" not in text and "user" not in text
    doc = tomllib.loads(text)
    (package,) = doc["packages"]
    assert package["index"] == "https://idx.example/simple"
    assert package["wheels"][0]["url"] == "https://idx.example/f/a-1.0-py3-none-any.whl"
    assert package["sdist"]["hashes"] == {"sha256": "cd"}
    assert doc["requires-python"] == "==3.12.*"
    assert 'python_version == "3.12"' in doc["environments"][0]
    pylock = pytest.importorskip("packaging.pylock")
    pylock.Pylock.from_dict(doc)


def test_a_file_without_hash_cannot_be_locked() -> None:
    f = DistFile("a-1.0-py3-none-any.whl", "https://idx.example/a.whl")
    with pytest.raises(ResolverError, match="no hash"):
        dumps([pin("a", (f,))], TARGET)


def test_missing_hashes_are_computed() -> None:
    f = DistFile("a-1.0-py3-none-any.whl", "https://idx.example/a.whl")
    (filled,) = with_hashes([pin("a", (f,))], lambda p, file: "ef" if file is f else "")
    assert filled.file.hashes == (("sha256", "ef"),)
    assert 'sha256 = "ef"' in dumps([filled], TARGET)
