"""Deterministic sentence splitting and word tokenization that keep character offsets.

Rules (documented in docs/corpora.md, "Preprocessing"):
- A sentence ends at a newline, or after ``.``, ``!`` or ``?`` (plus closing quotes/brackets) followed by
  whitespace and a capital letter, digit or opening bracket, unless the word before the period is a
  known abbreviation or a single letter (initials, "E. coli" is safe anyway: lowercase follows).
- A sentence never ends inside an annotated mention (``protected`` spans).
- Words are maximal runs of letters/digits/underscore, or single other non-space characters.
- A token is further split at every mention boundary that falls inside it, so no mention is lost.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

Span = tuple[int, int]

_WORD = re.compile(r"\w+|[^\w\s]")
_CANDIDATE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
_NEWLINES = re.compile(r"\n+")
_WORD_BEFORE = re.compile(r"(\w+)\.?$")
ABBREVIATIONS = frozenset(
    "al approx ca cf dr eg eq etc fig figs ie inc jr ltd mr mrs ms no nos pp prof ref refs resp sp spp st "
    "subsp suppl tab var vs viz".split()
)


def split_sentences(text: str, protected: Sequence[Span] = ()) -> list[Span]:
    """Sentence spans of ``text``, whitespace-trimmed, never cutting a ``protected`` span."""
    cuts: set[int] = set()
    for newline in _NEWLINES.finditer(text):
        cuts.add(newline.start())
    for end in _CANDIDATE_END.finditer(text):
        if not _is_abbreviation(text, end.start()):
            cuts.add(end.end())
    if protected:
        starts = sorted(s for s, _ in protected)
        ends_by_start = sorted(protected)
        cuts = {c for c in cuts if not _inside_any(c, starts, ends_by_start)}
    spans: list[Span] = []
    previous = 0
    for cut in [*sorted(cuts), len(text)]:
        span = _trim(text, previous, cut)
        if span is not None:
            spans.append(span)
        previous = cut
    return spans


def _is_abbreviation(text: str, period: int) -> bool:
    if text[period] != ".":
        return False
    before = _WORD_BEFORE.search(text, max(0, period - 12), period)
    if before is None:
        return False
    word = before.group(1)
    return (len(word) == 1 and word.isalpha()) or word.lower() in ABBREVIATIONS


def _inside_any(position: int, starts: list[int], spans: list[Span]) -> bool:
    # Spans are few per document; check those starting before the position.
    return any(start < position < end for start, end in spans[: bisect_left(starts, position)])


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def tokenize(text: str, start: int, end: int, boundaries: Sequence[int] = ()) -> list[Span]:
    """Word spans within ``text[start:end]``, split at any of the sorted ``boundaries``."""
    spans: list[Span] = []
    for match in _WORD.finditer(text, start, end):
        token_start, token_end = match.span()
        if boundaries:
            low = bisect_right(boundaries, token_start)
            high = bisect_left(boundaries, token_end)
            for cut in boundaries[low:high]:
                spans.append((token_start, cut))
                token_start = cut
        spans.append((token_start, token_end))
    return spans
