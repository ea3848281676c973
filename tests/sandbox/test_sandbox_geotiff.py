"""Served band files are GeoTIFFs that rasterio opens, georeferenced as the STAC items say."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import requests
from rasterio.io import MemoryFile  # type: ignore[import-untyped]

from m2mdl.sandbox import Sandbox
from m2mdl.sandbox.geotiff import pixel_value
from tests.sandbox.sandbox_helpers import SCENE_068017, Client
from tests.sandbox.stac_helpers import get_item, tar_members

Factory = Callable[..., Sandbox]
B4 = SCENE_068017 + "_SR_B4.TIF"
L1 = SCENE_068017.replace("L2SP", "L1TP")


def _open(data: bytes) -> tuple[dict[str, Any], Any]:
    with MemoryFile(data) as mem, mem.open() as ds:
        meta = {
            "epsg": ds.crs.to_epsg(),
            "transform": list(ds.transform)[:6],
            "shape": list(ds.shape),
            "dtype": ds.dtypes[0],
            "count": ds.count,
            "nodata": ds.nodata,
            "bounds": tuple(ds.bounds),
        }
        return meta, ds.read(1)


def _gdal_transform(proj: list[float]) -> list[float]:
    # proj:transform is [a, b, c, d, e, f]; rasterio's Affine iterates the same order
    return [float(v) for v in proj]


def test_a_served_band_is_a_geotiff_matching_its_stac_item(sandbox: Sandbox) -> None:
    data = requests.get(Client.login(sandbox).file_url("SR_B4.TIF"), timeout=30).content
    assert len(data) == sandbox.expected_size(B4)
    meta, pixels = _open(data)
    props = get_item(sandbox, "landsat-c2l2-sr", SCENE_068017 + "_SR")["properties"]
    assert meta["epsg"] == props["proj:epsg"] == 32606
    assert meta["transform"] == _gdal_transform(props["proj:transform"])
    assert meta["shape"] == props["proj:shape"] and meta["shape"][0] > 50
    assert (meta["dtype"], meta["count"], meta["nodata"]) == ("uint16", 1, 0.0)
    rows, cols = pixels.shape
    for x, y in ((0, 0), (1, 0), (0, 1), (cols - 1, rows - 1), (cols // 2, rows // 3)):
        assert int(pixels[y, x]) == pixel_value(B4, x, y)
    assert (np.diff(pixels.astype(int), axis=1) == 1).all()  # smooth along x ...
    assert (np.diff(pixels.astype(int), axis=0) == 2).all()  # ... and along y
    assert pixels.min() > 0


def test_bands_differ_and_share_one_grid_pan_at_15_m(sandbox: Sandbox) -> None:
    red = _open(sandbox.expected_bytes(L1 + "_B4.TIF"))
    nir = _open(sandbox.expected_bytes(L1 + "_B5.TIF"))
    pan = _open(sandbox.expected_bytes(L1 + "_B8.TIF"))
    qa = _open(sandbox.expected_bytes(L1 + "_QA_PIXEL.TIF"))
    assert red[0]["transform"] == nir[0]["transform"] == qa[0]["transform"]
    assert red[0]["shape"] == nir[0]["shape"] == qa[0]["shape"]
    assert not np.array_equal(red[1], nir[1])
    assert pan[0]["transform"][0] == 15.0 and pan[0]["bounds"] == red[0]["bounds"]
    item = get_item(sandbox, "landsat-c2l1", L1)
    assert item["assets"]["pan"]["proj:shape"] == pan[0]["shape"]


def test_a_bundle_member_is_the_same_geotiff(sandbox: Sandbox) -> None:
    url = next(iter(Client.login(sandbox).bundle_urls().values()))
    members = tar_members(requests.get(url, timeout=60).content)
    display = next(n for n in members if n.endswith("_SR_B4.TIF"))[:40]
    member = members[f"{display}_SR_B5.TIF"]
    assert member == sandbox.expected_bytes(f"{display}_SR_B5.TIF")
    meta, pixels = _open(member)
    props = get_item(sandbox, "landsat-c2l2-sr", display + "_SR")["properties"]
    assert meta["transform"] == _gdal_transform(props["proj:transform"])
    assert meta["epsg"] == props["proj:epsg"]
    assert int(pixels[2, 3]) == pixel_value(f"{display}_SR_B5.TIF", 3, 2)


@pytest.mark.parametrize("scale", [0.0001, 0.01])
def test_every_band_opens_at_other_scales(sandbox_factory: Factory, scale: float) -> None:
    sb = sandbox_factory(data_scale=scale)
    shapes = set()
    for suffix in ("SR_B1.TIF", "ST_B10.TIF", "QA_RADSAT.TIF", "ST_CDIST.TIF"):
        name = f"{SCENE_068017}_{suffix}"
        meta, pixels = _open(sb.expected_bytes(name))
        assert meta["epsg"] == 32606 and pixels.shape[0] == pixels.shape[1] >= 16
        shapes.add(pixels.shape)
    assert len(shapes) == 1
    name = f"{SCENE_068017}_SR_B1.TIF"
    with MemoryFile(sb.expected_bytes(name)) as mem, mem.open() as ds:
        window = ds.read(1, window=((1, 2), (0, 3))).tolist()
    assert window == [[pixel_value(name, x, 1) for x in range(3)]]


def test_small_files_store_the_top_strips_and_leave_the_rest_sparse(sandbox: Sandbox) -> None:
    name = f"{SCENE_068017}_ST_CDIST.TIF"  # a small file on the shared grid
    data = sandbox.expected_bytes(name)
    _, pixels = _open(data)
    stored = [y for y in range(pixels.shape[0]) if pixels[y].any()]
    assert stored and stored == list(range(len(stored))) and len(stored) < pixels.shape[0]
    assert all(int(pixels[y, 5]) == pixel_value(name, 5, y) for y in stored)
    assert not pixels[len(stored) :].any()  # sparse strips read as nodata
    assert len(data) == sandbox.expected_size(name)


def test_byte_ranges_of_a_geotiff_are_slices_of_the_whole(sandbox: Sandbox) -> None:
    url = Client.login(sandbox).file_url("SR_B4.TIF")
    whole = sandbox.expected_bytes(B4)
    size = len(whole)
    for first, last in (
        (0, 99),
        (1000, 1100),
        (size // 2 - 7, size // 2 + 7),
        (size - 50, size - 1),
    ):
        resp = requests.get(url, headers={"Range": f"bytes={first}-{last}"}, timeout=30)
        assert resp.status_code == 206 and resp.content == whole[first : last + 1]
