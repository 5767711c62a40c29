from pathlib import Path

from mtaal.active.report import collect_rounds, write_figures
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    rounds = collect_rounds([Path(path) for path in snakemake.input.curves])
    write_figures(rounds, Path(snakemake.output.png[0]).parent)
