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

#: The one file that must name the forbidden things: this checker.
EXEMPT = {"tests/test_citations.py"}
#: Recorded third-party responses are quoted byte for byte; they cite nothing.
RECORDED = ("tests/data/m2m-real/", "tests/data/stac-real/")

#: Locations outside the repository. The names are assembled from parts so that a plain grep
#: of the repository for them finds real citations, not this list.
OUTSIDE = ("../" + "shared", "/work/")
#: Reference documents that are not part of the repository (research notes whose facts live
#: in docs/design.md, with their public sources).
_NOTES = ("m2m-" + "api", "usgs-" + "stac", "down" + "loader", "pe" + "ers", "sty" + "le")
DOCUMENTS = (*(name + ".md" for name in _NOTES), "m2m-reference-2025-05-30.md")
#: Source tags docs/design.md uses; each needs a row in its Sources table.
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
#: The letters of the numbered tags (NB, CAS, TUT...): a bare ``NB99`` is a tag of that family.
FAMILIES = sorted({re.sub(r"[0-9].*", "", t) for t in KNOWN_TAGS if re.search(r"[0-9]", t)})
FAMILY_TAG = re.compile(rf"(?<![A-Za-z0-9_])(?:{'|'.join(FAMILIES)})[0-9]+[a-z]?(?![A-Za-z0-9_])")
#: A bracket of several items (``[NB25, NB24a; `file.txt`]``) and one tag-shaped item of it.
BRACKET = re.compile(r"\[([^\[\]\n]+[,;][^\[\]\n]+)\]")
TAG_SHAPED = re.compile(r"[A-Z]{2,}[A-Za-z0-9]*")
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
    assert _hits(document_pattern()) == []


def document_pattern() -> re.Pattern[str]:
    """A reference document's name, alone or at the end of any path (``notes/<name>.md``)."""
    names = "|".join(re.escape(d) for d in DOCUMENTS)
    return re.compile(rf"(?<![\w.-])(?:{names})")


@pytest.mark.parametrize(
    ("text", "hit"),
    [("see notes/m2m-" + "api.md", True), ("(pe" + "ers.md)", True), ("my-sty" + "le.md", False)],
)
def test_document_names_are_found_in_any_path(text: str, hit: bool) -> None:
    assert bool(document_pattern().search(text)) is hit


def test_nothing_cites_the_brief() -> None:
    assert _hits(re.compile(r"\bthe brief\b", re.IGNORECASE)) == []


def test_every_source_tag_is_explained_in_the_sources_table() -> None:
    _, explained = design()
    unexplained = "|".join(re.escape(t) for t in KNOWN_TAGS if t not in explained)
    bare = re.compile(rf"(?<![A-Za-z0-9_])(?:{unexplained})(?![A-Za-z0-9_])")
    found = _hits(bare) if unexplained else []
    for name in tracked():
        for number, line in enumerate(text_of(name).splitlines(), 1):
            found += [f"{name}:{number}: {tag}" for tag in unexplained_tags(line, explained)]
    assert found == []


def unexplained_tags(line: str, explained: set[str]) -> list[str]:
    """The source tags of ``line`` that the Sources table does not explain.

    A tag is a bracketed one (``[NB25]``), a bare one of a numbered family (``NB99``), or any
    tag-shaped item of a bracketed list that cites at least one explained tag
    (``[REF, XYZ]``).
    """
    tags = BRACKETED_TAG.findall(line) + FAMILY_TAG.findall(line)
    for bracket in BRACKET.findall(line):
        items = [item.strip() for item in re.split(r"[,;]", bracket)]
        if any(item in explained for item in items):
            tags += [item for item in items if TAG_SHAPED.fullmatch(item)]
    return sorted({tag for tag in tags if tag not in explained})


@pytest.mark.parametrize(
    ("line", "unexplained"),
    [
        ("see [NB25, NB24a; `notebook-outputs.txt`]", []),
        ("[NB99]", ["NB99"]),
        ("[NB99, REF]", ["NB99"]),
        ("[REF, NB26]", ["NB26"]),
        ("[REF, XYZ]", ["XYZ"]),
        ("as NB99 says", ["NB99"]),
        ("list[Sandbox, Path] and WGS84 and LC08", []),
        ("data[L2]", []),
    ],
)
def test_unexplained_tags_are_found(line: str, unexplained: list[str]) -> None:
    _, explained = design()
    assert unexplained_tags(line, explained) == unexplained


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
