from pathlib import Path

from mtaal.results.claims import write_claims
from mtaal.workflow import rule_logging

# Inputs: the store (both partitions), corpus_stats and sequences (what the multitask report's Fig. 4 reads
# beside the store), reported; Table 4 and Fig. 4 are computed from the store here, as their reports do.
with rule_logging(snakemake.log):
    params = snakemake.params
    write_claims(
        list(snakemake.input.store),
        Path(snakemake.input.corpus_stats),
        Path(snakemake.input.sequences),
        params.encoder,
        [Path(path) for path in snakemake.input.reported],
        {"report_after_round": params.report_after_round, "alpha": params.alpha, "margin": params.margin,
         "correlation_margin": params.correlation_margin},
        params.registry_types,
        params.tier,
        Path(snakemake.output.claims),
        Path(snakemake.output.claims_md),
        params.multitask_report,
    )
