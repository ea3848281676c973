#!/usr/bin/env python3
"""Rewrite citations of the old, unpublished reference notes into docs/design.md citations.

A one-off migration (issue 16). Earlier code cited notes that never were part of the
repository (an M2M API note, a STAC note, a downloader measurement note, a style note and a
peer survey, by file name and section number). Their facts now live in docs/design.md; this
script maps every such citation to ``docs/design.md §<Section>: <subsection>``, rewrites the
few phrases that named a path outside the repository or "the brief", re-wraps comment,
docstring and string-literal lines that the longer citations push past 100 characters, and
prints what it changed and what it could not map. Source tags (NB25, REF, ...) stay: the
Sources table of docs/design.md explains them.

Usage: ``python3 tools/rewrite_citations.py [REPO_ROOT]`` (default: the current directory).
Standard library only; deterministic; running it twice changes nothing the second time.
Then run ``pytest tests/test_citations.py`` and ``ruff format --check``.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

LIMIT = 100
SKIP = {"CHANGELOG.md", "docs/design.md", "tests/test_citations.py", "tools/rewrite_citations.py"}
RECORDED = ("tests/data/m2m-real/", "tests/data/stac-real/")

M2M = "M2M API"
TE = "Transfer engine"
STAC = "STAC and checksums"
CLI = "CLI and error model"

#: Whole phrases first (they name a path outside the repository, or "the brief").
PHRASES: list[tuple[str, str]] = [
    (
        "(the numbers and findings cited are in /work/shared/downloader.md)",
        f"(the measurements and findings behind them are in docs/design.md §{TE})",
    ),
    ("our M2M API notes, §2.10: UNCERTAIN", f"docs/design.md §{M2M}: scene-search; UNCERTAIN"),
    ("our M2M API notes, §2.10", f"docs/design.md §{M2M}: scene-search"),
    (
        ", as the brief says.",
        f"; 2.5-3.5 MiB measured on loopback, docs/design.md §{TE}: benchmark method.",
    ),
    ("; the brief asks to flag > 60 s.", "; cases slower than ``SLOW`` are flagged."),
]

#: Section number -> design.md target, per document. "" = the section as a whole.
SECTIONS: dict[str, dict[str, str]] = {
    "m2m-api": {
        "": M2M,
        "1": f"{M2M}: envelope",
        "1.1": f"{M2M}: base URL and requests",
        "1.2": f"{M2M}: envelope",
        "1.3": f"{M2M}: authentication",
        "1.4": f"{M2M}: authentication",
        "2": M2M,
        "2.1": f"{M2M}: authentication",
        "2.2": f"{M2M}: authentication",
        "2.3": f"{M2M}: authentication",
        "2.4": f"{M2M}: authentication",
        "2.5": f"{M2M}: other endpoints",
        "2.6": f"{M2M}: datasets",
        "2.7": f"{M2M}: datasets",
        "2.8": f"{M2M}: datasets",
        "2.9": f"{M2M}: dataset-file-groups",
        "2.10": f"{M2M}: scene-search",
        "2.11": f"{M2M}: other endpoints",
        "2.12": f"{M2M}: scene lists",
        "2.13": f"{M2M}: download-options",
        "2.14": f"{M2M}: download-request",
        "2.15": f"{M2M}: download-retrieve",
        "2.16": f"{M2M}: download orders",
        "2.17": f"{M2M}: limits",
        "2.18": f"{M2M}: other endpoints",
        "3": f"{M2M}: datasets",
        "4": f"{M2M}: notebook workflows",
        "5": f"{M2M}: download URLs",
        "5.1": f"{M2M}: download URLs",
        "5.2": f"{M2M}: download hosts",
        "5.3": "Bundles: bundle products",
        "6": f"{M2M}: error codes",
        "6.1": f"{M2M}: error codes",
        "6.2": f"{M2M}: error codes",
        "7": f"{M2M}: limits",
        "8": f"{M2M}: Landsat naming",
        "9": M2M,
        "10": M2M,
        "11": M2M,
    },
    "downloader": {
        "": TE,
        "0": f"{TE}: peer behaviour under faults",
        "1": f"{TE}: peer behaviour under faults",
        "1.1": f"{TE}: peer behaviour under faults",
        "1.2": f"{TE}: peer behaviour under faults",
        "2": f"{TE}: concurrency",
        "3": TE,
        "3.1": f"{TE}: throughput and chunk size",
        "3.2": f"{TE}: timeouts and stalls",
        "3.3": f"{TE}: fsync and the journal",  # refined by _refine
        "4": f"{TE}: benchmark method",
        "4.1": f"{TE}: benchmark method",
        "4.2": f"{TE}: benchmark method",
        "4.3": f"{TE}: benchmark method",
        "4.4": f"{TE}: benchmark method",
        "4.5": f"{TE}: peer behaviour under faults",
        "4.6": f"{TE}: benchmark method",
        "5": f"{TE}: engine defaults",
        "5.1": f"{TE}: fsync and the journal",
        "5.2": f"{TE}: resume protocol",
        "5.3": f"{TE}: checks before publish",
        "5.4": f"{TE}: retries and backoff",
        "5.5": f"{TE}: concurrency",
        "5.6": f"{TE}: throughput and chunk size",
        "A": f"{TE}: fault server",
    },
    "usgs-stac": {
        "": STAC,
        "1": f"{STAC}: STAC API",
        "1.4": f"{STAC}: item ids",
        "2": f"{STAC}: assets and hrefs",
        "3": f"{STAC}: file:checksum",
        "3.4": f"{STAC}: which documents carry checksums",
        "3.5": f"{STAC}: which documents carry checksums",
        "4": f"{STAC}: hrefs and M2M URLs",
        "5": "Bundles: bundle contents",
        "6": f"{STAC}: STAC open questions",
        "7": f"{STAC}: STAC open questions",
        "8": STAC,
    },
    "style": {
        "": CLI,
        "4": f"{CLI}: layout and imports",
        "5": f"{CLI}: exit codes and errors",
        "6": f"{TE}: resume protocol",
        "7": f"{CLI}: credentials",
        "10": f"{CLI}: pitfalls",
    },
    "peers": {"": CLI},
}

DOC = r"(?:\.\./)*(?:/work/)?(?:shared/)?(?P<doc>m2m-api|usgs-stac|downloader|peers|style)\.md"
NUM = r"\d+(?:\.\d+)*"
REF = rf"(?:§\s*{NUM}(?:\s*-\s*{NUM})?|Appendix A|App\. A)"
DOC_CITE = re.compile(rf"{DOC}(?P<refs>(?:\s*(?:,|and)?\s*{REF})*)")
BARE = re.compile(rf"(?<![\w§])(?P<refs>§\s*{NUM}(?:\s*-\s*{NUM})?)")
ONE_REF = re.compile(rf"§\s*(?P<a>{NUM})(?:\s*-\s*(?P<b>{NUM}))?|(?P<app>Appendix A|App\. A)")


def _expand(a: str, b: str | None) -> list[str]:
    """``2.14-2.16`` -> 2.14, 2.15, 2.16 (a range within one major section)."""
    if not b:
        return [a]
    if "." in a and "." not in b:
        b = a.split(".")[0] + "." + b
    head, _, lo = a.rpartition(".")
    _, _, hi = b.rpartition(".")
    if not (lo.isdigit() and hi.isdigit()) or int(hi) < int(lo):
        return [a, b]
    return [f"{head}.{n}" if head else str(n) for n in range(int(lo), int(hi) + 1)]


def _refine(doc: str, number: str, target: str, context: str) -> str:
    """Pick the subsection a broad section number meant, from the words around it."""
    low = context.lower()
    if doc == "downloader" and number == "3.3":
        if "memory" in low or "response.content" in low:
            return f"{TE}: memory"
        if "hash" in low or "sha" in low:
            return f"{TE}: hashing"
        if "pwrite" in low or "segment" in low:
            return f"{TE}: preallocation and segments"
    if doc == "m2m-api" and number == "8" and ("anchorage" in low or "068/01" in low):
        return f"{M2M}: Anchorage scenes"
    return target


def _targets(doc: str, refs: str, context: str, unmapped: list[str]) -> list[str]:
    table = SECTIONS[doc]
    out: list[str] = []
    numbers: list[str] = []
    for m in ONE_REF.finditer(refs):
        numbers += ["A"] if m.group("app") else _expand(m.group("a"), m.group("b"))
    for number in numbers or [""]:
        target = table.get(number) or table.get(number.split(".")[0])
        if target is None:
            unmapped.append(f"{doc}.md §{number}")
            target = table[""]
        target = _refine(doc, number, target, context)
        if target not in out:
            out.append(target)
    return out


def _cite(targets: list[str]) -> str:
    return "docs/design.md " + ", ".join(f"§{t}" for t in targets)


def _line_of(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start : end if end >= 0 else len(text)]


def rewrite_text(text: str, unmapped: list[str]) -> str:
    """Apply the phrase rules, then map document citations and bare section numbers."""
    for old, new in PHRASES:
        text = text.replace(old, new)
    mentions = [(m.start(), m.group("doc")) for m in DOC_CITE.finditer(text)]
    out: list[str] = []
    pos = 0
    combined = re.compile(f"{DOC_CITE.pattern}|{BARE.pattern.replace('(?P<refs>', '(?P<bare>')}")
    for m in combined.finditer(text):
        context = _line_of(text, m.start())
        if m.group("doc"):
            cite = _cite(_targets(m.group("doc"), m.group("refs") or "", context, unmapped))
        else:
            before = text[max(0, m.start() - 12) : m.start()]
            if re.search(r"RFC\s*\d+\s*$", before):
                continue
            docs = [d for p, d in mentions if p < m.start()] or [d for _, d in mentions]
            if not docs:
                unmapped.append(f"bare {m.group('bare')} in: {context.strip()}")
                continue
            cite = _cite(_targets(docs[-1] if docs else "", m.group("bare"), context, unmapped))
        out.append(text[pos : m.start()])
        out.append(cite)
        pos = m.end()
        if text.startswith(": ", pos):
            out.append("; ")
            pos += 2
    out.append(text[pos:])
    return "".join(out)


# --- re-wrapping lines that grew past the limit (Python files only) ---------------------------


def _tokens(text: str) -> tuple[dict[int, int], list[tuple[int, int, str]]]:
    """Comment start column by row, and (first row, last row, token) of multi-line strings."""
    comments: dict[int, int] = {}
    strings: list[tuple[int, int, str]] = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.start[1]
        elif tok.type == tokenize.STRING:
            strings.append((tok.start[0], tok.end[0], tok.string))
    return comments, strings


def _cut(prefix_len: int, body: str, room: int) -> int:
    """Index of the space where ``body`` must be cut so prefix + body[:i] fits, or -1."""
    limit = room - prefix_len
    return body.rfind(" ", 0, limit + 1) if limit > 0 else -1


def _wrap_comment(lines: list[str], i: int, col: int) -> bool:
    line = lines[i]
    text = line[col:]
    marker = "#: " if text.startswith("#:") else "# "
    indent = line[:col]
    body = text[len(marker.rstrip()) :].lstrip()
    prefix = indent + marker
    cut = _cut(len(prefix), body, LIMIT)
    if cut <= 0:
        return False
    lines[i] = prefix + body[:cut]
    moved = body[cut + 1 :]
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    if nxt.startswith(prefix) and nxt[len(prefix) :].strip() and nxt[len(prefix)] != " ":
        lines[i + 1] = prefix + moved + " " + nxt[len(prefix) :]
    else:
        lines.insert(i + 1, prefix + moved)
    return True


def _wrap_docstring(lines: list[str], i: int, first: int, last: int) -> bool:
    line = lines[i]
    indent = line[: len(line) - len(line.lstrip())]
    stripped = line.strip()
    closing = ""
    if i == last and stripped.endswith(('"""', "'''")):
        closing, line = line.rstrip()[-3:], line.rstrip()[:-3]
    start = len(indent)
    if i == first:
        start = line.index(stripped[:3]) + 3
        cont = indent
    else:
        cont = indent + ("  " if stripped.startswith(("* ", "- ")) else "")
    cut = line.rfind(" ", start, LIMIT + 1)
    if cut <= start:
        return False
    moved = line[cut + 1 :] + closing
    lines[i] = line[:cut]
    nxt = lines[i + 1] if i + 1 < last + 1 else None
    continues = (
        nxt is not None
        and nxt.strip()
        and nxt.strip() not in ('"""', "'''")
        and len(nxt) - len(nxt.lstrip()) == len(cont)
        and not nxt.strip().startswith(("* ", "- "))
        and not closing
    )
    if continues and nxt is not None:
        lines[i + 1] = cont + moved + " " + nxt.strip()
    else:
        lines.insert(i + 1, cont + moved)
    return True


