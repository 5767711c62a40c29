from pathlib import Path

from mtaal.results.claims import ClaimsInputs, write_claims
from mtaal.workflow import rule_logging

# Inputs: the store (both partitions), corpus_stats and sequences (what the multitask report's Fig. 4 reads
# beside the store), reported; Table 4 and Fig. 4 are computed from the store here, as their reports do.
with rule_logging(snakemake.log):
    inputs = ClaimsInputs.from_config(snakemake.config, Path("results"), snakemake.params.registry_types,
                                      snakemake.input.reported, store=snakemake.input.store)
    write_claims(inputs, Path(snakemake.output.claims), Path(snakemake.output.claims_md))
