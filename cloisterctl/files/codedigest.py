"""The version of derived data, taken from the code that shapes it: a short digest of the source of
some modules. A cache or checkpoint records the digest of the code that made it and is used only
by code with the same digest, so a change to that code is never missed, and there is no version
number to bump by hand.

Each module's source is read from its file (``module.__file__`` when it is imported, else
``importlib.util.find_spec``), with CRLF line ends read as LF (a Windows checkout agrees with a
Unix one), and hashed with SHA-256; each module is read once per process, when a digest that needs
it is first asked for. The digest of a set of modules does not depend on the order they are named
in. Stdlib only (``hashlib``, ``sys``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from hashlib import sha256

LENGTH = 16  # hex digits kept: 64 bits, plenty to tell versions of the same code apart

_SOURCES: dict[str, str] = {}  # file -> SHA-256 of its source, read once per process
_DIGESTS: dict[tuple[str, ...], str] = {}  # sorted module names -> their digest


def _read(path: str, loader: object = None) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        get_data = getattr(loader, "get_data", None)  # a module inside a zip archive
        if get_data is None:
            raise
        data: bytes = get_data(path)
        return data


def _module_path(name: str) -> tuple[str, object]:
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    if isinstance(path, str):
        return path, getattr(module, "__loader__", None)
    import importlib.util  # not imported yet: find its file without running it

    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or not spec.has_location:
        raise ModuleNotFoundError(f"no source file for module {name!r}", name=name)
    return spec.origin, spec.loader


def _source_hash(path: str, loader: object = None) -> str:
    found = _SOURCES.get(path)
    if found is None:
        found = _SOURCES[path] = sha256(_read(path, loader).replace(b"\r\n", b"\n")).hexdigest()
    return found


def _combine(hashes: Mapping[str, str]) -> str:
    lines = "".join(f"{name} {hashes[name]}\n" for name in sorted(hashes))
    return sha256(lines.encode()).hexdigest()[:LENGTH]


def source_digest(*modules: str) -> str:
    """The digest of the source of ``modules`` (dotted names); computed once per process."""
    key = tuple(sorted(set(modules)))
    found = _DIGESTS.get(key)
    if found is None:
        hashes = {}
        for name in key:
            path, loader = _module_path(name)
            hashes[name] = _source_hash(path, loader)
        found = _DIGESTS[key] = _combine(hashes)
    return found


def file_digest(files: Mapping[str, str]) -> str:
    """The digest ``source_digest`` gives for modules whose files are known: ``files`` maps each
    module name to its path. For a reader that must not look modules up (``find_spec`` imports
    ``importlib.util``). Raises ``OSError`` when a file cannot be read."""
    return _combine({name: _source_hash(path) for name, path in files.items()})