def _wrap_literal(lines: list[str], i: int) -> bool:
    line = lines[i]
    indent = line[: len(line) - len(line.lstrip())]
    stripped = line.strip()
    quote = stripped[0]
    body = stripped[1:-1]
    cut = body.rfind(" ", 0, LIMIT - len(indent) - 2)
    if cut <= 0:
        return False
    lines[i] = f"{indent}{quote}{body[: cut + 1]}{quote}"
    moved = body[cut + 1 :]
    nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
    if nxt[:1] == quote and nxt.endswith(quote) and quote not in moved:
        lines[i + 1] = f"{indent}{quote}{moved}{nxt[1:]}"
    else:
        lines.insert(i + 1, f"{indent}{quote}{moved}{quote}")
    return True


def _wrap_once(lines: list[str], known: set[str]) -> tuple[bool, list[str]]:
    """Fix the first line this script made too long (``known``: long before); (changed, stuck)."""
    comments, strings = _tokens("".join(line + "\n" for line in lines))
    stuck: list[str] = []
    for i, line in enumerate(lines):
        if len(line) <= LIMIT or line in known:
            continue
        row = i + 1
        if row in comments:
            col = comments[row]
            if line[:col].strip():
                lines[i : i + 1] = [" " * (len(line) - len(line.lstrip())) + line[col:]]
                lines.insert(i + 1, line[:col].rstrip())
                return True, []
            if _wrap_comment(lines, i, col):
                return True, []
        for first, last, tok in strings:
            triple = tok.lstrip("rRbBuUfF")[:3] in ('"""', "'''")
            if (
                first <= row <= last
                and (first != last or triple)
                and _wrap_docstring(lines, i, first - 1, last - 1)
            ):
                return True, []
            stripped = line.strip()
            if (
                first == last == row
                and stripped[:1] in "\"'"
                and stripped.endswith(stripped[:1])
                and tok == stripped
                and not triple
                and _wrap_literal(lines, i)
            ):
                return True, []
        stuck.append(f"{row}: {line.strip()}")
    return False, stuck


