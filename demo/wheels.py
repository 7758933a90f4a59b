"""Small installable wheels, built in memory: for the demo, the tests and the benchmarks."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path


def core_metadata(
    name: str,
    version: str,
    requires_python: str | None = None,
    requires: Sequence[str] = (),
    extras: Sequence[str] = (),
    metadata_version: str = "2.1",
) -> str:
    meta = f"Metadata-Version: {metadata_version}\nName: {name}\nVersion: {version}\n"
    if requires_python:
        meta += f"Requires-Python: {requires_python}\n"
    meta += "".join(f"Provides-Extra: {e}\n" for e in extras)
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    return meta


def make_wheel(
    name: str,
    version: str,
    requires_python: str | None = None,
    requires: Sequence[str] = (),
    extras: Sequence[str] = (),
    files: dict[str, str] | None = None,
) -> bytes:
    """An installable wheel: one module, METADATA, WHEEL and a RECORD with hashes."""
    dist = f"{name.replace('-', '_')}-{version}"
    members = dict(files or {f"{name.replace('-', '_')}/__init__.py": f'VERSION = "{version}"\n'})
    members[f"{dist}.dist-info/METADATA"] = core_metadata(
        name, version, requires_python, requires, extras
    )
    members[f"{dist}.dist-info/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = []
    for path, text in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}.dist-info/RECORD,,")
    members[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path, text in members.items():
            zf.writestr(zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0)), text)
    return buf.getvalue()


def write_wheel(directory: Path, name: str, version: str, body: str = "") -> Path:
    """:func:`make_wheel` written to ``directory`` under its proper file name, with one module
    holding ``body`` (default: its version); returns the path."""
    module = name.replace("-", "_")
    files = {f"{module}/__init__.py": body or f'VERSION = "{version}"\n'}
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{module}-{version}-py3-none-any.whl"
    wheel.write_bytes(make_wheel(name, version, files=files))
    return wheel
