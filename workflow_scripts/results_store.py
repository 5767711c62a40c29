from pathlib import Path

from mtaal.results.store import write_store
from mtaal.workflow import rule_logging

# One paper's partition (results/store/paper=<paper>): the store root is its parent.
with rule_logging(snakemake.log) as log:
    runs = [Path(path) for path in snakemake.input.runs]
    paper = snakemake.wildcards.paper
    written = write_store(
        Path(snakemake.output.store).parent,
        runs if paper == "mtaal" else [],
        [path.parent for path in runs] if paper == "multitask" else [],
    )
    Path(snakemake.output.store).mkdir(parents=True, exist_ok=True)  # a paper without runs: empty
    log.info("results store: %d %s run files under %s", len(written), paper, snakemake.output.store)
