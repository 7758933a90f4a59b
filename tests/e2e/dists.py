"""Small but real distributions for tests and benchmarks: wheels with dependencies, static and
dynamic sdists, and ``tinybuild``, a PEP 517 backend that uv and our resolver both run.

A dynamic sdist carries ``tinybuild.json`` (name, version, requirements); its PKG-INFO is
Metadata-Version 2.1, so only a build gives its dependencies.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Sequence

from demo.wheels import core_metadata, make_wheel

BACKEND = "tinybuild"
BACKEND_VERSION = "1.0"

_BACKEND_SOURCE = """
import base64, hashlib, json, os, zipfile

def _spec():
    with open("tinybuild.json") as f:
        return json.load(f)

def _metadata(spec):
    lines = ["Metadata-Version: 2.1", "Name: " + spec["name"], "Version: " + spec["version"]]
    lines += ["Requires-Dist: " + r for r in spec["requires"]]
    lines += ["Provides-Extra: " + e for e in spec.get("extras", [])]
    return "\\n".join(lines) + "\\n"

def _dist(spec):
    return spec["name"].replace("-", "_") + "-" + spec["version"]

def get_requires_for_build_wheel(config_settings=None):
    return []

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    spec = _spec()
    info = _dist(spec) + ".dist-info"
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    with open(os.path.join(metadata_directory, info, "METADATA"), "w") as f:
        f.write(_metadata(spec))
    return info

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    spec = _spec()
    dist = _dist(spec)
    name = dist + "-py3-none-any.whl"
    wheel = "Wheel-Version: 1.0\\nGenerator: tinybuild\\n"
    wheel += "Root-Is-Purelib: true\\nTag: py3-none-any\\n"
    files = {
        spec["name"].replace("-", "_") + "/__init__.py": "",
        dist + ".dist-info/METADATA": _metadata(spec),
        dist + ".dist-info/WHEEL": wheel,
    }
    record = ""
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record += path + ",sha256=" + digest.decode() + "," + str(len(text.encode())) + "\\n"
    record += dist + ".dist-info/RECORD,,\\n"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
        zf.writestr(dist + ".dist-info/RECORD", record)
    return name

def get_requires_for_build_sdist(config_settings=None):
    return []
"""


def backend_wheel() -> bytes:
    """The ``tinybuild`` backend as a wheel, served on an index like any build requirement."""
    return make_wheel(BACKEND, BACKEND_VERSION, files={f"{BACKEND}/__init__.py": _BACKEND_SOURCE})


def make_sdist(
    name: str,
    version: str,
    requires: Sequence[str] = (),
    *,
    static: bool,
    requires_python: str | None = None,
) -> bytes:
    """``name-version.tar.gz``: PKG-INFO 2.2 with the requirements (static), or 2.1 with
    ``Dynamic``-free but untrustworthy metadata (dynamic: only the build knows them)."""
    top = f"{name.replace('-', '_')}-{version}"
    if static:
        pkg_info = core_metadata(name, version, requires_python, requires, (), "2.2")
    else:
        pkg_info = core_metadata(name, version, requires_python, (), (), "2.1")
    pyproject = f'[build-system]\nrequires = ["{BACKEND}"]\nbuild-backend = "{BACKEND}"\n'
    spec = json.dumps({"name": name, "version": version, "requires": list(requires)})
    members = {
        f"{top}/PKG-INFO": pkg_info,
        f"{top}/pyproject.toml": pyproject,
        f"{top}/tinybuild.json": spec,
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for path, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()
