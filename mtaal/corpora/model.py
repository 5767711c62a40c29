"""The in-memory form every reader produces, before tokenization.

Offsets are Python string indices into ``Document.text`` (end exclusive). Readers keep the
source's own entity type names; datasets map them to canonical types later.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    entity_type: str
    # Text as the source states it; None when the source has none (e.g. IOB files).
    text: str | None = None
    concept_ids: tuple[str, ...] = ()
    # Non-empty for a discontinuous annotation: its (start, end) fragments in order.
    # start/end then span from the first fragment's start to the last fragment's end.
    fragments: tuple[tuple[int, int], ...] = ()


@dataclass(slots=True)
class Problem:
    """An annotation the reader could not take as is (recorded, never dropped silently)."""

    doc_id: str
    kind: str
    detail: str
    start: int | None = None
    end: int | None = None
    entity_type: str | None = None


@dataclass(slots=True)
class Document:
    doc_id: str
    text: str
    mentions: list[Mention] = field(default_factory=list)
    # The release's own subset ("train", "dev", "test") when it has one.
    subset: str | None = None
    # Sentence spans for corpora that come pre-segmented (IOB, one sentence per line);
    # None means the workflow's sentence splitter decides.
    sentences: list[tuple[int, int]] | None = None
    problems: list[Problem] = field(default_factory=list)
