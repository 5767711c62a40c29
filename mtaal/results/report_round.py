"""The round a paper table reports an active-learning run at (a floor under the MTAAL tables, the cost
tables and the comparison, which all read it)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd


def at_report_round(frame: pd.DataFrame, report_after_round: Mapping[str, int], *, round_column: str,
                    run_columns: list[str]) -> pd.DataFrame:
    """The rows at the round a paper table reports: N query rounds for the row's dataset; a shorter run
    (small tier) reports its last round rather than nothing."""
    last = frame.groupby(run_columns)[round_column].transform("max")
    wanted = frame["dataset"].map(lambda d: report_after_round.get(d, math.inf)).astype(float)
    return frame[frame[round_column] == np.minimum(wanted, last)]
