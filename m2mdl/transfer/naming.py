"""File names: sanitizing server-provided names, and the engine's sidecar names."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from m2mdl.util.fs import TMP_SUFFIX as TMP_SUFFIX  # one owner: the leaf writes them too

from .errors import UnsafeFileName

MAX_NAME_BYTES = 200
PART_SUFFIX = ".part"
JOURNAL_SUFFIX = ".part.json"
LOCK_NAME = ".m2mdl.lock"
_MAX_EXT_BYTES = 16
# Names that would collide with the engine's own files get a trailing "_".
_RESERVED_ENDINGS = (PART_SUFFIX, JOURNAL_SUFFIX, TMP_SUFFIX)


def part_path(dest: Path) -> Path:
    """Return the partial file's path for the final path ``dest`` (``NAME.part``)."""
    return dest.with_name(dest.name + PART_SUFFIX)


def journal_path(dest: Path) -> Path:
    """Return the journal's path for the final path ``dest`` (``NAME.part.json``)."""
    return dest.with_name(dest.name + JOURNAL_SUFFIX)


def safe_join(out_dir: Path, name: str) -> Path:
    """Join a server-provided file name to ``out_dir`` so that it stays inside it.

    Keeps the last path component only (``/`` and ``\\`` both separate), drops control,
    format and surrogate characters, strips leading dots and surrounding spaces (no hidden
    files, no ``..``), and caps the name at 200 UTF-8 bytes keeping its extension. A name that
    would collide with the engine's ``.part``/``.part.json`` files gets a trailing ``_``.

    Args:
        out_dir: the output directory.
        name: the untrusted name (e.g. from Content-Disposition).

    Returns:
        ``out_dir / clean_name``; its parent is always ``out_dir``.

    Raises:
        UnsafeFileName: when nothing usable remains.
    """
    cleaned = _clean(name)
    if not cleaned:
        raise UnsafeFileName(f"unusable file name {name[:60]!r}")
    return out_dir / cleaned


def _clean(name: str) -> str:
    """Return the sanitized name, possibly empty."""
    kept = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    base = kept.replace("\\", "/").rstrip("/ ").rsplit("/", 1)[-1]
    base = base.strip().lstrip(".").strip()
    # Windows and many tools mishandle trailing dots and spaces.
    base = base.rstrip(". ")
    if base.endswith(_RESERVED_ENDINGS):
        base += "_"
    return _cap_bytes(base, MAX_NAME_BYTES)


def _cap_bytes(name: str, limit: int) -> str:
    """Shorten ``name`` to ``limit`` UTF-8 bytes, keeping a short extension."""
    if len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode()) > _MAX_EXT_BYTES:
        stem, ext = name, ""
    suffix = "." + ext if ext else ""
    budget = limit - len(suffix.encode())
    short = stem.encode()[:budget].decode(errors="ignore").rstrip(". ")
    return (short + suffix) if short else ""
