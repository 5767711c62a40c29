"""What a figure's title says beyond its subject: wrapped to the figure's width, and marked as a pipeline
check when its runs come from a tier too small to be evidence."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

# Tiers whose transformer runs are pipeline checks (40 training sequences, a few epochs); the tiny tier's
# MTAAL runs too, the default tier's being two Table 3 cells at the paper's scale.
PIPELINE_CHECK_TIERS = ("tiny", "default")


def pipeline_check(tiers: Iterable[str]) -> str:
    """The line a title ends with when any run it draws is a pipeline check ("" when none is)."""
    checks = [tier for tier in PIPELINE_CHECK_TIERS if tier in set(tiers)]
    return f"\n(pipeline check at the {' and '.join(checks)} tier, not a finding)" if checks else ""


def wrapped_suptitle(fig, text: str, fontsize: float = 11) -> None:
    """The figure title, each line wrapped to the figure's width (about 9 characters per inch at 11 pt)."""
    width = max(20, int(fig.get_figwidth() * 9 * 11 / fontsize))
    fig.suptitle("\n".join(textwrap.fill(line, width) for line in text.split("\n")), fontsize=fontsize)
