from pathlib import Path

from mtaal.results.multitask_report import write_report
from mtaal.workflow import rule_logging

# Inputs: store (the results store's paper=multitask partition), corpus_stats, sequences
# (wordpiece_<encoder>.parquet); output: the report directory (params.out_dir, when given, wins).
with rule_logging(snakemake.log):
    write_report(
        Path(snakemake.input.store),
        Path(snakemake.input.corpus_stats),
        Path(snakemake.input.sequences),
        Path(snakemake.params.get("out_dir", snakemake.output[0])),
        snakemake.params.encoder,
        snakemake.params.registry_types,
    )
