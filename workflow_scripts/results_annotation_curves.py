from pathlib import Path

from mtaal.results.figures import write_annotation_curves
from mtaal.results.store import read_store
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    out = snakemake.output
    write_annotation_curves(read_store(snakemake.input.store), snakemake.params.shared,
                            Path(out.points), [Path(out.png), Path(out.svg)], snakemake.params.tier)
