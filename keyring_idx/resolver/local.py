"""Flat indexes and ``find-links`` that are local directories (``url = "./wheels"``).

uv lists the directory's wheels and sdists; nothing is fetched and no credential is involved.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from keyring_idx.resolver.errors import IndexRequestError
from keyring_idx.resolver.simple import DistFile

_SUFFIXES = (".whl", ".tar.gz", ".zip")


def list_directory(url: str) -> tuple[DistFile, ...]:
    """The distribution files in the directory a ``file://`` URL names."""
    path = Path(url2pathname(urlsplit(url).path))
    try:
        entries = sorted(path.iterdir())
    except OSError as exc:
        raise IndexRequestError(
            f"cannot list the local index {path} ({exc.strerror}); check the path in "
            "find-links or the index url"
        ) from None
    return tuple(
        DistFile(filename=p.name, url=p.as_uri())
        for p in entries
        if p.name.endswith(_SUFFIXES) and p.is_file()
    )
