from pathlib import Path

from mtaal.results.store import mtaal_available_sentences, write_store
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log) as log:
    splits = {Path(path).parent.name: Path(path) for path in snakemake.input.splits}
    available = {
        (study, dataset): mtaal_available_sentences(split, caps)
        for study, caps in snakemake.params.caps.items()
        for dataset, split in splits.items()
    }
    written = write_store(
        Path(snakemake.output.store),
        [Path(path) for path in snakemake.input.mtaal],
        available,
        [Path(path).parent for path in snakemake.input.multitask],
    )
    log.info("results store: %d run files under %s", len(written), snakemake.output.store)
