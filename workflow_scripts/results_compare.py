from pathlib import Path

import pandas as pd

from mtaal.results.compare import Reproduction, load_reported, mtaal_sentence_counts
from mtaal.results.comparison_markdown import write_comparison
from mtaal.results.store import read_store
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    inputs, out = snakemake.input, snakemake.output
    reproduction = Reproduction(
        store=read_store(inputs.store),
        report_after_round=snakemake.params.report_after_round,
        corpus_stats=pd.read_parquet(inputs.corpus_stats),
        coverage=pd.read_parquet(inputs.coverage),
        sequences=pd.read_parquet(inputs.sequences),
        registry_types=snakemake.params.registry_types,
        mtaal_sentences=mtaal_sentence_counts(
            dict(zip(snakemake.params.mtaal_datasets, inputs.splits, strict=True))
        ),
    )
    reported = load_reported([Path(p) for p in inputs.reported])
    write_comparison(reproduction, reported, snakemake.params.tier, Path(out.comparison), Path(out.mtaal_md),
                     Path(out.multitask_md))
