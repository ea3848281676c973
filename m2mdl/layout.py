"""Where downloaded files go in the output directory, and where earlier runs put them.

Two layouts (the ``layout`` setting, ``--layout``):

- ``scene`` (the default): band and band-group files go to ``OUT/<display id>/<file>``, one
  folder per scene, so a scene opens as a unit in QGIS or as a STAC item next to its files;
- ``flat``: every file in ``OUT/`` itself, as m2mdl 0.x wrote them.

Bundles are ``OUT/<display id>.tar`` in both layouts (an extracted bundle's members go to
``OUT/<display id>/``, see :mod:`m2mdl.extract`).

A file may already be present in the *other* layout (a directory filled by an older m2mdl,
or a run with ``--layout flat``): :func:`candidates` lists both places, the layout's own
first, so such a file is found and skipped instead of being downloaded a second time. It is
left where it is: moving files a user may already reference would be a surprise.
"""

from __future__ import annotations

from pathlib import Path

from .errors import InputError
from .transfer import safe_join
from .transfer.naming import JOURNAL_SUFFIX, PART_SUFFIX, TMP_SUFFIX

_NOT_DATA = (PART_SUFFIX, JOURNAL_SUFFIX, TMP_SUFFIX, ".tar")

LAYOUTS = ("scene", "flat")
DEFAULT_LAYOUT = "scene"


def check_layout(value: str) -> str:
    """Return the layout name in canonical form.

    Raises:
        InputError: not one of :data:`LAYOUTS`.
    """
    name = value.strip().lower()
    if name not in LAYOUTS:
        raise InputError(f"layout {value!r} is not one of {', '.join(LAYOUTS)}")
    return name


def is_bundle(file_name: str) -> bool:
    """Bundles (``<display id>.tar``) stay at the top of the output directory."""
    return file_name.lower().endswith(".tar")


def scene_dir(out_dir: Path, display_id: str) -> Path:
    """``OUT/<display id>``; the id is sanitized like any name from the server.

    Raises:
        m2mdl.transfer.UnsafeFileName: nothing usable remains of the id.
    """
    return safe_join(out_dir, display_id)


def file_path(out_dir: Path, display_id: str, file_name: str, layout: str = DEFAULT_LAYOUT) -> Path:
    """Where a planned file is written in ``layout``.

    Raises:
        m2mdl.transfer.UnsafeFileName: a name from the server is unusable.
    """
    if layout == "flat" or is_bundle(file_name) or not display_id:
        return safe_join(out_dir, file_name)
    return safe_join(scene_dir(out_dir, display_id), file_name)


def candidates(
    out_dir: Path, display_id: str, file_name: str, layout: str = DEFAULT_LAYOUT
) -> list[Path]:
    """The places a finished copy of the file may be: the layout's own path first."""
    own = file_path(out_dir, display_id, file_name, layout)
    other = file_path(out_dir, display_id, file_name, "flat" if layout == "scene" else "scene")
    return [own] if other == own else [own, other]


def find_existing(
    out_dir: Path, display_id: str, file_name: str, layout: str = DEFAULT_LAYOUT
) -> Path | None:
    """The first of :func:`candidates` that is a regular file, or None."""
    for path in candidates(out_dir, display_id, file_name, layout):
        if path.is_file() and not path.is_symlink():
            return path
    return None


def relative(out_dir: Path, path: Path) -> str:
    """``path`` relative to ``out_dir`` with ``/`` separators (for manifests and STAC)."""
    return path.relative_to(out_dir).as_posix()


def check_display_id(display_id: str) -> str:
    """Refuse a display id that cannot be a folder name of its own.

    Raises:
        InputError: the id has path separators or is empty after sanitizing.
    """
    cleaned = display_id.strip()
    if not cleaned or "/" in cleaned or "\\" in cleaned or cleaned.startswith("."):
        raise InputError(f"{display_id!r} cannot be used as a scene folder name")
    return cleaned


def local_files(out_dir: Path, display_id: str) -> list[Path]:
    """Every finished file of a scene on disk, in either layout (``<display id>_*``).

    Partial files, journals, temporary files and the bundle itself are left out; so is the
    scene's STAC item. Used to describe a scene in the catalog with everything it has,
    not only what the current run fetched.
    """
    name = check_display_id(display_id)
    found: dict[str, Path] = {}
    for folder in (scene_dir(out_dir, name), out_dir):  # the scene folder wins a clash
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"{name}_*")):
            if path.name.endswith(_NOT_DATA) or path.is_symlink() or not path.is_file():
                continue
            found.setdefault(path.name, path)
    return sorted(found.values(), key=lambda p: p.name)
