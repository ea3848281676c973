"""Where files go: a folder per scene by default, the flat layout on request."""

from __future__ import annotations

from pathlib import Path

import pytest

from m2mdl.errors import InputError
from m2mdl.layout import (
    candidates,
    check_display_id,
    check_layout,
    file_path,
    find_existing,
    local_files,
    relative,
    scene_dir,
)
from m2mdl.transfer import UnsafeFileName

SCENE = "LC08_L2SP_068017_20200310_20200822_02_T1"
BAND = f"{SCENE}_SR_B4.TIF"


def test_scene_layout_puts_files_in_a_folder_per_scene(tmp_path: Path) -> None:
    assert file_path(tmp_path, SCENE, BAND) == tmp_path / SCENE / BAND
    assert file_path(tmp_path, SCENE, BAND, "scene") == tmp_path / SCENE / BAND
    assert scene_dir(tmp_path, SCENE) == tmp_path / SCENE


def test_flat_layout_is_the_old_one(tmp_path: Path) -> None:
    assert file_path(tmp_path, SCENE, BAND, "flat") == tmp_path / BAND


def test_bundles_stay_at_the_top_in_both_layouts(tmp_path: Path) -> None:
    for layout in ("scene", "flat"):
        assert file_path(tmp_path, SCENE, f"{SCENE}.tar", layout) == tmp_path / f"{SCENE}.tar"


def test_names_from_the_server_cannot_escape(tmp_path: Path) -> None:
    assert file_path(tmp_path, "../../etc", "../passwd") == tmp_path / "etc" / "passwd"
    with pytest.raises(UnsafeFileName):
        file_path(tmp_path, SCENE, "..")


def test_files_in_the_old_flat_layout_are_found(tmp_path: Path) -> None:
    old = tmp_path / BAND
    old.write_bytes(b"II*\x00")
    assert candidates(tmp_path, SCENE, BAND) == [tmp_path / SCENE / BAND, old]
    assert find_existing(tmp_path, SCENE, BAND) == old
    new = tmp_path / SCENE / BAND
    new.parent.mkdir()
    new.write_bytes(b"II*\x00")
    assert find_existing(tmp_path, SCENE, BAND) == new  # the layout's own place wins
    assert find_existing(tmp_path, SCENE, BAND, "flat") == old


def test_scene_folder_files_are_found_by_a_flat_run(tmp_path: Path) -> None:
    new = tmp_path / SCENE / BAND
    new.parent.mkdir()
    new.write_bytes(b"II*\x00")
    assert find_existing(tmp_path, SCENE, BAND, "flat") == new


def test_nothing_and_symlinks_are_not_found(tmp_path: Path) -> None:
    assert find_existing(tmp_path, SCENE, BAND) is None
    target = tmp_path / "elsewhere.TIF"
    target.write_bytes(b"II*\x00")
    (tmp_path / BAND).symlink_to(target)
    assert find_existing(tmp_path, SCENE, BAND) is None
    (tmp_path / SCENE).mkdir()
    (tmp_path / SCENE / BAND).mkdir()  # a directory is not a file either
    assert find_existing(tmp_path, SCENE, BAND) is None


def test_bundle_has_one_candidate(tmp_path: Path) -> None:
    assert candidates(tmp_path, SCENE, f"{SCENE}.tar") == [tmp_path / f"{SCENE}.tar"]


def test_layout_setting_values() -> None:
    assert check_layout("scene") == "scene"
    assert check_layout(" FLAT ") == "flat"
    with pytest.raises(InputError, match="scene, flat"):
        check_layout("nested")


def test_display_ids_must_be_folder_names() -> None:
    assert check_display_id(SCENE) == SCENE
    for bad in ("", "a/b", "..", ".hidden", "a\\b"):
        with pytest.raises(InputError):
            check_display_id(bad)


def test_relative_paths_use_forward_slashes(tmp_path: Path) -> None:
    assert relative(tmp_path, tmp_path / SCENE / BAND) == f"{SCENE}/{BAND}"


def test_local_files_of_a_scene_in_both_layouts(tmp_path: Path) -> None:
    folder = tmp_path / SCENE
    folder.mkdir()
    names = {
        folder / BAND: True,
        folder / f"{SCENE}_MTL.txt": True,
        tmp_path / f"{SCENE}_QA_PIXEL.TIF": True,  # an old flat-layout file
        tmp_path / f"{SCENE}_SR_B5.TIF.part": False,
        tmp_path / f"{SCENE}_SR_B5.TIF.part.json": False,
        folder / f"{SCENE}_SR_B6.TIF.1a2b3c4d.m2mdl-tmp": False,
        tmp_path / f"{SCENE}.tar": False,
        tmp_path / "LC08_L2SP_068018_20200310_20200822_02_T1_SR_B4.TIF": False,
    }
    for path in names:
        path.write_bytes(b"x")
    (folder / f"{SCENE}.json").write_text("{}")  # the STAC item is not a scene file
    (tmp_path / BAND).write_bytes(b"flat copy")  # the scene folder wins a clash
    assert local_files(tmp_path, SCENE) == sorted(
        (p for p, kept in names.items() if kept), key=lambda p: p.name
    )
    assert local_files(tmp_path / "nowhere", SCENE) == []
