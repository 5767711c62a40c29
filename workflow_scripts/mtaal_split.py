from pathlib import Path

from mtaal.corpora.mtaal_split import build_mtaal_split
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    build_mtaal_split(
        Path(snakemake.input.tokens),
        Path(snakemake.output.split),
        Path(snakemake.output.labels),
        snakemake.params.settings,
    )