def rewrap(text: str, original: str) -> tuple[str, list[str]]:
    """Re-wrap the lines that grew past ``LIMIT``; lines that were long before stay as they are."""
    known = {line for line in original.split("\n") if len(line) > LIMIT}
    lines = text.split("\n")
    stuck: list[str] = []
    for _ in range(200):
        changed, stuck = _wrap_once(lines, known)
        if not changed:
            break
    return "\n".join(lines), stuck


# --- driver ----------------------------------------------------------------------------------


#: What must not survive the rewrite.
LEFTOVER = re.compile(
    r"\.\./shared|/work/|\bthe brief\b"
    r"|(?<![\w/.-])(?:m2m-api|usgs-stac|downloader|peers|style)\.md",
    re.IGNORECASE,
)


def tracked(root: Path) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True
    ).stdout.decode()
    names = []
    for name in sorted(n for n in out.split("\0") if n):
        if name in SKIP or (name.startswith(RECORDED) and not name.endswith("README.md")):
            continue
        path = root / name
        if path.is_file() and b"\0" not in path.read_bytes()[:8192]:
            names.append(name)
    return names


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else ".").resolve()
    changed = 0
    problems: list[str] = []
    for name in tracked(root):
        path = root / name
        old = path.read_text(encoding="utf-8")
        unmapped: list[str] = []
        new = rewrite_text(old, unmapped)
        stuck: list[str] = []
        if new != old and name.endswith(".py"):
            new, stuck = rewrap(new, old)
        problems += [f"{name}: cannot map {u}" for u in unmapped]
        problems += [f"{name}:{s} (over {LIMIT} characters; re-wrap by hand)" for s in stuck]
        for number, line in enumerate(new.splitlines(), 1):
            if hit := LEFTOVER.search(line):
                problems.append(f"{name}:{number}: still names {hit[0]!r}")
        if new == old:
            continue
        changed += 1
        path.write_text(new, encoding="utf-8")
        old_lines, new_lines = old.splitlines(), new.splitlines()
        print(f"== {name}")
        for line in new_lines:
            if "docs/design.md" in line and line not in old_lines:
                print(f"   + {line.strip()}")
    print(f"rewrote {changed} files; {len(problems)} could not be handled")
    for problem in problems:
        print(f"!! {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
