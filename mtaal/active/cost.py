"""What a run's labeled set cost to annotate, read back from the sentence ids it selected.

Runs write :data:`~mtaal.active.metrics.COST_METRICS` with every round; a run written before they existed
(but with its ``selected_ids``) gets them here, exactly, from its corpus and its initial labeled set.
"""

from __future__ import annotations

import pandas as pd

from mtaal.active import metrics as M
from mtaal.active.data import ALData

SELECTION_COLUMNS = ["run_id", "round", "rank", "sentence_id", "words", "mentions"]


def fill_annotation_cost(rounds: pd.DataFrame, data: ALData) -> pd.DataFrame:
    """One run's rounds with :data:`~mtaal.active.metrics.COST_METRICS` computed from ``data``'s initial
    labeled set (the run's own sample of it) plus the ids selected up to each round. The labeled counts
    must agree with those ids, else the initial set is not the run's and nothing is filled."""
    rounds = rounds.sort_values("round", ignore_index=True)
    labeled = list(data.labeled)
    costs = []
    for row in rounds.itertuples():
        labeled += list(row.selected_ids)
        if len(labeled) != row.labeled_count:
            raise ValueError(f"round {row.round}: {len(labeled)} labeled sentences from the initial set and "
                             f"the selected ids, but the run says {row.labeled_count}: not the run's data")
        index = data.indices(labeled)
        costs.append(M.annotation_cost([data.words[i] for i in index], [data.ner_gold[i] for i in index]))
    return rounds.assign(**pd.DataFrame(costs).to_dict("list"))


def selection_rows(rounds: pd.DataFrame, data: ALData, run_id: str) -> pd.DataFrame:
    """One row per selected sentence of a run (:data:`SELECTION_COLUMNS`): the round, its rank within the
    round's query, and the sentence's words and entity mentions."""
    rows = []
    for row in rounds.sort_values("round").itertuples():
        ids = list(row.selected_ids)
        for rank, (sid, i) in enumerate(zip(ids, data.indices(ids), strict=True)):
            cost = M.annotation_cost([data.words[i]], [data.ner_gold[i]])
            rows.append((run_id, int(row.round), rank, sid, cost["labeled_words"], cost["labeled_mentions"]))
    return pd.DataFrame(rows, columns=SELECTION_COLUMNS).astype({"round": "int64", "rank": "int64",
                                                                 "words": "int64", "mentions": "int64"})
