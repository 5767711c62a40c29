from pathlib import Path

import pandas as pd
import pyarrow as pa

from mtaal.io import write_parquet, write_text
from mtaal.results.compare import (
    Reproduction,
    compare,
    comparison_markdown,
    load_reported,
    mtaal_sentence_counts,
)
from mtaal.results.store import read_store
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    inputs = snakemake.input
    reproduction = Reproduction(
        store=read_store(Path(inputs.store)),
        report_after_round=snakemake.params.report_after_round,
        diversity=pd.read_parquet(inputs.diversity),
        corpus_stats=pd.read_parquet(inputs.corpus_stats),
        coverage=pd.read_parquet(inputs.coverage),
        sequences=pd.read_parquet(inputs.sequences),
        mtaal_sentences=mtaal_sentence_counts(
            dict(zip(snakemake.params.mtaal_datasets, inputs.splits, strict=True))
        ),
    )
    table = compare(load_reported([Path(p) for p in inputs.reported]), reproduction, snakemake.params.tier)
    write_parquet(pa.Table.from_pandas(table, preserve_index=False), snakemake.output.comparison)
    write_text(comparison_markdown(table, "mtaal", "MTAAL (Zhou et al. 2021)"), snakemake.output.mtaal_md)
    write_text(
        comparison_markdown(table, "multitask", "Multitask NER (Rodriguez et al. 2022)"),
        snakemake.output.multitask_md,
    )
