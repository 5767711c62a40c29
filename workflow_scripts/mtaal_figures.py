from pathlib import Path

from mtaal.results.mtaal_figures import write_figures
from mtaal.results.store import read_store, rounds_from_store
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    write_figures(rounds_from_store(read_store([Path(snakemake.input.store)])),
                  Path(snakemake.output.png[0]).parent)
