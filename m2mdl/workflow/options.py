"""What each scene can be downloaded as: bundles, single files and band groups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..api import M2MClient
from ..errors import ApiError, InputError
from ..models import FileGroup, Product
from ..output import envelope
from ..util.jsontypes import JsonObject
from .plan import secondary_files

#: download-options accepts long id lists; landsatlinks batches 5,000 (docs/design.md,
#: "M2M API").
OPTIONS_BATCH = 5000


@dataclass(frozen=True)
class OptionsResult:
    """Products per scene (secondary files folded once) and the dataset's band groups."""

    products: tuple[Product, ...]
    groups: tuple[FileGroup, ...]

    def to_json(self) -> JsonObject:
        """The documented ``options --output json`` form (schema_version 1)."""
        scenes: dict[str, JsonObject] = {}
        for product in self.products:
            scene = scenes.setdefault(
                product.entity_id,
                {
                    "entity_id": product.entity_id,
                    "display_id": product.display_id,
                    "bundles": [],
                    "files": [],
                },
            )
            if not product.is_folder:
                scene["bundles"].append(
                    {
                        "product_id": product.product_id,
                        "product_code": product.product_code,
                        "name": f"{product.display_id}.tar",
                        "size": product.filesize,
                        "available": product.available,
                        "download_system": product.download_system,
                    }
                )
        for parent, sec in secondary_files(self.products):
            scenes[parent.entity_id]["files"].append(
                {
                    "entity_id": sec.entity_id,
                    "product_id": sec.product_id,
                    "name": sec.file_name,
                    "groups": list(sec.file_groups),
                    "size": sec.filesize or None,
                    "available": sec.available or sec.bulk_available,
                }
            )
        return envelope(
            "options",
            {
                "scenes": list(scenes.values()),
                "band_groups": [
                    {
                        "id": g.group_id,
                        "label": g.label,
                        "dataset_id": g.dataset_id,
                        "files": list(g.files),
                    }
                    for g in self.groups
                ],
            },
        )


def scene_options(client: M2MClient, dataset: str, entity_ids: Sequence[str]) -> OptionsResult:
    """download-options (with file groups) for the scenes, plus dataset-file-groups.

    Raises:
        InputError: none of the ids is a scene of the dataset.
    """
    products: list[Product] = []
    for start in range(0, len(entity_ids), OPTIONS_BATCH):
        batch = list(entity_ids[start : start + OPTIONS_BATCH])
        products += client.download_options(dataset, entity_ids=batch, file_groups=True)
    if not products:
        raise InputError(
            f"no download options for {', '.join(entity_ids[:3])}"
            f"{' ...' if len(entity_ids) > 3 else ''} in {dataset}"
        )
    try:
        groups = tuple(client.dataset_file_groups(dataset))
    except ApiError:
        groups = ()  # older datasets have none; the file list still shows everything
    return OptionsResult(tuple(products), groups)
