from pathlib import Path

from mtaal.corpora.stats import write_corpus_tables
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    write_corpus_tables(
        [Path(path) for path in snakemake.input.summaries],
        Path(snakemake.output.stats),
        Path(snakemake.output.stats_md),
        Path(snakemake.output.coverage),
        Path(snakemake.output.coverage_md),
    )
