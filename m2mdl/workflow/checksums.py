"""Which SHA-512 each file of a run must have, and how a file was verified.

Sources, in order: the LandsatLook STAC items of the run's products (``usgs-stac``), M2M's
own ``checksum`` fields when they carry a value (``m2m``). A bundle's members are compared
with the bundle's own ``*_stac.json`` sidecars (``bundle-stac``), or with the STAC items
when a sidecar has no checksum for a member. A file with none of these is checked by size
and leading bytes only (``size``) and the manifest says so.

What identifies the bytes on disk in a manifest item: ``sha512``, or for a bundle its tree
digest ``tree_sha512`` (m2mdl/transfer/tarscan.py); the helpers at the end compare them.

The STAC API is asked once per run, in batches (``m2mdl.stac``); when it is down, the run
goes on with ``size`` checks, warns once, and records why per file (``verify_note``);
``m2mdl verify`` or a later run raises those files to a full check.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..config import Settings
from ..stac import StacClient, item_ids, sidecar_checksums
from ..transfer import MemberCheck, MemberVerdict, TarContents
from ..util.jsontypes import JsonMapping
from .context import Reporter

log = logging.getLogger("m2mdl.workflow")

USGS_STAC = "usgs-stac"
BUNDLE_STAC = "bundle-stac"
M2M = "m2m"
SIZE = "size"
#: Labels that mean "compared with a checksum USGS published".
FULL = frozenset({USGS_STAC, BUNDLE_STAC, M2M})
#: A member without any published checksum.
NONE = "none"
MISMATCH = "mismatch"


@dataclass
class Checksums:
    """Expected SHA-512 per file name (the last component of the download URL)."""

    stac: dict[str, str] = field(default_factory=dict)
    m2m: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # why the STAC lookup failed, or None
    looked_up: bool = False
    #: product id -> USGS's STAC items of it (SR and ST for Level-2), for the local catalog
    items: dict[str, list[JsonMapping]] = field(default_factory=dict)

    def expected(self, name: str) -> tuple[str | None, str]:
        """(SHA-512 or None, the label it earns): STAC first, then M2M, else ``size``."""
        if name in self.stac:
            return self.stac[name], USGS_STAC
        if name in self.m2m:
            return self.m2m[name], M2M
        return None, SIZE

    def note(self) -> str | None:
        """Why a file has no checksum, when the lookup failed."""
        return f"STAC lookup failed: {self.error}" if self.error else None

    def member_check(self) -> MemberCheck:
        """The engine callback that checks a bundle's members (see ``check_members``)."""
        return lambda contents: check_members(contents, self)


def lookup(settings: Settings, product_ids: Iterable[str], reporter: Reporter) -> Checksums:
    """Ask the STAC API for the checksums and items of ``product_ids`` (a few calls); warn
    once if it is down."""
    ids = sorted(set(product_ids))
    found = Checksums(looked_up=True)
    if not ids:
        return found
    client = StacClient(
        settings.stac_url, timeout=min(settings.timeout, 60.0), verify_tls=settings.verify_tls
    )
    try:
        result = client.lookup(ids)
    finally:
        client.close()
    found.stac, found.error = result.checksums, result.error
    for product in ids:
        kept = [result.items[i] for _c, i in item_ids(product) if i in result.items]
        if kept:
            found.items[product] = kept
    log.info(
        "STAC: %d checksum(s) for %d product(s) in %d call(s)",
        len(result.checksums),
        len(ids),
        client.calls,
    )
    if result.error:
        reporter.warn(
            f"USGS checksums unavailable ({result.error}); files are checked by size and"
            " leading bytes only; `m2mdl verify` checks them against USGS later"
        )
    return found


def check_members(contents: TarContents, sums: Checksums) -> MemberVerdict:
    """Compare each member with its bundle sidecars' checksums, else with the STAC items."""
    sidecar: dict[str, str] = {}
    for name, data in contents.captured.items():
        if name.endswith("_stac.json"):
            sidecar.update(sidecar_checksums(data))
    checked: dict[str, str] = {}
    wrong: list[str] = []
    for name, digest in contents.digests.items():
        base = name.rsplit("/", 1)[-1]
        want: str | None
        if base in sidecar:
            want, label = sidecar[base], BUNDLE_STAC
        else:
            want, label = sums.expected(base)
        if want is None:
            checked[name] = NONE
        elif want == digest:
            checked[name] = label
        else:
            checked[name] = MISMATCH
            wrong.append(name)
    return MemberVerdict(checked, tuple(wrong))


def bundle_label(members: dict[str, str]) -> str:
    """A bundle's own label: the weakest of its members' (sidecars themselves not counted,
    as no checksum covers them)."""
    labels = {label for name, label in members.items() if not name.endswith("_stac.json")}
    if not labels or NONE in labels or MISMATCH in labels:
        return SIZE
    if BUNDLE_STAC in labels:
        return BUNDLE_STAC
    return USGS_STAC if USGS_STAC in labels else M2M


def members_json(
    labels: dict[str, str] | None, digests: dict[str, str] | None
) -> dict[str, dict[str, str]] | None:
    """The manifest's ``members`` object: name -> {sha512, verified}."""
    if labels is None:
        return None
    digests = digests or {}
    return {
        name: {"sha512": digests.get(name, ""), "verified": label}
        for name, label in sorted(labels.items())
    }


def recorded_digest(item: JsonMapping) -> str | None:
    """The digest a manifest item records for its bytes: a bundle's ``tree_sha512``, else
    ``sha512``; None when it records neither."""
    for name in ("tree_sha512", "sha512"):
        value = item.get(name)
        if isinstance(value, str):
            return value
    return None


def needs_sha512(record: JsonMapping | None, is_tar: bool) -> bool:
    """Must a re-check compute the whole file's SHA-512? Always for a file that is not a
    tar; for a tar only when its record holds a ``sha512`` and no ``tree_sha512`` (an older
    m2mdl, or a bundle whose own SHA-512 M2M published)."""
    if not is_tar:
        return True
    return (
        record is not None
        and isinstance(record.get("sha512"), str)
        and not isinstance(record.get("tree_sha512"), str)
    )


def same_as_recorded(
    record: JsonMapping, sha512: str | None, tree_sha512: str | None
) -> bool | None:
    """Are these the bytes a manifest item recorded? The tree digests are compared when
    both exist, else the SHA-512s; None when the record has no digest to compare."""
    for name, now in (("tree_sha512", tree_sha512), ("sha512", sha512)):
        then = record.get(name)
        if isinstance(then, str) and now is not None:
            return then == now
    return None
