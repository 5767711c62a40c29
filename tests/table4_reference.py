"""Paper Table 4 as it was computed before the runs wrote their query statistics (mtaal.active.metrics
QUERY_METRICS): the reference the runs' own numbers are checked against."""

import pandas as pd

from mtaal.stats import over_seeds


def table4_from_tokens(rounds, tokens):
    """Each run's selected ids (``rounds``: rows with ``selected_ids``) looked up in the dataset's
    ``tokens.parquet`` table."""
    tokens = tokens.assign(sentence_id=tokens["doc_id"] + ":" + tokens["sentence"].astype(str))
    per_run = []
    for (dataset, variant, seed), frame in rounds.groupby(["dataset", "variant", "seed"]):
        selected = [sid for ids in frame["selected_ids"] for sid in ids]
        picked = tokens[tokens["sentence_id"].isin(set(selected))]
        mentions = picked["tag"].str.startswith("B-").groupby(picked["sentence_id"]).sum()
        per_run.append({"dataset": dataset, "variant": variant, "seed": seed,
                        "selected_sentences": len(selected), "distinct_words": picked["token"].nunique(),
                        "entity_mentions": int(mentions.sum()),
                        "sentences_with_entity_pct": 100.0 * float((mentions > 0).mean()) if len(mentions)
                        else 0.0})
    long = pd.DataFrame(per_run).melt(id_vars=["dataset", "variant", "seed"], var_name="statistic")
    return over_seeds(long, ["dataset", "variant", "statistic"], n="n_repeats", sort=True)
