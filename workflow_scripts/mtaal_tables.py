from pathlib import Path

from mtaal.results.mtaal_tables import write_tables
from mtaal.results.store import read_store, rounds_from_store
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    rounds = rounds_from_store(read_store([Path(snakemake.input.store)]))
    write_tables(rounds, snakemake.params.report_after_round,
                 {name: Path(path) for name, path in snakemake.output.items()})
