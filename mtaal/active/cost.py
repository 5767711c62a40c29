"""What a run's labeled set cost to annotate, read back from the sentence ids it selected.

Runs write :data:`~mtaal.active.metrics.COST_METRICS` with every round; a run written before they existed
(but with its ``selected_ids``) gets them here, exactly, from its corpus and its initial labeled set. A
random-strategy run written before runs kept their ids is replayed (:func:`replay_random_run`): its picks
depend on the seeded stream alone, never on the model.
"""

from __future__ import annotations

import pandas as pd

from mtaal.active import metrics as M
from mtaal.active.data import ALData
from mtaal.active.loop import ActiveLearner, run_sample
from mtaal.active.settings import ALSettings

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


class _RandomReplay(ActiveLearner):
    """The loop's draws without its arithmetic: batches are still drawn and shuffled (the stream moves on
    exactly as in the run), nothing is trained or scored."""

    def _td_step(self, batch) -> None:
        pass

    def _task_epoch(self, batches) -> float:
        for _ in batches:
            pass
        return float("nan")

    def evaluate(self) -> dict[str, float]:
        return {}


def replay_random_run(settings: ALSettings, data: ALData, rounds: int | None = None) -> pd.DataFrame:
    """A random-strategy run's rounds again (``round``, ``labeled_count``, ``selected_ids``, the query
    statistics and :data:`~mtaal.active.metrics.COST_METRICS`), from its settings and its corpus alone.
    Check the query statistics against the run's own before trusting the ids (a run made by code that
    drew its stream differently gives other picks)."""
    if settings.strategy != "random" or settings.use_dd:
        raise ValueError(f"only a random-strategy run without a DD game replays, not {settings.strategy}"
                         f"{' with DD' if settings.use_dd else ''}")
    learner = _RandomReplay(settings, run_sample(settings, data), None)
    keep = ["round", "labeled_count", "selected_ids", *M.QUERY_METRICS, *M.COST_METRICS]
    for index in range(settings.rounds + 1 if rounds is None else rounds + 1):
        if index > 0 and not learner.unlabeled:
            break
        learner.run_round(index)
    return pd.DataFrame(learner.rows)[keep]
