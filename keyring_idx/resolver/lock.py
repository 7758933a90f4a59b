"""PEP 751 ``pylock.toml`` from a resolved graph. Pure: values in, a TOML string out.

The lock is for the environment resolved for (``environments`` says which): each package with
its version, its index, and the usable files of that version (wheels for the target, the
sdist) with their hashes. URLs carry no userinfo: installers take credentials from their own
sources (our keyring backend), never from the lock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import tomli_w

from keyring_idx.resolver.config import strip_userinfo
from keyring_idx.resolver.errors import ResolverError
from keyring_idx.resolver.outcome import Pin
from keyring_idx.resolver.select import Target
from keyring_idx.resolver.simple import DistFile

CREATED_BY = "keyring-idx"
_ENV_KEYS = ("sys_platform", "platform_machine", "implementation_name", "python_version")


def _file(f: DistFile) -> dict[str, Any]:
    if not f.hashes:
        raise ResolverError(
            f"{f.filename} has no hash on its index page; a lock needs one for every file"
        )
    return {
        "name": f.filename,
        "url": strip_userinfo(f.url),
        "hashes": {algo: value for algo, value in f.hashes},
    }


def with_hashes(pins: Sequence[Pin], digest: Callable[[Pin, DistFile], str]) -> list[Pin]:
    """Pins whose files all carry a hash: ``digest`` (which downloads the file) supplies the
    sha256 of any file its index page listed without one."""
    out = []
    for pin in pins:
        if all(f.hashes for f in pin.files):
            out.append(pin)
            continue
        files = tuple(
            f if f.hashes else dataclasses.replace(f, hashes=(("sha256", digest(pin, f)),))
            for f in pin.files
        )
        out.append(dataclasses.replace(pin, files=files, file=files[0]))
    return out


def environment_marker(markers: Mapping[str, str]) -> str:
    return " and ".join(f'{k} == "{markers[k]}"' for k in _ENV_KEYS if k in markers)


def lock_document(pins: Sequence[Pin], target: Target) -> dict[str, Any]:
    packages = []
    for pin in sorted(pins, key=lambda p: p.name):
        entry: dict[str, Any] = {
            "name": pin.name,
            "version": pin.version,
            "index": pin.index.display_url,
        }
        if pin.file.requires_python:
            entry["requires-python"] = pin.file.requires_python
        wheels = [_file(f) for f in pin.files if f.filename.endswith(".whl")]
        sdists = [_file(f) for f in pin.files if not f.filename.endswith(".whl")]
        if sdists:
            entry["sdist"] = sdists[0]
        if wheels:
            entry["wheels"] = wheels
        packages.append(entry)
    version = target.python_version.release
    return {
        "lock-version": "1.0",
        "environments": [environment_marker(target.markers)],
        "requires-python": f"=={version[0]}.{(*version, 0)[1]}.*",
        "created-by": CREATED_BY,
        "packages": packages,
    }


def dumps(pins: Sequence[Pin], target: Target) -> str:
    return tomli_w.dumps(lock_document(pins, target))
