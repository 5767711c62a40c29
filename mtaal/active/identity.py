"""Who an MTAAL run is: the id of its store file (the rules' plan names its runs by it, so this module stays
free of heavy imports), and its rounds read back with the identity the run wrote into them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def mtaal_run_id(dataset: str, embedding: str, variant: str, seed: int) -> str:
    """The store file name of one MTAAL run."""
    return f"{dataset}__{embedding}__{variant}__seed{seed}"


def collect_rounds(paths: Sequence[Path]) -> pd.DataFrame:
    """All runs' rows, ``study`` being each run's written ``experiment``
    (:data:`~mtaal.active.settings.IDENTITY_SCHEMA`: a run says who it is; its path is not read)."""
    import pandas as pd  # here: the plan imports this module and stays free of pandas

    frames = []
    for path in paths:
        frame = pd.read_parquet(path)
        missing = [c for c in ("experiment", "variant") if c not in frame.columns or frame[c].isna().any()]
        if missing:
            raise ValueError(f"{path}: no run identity {missing} in its rows (written before runs recorded "
                             "who they are, or not by run_active_learning): rerun it")
        frames.append(frame.rename(columns={"experiment": "study"}))
    return pd.concat(frames, ignore_index=True)
