from pathlib import Path

from mtaal.results.store import write_store
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log) as log:
    written = write_store(
        Path(snakemake.output.store),
        [Path(path) for path in snakemake.input.mtaal],
        [Path(path).parent for path in snakemake.input.multitask],
    )
    log.info("results store: %d run files under %s", len(written), snakemake.output.store)
