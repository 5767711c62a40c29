from pathlib import Path

from mtaal.embeddings import load_glove_package
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    load_glove_package(Path(snakemake.output.vectors))
